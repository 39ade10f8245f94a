#include "tui/paste.hpp"

#include <algorithm>

#include "proto/text.hpp"

namespace chat::tui {

std::u32string normalize_paste(std::u32string_view in) {
    std::u32string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char32_t c = in[i];
        if (c == U'\r') {
            out.push_back(U'\n');
            if (i + 1 < in.size() && in[i + 1] == U'\n') ++i;
        } else if (c == U'\n') {
            out.push_back(U'\n');
        } else if (c == U'\t') {
            out.append(kPasteTabSpaces, U' ');
        } else if (c >= 0x20 && c != 0x7F && !(c >= 0x80 && c <= 0x9F)) {
            out.push_back(c);
        }
    }
    return out;
}

std::vector<std::string> paste_lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t lf = text.find('\n', start);
        if (lf == std::string_view::npos) lf = text.size();
        const std::string_view line = text.substr(start, lf - start);
        if (!proto::is_blank(line)) out.emplace_back(line);
        start = lf + 1;
    }
    return out;
}

void Pacer::refill(std::int64_t now_ms) {
    if (last_ms_ >= 0 && now_ms > last_ms_) {
        tokens_ms_ =
            std::min<std::int64_t>(std::int64_t{burst_} * 1000, tokens_ms_ + (now_ms - last_ms_) * rate_);
    }
    if (now_ms > last_ms_) last_ms_ = now_ms;
}

bool Pacer::take(std::int64_t now_ms) {
    refill(now_ms);
    if (tokens_ms_ < 1000) return false;
    tokens_ms_ -= 1000;
    return true;
}

std::int64_t Pacer::wait_ms(std::int64_t now_ms) {
    refill(now_ms);
    if (tokens_ms_ >= 1000) return 0;
    return (1000 - tokens_ms_ + rate_ - 1) / rate_;
}

}  // namespace chat::tui
