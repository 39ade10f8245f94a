// Where a password can come from without asking: `--password-file FILE` or
// the CHAT_PASSWORD environment variable. Pure apart from the file and the
// environment they read; unit-tested with temporary files.
#pragma once

#include <string>
#include <string_view>

#include "tui/secret.hpp"

namespace chat::tui {

inline constexpr const char* kPasswordEnv = "CHAT_PASSWORD";

// The password in a file's text: its first line, without the LF that ends it
// and a CR right before that LF; nothing else is trimmed (spaces are part of
// a password). Text without an LF is taken whole.
std::string_view first_line(std::string_view text);

// Reads the password from `path` into `out`. Refused, with `error` saying why
// (and `out` left empty): a file that cannot be opened, is not a regular
// file, can be read by its group or by others (a password file must be
// private, as ssh demands of its keys: chmod 600), whose first line is empty
// or is not a valid password (8 to 128 bytes, clean text, no leading space),
// or whose first line is longer than any password.
bool read_password_file(const std::string& path, Secret& out, std::string& error);

// Takes the password from CHAT_PASSWORD when it is set: copies it into `out`,
// then overwrites the variable's bytes and removes it, so it does not linger
// in the process's environment. False when unset; when set but not a valid
// password, false with `error` saying so.
bool take_password_env(Secret& out, std::string& error);

}  // namespace chat::tui
