#include "load/order_segments.hpp"

#include <algorithm>
#include <charconv>

namespace chat::load {

namespace {
constexpr std::uint64_t kFnvBasis = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

bool take_u64(std::string_view& v, std::uint64_t& out, char then) {
    const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    if (r.ec != std::errc{} || r.ptr == v.data() + v.size() || *r.ptr != then) return false;
    v.remove_prefix(static_cast<std::size_t>(r.ptr - v.data()) + 1);
    return true;
}
}  // namespace

std::uint64_t line_hash(std::string_view line) noexcept {
    std::uint64_t h = kFnvBasis;
    for (unsigned char ch : line) h = (h ^ ch) * kFnvPrime;
    return h;
}

bool OrderSegments::is_marker(std::uint64_t h) noexcept {
    // FNV's low bits see only the bytes' low bits: the top bits of a multiplicative mix see them all.
    return (h * 0x9E3779B97F4A7C15ull) >> 57 == 0;
}

void OrderSegments::Reader::read(std::uint64_t h, OrderSegments& into) {
    if (open_) hash_ = (hash_ ^ h) * kFnvPrime;
    if (!is_marker(h)) return;
    if (open_) into.add(marker_, hash_, 1);
    open_ = true;
    marker_ = h;
    hash_ = (kFnvBasis ^ h) * kFnvPrime;
}

void OrderSegments::add(std::uint64_t marker, std::uint64_t content, std::uint64_t receivers) {
    views_[{marker, content}] += receivers;
}

void OrderSegments::merge(const OrderSegments& o) {
    for (const auto& [view, n] : o.views_) views_[view] += n;
}

std::uint64_t OrderSegments::segments() const noexcept {
    std::uint64_t n = 0;
    std::uint64_t last = 0;
    for (auto it = views_.begin(); it != views_.end(); ++it)
        if (it == views_.begin() || it->first.first != last) {
            ++n;
            last = it->first.first;
        }
    return n;
}

std::uint64_t OrderSegments::readings() const noexcept {
    std::uint64_t n = 0;
    for (const auto& [view, k] : views_) n += k;
    return n;
}

std::uint64_t OrderSegments::mismatches() const noexcept {
    // The map is ordered by marker: the contents of one segment are adjacent.
    std::uint64_t bad = 0;
    for (auto it = views_.begin(); it != views_.end();) {
        const std::uint64_t marker = it->first.first;
        std::uint64_t total = 0, most = 0;
        for (; it != views_.end() && it->first.first == marker; ++it) {
            total += it->second;
            most = std::max(most, it->second);
        }
        bad += total - most;
    }
    return bad;
}

std::string OrderSegments::to_json() const {
    std::string out = "[";
    for (const auto& [view, n] : views_) {
        if (out.size() > 1) out += ',';
        out += '[' + std::to_string(view.first) + ',' + std::to_string(view.second) + ',' +
               std::to_string(n) + ']';
    }
    return out + ']';
}

bool OrderSegments::parse(std::string_view v) {
    if (v.empty() || v.front() != '[') return false;
    v.remove_prefix(1);
    OrderSegments got;
    while (!v.empty() && v.front() == '[') {
        v.remove_prefix(1);
        std::uint64_t marker = 0, content = 0, n = 0;
        if (!take_u64(v, marker, ',') || !take_u64(v, content, ',') || !take_u64(v, n, ']')) return false;
        got.add(marker, content, n);
        if (!v.empty() && v.front() == ',') v.remove_prefix(1);
    }
    if (v != "]") return false;
    *this = std::move(got);
    return true;
}

}  // namespace chat::load
