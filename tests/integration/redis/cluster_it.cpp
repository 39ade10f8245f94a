// ClusterLink + ClusterRedis, several nodes in one process, against a real
// Redis (CHATD_REDIS, CHATD_CLUSTER_PASSWORD; exit 77 without). The Lua
// scripts' meaning: claims across nodes and case, one order for every node,
// release by compare-and-delete, a lapsed node declared gone once, a clean
// leave. Each case starts from an empty database 10.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "net/reactor.hpp"
#include "net/redis_client.hpp"
#include "redis_env.hpp"
#include "server/cluster_redis.hpp"

using namespace chat::server;
using chat::net::Clock;
using chat::net::Reactor;
using chat::net::RedisClient;
using namespace std::chrono_literals;
using V = std::vector<std::string>;

namespace {

chat::net::RedisEndpoint g_endpoint;

bool run_until(Reactor& r, const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    bool ok = false;
    const auto deadline = Clock::now() + limit;
    std::function<void()> poll = [&] {
        if (done()) {
            ok = true;
            r.stop();
        } else if (Clock::now() > deadline) {
            r.stop();
        } else {
            r.add_timer(Clock::now() + 2ms, poll);
        }
    };
    r.add_timer(Clock::now(), poll);
    r.run();
    return ok;
}

chat::net::RedisEndpoint endpoint() {
    auto e = g_endpoint;
    e.db = 10;
    return e;
}

void flush(Reactor& r) {
    RedisClient c(r, RedisClient::Options{endpoint()});
    bool done = false;
    c.on_up([&] { c.command({"FLUSHDB"}, [&](const redisReply*) { done = true; }); });
    REQUIRE(c.connect());
    REQUIRE(run_until(r, [&] { return done; }));
}

struct Node : ClusterSink {
    Reactor& r;
    ClusterRedis io;
    ClusterLink link;
    V events;
    V claims;
    bool available = false;
    Reactor::TimerId tick = 0;
    std::function<void()> ticker;

    Node(Reactor& reactor, std::string name, std::chrono::milliseconds ttl = 3000ms)
        : r(reactor), io(reactor, ClusterRedisOptions{endpoint()}), link(io, *this, ClusterOptions{name, ttl}) {
        io.attach(link);
        ticker = [this] {
            link.on_tick(Clock::now());
            tick = r.add_timer(Clock::now() + 20ms, ticker);
        };
        tick = r.add_timer(Clock::now(), ticker);
        link.start(Clock::now());
    }
    ~Node() override { r.cancel_timer(tick); }

    void on_event(const ClusterEvent& e) override {
        static const char* names[] = {"JOIN", "PART", "STATUS", "MSG", "PRIV"};
        std::string s = names[static_cast<int>(e.kind)];
        s += " " + e.nick;
        if (!e.to.empty()) s += " " + e.to;
        s += " " + e.arg;
        events.push_back(s);
    }
    void on_claim(ClusterToken t, Claim c) override {
        claims.push_back(std::to_string(t) + (c == Claim::InUse ? " in-use" : " unavailable"));
    }
    void on_publish_failed(ClusterToken) override {}
    void on_available(bool a) override { available = a; }
    void on_lost_claim(const std::string&) override {}
    void on_released(ClusterToken) override {}
    void on_synced(ClusterToken, bool) override {}
    bool saw(const std::string& line) const { return std::find(events.begin(), events.end(), line) != events.end(); }
};

}  // namespace

TEST_CASE("cluster on Redis: claims across nodes whatever the case; one order; compare-and-delete") {
    Reactor r;
    flush(r);
    Node a(r, "a"), b(r, "b");
    REQUIRE(run_until(r, [&] { return a.available && b.available; }));
    REQUIRE(a.link.claim(1, "Ana", "disponible", 1));
    REQUIRE(run_until(r, [&] { return b.saw("JOIN Ana disponible"); }));
    CHECK(a.saw("JOIN Ana disponible"));
    REQUIRE(b.link.claim(2, "ANA", "disponible", 2));
    REQUIRE(run_until(r, [&] { return !b.claims.empty(); }));
    CHECK(b.claims == V{"2 in-use"});
    REQUIRE(b.link.claim(3, "Begoña", "disponible", 3));
    REQUIRE(run_until(r, [&] { return a.saw("JOIN Begoña disponible"); }));
    REQUIRE(a.link.claim(4, "BEGOÑA", "disponible", 4));  // no folding beyond ASCII: another user
    REQUIRE(run_until(r, [&] { return b.saw("JOIN BEGOÑA disponible"); }));

    // Two senders at once: both nodes see one order, each its own echo in it.
    for (int i = 0; i < 50; ++i) {
        REQUIRE(a.link.publish_message(100 + i, 100 + i, "Ana", "a" + std::to_string(i)));
        REQUIRE(b.link.publish_message(200 + i, 200 + i, "Begoña", "b" + std::to_string(i)));
    }
    auto msgs = [](const Node& n) {
        V out;
        for (const auto& e : n.events)
            if (e.rfind("MSG ", 0) == 0) out.push_back(e);
        return out;
    };
    REQUIRE(run_until(r, [&] { return msgs(a).size() == 100 && msgs(b).size() == 100; }));
    CHECK(msgs(a) == msgs(b));
    CHECK(a.events == b.events);
    CHECK(a.link.last_seq() == b.link.last_seq());

    a.link.set_status("ana", "ocupado");
    REQUIRE(run_until(r, [&] { return b.saw("STATUS Ana ocupado"); }));
    CHECK(b.link.find("ana")->status == "ocupado");

    a.link.release("Ana", "quit bye");
    REQUIRE(run_until(r, [&] { return b.saw("PART Ana quit bye"); }));
    CHECK(b.link.find("ana") == nullptr);
    // Free again, for the other node.
    b.claims.clear();
    REQUIRE(b.link.claim(5, "aNA", "disponible", 5));
    REQUIRE(run_until(r, [&] { return a.saw("JOIN aNA disponible"); }));
    CHECK(b.claims.empty());
}

TEST_CASE("cluster on Redis: a node that joins late loads every roster; a clean leave parts its users at once") {
    Reactor r;
    flush(r);
    Node a(r, "a");
    REQUIRE(run_until(r, [&] { return a.available; }));
    REQUIRE(a.link.claim(1, "ana", "disponible", 1));
    REQUIRE(a.link.claim(2, "bob", "disponible", 2));
    REQUIRE(run_until(r, [&] { return a.link.users().size() == 2; }));
    auto b = std::make_unique<Node>(r, "b");
    REQUIRE(run_until(r, [&] { return b->available; }));
    CHECK(b->link.users().size() == 2);
    REQUIRE(b->link.find("bob"));
    CHECK(b->link.find("bob")->node == "a");
    CHECK(b->link.find("bob")->id == 2);  // the user id travels with the claim
    CHECK(b->events.empty());
    REQUIRE(b->link.claim(3, "carla", "disponible", 3));
    REQUIRE(run_until(r, [&] { return a.saw("JOIN carla disponible"); }));
    const auto t0 = Clock::now();
    b->link.leave();
    REQUIRE(run_until(r, [&] { return b->link.left(); }));
    REQUIRE(run_until(r, [&] { return a.saw("PART carla closed"); }));
    CHECK(Clock::now() - t0 < 1s);
    CHECK(a.link.find("carla") == nullptr);
}

TEST_CASE("cluster on Redis: a node that stops answering is declared gone once; its nicknames are free") {
    Reactor r;
    flush(r);
    Node a(r, "a", 600ms), b(r, "b", 600ms);
    auto c = std::make_unique<Node>(r, "c", 600ms);
    REQUIRE(run_until(r, [&] { return a.available && b.available && c->available; }));
    REQUIRE(c->link.claim(1, "dan", "disponible", 1));
    REQUIRE(c->link.claim(2, "eva", "disponible", 2));
    REQUIRE(run_until(r, [&] { return a.link.users().size() == 2 && b.link.users().size() == 2; }));
    c.reset();  // no Leave: as if killed; its keys lapse
    const auto t0 = Clock::now();
    REQUIRE(run_until(r, [&] { return a.saw("PART eva closed") && b.saw("PART eva closed"); }, 5s));
    CHECK(Clock::now() - t0 < 2s);
    // Once, at the same place of the order on both.
    CHECK(a.events == b.events);
    int parts = 0;
    for (const auto& e : a.events) parts += e == "PART dan closed";
    CHECK(parts == 1);
    REQUIRE(a.link.claim(3, "Dan", "disponible", 3));
    REQUIRE(run_until(r, [&] { return b.saw("JOIN Dan disponible"); }));
}

TEST_CASE("cluster on Redis: Redis flushed under the nodes (a restart without persistence): they resync") {
    Reactor r;
    flush(r);
    Node a(r, "a"), b(r, "b");
    REQUIRE(run_until(r, [&] { return a.available && b.available; }));
    REQUIRE(a.link.claim(1, "ana", "disponible", 1));
    REQUIRE(b.link.claim(2, "bob", "disponible", 2));
    for (int i = 0; i < 20; ++i) REQUIRE(a.link.publish_message(10 + i, 10 + i, "ana", "x"));
    REQUIRE(run_until(r, [&] { return b.link.last_seq() == 22 && a.link.last_seq() == 22; }));
    flush(r);
    // Lost: the nodes learn it at their next heartbeat (-1) and claim their users again.
    REQUIRE(run_until(r, [&] {
        return a.available && b.available && a.link.find("bob") && b.link.find("ana") && a.link.last_seq() < 22 &&
               b.link.last_seq() < 22;
    }));
    REQUIRE(a.link.claim(3, "carla", "disponible", 3));
    REQUIRE(run_until(r, [&] { return b.saw("JOIN carla disponible"); }));
    CHECK(a.link.users().size() == 3);
    CHECK(b.link.users().size() == 3);
}

int main(int argc, char** argv) {
    if (int rc = redis_endpoint_from_env(g_endpoint); rc != 0) return rc;
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
