// Log-linear latency histogram: exact below 64, then 32 linear sub-buckets per
// power of two (under 3.2 % relative error), so a percentile costs one scan
// and merging two histograms is adding counts. Values are nanoseconds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chat::load {

class Histogram {
public:
    static constexpr int kSubBits = 5;
    static constexpr std::uint64_t kSub = 1u << kSubBits;  // sub-buckets per power of two
    static constexpr std::size_t kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

    void record(std::uint64_t v) noexcept {
        ++counts_[index_of(v)];
        ++count_;
        sum_ += v;
        if (v < min_) min_ = v;
        if (v > max_) max_ = v;
    }
    void merge(const Histogram& o) noexcept;
    void reset() noexcept { *this = Histogram{}; }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

    // The smallest recorded-bucket bound v such that at least p % of the values are <= v
    // (never above max()). p in [0, 100]; 0 for an empty histogram.
    std::uint64_t percentile(double p) const noexcept;

    // Non-empty buckets as (highest value of the bucket, count), ascending; for
    // exporting to another process, which can rebuild the histogram with add().
    std::vector<std::pair<std::uint64_t, std::uint64_t>> buckets() const;
    // Adds n values equal to v (v stands for a whole exported bucket, so sum and mean are approximate).
    void add(std::uint64_t v, std::uint64_t n) noexcept;

    static std::size_t index_of(std::uint64_t v) noexcept {
        if (v < 2 * kSub) return static_cast<std::size_t>(v);
        const int e = 63 - __builtin_clzll(v);  // e >= kSubBits + 1
        const int shift = e - kSubBits;
        const std::uint64_t m = v >> shift;  // in [kSub, 2*kSub)
        return 2 * kSub + static_cast<std::size_t>(shift - 1) * kSub + static_cast<std::size_t>(m - kSub);
    }
    // Lowest and highest value that map to bucket i.
    static std::uint64_t lowest_of(std::size_t i) noexcept;
    static std::uint64_t highest_of(std::size_t i) noexcept;

private:
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace chat::load
