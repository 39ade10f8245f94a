// The one-order check across chat-load processes. Each process only knows
// its own receivers, and they logged in (and stop reading) at moments the
// other processes do not know, so whole sequences cannot be compared across
// processes. Instead every receiver cuts what it reads into segments at
// "marker" lines: a line is a marker by its own hash alone, so every
// receiver in every process agrees on the markers without talking to the
// others. A segment runs from one marker to the next (both included); two
// receivers that both read it whole must have read the same lines in the
// same order, whenever each of them started and stopped reading. What a
// process keeps is only, per segment, which contents how many receivers saw;
// `chat-load --merge` adds those up and compares across processes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace chat::load {

// FNV-1a of one line: the same bytes give the same number in every process.
std::uint64_t line_hash(std::string_view line) noexcept;

class OrderSegments {
public:
    // About one line in 128 is a marker: segments long enough to say something about order,
    // few enough that a process's JSON stays small (a few hundred per million lines read).
    static bool is_marker(std::uint64_t line_hash) noexcept;

    // One receiver's reading. Lines before its first marker belong to a segment it did not
    // read whole, and so does whatever follows its last marker.
    class Reader {
    public:
        void read(std::uint64_t line_hash, OrderSegments& into);

    private:
        bool open_ = false;
        std::uint64_t marker_ = 0;  // the marker that opened the segment being read
        std::uint64_t hash_ = 0;    // the lines read since, chained
    };

    void add(std::uint64_t marker, std::uint64_t content, std::uint64_t receivers);
    void merge(const OrderSegments& o);

    // Segments read whole by at least one receiver.
    std::uint64_t segments() const noexcept;
    // (receiver, segment) pairs compared.
    std::uint64_t readings() const noexcept;
    // Per segment, the readers whose contents differ from the most common contents of that segment.
    std::uint64_t mismatches() const noexcept;

    // [[marker,content,receivers],...], and back; parse() leaves *this unchanged on bad input.
    std::string to_json() const;
    bool parse(std::string_view json);

private:
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> views_;
};

}  // namespace chat::load
