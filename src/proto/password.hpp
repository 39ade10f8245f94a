// Password rules of protocol version 2 (PROTOCOL.md, "Accounts"). Pure
// functions, no I/O, no allocation.
//
// Guarantees:
// - is_valid_password() is exactly the contract's rule: 8 to 128 bytes (as
//   received, before the LF, a CR already dropped), passing the bad-text
//   check (proto::is_clean_text: valid UTF-8, no C0 but TAB, no DEL, no C1),
//   not beginning with a space. Other spaces, TABs and trailing spaces are
//   part of the password. Nothing is trimmed or normalised.
// - A line that fails it can never be the password of an account, so after
//   AUTH the core may answer bad-password for it without hashing (it is still
//   a wrong password for the throttle).
// - password_argument() gives the argument of `/registrar <password>` and
//   `/clave <password>` byte-exact, as parse_command gives the text of
//   `/quit <reason>`.
#pragma once

#include <cstddef>
#include <string_view>

namespace chat::proto {

inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 128;

// True when `password` follows the rules above.
bool is_valid_password(std::string_view password) noexcept;

// `line` is a client command line (clean text, first byte '/'), such as
// "/registrar  mi clave  ". Returns the rest of the line from the first
// non-space (U+0020) after the command word to its end, trailing spaces and
// TABs included: "mi clave  ". Empty when the line holds nothing but the
// command word and spaces (the caller answers ERROR usage register/password).
// The command word ends at the first space (a TAB belongs to the word, as in
// parse_command). Views into `line`.
std::string_view password_argument(std::string_view line) noexcept;

}  // namespace chat::proto
