#include "tui/server_lines.hpp"

namespace chat::tui {

void ServerLineReader::feed(std::string_view data, std::vector<ServerInput>& out) {
    in_.append(data);
    std::size_t off = 0;
    for (;;) {
        const auto ev = framer_.next(std::string_view(in_).substr(off));
        off += ev.consumed;
        if (ev.kind == proto::LineFramer::Kind::NeedMore) break;
        if (ev.kind == proto::LineFramer::Kind::Line) {
            out.push_back({std::string(ev.line), false});
        } else if (ev.kind == proto::LineFramer::Kind::TooLong) {
            out.push_back({std::string(), true});
        }
    }
    in_.erase(0, off);
}

void ServerLineReader::reset() {
    in_.clear();
    in_.shrink_to_fit();  // a megabyte line would otherwise keep its buffer
    framer_.reset();
}

}  // namespace chat::tui
