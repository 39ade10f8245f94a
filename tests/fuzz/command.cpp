// parse_command on any clean, non-blank line: never crashes, and what it
// returns is consistent with the line (views into it, the rules of each kind).
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "proto/command.hpp"
#include "proto/names.hpp"
#include "proto/password.hpp"
#include "proto/text.hpp"

namespace proto = chat::proto;
using chat::fuzz::inside;
using proto::Cmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string owned(reinterpret_cast<const char*>(data), size);
    std::string_view line = owned;
    // The core hands over only clean, non-blank lines without their LF.
    if (!proto::is_clean_text(line) || proto::is_blank(line)) return 0;
    proto::Command c = proto::parse_command(line);

    FUZZ_CHECK(inside(c.arg, line) || c.kind == Cmd::Unknown || c.kind == Cmd::Usage, "arg outside the line");
    FUZZ_CHECK(inside(c.text, line), "text outside the line");
    FUZZ_CHECK(c.arg.find(' ') == std::string_view::npos, "arg holds a space");
    const bool cmd = line.front() == '/' || line.front() == '!';
    if (!cmd) FUZZ_CHECK(c.kind == Cmd::Public && c.text == line, "a line without / or ! is a public message");
    if (cmd && line.size() >= 2 && line[1] == line[0])
        FUZZ_CHECK(c.kind == Cmd::Public && c.text == line.substr(1), "// and !! escape a public message");

    switch (c.kind) {
        case Cmd::Public:
            FUZZ_CHECK(!c.text.empty(), "empty public message");
            FUZZ_CHECK(c.text.data() + c.text.size() == line.data() + line.size(), "public text cut short");
            break;
        case Cmd::Private:
            FUZZ_CHECK(!c.arg.empty() && !c.text.empty(), "private message without nick or text");
            FUZZ_CHECK(c.text.front() != ' ', "private text starts with a space");
            FUZZ_CHECK(c.text.data() + c.text.size() == line.data() + line.size(), "private text cut short");
            FUZZ_CHECK(c.arg.data() + c.arg.size() < c.text.data(), "nick after the text");
            break;
        case Cmd::Status:
            FUZZ_CHECK(proto::is_valid_status(c.arg), "an invalid status accepted");
            break;
        case Cmd::History:
            FUZZ_CHECK(c.count >= 1 && c.count <= proto::kMaxHistory, "history count %d", c.count);
            break;
        case Cmd::Ping:
            FUZZ_CHECK(c.arg.empty() || proto::is_valid_token(c.arg), "a bad ping token accepted");
            break;
        case Cmd::Quit:
            FUZZ_CHECK(c.text.empty() || c.text.front() != ' ', "quit reason starts with a space");
            break;
        case Cmd::Register:
        case Cmd::Password:
            FUZZ_CHECK(!c.text.empty() && c.text.front() != ' ', "password starts with a space or is empty");
            FUZZ_CHECK(c.text == proto::password_argument(line), "password is not the rest of the line");
            break;
        case Cmd::Unknown:
            FUZZ_CHECK(line.front() == '/', "unknown command without /");
            FUZZ_CHECK(c.arg == "?" || (proto::is_param(c.arg) && inside(c.arg, line)), "unknown-command arg");
            break;
        case Cmd::Usage:
            FUZZ_CHECK(c.arg == "status" || c.arg == "msg" || c.arg == "history" || c.arg == "ping" ||
                           c.arg == "register" || c.arg == "password",
                       "usage arg");
            break;
        case Cmd::Profile:
            FUZZ_CHECK(c.arg.empty() || inside(c.arg, line), "profile arg");
            break;
        case Cmd::List:
        case Cmd::Help:
        case Cmd::Pong:
        case Cmd::StatusInvalid:
            break;
    }
    // Any line that could be sent back to its author as a param or trailing stays clean text.
    FUZZ_CHECK(proto::is_clean_text(c.text) && proto::is_clean_text(c.arg), "a view cuts a UTF-8 sequence");
    return 0;
}
