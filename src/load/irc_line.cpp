#include "load/irc_line.hpp"

namespace chat::load {

bool parse_irc_line(std::string_view raw, IrcLine& out) {
    out.nick = {};
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (!raw.empty() && raw.front() == ':') {
        const auto sp = raw.find(' ');
        const std::string_view prefix = raw.substr(1, sp == std::string_view::npos ? raw.npos : sp - 1);
        out.nick = prefix.substr(0, prefix.find('!'));
        raw.remove_prefix(sp == std::string_view::npos ? raw.size() : sp + 1);
        while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
    }
    return proto::parse_server_line(raw, out.line);
}

}  // namespace chat::load
