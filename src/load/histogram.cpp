#include "load/histogram.hpp"

#include <cmath>

namespace chat::load {

std::uint64_t Histogram::lowest_of(std::size_t i) noexcept {
    if (i < 2 * kSub) return i;
    const std::size_t k = i - 2 * kSub;
    const int shift = static_cast<int>(k / kSub) + 1;
    const std::uint64_t m = kSub + k % kSub;
    return m << shift;
}

std::uint64_t Histogram::highest_of(std::size_t i) noexcept {
    if (i < 2 * kSub) return i;
    const std::size_t k = i - 2 * kSub;
    const int shift = static_cast<int>(k / kSub) + 1;
    const std::uint64_t m = kSub + k % kSub;
    // The last bucket ends at UINT64_MAX; (m+1) << shift would overflow there.
    if (shift + kSubBits + 1 >= 64 && m == 2 * kSub - 1) return UINT64_MAX;
    return ((m + 1) << shift) - 1;
}

void Histogram::merge(const Histogram& o) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    if (o.count_ && o.min_ < min_) min_ = o.min_;
    if (o.max_ > max_) max_ = o.max_;
}

std::uint64_t Histogram::percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    if (p <= 0) return min();
    if (p >= 100) return max_;
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const std::uint64_t hi = highest_of(i);
            return hi < max_ ? hi : max_;
        }
    }
    return max_;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Histogram::buckets() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        if (counts_[i] == 0) continue;
        std::uint64_t hi = highest_of(i);
        if (hi > max_) hi = max_;  // keeps max() exact after a round trip
        out.emplace_back(hi, counts_[i]);
    }
    return out;
}

void Histogram::add(std::uint64_t v, std::uint64_t n) noexcept {
    if (n == 0) return;
    counts_[index_of(v)] += n;
    count_ += n;
    sum_ += v * n;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
}

}  // namespace chat::load
