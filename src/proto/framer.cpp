#include "proto/framer.hpp"

#include <cstring>

namespace chat::proto {

LineFramer::Event LineFramer::next(std::string_view data) noexcept {
    Event ev;
    if (data.empty()) return ev;
    if (discarding_) {
        const void* lf = std::memchr(data.data(), '\n', data.size());
        if (lf == nullptr) {
            ev.consumed = data.size();
            return ev;
        }
        discarding_ = false;
        ev.kind = Kind::EndOfLong;
        ev.consumed = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data()) + 1;
        return ev;
    }
    // An LF at index max_line still ends a line of max_line bytes; past that the line is too long.
    const std::size_t window = data.size() > max_line_ ? max_line_ + 1 : data.size();
    // Bytes already searched on earlier NeedMore calls for the same line are not searched again,
    // so a line arriving one byte at a time costs O(n), not O(n^2).
    const std::size_t from = scanned_ <= window ? scanned_ : 0;
    const void* lf = std::memchr(data.data() + from, '\n', window - from);
    if (lf != nullptr) {
        const auto pos = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data());
        std::size_t len = pos;
        if (len > 0 && data[len - 1] == '\r') --len;
        scanned_ = 0;
        ev.kind = Kind::Line;
        ev.line = data.substr(0, len);
        ev.consumed = pos + 1;
        return ev;
    }
    if (data.size() > max_line_) {
        scanned_ = 0;
        discarding_ = true;
        ev.kind = Kind::TooLong;
        ev.consumed = window;
        return ev;
    }
    scanned_ = window;
    return ev;
}

}  // namespace chat::proto
