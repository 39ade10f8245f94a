#include "tui/width_probe.hpp"

#include "proto/text.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

const std::vector<ProbeSample>& probe_samples() {
    static const std::vector<ProbeSample> samples = {
        {ClusterKind::Zwj, U"\u2764\uFE0F\u200D\U0001F525"},  // ❤️‍🔥 (a family is 2 by two rules)
        {ClusterKind::Vs16, U"\u2764\uFE0F"},                 // ❤️
        {ClusterKind::Vs15, U"\u2614\uFE0E"},                 // ☔︎
        {ClusterKind::SkinTone, U"\u261D\U0001F3FD"},         // ☝🏽 (👍🏽 is 2 by two rules)
        {ClusterKind::Flag, U"\U0001F1E6\U0001F1F7"},         // 🇦🇷
        {ClusterKind::Keycap, U"1\uFE0F\u20E3"},              // 1️⃣
        {ClusterKind::Combining, U"\u0915\u093F"},     // कि: a spacing mark (é is 1 by every rule)
        {ClusterKind::Hangul, U"\u1100\u1161\u11A8"},  // 각 from jamo
        {ClusterKind::Wide, U"\u4E2D"},                // 中
    };
    return samples;
}

std::string probe_request() {
    std::string out;
    for (const ProbeSample& s : probe_samples()) {
        out += "\x1b[1;1H";
        for (char32_t cp : s.text) proto::encode_utf8(cp, out);
        out += "\x1b[6n";
    }
    out += "\x1b[1;1H\x1b[2K";
    return out;
}

std::vector<int> take_cpr_answers(std::string& in, std::string& rest) {
    std::vector<int> widths;
    std::size_t i = 0;
    while (i < in.size()) {
        if (in[i] != '\x1b') {
            rest.push_back(in[i++]);
            continue;
        }
        // ESC [ digits ; digits R
        std::size_t j = i + 1;
        if (j >= in.size()) break;  // partial: wait for more
        if (in[j] != '[') {
            rest.push_back(in[i++]);
            continue;
        }
        ++j;
        long row = 0, col = 0;  // only the column tells a width; the row is read to find the ';'

        bool semi = false, done = false, bad = false;
        for (; j < in.size(); ++j) {
            const char c = in[j];
            if (c >= '0' && c <= '9') {
                long& v = semi ? col : row;  // bounded: a hostile answer cannot overflow it
                if (v < 100000) v = v * 10 + (c - '0');
            } else if (c == ';' && !semi) {
                semi = true;
            } else if (c == 'R' && semi) {
                done = true;
                break;
            } else {
                bad = true;
                break;
            }
        }
        if (!done && !bad) break;  // partial
        if (bad) {
            rest.push_back(in[i++]);  // not an answer: a key sequence, kept as typed
            continue;
        }
        widths.push_back(static_cast<int>(col) - 1);
        i = j + 1;
    }
    in.erase(0, i);
    return widths;
}

WidthModel model_from_probe(const std::vector<int>& widths, bool utf8) {
    WidthModel m(utf8);
    const auto& samples = probe_samples();
    for (std::size_t k = 0; k < samples.size() && k < widths.size(); ++k) {
        const ProbeSample& s = samples[k];
        const int w = widths[k];
        bool found = false;
        for (WidthRule r : {WidthRule::Cluster, WidthRule::PerCodePoint, WidthRule::Joined}) {
            if (m.width_by(r, s.text) == w) {
                m.set(s.kind, r);
                found = true;
                break;
            }
        }
        if (!found && w >= 1 && w <= 8) m.set(s.kind, WidthRule::Fixed, w);
    }
    return m;
}

std::optional<WidthModel> widths_from_name(std::string_view name, bool utf8, std::string& error) {
    std::optional<WidthModel> m;
    if (name.empty() || name == "probe") return m;
    if (name == "wcwidth")
        m = WidthModel::per_code_point(utf8);
    else if (name == "tmux")
        m = WidthModel::tmux_like();
    else if (name == "cluster")
        m = WidthModel::full_cluster();
    else {
        error = cat("CHAT_WIDTHS=", name, " is none of probe, wcwidth, tmux, cluster: measuring");
        return m;
    }
    m->set_utf8(utf8);
    return m;
}

}  // namespace chat::tui
