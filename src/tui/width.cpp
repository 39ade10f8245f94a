#include "tui/width.hpp"

#include <langinfo.h>
#include <utf8proc.h>

#include <cstring>
#include <cwchar>

#include "proto/text.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

namespace {

constexpr char32_t kZwj = 0x200D, kVs15 = 0xFE0E, kVs16 = 0xFE0F, kKeycap = 0x20E3;

bool is_regional(char32_t cp) noexcept {
    return cp >= 0x1F1E6 && cp <= 0x1F1FF;
}
bool is_modifier(char32_t cp) noexcept {
    return cp >= 0x1F3FB && cp <= 0x1F3FF;
}
bool is_jamo(char32_t cp) noexcept {
    return (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF);
}

WidthModel g_widths;

}  // namespace

bool drawable(char32_t cp, bool utf8) noexcept {
    if (cp < 0x20 || cp == 0x7F) return false;
    if (cp < 0x80) return true;
    if (!utf8 || (cp >= 0x80 && cp <= 0x9F)) return false;
    return ::wcwidth(static_cast<wchar_t>(cp)) >= 0;
}

int cell_width(char32_t cp, bool utf8) noexcept {
    if (!drawable(cp, utf8)) return 1;
    if (cp < 0x80) return 1;
    const int w = ::wcwidth(static_cast<wchar_t>(cp));
    return w > 2 ? 2 : w;
}

bool locale_is_utf8() noexcept {
    const char* cs = ::nl_langinfo(CODESET);
    return cs != nullptr && (std::strcmp(cs, "UTF-8") == 0 || std::strcmp(cs, "utf8") == 0);
}

std::string_view kind_name(ClusterKind k) noexcept {
    switch (k) {
        case ClusterKind::Narrow:
            return "narrow";
        case ClusterKind::Wide:
            return "wide";
        case ClusterKind::Combining:
            return "combining mark";
        case ClusterKind::Hangul:
            return "Hangul jamo";
        case ClusterKind::Zwj:
            return "ZWJ sequence";
        case ClusterKind::Vs16:
            return "VS16";
        case ClusterKind::Vs15:
            return "VS15";
        case ClusterKind::SkinTone:
            return "skin tone";
        case ClusterKind::Flag:
            return "flag";
        case ClusterKind::Keycap:
            return "keycap";
    }
    return "?";
}

std::string_view rule_name(WidthRule r) noexcept {
    switch (r) {
        case WidthRule::PerCodePoint:
            return "per code point";
        case WidthRule::Joined:
            return "joined at U+200D";
        case WidthRule::Cluster:
            return "cluster";
        case WidthRule::Fixed:
            return "fixed";
    }
    return "?";
}

ClusterKind classify(std::u32string_view c) noexcept {
    if (c.size() <= 1) {
        return !c.empty() && ::wcwidth(static_cast<wchar_t>(c[0])) == 2 ? ClusterKind::Wide
                                                                        : ClusterKind::Narrow;
    }
    bool zwj = false, vs15 = false, vs16 = false, keycap = false, modifier = false;
    int regional = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
        const char32_t cp = c[i];
        if (cp == kZwj && i > 0 && i + 1 < c.size()) zwj = true;
        vs15 |= cp == kVs15;
        vs16 |= cp == kVs16;
        keycap |= cp == kKeycap;
        modifier |= is_modifier(cp);
        regional += is_regional(cp) ? 1 : 0;
    }
    if (zwj) return ClusterKind::Zwj;
    if (regional >= 2) return ClusterKind::Flag;
    if (keycap) return ClusterKind::Keycap;
    if (modifier) return ClusterKind::SkinTone;
    if (vs16) return ClusterKind::Vs16;
    if (vs15) return ClusterKind::Vs15;
    if (is_jamo(c[0])) return ClusterKind::Hangul;
    return ClusterKind::Combining;
}

std::size_t cluster_end(std::u32string_view s, std::size_t i, bool utf8) noexcept {
    if (i >= s.size()) return s.size();
    if (!utf8) return i + 1;
    utf8proc_int32_t state = 0;
    std::size_t j = i + 1;
    while (j < s.size() && !utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(s[j - 1]),
                                                             static_cast<utf8proc_int32_t>(s[j]), &state)) {
        ++j;
    }
    return j;
}

WidthModel WidthModel::tmux_like() {
    WidthModel m;
    m.set(ClusterKind::Zwj, WidthRule::Joined);
    return m;  // everything else per code point
}

WidthModel WidthModel::full_cluster() {
    WidthModel m;
    for (std::size_t k = 0; k < kClusterKinds; ++k) m.rules_[k].rule = WidthRule::Cluster;
    return m;
}

int WidthModel::width_by(WidthRule r, std::u32string_view c) const noexcept {
    if (c.empty()) return 0;
    if (!utf8_) return 1;  // one code point, drawn as itself or '?'
    int w = 0;
    switch (r) {
        case WidthRule::PerCodePoint:
            for (char32_t cp : c) w += cell_width(cp, true);
            break;
        case WidthRule::Joined:
            for (std::size_t i = 0; i < c.size(); ++i) {
                if (i == 0 || c[i - 1] != kZwj) w += cell_width(c[i], true);
            }
            break;
        case WidthRule::Fixed:
            w = entry(classify(c)).fixed;
            break;
        case WidthRule::Cluster:
            switch (classify(c)) {
                case ClusterKind::Narrow:
                case ClusterKind::Wide:
                    w = cell_width(c[0], true);
                    break;
                case ClusterKind::Combining:
                    w = utf8proc_charwidth(static_cast<utf8proc_int32_t>(c[0]));
                    break;
                case ClusterKind::Vs15:
                    w = 1;
                    break;
                case ClusterKind::Hangul:
                case ClusterKind::Zwj:
                case ClusterKind::Vs16:
                case ClusterKind::SkinTone:
                case ClusterKind::Flag:
                case ClusterKind::Keycap:
                    w = 2;
                    break;
            }
            break;
    }
    return w < 1 ? 1 : w;
}

int WidthModel::width(std::u32string_view c) const noexcept {
    if (c.empty()) return 0;
    if (!utf8_) return 1;
    return width_by(entry(classify(c)).rule, c);
}

std::string WidthModel::describe() const {
    std::string out;
    for (std::size_t k = static_cast<std::size_t>(ClusterKind::Combining); k < kClusterKinds; ++k) {
        if (!out.empty()) out += ", ";
        const Entry e = rules_[k];
        out += cat(kind_name(static_cast<ClusterKind>(k)), ": ", rule_name(e.rule));
        if (e.rule == WidthRule::Fixed) out += cat(" ", std::to_string(e.fixed));
    }
    return out;
}

const WidthModel& text_widths() noexcept {
    return g_widths;
}
void set_text_widths(const WidthModel& m) noexcept {
    g_widths = m;
}

std::vector<Glyph> glyphs(std::string_view s, const WidthModel& m) {
    std::vector<Glyph> out;
    std::u32string run;  // drawable code points not yet split into clusters
    const auto flush = [&] {
        for (std::size_t i = 0; i < run.size();) {
            const std::size_t end = cluster_end(run, i, m.utf8());
            std::u32string_view c = std::u32string_view(run).substr(i, end - i);
            i = end;
            if (::wcwidth(static_cast<wchar_t>(c[0])) == 0) {
                out.push_back({"?", 1});  // a mark or joiner with nothing before it to sit on
                continue;
            }
            if (c.size() > kMaxClusterCodePoints) c = c.substr(0, kMaxClusterCodePoints);
            Glyph g;
            for (char32_t cp : c) proto::encode_utf8(cp, g.text);
            g.width = m.width(c);
            out.push_back(std::move(g));
        }
        run.clear();
    };
    std::size_t i = 0;
    while (i < s.size()) {
        char32_t cp = 0;
        if (proto::decode_utf8(s, i, cp) && drawable(cp, m.utf8())) {
            run.push_back(cp);
        } else {
            flush();
            out.push_back({"?", 1});
        }
    }
    flush();
    return out;
}

int text_width(std::string_view s, bool utf8) {
    WidthModel m = text_widths();
    m.set_utf8(utf8);
    int cols = 0;
    for (const Glyph& g : glyphs(s, m)) cols += g.width;
    return cols;
}

}  // namespace chat::tui
