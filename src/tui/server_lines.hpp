// Server lines out of the bytes the client receives (pure: no socket, so it is
// unit-tested alone). Connection feeds it what recv() returned.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proto/framer.hpp"

namespace chat::tui {

// The longest client text a server accepts: chatd's --max-line goes up to 1 MiB.
inline constexpr std::size_t kMaxServerText = std::size_t{1} << 20;
// What a server line adds around that text. The longest framing is
// `HIST <time> <from> <to> :` : a 20-byte time and two nicknames of 32 code
// points of up to 4 bytes each (128 bytes) with the verb, spaces and colon make
// under 300 bytes (`PRIV <from> <to> :` is shorter); 512 leaves room to spare.
inline constexpr std::size_t kServerFramingAllowance = 512;
// Longer than any line the server sends (a --max-line text plus its framing).
inline constexpr std::size_t kMaxServerLine = kMaxServerText + kServerFramingAllowance;

struct ServerInput {
    std::string line;       // a complete server line without its LF (empty when too_long)
    bool too_long = false;  // a line longer than the limit arrived and was dropped
};

class ServerLineReader {
public:
    explicit ServerLineReader(std::size_t max_line = kMaxServerLine) : framer_(max_line) {}

    // Takes the next bytes of the stream; complete lines, and one too_long event per
    // overlong line (as soon as it passes the limit), go to `out` in arrival order.
    // Memory stays bounded: an overlong line is discarded as it arrives.
    void feed(std::string_view data, std::vector<ServerInput>& out);

    // Forgets a partial line, for a new connection.
    void reset();

    std::size_t max_line() const { return framer_.max_line(); }

private:
    std::string in_;
    proto::LineFramer framer_;
};

}  // namespace chat::tui
