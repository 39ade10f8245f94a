#include "proto/names.hpp"

#include "proto/text.hpp"

namespace chat::proto {

namespace {

constexpr char lower_ascii(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

constexpr bool is_ascii_alnum(char32_t c) noexcept {
    return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9');
}

constexpr bool is_name_char(char32_t c) noexcept {
    if (c < 0x80) return is_ascii_alnum(c) || c == U'_' || c == U'-' || c == U'.';
    if (c < 0xC0) return false;
    // General punctuation and the invisible formatting characters, the ideographic
    // space and the BOM would let two nicks look the same or look empty.
    if (c >= 0x2000 && c <= 0x206F) return false;
    return c != 0x3000 && c != 0xFEFF;
}

bool check_name(std::string_view s, bool nick_first_rule) noexcept {
    if (s.empty()) return false;
    std::size_t i = 0, count = 0;
    char32_t cp;
    while (i < s.size()) {
        if (!decode_utf8(s, i, cp) || !is_name_char(cp)) return false;
        if (count == 0 && nick_first_rule && (cp == U'-' || cp == U'.')) return false;
        if (++count > kMaxNameChars) return false;
    }
    return true;
}

}  // namespace

bool is_valid_nick(std::string_view s) noexcept {
    return check_name(s, true);
}

bool is_valid_status(std::string_view s) noexcept {
    return check_name(s, false);
}

std::string fold_nick(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower_ascii(c);
    return out;
}

bool nick_less(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(lower_ascii(a[i]));
        const auto y = static_cast<unsigned char>(lower_ascii(b[i]));
        if (x != y) return x < y;
    }
    if (a.size() != b.size()) return a.size() < b.size();
    // Equal once folded: order by the raw bytes so that the order is total and stable.
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (x != y) return x < y;
    }
    return false;
}

bool is_valid_token(std::string_view s) noexcept {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s) {
        if (!is_ascii_alnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
}

bool is_param(std::string_view s) noexcept {
    return !s.empty() && s.front() != ':' && s.find(' ') == std::string_view::npos;
}

}  // namespace chat::proto
