// When chatd hands freed heap pages back to the system (malloc_trim). Pure: the
// caller passes what the output buffers released in the last second, the
// resident size and the time, and trims when told to.
//
// Output buffers are freed when they empty, so after a burst (a login storm,
// a fan-out to slow readers) glibc holds the freed pages and the process
// would keep its peak RSS for good. But trimming while output still churns
// only hands back pages that the next turns fault in again: at saturation,
// trimming every second cost chatd about 150,000 page faults per 8 s run
// (docs/benchmarks.md). So a trim waits for the churn to calm down, and runs
// at most once a minute while it does not.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chat::server {

class TrimPolicy {
public:
    // Freed output worth this much since the last trim: a burst went by.
    static constexpr std::size_t kBurst = std::size_t{1} << 20;
    // Released in the last second: output still churning.
    static constexpr std::size_t kChurn = std::size_t{1} << 20;
    // While churning, at most one trim per this many seconds.
    static constexpr std::int64_t kBusyInterval = 60;

    // Once a second: `released` bytes of output buffers freed since the last call, `rss` the
    // resident bytes now (0 when unknown), `now` in seconds. True: trim now, then trimmed().
    bool tick(std::size_t released, std::size_t rss, std::int64_t now) noexcept;
    // After a trim: the resident size it left (the next growth is measured from there).
    void trimmed(std::size_t rss, std::int64_t now) noexcept;

private:
    std::size_t mark_ = 0;      // resident bytes the last trim left
    std::size_t released_ = 0;  // freed output since the last trim
    std::int64_t last_trim_ = INT64_MIN / 2;
};

}  // namespace chat::server
