// RedisClient (hiredis's async API on the Reactor) against a real Redis:
// CHATD_REDIS (redis://HOST:PORT) and CHATD_CLUSTER_PASSWORD, as
// `eval "$(scripts/redis.sh env)"` sets them. Exit 77 (skipped) without them.
// Keys live under a per-run prefix in database 9, so runs do not meet.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "net/reactor.hpp"
#include "net/redis_client.hpp"
#include "redis_env.hpp"

using chat::net::Clock;
using chat::net::Fd;
using chat::net::Reactor;
using chat::net::RedisClient;
using chat::net::RedisEndpoint;
using namespace std::chrono_literals;

namespace {

RedisEndpoint g_endpoint;
std::string g_prefix;

std::string key(std::string_view name) { return g_prefix + std::string(name); }

RedisClient::Options options() {
    RedisClient::Options o;
    o.endpoint = g_endpoint;
    o.endpoint.db = 9;
    o.connect_timeout = 2s;
    o.reply_timeout = 3s;
    return o;
}

// Runs the loop until done() or 10 s; false on the time limit.
bool run_until(Reactor& r, const std::function<bool()>& done) {
    bool timed_out = false;
    const auto deadline = Clock::now() + 10s;
    std::function<void()> poll;
    Reactor::TimerId tick = 0;
    poll = [&] {
        if (done()) {
            r.stop();
            return;
        }
        if (Clock::now() > deadline) {
            timed_out = true;
            r.stop();
            return;
        }
        tick = r.add_timer(Clock::now() + 2ms, poll);
    };
    tick = r.add_timer(Clock::now(), poll);
    r.run();
    r.cancel_timer(tick);
    return !timed_out;
}

std::string str(const redisReply* r) {
    if (r == nullptr) return "<null>";
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    if (r->type == REDIS_REPLY_NIL) return "<nil>";
    return std::string(r->str, r->len);
}

struct Connected {
    Reactor r;
    RedisClient c;
    std::vector<std::string> downs;
    explicit Connected(RedisClient::Options o = options()) : c(r, std::move(o)) {
        c.on_down([this](const std::string& why) { downs.push_back(why); });
        REQUIRE(c.connect());
        REQUIRE(run_until(r, [&] { return c.up() || !downs.empty(); }));
        REQUIRE(c.up());
    }
};

}  // namespace

TEST_CASE("redis: AUTH, SELECT, a command and its reply") {
    Connected k;
    std::vector<std::string> got;
    REQUIRE(k.c.command({"SET", key("a"), "uno"}, [&](const redisReply* r) { got.push_back(str(r)); }));
    REQUIRE(k.c.command({"GET", key("a")}, [&](const redisReply* r) { got.push_back(str(r)); }));
    REQUIRE(k.c.command({"CLIENT", "INFO"}, [&](const redisReply* r) { got.push_back(str(r)); }));
    REQUIRE(run_until(k.r, [&] { return got.size() == 3; }));
    CHECK(got[0] == "OK");
    CHECK(got[1] == "uno");
    CHECK(got[2].find(" db=9 ") != std::string::npos);
    CHECK(k.downs.empty());
}

TEST_CASE("redis: replies far past 16 KiB arrive whole on an edge-triggered fd, without more traffic") {
    Connected k;
    const std::string big(3 * 1024 * 1024 + 17, 'x');
    int done = 0;
    std::size_t len = 0;
    REQUIRE(k.c.command({"SET", key("big"), big}, [&](const redisReply*) { ++done; }));
    // 5,000 pipelined commands: their replies come in one burst of many 16 KiB reads.
    for (int i = 0; i < 5000; ++i)
        REQUIRE(k.c.command({"INCR", key("n")}, [&](const redisReply* r) { done += r != nullptr; }));
    REQUIRE(k.c.command({"GET", key("big")}, [&](const redisReply* r) {
        len = r != nullptr ? r->len : 0;
        ++done;
    }));
    REQUIRE(run_until(k.r, [&] { return done == 5002; }));
    CHECK(len == big.size());
    CHECK(k.c.pending() == 0);
}

TEST_CASE("redis: a wrong password is a failed connect with the reason") {
    auto o = options();
    o.endpoint.password = "not-the-password";
    Reactor r;
    RedisClient c(r, o);
    std::vector<std::string> downs;
    bool upped = false;
    c.on_up([&] { upped = true; });
    c.on_down([&](const std::string& why) { downs.push_back(why); });
    REQUIRE(c.connect());
    REQUIRE(run_until(r, [&] { return !downs.empty(); }));
    CHECK_FALSE(upped);
    CHECK_FALSE(c.up());
    CHECK(downs.size() == 1);
    CHECK(downs[0].find("AUTH") != std::string::npos);
}

TEST_CASE("redis: a refused port, then a listener that never answers (connect timeout)") {
    // A port nobody listens on.
    Fd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &alen) == 0);
    const int port = ntohs(a.sin_port);
    auto o = options();
    o.endpoint.port = port;
    o.connect_timeout = 300ms;
    {
        Reactor r;
        RedisClient c(r, o);
        std::vector<std::string> downs;
        c.on_down([&](const std::string& why) { downs.push_back(why); });
        c.connect();
        REQUIRE(run_until(r, [&] { return !downs.empty(); }));
        CHECK(downs.size() == 1);
        CHECK_FALSE(c.connecting());
    }
    // Listening but never accepting: the kernel completes the handshake, PING is never answered.
    REQUIRE(::listen(s.get(), 4) == 0);
    Reactor r;
    RedisClient c(r, o);
    std::vector<std::string> downs;
    c.on_down([&](const std::string& why) { downs.push_back(why); });
    const auto t0 = Clock::now();
    REQUIRE(c.connect());
    REQUIRE(run_until(r, [&] { return !downs.empty(); }));
    CHECK(Clock::now() - t0 >= 300ms);
    CHECK(Clock::now() - t0 < 3s);
    CHECK(downs[0].find("in time") != std::string::npos);
}

TEST_CASE("redis: a reply that does not come in time fails the link and every pending command") {
    Connected k;
    std::vector<std::string> got;
    // BLPOP on an empty list blocks for 2 s; the reply bound here is 200 ms.
    REQUIRE(k.c.command({"BLPOP", key("empty"), "2"}, [&](const redisReply* r) { got.push_back(str(r)); }, 200ms));
    REQUIRE(k.c.command({"PING"}, [&](const redisReply* r) { got.push_back(str(r)); }));
    const auto t0 = Clock::now();
    REQUIRE(run_until(k.r, [&] { return !k.downs.empty(); }));
    CHECK(Clock::now() - t0 < 1500ms);
    CHECK(got == std::vector<std::string>{"<null>", "<null>"});
    CHECK(k.downs[0].find("in time") != std::string::npos);
    CHECK_FALSE(k.c.up());
    // And it connects again.
    REQUIRE(k.c.connect());
    REQUIRE(run_until(k.r, [&] { return k.c.up(); }));
}

TEST_CASE("redis: the context freed from inside a reply callback") {
    Connected k;
    std::vector<std::string> got;
    REQUIRE(k.c.command({"PING"}, [&](const redisReply* r) {
        got.push_back(str(r));
        k.c.disconnect("closed by its owner");
        // Inside the callback the link is already refusing commands.
        CHECK_FALSE(k.c.command({"PING"}, [&](const redisReply*) { got.push_back("never"); }));
    }));
    REQUIRE(k.c.command({"PING"}, [&](const redisReply* r) { got.push_back(str(r)); }));
    REQUIRE(run_until(k.r, [&] { return !k.downs.empty(); }));
    CHECK(got == std::vector<std::string>{"PONG", "<null>"});
    CHECK(k.downs == std::vector<std::string>{"closed by its owner"});
}

TEST_CASE("redis: the server closing the connection is noticed at once; reconnecting works") {
    Connected k;
    long long id = -1;
    REQUIRE(k.c.command({"CLIENT", "ID"}, [&](const redisReply* r) { id = r ? r->integer : -2; }));
    REQUIRE(run_until(k.r, [&] { return id != -1; }));
    Connected killer;
    std::string killed;
    REQUIRE(killer.c.command({"CLIENT", "KILL", "ID", std::to_string(id)},
                             [&](const redisReply* r) { killed = str(r); }));
    REQUIRE(run_until(killer.r, [&] { return !killed.empty(); }));
    CHECK(killed == "1");
    REQUIRE(run_until(k.r, [&] { return !k.downs.empty(); }));
    CHECK(k.downs.size() == 1);
    REQUIRE(k.c.connect());
    REQUIRE(run_until(k.r, [&] { return k.c.up(); }));
    std::string pong;
    REQUIRE(k.c.command({"PING"}, [&](const redisReply* r) { pong = str(r); }));
    REQUIRE(run_until(k.r, [&] { return !pong.empty(); }));
    CHECK(pong == "PONG");
}

TEST_CASE("redis: a Redis that does not keep up is cut at the bound") {
    auto o = options();
    o.max_pending = 10;
    Connected k(o);
    int nulls = 0;
    for (int i = 0; i < 10; ++i)
        REQUIRE(k.c.command({"PING"}, [&](const redisReply* r) { nulls += r == nullptr; }));
    CHECK_FALSE(k.c.command({"PING"}, [&](const redisReply*) { FAIL("not sent"); }));
    REQUIRE(run_until(k.r, [&] { return !k.downs.empty(); }));
    CHECK(nulls == 10);
    CHECK(k.downs[0].find("keep up") != std::string::npos);
}

TEST_CASE("redis: URLs") {
    std::string err;
    auto e = chat::net::parse_redis_url("redis://127.0.0.1:6380/3", err);
    REQUIRE(e);
    CHECK(e->host == "127.0.0.1");
    CHECK(e->port == 6380);
    CHECK(e->db == 3);
    e = chat::net::parse_redis_url("redis://[::1]", err);
    REQUIRE(e);
    CHECK(e->host == "::1");
    CHECK(e->port == 6379);
    CHECK(chat::net::redis_url_text(*e) == "redis://[::1]:6379");
    CHECK_FALSE(chat::net::parse_redis_url("redis://:pw@host:1", err));
    CHECK(err.find("CHATD_CLUSTER_PASSWORD") != std::string::npos);
    CHECK_FALSE(chat::net::parse_redis_url("http://host", err));
    CHECK_FALSE(chat::net::parse_redis_url("redis://host:0", err));
    CHECK_FALSE(chat::net::parse_redis_url("redis://host:1/x", err));
    e = chat::net::parse_redis_url("redis://localhost:7", err);
    REQUIRE(e);
    REQUIRE(chat::net::resolve_redis_host(*e, err));
    CHECK((e->host == "127.0.0.1" || e->host == "::1"));
}

int main(int argc, char** argv) {
    if (int rc = redis_endpoint_from_env(g_endpoint); rc != 0) return rc;
    g_prefix = "it-redis:" + std::to_string(::getpid()) + ":";
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
