// What the client adds to the protocol: its own commands and keys.
#pragma once

#include <span>
#include <string_view>

namespace chat::tui {

// Shown after the server's HELP lines in reply to /ayuda (or alone while offline).
std::span<const std::string_view> client_help_lines();

// Every command word the client completes with Tab, server and client ones, with the '/'.
std::span<const std::string_view> command_names();

}  // namespace chat::tui
