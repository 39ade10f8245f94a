// Terminal columns of code points, the one place that asks wcwidth.
#pragma once

#include <string_view>

namespace chat::tui {

// Columns `cp` takes when drawn: wcwidth in a UTF-8 locale (2 for CJK and
// emoji, 0 for combining marks). Anything that is not printable, and every
// non-ASCII code point when the terminal is not UTF-8, is drawn as one '?'.
int cell_width(char32_t cp, bool utf8) noexcept;

// True when cell_width draws `cp` as itself rather than as '?'.
bool drawable(char32_t cp, bool utf8) noexcept;

// Columns of UTF-8 `s` drawn as above (an invalid byte is one '?').
int text_width(std::string_view s, bool utf8) noexcept;

// True when the current LC_CTYPE locale encodes text as UTF-8.
bool locale_is_utf8() noexcept;

}  // namespace chat::tui
