#include "proto/text.hpp"

#include <cstdint>

namespace chat::proto {

namespace {

constexpr bool is_cont(unsigned char b) noexcept {
    return (b & 0xC0) == 0x80;
}

constexpr bool is_control(char32_t cp) noexcept {
    return (cp < 0x20 && cp != U'\t') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

bool decode_utf8(std::string_view s, std::size_t& i, char32_t& cp) noexcept {
    const std::size_t n = s.size();
    if (i >= n) return false;
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        cp = b0;
        ++i;
        return true;
    }
    // The second byte's range encodes every rule that is not "a continuation byte":
    // it excludes overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
    unsigned char lo = 0x80, hi = 0xBF;
    std::size_t len = 0;
    char32_t v = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        v = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        v = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        v = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        ++i;
        return false;
    }
    if (n - i < len) {
        ++i;
        return false;
    }
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) {
        ++i;
        return false;
    }
    v = (v << 6) | (b1 & 0x3F);
    for (std::size_t k = 2; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (!is_cont(b)) {
            ++i;
            return false;
        }
        v = (v << 6) | (b & 0x3F);
    }
    cp = v;
    i += len;
    return true;
}

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    char32_t cp;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        if (!decode_utf8(s, i, cp)) return false;
    }
    return true;
}

bool is_clean_text(std::string_view s) noexcept {
    std::size_t i = 0;
    char32_t cp;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            if ((b < 0x20 && b != '\t') || b == 0x7F) return false;
            ++i;
            continue;
        }
        if (!decode_utf8(s, i, cp) || is_control(cp)) return false;
    }
    return true;
}

void encode_utf8(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::size_t count_code_points(std::string_view s) noexcept {
    std::size_t i = 0, count = 0;
    char32_t cp;
    while (i < s.size()) {
        decode_utf8(s, i, cp);
        ++count;
    }
    return count;
}

std::string sanitize_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    char32_t cp;
    while (i < s.size()) {
        const std::size_t start = i;
        // TAB too: how to show it is the drawing client's choice, not the sender's.
        if (decode_utf8(s, i, cp) && cp != U'\t' && !is_control(cp)) {
            out.append(s.substr(start, i - start));
        } else {
            out.append(kReplacement);
        }
    }
    return out;
}

bool is_blank(std::string_view s) noexcept {
    for (char c : s) {
        if (c != ' ' && c != '\t') return false;
    }
    return true;
}

}  // namespace chat::proto
