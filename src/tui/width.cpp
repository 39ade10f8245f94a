#include "tui/width.hpp"

#include <langinfo.h>

#include <cstring>
#include <cwchar>

#include "proto/text.hpp"

namespace chat::tui {

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

int text_width(std::string_view s, bool utf8) noexcept {
    int cols = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        char32_t cp = 0;
        cols += proto::decode_utf8(s, i, cp) ? cell_width(cp, utf8) : 1;
    }
    return cols;
}

bool locale_is_utf8() noexcept {
    const char* cs = ::nl_langinfo(CODESET);
    return cs != nullptr && (std::strcmp(cs, "UTF-8") == 0 || std::strcmp(cs, "utf8") == 0);
}

}  // namespace chat::tui
