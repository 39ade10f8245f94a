// IRC server lines as the load tester needs them: ":prefix VERB params :trailing".
#pragma once

#include <string_view>

#include "proto/server_line.hpp"

namespace chat::load {

struct IrcLine {
    std::string_view nick;   // the nick of the prefix ("nick!user@host" -> "nick"), or the server name
    proto::ServerLine line;  // verb, params and trailing after the prefix
};

// Parses an IRC line without its CRLF. Returns false for an empty line.
bool parse_irc_line(std::string_view raw, IrcLine& out);

}  // namespace chat::load
