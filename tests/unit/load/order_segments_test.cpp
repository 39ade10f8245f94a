#include "load/order_segments.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "load/result.hpp"

using chat::load::line_hash;
using chat::load::OrderSegments;
using chat::load::Result;

namespace {

// Line hashes of a long run of distinct lines: one total order, as a correct cluster delivers it.
std::vector<std::uint64_t> total_order(int n) {
    std::vector<std::uint64_t> v;
    for (int i = 0; i < n; ++i) v.push_back(line_hash("MSG #lobby L" + std::to_string(i) + " :x"));
    return v;
}

// What one receiver that read lines [from, to) of `order` leaves in a process's segments.
void read(const std::vector<std::uint64_t>& order, std::size_t from, std::size_t to, OrderSegments& into) {
    OrderSegments::Reader r;
    for (std::size_t i = from; i < to; ++i) r.read(order[i], into);
}

Result process_result(const OrderSegments& s) {
    Result r;
    r.scenario = "fanout";
    r.proto = "chat";
    r.order_segments = s;
    return r;
}

}  // namespace

TEST_CASE("about one line in 128 is a marker") {
    int markers = 0;
    for (auto h : total_order(100'000)) markers += OrderSegments::is_marker(h);
    CHECK(markers > 100'000 / 128 / 2);
    CHECK(markers < 100'000 / 128 * 2);
}

TEST_CASE(
    "receivers that started and stopped reading at different moments agree on the segments they read whole") {
    const auto order = total_order(20'000);
    OrderSegments a, b;
    read(order, 0, 20'000, a);      // process a: logged in before anything was sent
    read(order, 0, 19'000, a);      // ... one that stopped reading early
    read(order, 3'000, 20'000, b);  // process b started later: it missed a prefix
    read(order, 7'777, 15'000, b);
    CHECK(a.mismatches() == 0);
    CHECK(b.mismatches() == 0);
    Result total;
    total.processes = 0;
    total.merge(process_result(a));
    total.merge(process_result(b));
    CHECK(total.order_segments.segments() > 100);
    CHECK(total.order_segments.readings() > 2 * total.order_segments.segments());
    CHECK(total.order_segments.mismatches() == 0);
    CHECK(total.ok());
}

TEST_CASE("merge finds receivers of one process that saw another order than the other processes") {
    const auto order = total_order(20'000);
    auto swapped = order;
    std::swap(swapped[10'000], swapped[10'001]);  // two lines the other way round on one node
    OrderSegments a, b, c;
    read(order, 0, 20'000, a);
    read(order, 500, 20'000, b);
    read(swapped, 1'000, 20'000, c);
    read(swapped, 1'000, 20'000, c);
    // Each process on its own sees no disagreement...
    CHECK(a.mismatches() == 0);
    CHECK(b.mismatches() == 0);
    CHECK(c.mismatches() == 0);
    Result total;
    total.processes = 0;
    for (const auto* s : {&a, &b, &c}) total.merge(process_result(*s));
    // ...but in the one segment with the swap, c's two receivers differ from a's and b's.
    CHECK(total.order_segments.mismatches() == 2);
    CHECK_FALSE(total.ok());
}

TEST_CASE("a receiver that missed a line differs in that segment only") {
    const auto order = total_order(20'000);
    auto lossy = order;
    lossy.erase(lossy.begin() + 12'345);
    OrderSegments s;
    read(order, 0, 20'000, s);
    read(order, 0, 20'000, s);
    read(lossy, 0, lossy.size(), s);
    CHECK(s.mismatches() == 1);
}

TEST_CASE("order segments go through the JSON that --merge reads") {
    const auto order = total_order(5'000);
    Result r = process_result({});
    read(order, 0, 5'000, r.order_segments);
    read(order, 100, 4'000, r.order_segments);
    r.latency.record(1);
    r.login_latency.record(1);
    const auto back = Result::from_json(r.to_json());
    REQUIRE(back);
    CHECK(back->order_segments.to_json() == r.order_segments.to_json());
    CHECK(back->order_segments.readings() == r.order_segments.readings());
    OrderSegments bad;
    CHECK_FALSE(bad.parse("[[1,2]]"));
    CHECK_FALSE(bad.parse("[[1,2,3]"));
    CHECK(bad.parse("[]"));
}
