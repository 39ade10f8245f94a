// Parses one client line into a command (PROTOCOL.md, "Commands (after login)").
#pragma once

#include <string_view>

namespace chat::proto {

enum class Cmd {
    Public,         // text: the message (after "//" or "!!" unescaping)
    Private,        // arg: nick as typed, text: the message
    Status,         // arg: the new status (already valid)
    List,
    Profile,        // arg: nick as typed, or empty for self
    History,        // count: 1..200
    Help,
    Ping,           // arg: token, or empty when none was given
    Pong,
    Quit,           // text: the reason, possibly empty
    Register,       // text: the password, byte-exact (rest of the line), never empty
    Password,       // text: the new password, byte-exact, never empty
    Unknown,        // arg: the command word as typed without '/', or "?" when it could not be a param
    Usage,          // arg: "status", "msg", "history", "ping", "register" or "password"
    StatusInvalid,  // more than one word, or a status breaking the rules
};

struct Command {
    Cmd kind = Cmd::Public;
    std::string_view arg;   // views into the parsed line
    std::string_view text;
    int count = 0;
};

inline constexpr int kDefaultHistory = 20;
inline constexpr int kMaxHistory = 200;

// `line` must already be clean text (is_clean_text) and not blank. Pure: the
// nick of a private message or profile is not checked here (the chat core
// answers no-such-user for a nick that is not online / not known).
Command parse_command(std::string_view line) noexcept;

}  // namespace chat::proto
