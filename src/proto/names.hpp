// Nickname, status and token rules (PROTOCOL.md, "Login" 5 and "Commands").
#pragma once

#include <string>
#include <string_view>

namespace chat::proto {

inline constexpr std::size_t kMaxNameChars = 32;  // code points, nicknames and statuses

// Nickname: 1..32 code points of valid UTF-8; each is an ASCII letter or
// digit, '_', '-', '.', or a code point >= U+00C0 except U+2000..U+206F,
// U+3000 and U+FEFF; the first is not '-' or '.'.
bool is_valid_nick(std::string_view s) noexcept;

// Status: the nickname rules without the first-character rule.
bool is_valid_status(std::string_view s) noexcept;

// The case-folded key of a nickname: ASCII letters lowered, every other byte
// kept ("Begoña" and "BEGOÑA" stay different; "Ana" and "ANA" are the same).
std::string fold_nick(std::string_view s);

// True when a sorts before b in the roster order: the bytes of the nick with ASCII
// letters lowered (ties, which the roster never holds, broken by the raw bytes). A
// strict order, so it can be given to std::sort.
bool nick_less(std::string_view a, std::string_view b) noexcept;

// PING/PONG token: 1..32 of A-Z a-z 0-9 . _ -
bool is_valid_token(std::string_view s) noexcept;

// True when `s` could stand as a server-line param: non-empty, no space, does not begin with ':'.
bool is_param(std::string_view s) noexcept;

}  // namespace chat::proto
