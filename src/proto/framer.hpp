// Splits a client byte stream into lines (PROTOCOL.md, "Transport and lines").
#pragma once

#include <cstddef>
#include <string_view>

namespace chat::proto {

// A line is at most `max_line` bytes before its LF, a CR included. A longer
// line is reported once (TooLong, as soon as the limit is passed) and then
// discarded up to and including its LF.
class LineFramer {
public:
    explicit LineFramer(std::size_t max_line) noexcept : max_line_(max_line) {}

    enum class Kind {
        NeedMore,  // no complete event in `data`; `consumed` bytes may still be dropped (discarding)
        Line,      // `line` is a complete line, LF and a CR right before it removed
        TooLong,   // the current line passed max_line; its bytes are being discarded
        EndOfLong, // the LF ending a too-long line was reached (a complete line for idle purposes)
    };
    struct Event {
        Kind kind = Kind::NeedMore;
        std::string_view line;     // for Line: points into `data`
        std::size_t consumed = 0;  // bytes of `data` this event used up; drop them before the next call
    };

    // Looks at the unconsumed bytes `data` (starting where the previous
    // event's `consumed` ended) and returns the next event. Call repeatedly,
    // dropping `consumed` bytes each time, until NeedMore.
    Event next(std::string_view data) noexcept;

    // Forgets all state, for a new stream (e.g. after a reconnect with an emptied buffer).
    void reset() noexcept {
        discarding_ = false;
        scanned_ = 0;
    }

    bool discarding() const noexcept { return discarding_; }
    std::size_t max_line() const noexcept { return max_line_; }

private:
    std::size_t max_line_;
    bool discarding_ = false;
    // Bytes at the front of `data` already known to hold no LF (the next call must pass
    // the same unconsumed bytes, possibly with more appended).
    std::size_t scanned_ = 0;
};

}  // namespace chat::proto
