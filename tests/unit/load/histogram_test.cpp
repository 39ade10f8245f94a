#include "load/histogram.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using chat::load::Histogram;

TEST_CASE("bucket bounds are contiguous, cover every value, and stay within 1/32 relative width") {
    std::uint64_t expect_lo = 0;
    for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
        const std::uint64_t lo = Histogram::lowest_of(i), hi = Histogram::highest_of(i);
        REQUIRE(lo == expect_lo);
        REQUIRE(hi >= lo);
        REQUIRE(Histogram::index_of(lo) == i);
        REQUIRE(Histogram::index_of(hi) == i);
        if (lo >= 64) REQUIRE((hi - lo + 1) * 32 <= lo);
        if (hi == UINT64_MAX) {
            CHECK(i == Histogram::kBuckets - 1);
            break;
        }
        expect_lo = hi + 1;
    }
    CHECK(Histogram::index_of(UINT64_MAX) == Histogram::kBuckets - 1);
}

TEST_CASE("small values are exact; percentiles follow the ranks") {
    Histogram h;
    for (std::uint64_t v = 1; v <= 50; ++v) h.record(v);
    CHECK(h.count() == 50);
    CHECK(h.min() == 1);
    CHECK(h.max() == 50);
    CHECK(h.percentile(50) == 25);
    CHECK(h.percentile(90) == 45);
    CHECK(h.percentile(100) == 50);
    CHECK(h.mean() == doctest::Approx(25.5));
}

TEST_CASE("a slow tail shows in p99 and p99.9 but not in the median") {
    Histogram h;
    for (int i = 0; i < 9900; ++i) h.record(100'000);    // 100 us
    for (int i = 0; i < 100; ++i) h.record(40'000'000);  // 40 ms (a delayed ACK)
    const double p50 = static_cast<double>(h.percentile(50));
    CHECK(p50 == doctest::Approx(100'000).epsilon(0.035));
    CHECK(h.percentile(99) < 200'000);
    CHECK(static_cast<double>(h.percentile(99.9)) == doctest::Approx(40'000'000).epsilon(0.035));
    CHECK(h.max() == 40'000'000);
}

TEST_CASE("an empty histogram reports zeros") {
    Histogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(99) == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
}

TEST_CASE("merging equals recording everything in one histogram") {
    Histogram a, b, all;
    for (std::uint64_t v = 1000; v < 200'000; v += 997) {
        a.record(v);
        all.record(v);
    }
    for (std::uint64_t v = 5'000'000; v < 9'000'000; v += 33'331) {
        b.record(v);
        all.record(v);
    }
    a.merge(b);
    CHECK(a.count() == all.count());
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) CHECK(a.percentile(p) == all.percentile(p));
}

TEST_CASE("exported buckets rebuild the same percentiles") {
    Histogram h;
    for (std::uint64_t v = 1; v < 3'000'000; v = v * 3 / 2 + 7) h.record(v);
    Histogram copy;
    for (auto [v, n] : h.buckets()) copy.add(v, n);
    CHECK(copy.count() == h.count());
    CHECK(copy.max() == h.max());
    for (double p : {50.0, 90.0, 99.0, 99.9}) CHECK(copy.percentile(p) == h.percentile(p));
}
