// TrimPolicy: a trim after a burst, none while output churns (but one a minute),
// none on a quiet server, and growth measured from what the last trim left.
#include <doctest/doctest.h>

#include "server/trim_policy.hpp"

using chat::server::TrimPolicy;

namespace {
constexpr std::size_t kMiB = std::size_t{1} << 20;

// Seconds [from, to) each freeing `released` at resident size `rss`; each trim leaves `after`.
int count_trims(TrimPolicy& p, std::int64_t from, std::int64_t to, std::size_t released, std::size_t rss,
                std::size_t after) {
    int trims = 0;
    for (std::int64_t t = from; t < to; ++t) {
        if (p.tick(released, rss, t)) {
            ++trims;
            p.trimmed(after, t);
        }
    }
    return trims;
}
}  // namespace

TEST_CASE("a quiet server is trimmed only when a MiB of output has been freed") {
    TrimPolicy p;
    CHECK(p.tick(0, 8 * kMiB, 0));  // no mark yet: the first look sets one
    p.trimmed(8 * kMiB, 0);
    for (std::int64_t t = 1; t < 600; ++t) CHECK_FALSE(p.tick(0, 8 * kMiB, t));
    CHECK(count_trims(p, 600, 600 + 512, 4096, 8 * kMiB, 8 * kMiB) == 2);  // a trickle: 4 KiB a second
}

TEST_CASE("a burst is trimmed once its churn has calmed down") {
    TrimPolicy p;
    p.trimmed(8 * kMiB, 0);
    // Ten seconds of output churning at 5 MiB/s: no trim, whatever has piled up.
    for (std::int64_t t = 1; t <= 10; ++t) CHECK_FALSE(p.tick(5 * kMiB, 40 * kMiB, t));
    // The next quiet second trims, once.
    CHECK(p.tick(64 * 1024, 40 * kMiB, 11));
    p.trimmed(9 * kMiB, 11);
    CHECK_FALSE(p.tick(64 * 1024, 9 * kMiB, 12));
}

TEST_CASE("output churning for long is still trimmed, once a minute") {
    TrimPolicy p;
    p.trimmed(8 * kMiB, 0);
    CHECK(count_trims(p, 1, 301, 3 * kMiB, 30 * kMiB, 20 * kMiB) == 5);
}

TEST_CASE("memory grown past the last trim's mark is trimmed without freed output") {
    TrimPolicy p;
    p.trimmed(32 * kMiB, 0);
    CHECK_FALSE(p.tick(0, 35 * kMiB, 1));  // less than an eighth more
    CHECK(p.tick(0, 37 * kMiB, 2));        // an eighth of 32 MiB: 4 MiB
    p.trimmed(33 * kMiB, 2);
    CHECK_FALSE(p.tick(0, 36 * kMiB, 3));  // measured from the new mark
    CHECK_FALSE(p.tick(0, 0, 4));          // resident size unknown: no growth seen
    // Freed output below the burst threshold adds up across seconds.
    for (std::int64_t t = 5; t < 20; ++t) CHECK_FALSE(p.tick(64 * 1024, 33 * kMiB, t));
    CHECK(p.tick(64 * 1024, 33 * kMiB, 20));
}
