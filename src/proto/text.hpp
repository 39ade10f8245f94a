// UTF-8 and control-character rules of the wire protocol (PROTOCOL.md, "Transport and lines").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chat::proto {

// True when `s` is well-formed UTF-8: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view s) noexcept;

// True when `s` is valid UTF-8 and holds no control character: C0 other than
// TAB (U+0000..U+0008, U+000A..U+001F), DEL (U+007F), or C1 (U+0080..U+009F).
// This is the check the server applies to every client line before anything
// else ("bad-text").
bool is_clean_text(std::string_view s) noexcept;

// Decodes one code point starting at s[i]. On success stores it in `cp`,
// advances `i` past it and returns true. On an invalid or truncated sequence
// returns false and advances `i` by one byte.
bool decode_utf8(std::string_view s, std::size_t& i, char32_t& cp) noexcept;

// Appends the UTF-8 encoding of `cp` to `out` (cp must be <= U+10FFFF and not a surrogate).
void encode_utf8(char32_t cp, std::string& out);

// Number of code points in valid UTF-8 `s` (invalid bytes count one each).
std::size_t count_code_points(std::string_view s) noexcept;

// For clients that draw text received from the network: returns `s` with
// every invalid byte and every control character (as in is_clean_text, TAB
// included) replaced by U+FFFD, so nothing can reach a terminal as an escape
// sequence. Valid printable text is returned unchanged.
std::string sanitize_text(std::string_view s);

// True when the line is empty or holds only spaces and TABs (such client lines are ignored).
bool is_blank(std::string_view s) noexcept;

}  // namespace chat::proto
