// A ClusterIo that records the link's operations, for tests that play Redis by hand.
#pragma once

#include <doctest/doctest.h>

#include <iterator>
#include <vector>

#include "server/cluster_link.hpp"

namespace chat::server::test {

struct FakeIo : ClusterIo {
    int connects = 0;
    int disconnects = 0;
    std::vector<ClusterOp> ops;
    void connect() override { ++connects; }
    void disconnect() override { ++disconnects; }
    void send(ClusterOp op) override { ops.push_back(std::move(op)); }
    // The last op of a kind, taken off the list.
    ClusterOp take(ClusterOp::Kind k) {
        for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
            if (it->kind == k) {
                ClusterOp op = *it;
                ops.erase(std::next(it).base());
                return op;
            }
        }
        FAIL("no such op");
        return {};
    }
    bool has(ClusterOp::Kind k) const {
        for (const auto& op : ops)
            if (op.kind == k) return true;
        return false;
    }
};

// An answer to op carrying the script's number.
inline ClusterAnswer answer_to(const ClusterOp& op, long long n = 1) {
    ClusterAnswer a;
    a.token = op.token;
    a.n = n;
    return a;
}

}  // namespace chat::server::test
