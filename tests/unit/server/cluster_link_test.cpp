// The cluster link's state machine with a fake driver and a fake clock.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cluster_fakes.hpp"
#include "server/cluster_link.hpp"

using namespace chat::server;
using namespace std::chrono_literals;
using V = std::vector<std::string>;
using Kind = ClusterOp::Kind;
using chat::server::test::FakeIo;

namespace {

struct FakeSink : ClusterSink {
    V events;
    V claims;
    std::vector<ClusterToken> failed;
    V available;
    V lost;
    void on_event(const ClusterEvent& e) override {
        static const char* names[] = {"JOIN", "PART", "STATUS", "MSG", "PRIV"};
        std::string s = names[static_cast<int>(e.kind)];
        s += " " + e.nick;
        if (!e.to.empty()) s += " " + e.to;
        s += " " + e.arg;
        if (e.local) s += " (local)";
        events.push_back(s);
    }
    void on_claim(ClusterToken t, Claim c) override {
        claims.push_back(std::to_string(t) + (c == Claim::InUse ? " in-use" : " unavailable"));
    }
    void on_publish_failed(ClusterToken t) override { failed.push_back(t); }
    void on_available(bool a) override { available.push_back(a ? "up" : "down"); }
    void on_lost_claim(const std::string& f) override { lost.push_back(f); }
    std::vector<ClusterToken> released;
    V synced;
    void on_released(ClusterToken t) override { released.push_back(t); }
    void on_synced(ClusterToken t, bool ok) override { synced.push_back(std::to_string(t) + (ok ? " ok" : " down")); }
};

struct Rig {
    FakeIo io;
    FakeSink sink;
    ClusterTime now = ClusterTime{} + 1000s;
    ClusterLink link;
    explicit Rig(std::string node = "n1") : link(io, sink, ClusterOptions{node, 3000ms, 100ms, 800ms}) {}

    ClusterAnswer answer(const ClusterOp& op, long long n = 1) {
        ClusterAnswer a;
        a.token = op.token;
        a.n = n;
        return a;
    }
    // Starts and answers the Hello with a snapshot at seq.
    void up(std::uint64_t seq = 10, V snapshot = {}) {
        link.start(now);
        link.on_up(now);
        auto hello = io.take(Kind::Hello);
        ClusterAnswer a = answer(hello, static_cast<long long>(seq));
        a.items = {"0"};
        a.items.insert(a.items.end(), snapshot.begin(), snapshot.end());
        link.on_answer(now, a);
    }
    // Answers the pending Read with entries.
    void read(std::vector<std::pair<std::uint64_t, std::string>> es) {
        auto r = io.take(Kind::Read);
        ClusterAnswer a = answer(r);
        a.entries = std::move(es);
        link.on_answer(now, a);
    }
    // A local user claimed and its Join read back as entry seq.
    void joined(const std::string& nick, std::uint64_t seq) {
        REQUIRE(link.claim(1, nick, "disponible", 9));
        link.on_answer(now, answer(io.take(Kind::Claim), static_cast<long long>(seq)));
        read({{seq, "J n1 " + nick + " disponible 9"}});
    }
    void advance(std::chrono::milliseconds d) {
        now += d;
        link.on_tick(now);
    }
};

}  // namespace

TEST_CASE("cluster: log entries parsed, text byte-exact, a gone node one PART per user") {
    auto e = ClusterLink::parse_entry(7, "M n1 42 ana   hola  a todos ");
    REQUIRE(e.size() == 1);
    CHECK(e[0].kind == ClusterEvent::Kind::Message);
    CHECK(e[0].seq == 7);
    CHECK(e[0].id == 42);
    CHECK(e[0].nick == "ana");
    CHECK(e[0].arg == "  hola  a todos ");
    e = ClusterLink::parse_entry(8, "R n2 43 ana Bob :-) hi");
    REQUIRE(e.size() == 1);
    CHECK(e[0].to == "Bob");
    CHECK(e[0].arg == ":-) hi");
    e = ClusterLink::parse_entry(9, "P n1 ana quit se fue");
    REQUIRE(e.size() == 1);
    CHECK(e[0].arg == "quit se fue");
    e = ClusterLink::parse_entry(10, "G n3 ana Bob Begoña");
    REQUIRE(e.size() == 3);
    CHECK(e[2].nick == "Begoña");
    CHECK(e[2].arg == "closed");
    CHECK(e[2].node == "n3");
    e = ClusterLink::parse_entry(11, "J n1 ana ocupado 31");
    REQUIRE(e.size() == 1);
    CHECK(e[0].arg == "ocupado");
    CHECK(e[0].id == 31);
    CHECK(ClusterLink::parse_entry(11, "J n1 ana").empty());
    CHECK(ClusterLink::parse_entry(11, "J n1 ana disponible").empty());
    CHECK(ClusterLink::parse_entry(11, "M n1 x ana hi").empty());
    CHECK(ClusterLink::parse_entry(11, "X n1 a b").empty());
    CHECK(ClusterLink::parse_entry(11, "").empty());
}

TEST_CASE("cluster: Hello loads every node's roster; a Read follows from the snapshot's sequence") {
    Rig r;
    r.link.start(r.now);
    CHECK(r.io.connects == 1);
    CHECK_FALSE(r.link.available());
    r.link.on_up(r.now);
    auto hello = r.io.take(Kind::Hello);
    CHECK(hello.args == V{"n1", "3000"});
    ClusterAnswer a = r.answer(hello, 25);
    a.items = {"0", "n2", "ana", "Ana", "ocupado", "5", "n3", "bob", "bob", "disponible", "5"};
    r.link.on_answer(r.now, a);
    CHECK(r.link.available());
    CHECK(r.sink.available == V{"up"});
    REQUIRE(r.link.find("ana"));
    CHECK(r.link.find("ana")->nick == "Ana");
    CHECK(r.link.find("ana")->node == "n2");
    CHECK(r.link.users().size() == 2);
    CHECK(r.sink.events.empty());  // a first snapshot is the present, not news
    auto read = r.io.take(Kind::Read);
    CHECK(read.from == 25);
}

TEST_CASE("cluster: a claim, its Join in the order; in use; refused while unavailable") {
    Rig r;
    CHECK_FALSE(r.link.claim(1, "Ana", "disponible", 9));  // not started
    r.up();
    REQUIRE(r.link.claim(7, "Ana", "disponible", 9));
    auto c = r.io.take(Kind::Claim);
    CHECK(c.args == V{"n1", "ana", "Ana", "disponible", "3000", "9"});
    CHECK_FALSE(r.link.claim(8, "ANA", "disponible", 9));  // already on its way here
    r.link.on_answer(r.now, r.answer(c, 11));
    CHECK(r.sink.claims.empty());  // accepted: the Join says so
    r.read({{11, "J n1 Ana disponible 9"}, {12, "J n2 bob disponible 9"}});
    CHECK(r.sink.events == V{"JOIN Ana disponible (local)", "JOIN bob disponible"});
    CHECK(r.link.last_seq() == 12);
    REQUIRE(r.link.claim(9, "Bob", "disponible", 9));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Claim), 0));
    CHECK(r.sink.claims == V{"9 in-use"});
    CHECK(r.io.take(Kind::Read).from == 12);
}

TEST_CASE("cluster: the Join may come back before the claim's answer") {
    Rig r;
    r.up();
    REQUIRE(r.link.claim(7, "ana", "disponible", 9));
    auto c = r.io.take(Kind::Claim);
    r.read({{11, "J n1 ana disponible 9"}});
    r.link.on_answer(r.now, r.answer(c, 11));
    CHECK(r.sink.claims.empty());
    CHECK(r.sink.events == V{"JOIN ana disponible (local)"});
    CHECK_FALSE(r.io.has(Kind::Release));
}

TEST_CASE("cluster: a Join of this node nobody claims (its answer was lost) is released") {
    Rig r;
    r.up();
    r.read({{11, "J n1 ghost disponible 9"}});
    auto rel = r.io.take(Kind::Release);
    CHECK(rel.args == V{"n1", "ghost", "closed"});
}

TEST_CASE("cluster: entries seen twice are skipped; a gap starts again from a snapshot") {
    Rig r;
    r.up(10, {"n2", "ana", "ana", "disponible", "5"});
    r.read({{11, "M n2 5 ana uno"}, {11, "M n2 5 ana uno"}, {12, "M n2 6 ana dos"}});
    CHECK(r.sink.events == V{"MSG ana uno", "MSG ana dos"});
    r.read({{15, "M n2 9 ana cinco"}});
    CHECK(r.sink.events.size() == 2);
    CHECK_FALSE(r.link.available());
    CHECK(r.sink.available == V{"up", "down"});
    auto hello = r.io.take(Kind::Hello);
    // The log was trimmed: the snapshot at 20 shows ana gone, carla there.
    ClusterAnswer a = r.answer(hello, 20);
    a.items = {"0", "n3", "carla", "Carla", "ausente", "5"};
    r.link.on_answer(r.now, a);
    auto range = r.io.take(Kind::Range);
    CHECK(range.from == 13);
    CHECK(range.to == 20);
    ClusterAnswer ra = r.answer(range);
    ra.entries = {{18, "J n3 Carla disponible 9"}, {19, "S n3 Carla ausente"}, {20, "P n2 ana quit"}};
    r.link.on_answer(r.now, ra);
    CHECK(r.sink.events == V{"MSG ana uno", "MSG ana dos", "PART ana closed", "JOIN Carla ausente"});
    CHECK(r.link.available());
    CHECK(r.link.last_seq() == 20);
    CHECK(r.io.take(Kind::Read).from == 20);
}

TEST_CASE("cluster: the heartbeat every third of the TTL; declared gone while alive, everything is claimed again") {
    Rig r;
    r.up();
    r.joined("ana", 11);
    CHECK(r.link.next_deadline() == r.now + 1000ms);
    r.advance(999ms);
    CHECK_FALSE(r.io.has(Kind::Heartbeat));
    r.advance(1ms);
    auto hb = r.io.take(Kind::Heartbeat);
    CHECK(hb.args == V{"n1", "3000"});
    r.link.on_answer(r.now, r.answer(hb, 0));
    r.advance(1000ms);
    hb = r.io.take(Kind::Heartbeat);
    // Another node declared this one gone (it lapsed, say a long stall): the
    // Part came through the order, and the answer says so.
    r.read({{12, "G n1 ana"}});
    CHECK(r.sink.events.back() == "PART ana closed (local)");
    r.link.on_answer(r.now, r.answer(hb, -1));
    CHECK_FALSE(r.link.available());
    auto hello = r.io.take(Kind::Hello);
    CHECK(hello.args == V{"n1", "3000", "ana", "ana", "disponible", "9"});
}

TEST_CASE("cluster: down: unavailable, reconnects with doubling backoff; back: catches up in order") {
    Rig r;
    r.up(10, {"n2", "bob", "bob", "disponible", "5"});
    REQUIRE(r.link.claim(1, "ana", "disponible", 9));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Claim), 11));
    r.read({{11, "J n1 ana disponible 9"}});
    r.io.ops.clear();
    r.link.on_down(r.now);
    CHECK_FALSE(r.link.available());
    CHECK(r.sink.available == V{"up", "down"});
    CHECK_FALSE(r.link.publish_message(5, 100, "ana", "hola"));
    CHECK_FALSE(r.link.claim(6, "carla", "disponible", 9));
    // 100 ms, then 200, 400, 800, 800.
    for (auto wait : {100ms, 200ms, 400ms, 800ms, 800ms}) {
        const int before = r.io.connects;
        r.advance(wait - 1ms);
        CHECK(r.io.connects == before);
        r.advance(1ms);
        CHECK(r.io.connects == before + 1);
        r.link.on_down(r.now);
    }
    r.advance(800ms);
    r.link.on_up(r.now);
    auto hello = r.io.take(Kind::Hello);
    CHECK(hello.args == V{"n1", "3000", "ana", "ana", "disponible", "9"});
    ClusterAnswer a = r.answer(hello, 14);
    a.items = {"0", "n1", "ana", "ana", "disponible", "5", "n3", "carla", "carla", "disponible", "5"};
    r.link.on_answer(r.now, a);
    CHECK_FALSE(r.link.available());  // not before the catch-up
    auto range = r.io.take(Kind::Range);
    CHECK(range.from == 12);
    CHECK(range.to == 14);
    ClusterAnswer ra = r.answer(range);
    ra.entries = {{12, "P n2 bob quit"}, {13, "J n3 carla disponible 9"}, {14, "M n3 7 carla hola"}};
    r.link.on_answer(r.now, ra);
    CHECK(r.link.available());
    CHECK(r.sink.events == V{"JOIN ana disponible (local)", "PART bob quit", "JOIN carla disponible", "MSG carla hola"});
    // And the backoff starts small again.
    r.link.on_down(r.now);
    r.advance(100ms);
    CHECK(r.io.connects == 8);
}

TEST_CASE("cluster: Redis started afresh (the sequence went back): the present from the snapshot") {
    Rig r;
    r.up(500, {"n2", "bob", "bob", "disponible", "5", "n2", "dan", "dan", "disponible", "5"});
    r.link.on_down(r.now);
    r.advance(100ms);
    r.link.on_up(r.now);
    ClusterAnswer a = r.answer(r.io.take(Kind::Hello), 3);
    a.items = {"0", "n2", "bob", "bob", "ausente", "5", "n3", "eva", "eva", "disponible", "5"};
    r.link.on_answer(r.now, a);
    CHECK_FALSE(r.io.has(Kind::Range));
    CHECK(r.link.available());
    CHECK(r.sink.events == V{"PART dan closed", "STATUS bob ausente", "JOIN eva disponible"});
    CHECK(r.io.take(Kind::Read).from == 3);
}

TEST_CASE("cluster: a message in flight when the link fell: delivered if it is in the catch-up, else refused") {
    Rig r;
    r.up(10);
    REQUIRE(r.link.publish_message(5, 100, "ana", "uno"));
    REQUIRE(r.link.publish_message(6, 101, "ana", "dos"));
    auto p = r.io.take(Kind::Publish);
    CHECK(p.args == V{"n1", "M n1 101 ana dos"});
    r.link.on_down(r.now);
    CHECK(r.sink.failed.empty());  // not yet: it may have been placed
    r.advance(100ms);
    r.link.on_up(r.now);
    ClusterAnswer a = r.answer(r.io.take(Kind::Hello), 11);
    a.items = {"0"};
    r.link.on_answer(r.now, a);
    ClusterAnswer ra = r.answer(r.io.take(Kind::Range));
    ra.entries = {{11, "M n1 100 ana uno"}};
    r.link.on_answer(r.now, ra);
    CHECK(r.sink.events == V{"MSG ana uno (local)"});
    CHECK(r.sink.failed == std::vector<ClusterToken>{6});
}

TEST_CASE("cluster: messages in flight are refused once the link has been down a whole TTL") {
    Rig r;
    r.up(10);
    REQUIRE(r.link.publish_message(5, 100, "ana", "uno"));
    r.link.on_down(r.now);
    for (int i = 0; i < 29; ++i) {
        r.advance(100ms);
        r.link.on_down(r.now);
    }
    CHECK(r.sink.failed.empty());
    r.advance(100ms);
    CHECK(r.sink.failed == std::vector<ClusterToken>{5});
}

TEST_CASE("cluster: users who leave while the link is down are left out of the Hello, or released after it") {
    Rig r;
    r.up();
    for (auto [t, n] : {std::pair{1, "ana"}, {2, "bob"}, {3, "carla"}}) {
        REQUIRE(r.link.claim(static_cast<ClusterToken>(t), n, "disponible", 9));
        r.link.on_answer(r.now, r.answer(r.io.take(Kind::Claim), 10 + t));
    }
    r.read({{11, "J n1 ana disponible 9"}, {12, "J n1 bob disponible 9"}, {13, "J n1 carla disponible 9"}});
    r.link.on_down(r.now);
    r.link.release("ana", "quit");
    r.advance(100ms);
    r.link.on_up(r.now);
    auto hello = r.io.take(Kind::Hello);
    CHECK(hello.args == V{"n1", "3000", "bob", "bob", "disponible", "9", "carla", "carla", "disponible", "9"});
    r.link.release("bob", "timeout");  // after the Hello went out
    CHECK_FALSE(r.io.has(Kind::Release));
    ClusterAnswer a = r.answer(hello, 13);
    a.items = {"0", "n1", "bob", "bob", "disponible", "5", "n1", "carla", "carla", "disponible", "5"};
    r.link.on_answer(r.now, a);
    auto rel = r.io.take(Kind::Release);
    CHECK(rel.args == V{"n1", "bob", "timeout"});
}

TEST_CASE("cluster: a nickname taken by another node while this one was away is lost") {
    Rig r;
    r.up();
    REQUIRE(r.link.claim(1, "ana", "disponible", 9));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Claim), 11));
    r.read({{11, "J n1 ana disponible 9"}});
    r.link.on_down(r.now);
    r.advance(100ms);
    r.link.on_up(r.now);
    ClusterAnswer a = r.answer(r.io.take(Kind::Hello), 11);
    a.items = {"1", "ana"};
    r.link.on_answer(r.now, a);
    CHECK(r.sink.lost == V{"ana"});
    r.link.release("ana", "closed");  // the core drops the session: nothing to release
    CHECK_FALSE(r.io.has(Kind::Release));
}

TEST_CASE("cluster: a Hello or a read refused on a live connection (a script error) drops it to start again") {
    Rig r;
    r.link.start(r.now);
    r.link.on_up(r.now);
    ClusterAnswer a = r.answer(r.io.take(Kind::Hello));
    a.failed = true;
    r.link.on_answer(r.now, a);
    CHECK(r.io.disconnects == 1);
    CHECK_FALSE(r.link.available());
    r.link.on_down(r.now);
    r.advance(100ms);
    CHECK(r.io.connects == 2);
    r.link.on_up(r.now);
    a = r.answer(r.io.take(Kind::Hello), 10);
    a.items = {"0"};
    r.link.on_answer(r.now, a);
    REQUIRE(r.link.available());
    ClusterAnswer rd = r.answer(r.io.take(Kind::Read));
    rd.failed = true;
    r.link.on_answer(r.now, rd);
    CHECK(r.io.disconnects == 2);
}

TEST_CASE("cluster: claims in flight when the link falls are unavailable") {
    Rig r;
    r.up();
    REQUIRE(r.link.claim(4, "ana", "disponible", 9));
    r.link.on_down(r.now);
    CHECK(r.sink.claims == V{"4 unavailable"});
}

TEST_CASE("cluster: a clean stop: one Leave, then left; unreachable, left at once") {
    Rig r;
    r.up();
    r.link.leave();
    CHECK_FALSE(r.link.left());
    auto lv = r.io.take(Kind::Leave);
    CHECK(lv.args == V{"n1"});
    r.link.on_answer(r.now, r.answer(lv));
    CHECK(r.link.left());

    Rig d;
    d.up();
    d.link.on_down(d.now);
    d.link.leave();
    CHECK(d.link.left());
}

TEST_CASE("cluster: statuses and private messages go through the order") {
    Rig r;
    r.up(10, {"n2", "bob", "Bob", "disponible", "5"});
    CHECK_FALSE(r.link.set_status("ana", "ocupado"));  // not a user of this node
    REQUIRE(r.link.claim(1, "ana", "disponible", 9));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Claim), 11));
    r.read({{11, "J n1 ana disponible 9"}});
    REQUIRE(r.link.set_status("ana", "ocupado"));
    CHECK(r.io.take(Kind::Status).args == V{"n1", "ana", "ocupado"});
    REQUIRE(r.link.publish_private(3, 77, "ana", "Bob", "psst"));
    CHECK(r.io.take(Kind::Publish).args == V{"n1", "R n1 77 ana Bob psst"});
    r.read({{12, "S n1 ana ocupado"}, {13, "R n1 77 ana Bob psst"}, {14, "S n2 Bob ausente"}});
    CHECK(r.sink.events == V{"JOIN ana disponible (local)", "STATUS ana ocupado (local)", "PRIV ana Bob psst (local)",
                             "STATUS Bob ausente"});
    CHECK(r.link.find("bob")->status == "ausente");
    CHECK(r.link.find("ana")->status == "ocupado");
}

TEST_CASE("cluster: a release with a token is answered once the claim is gone; down, at once or never") {
    Rig r;
    r.up();
    r.joined("ana", 11);
    CHECK(r.link.release("Ana", "quit", 40));
    auto rel = r.io.take(Kind::Release);
    CHECK(rel.args == V{"n1", "ana", "quit"});
    CHECK(r.sink.released.empty());  // not before Redis answered
    r.link.on_answer(r.now, r.answer(rel, 12));
    CHECK(r.sink.released == std::vector<ClusterToken>{40});
    CHECK_FALSE(r.link.release("ana", "quit", 41));  // not a local user any more: nothing to wait for

    // In flight when the connection drops: answered then (the claim lapses with the heartbeat).
    r.read({{12, "P n1 ana quit"}});
    r.joined("bob", 13);
    CHECK(r.link.release("bob", "quit", 42));
    r.link.on_down(r.now);
    CHECK(r.sink.released == std::vector<ClusterToken>{40, 42});

    // Released while down: nothing to wait for, the Part goes out when the link is back.
    Rig d;
    d.up();
    d.joined("eva", 11);
    d.link.on_down(d.now);
    CHECK_FALSE(d.link.release("eva", "quit", 43));
    CHECK(d.sink.released.empty());
}

TEST_CASE("cluster: a sync passes once every entry placed before it was delivered here") {
    Rig r;
    r.up(10);
    REQUIRE(r.link.sync(50));
    auto q = r.io.take(Kind::Sequence);
    CHECK(q.args.empty());
    r.link.on_answer(r.now, r.answer(q, 12));  // two entries this node has not read yet
    CHECK(r.sink.synced.empty());
    r.read({{11, "P n2 ana quit"}});
    CHECK(r.sink.synced.empty());
    r.read({{12, "J n2 bob disponible 5"}});
    CHECK(r.sink.synced == V{"50 ok"});
    // Asked when everything is read already: at once.
    REQUIRE(r.link.sync(51));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Sequence), 12));
    CHECK(r.sink.synced == V{"50 ok", "51 ok"});
    // An empty Redis (no sequence yet) answers 0: passed.
    REQUIRE(r.link.sync(52));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Sequence), 0));
    CHECK(r.sink.synced.back() == "52 ok");
}

TEST_CASE("cluster: a sync fails when the link goes down, and is refused while it is down") {
    Rig r;
    r.up(10);
    REQUIRE(r.link.sync(60));
    REQUIRE(r.link.sync(61));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Sequence), 20));  // 61 waits for entry 20
    r.link.on_down(r.now);
    CHECK(r.sink.synced == V{"60 down", "61 down"});
    CHECK_FALSE(r.link.sync(62));
    ClusterAnswer failed;
    failed.failed = true;
    Rig f;
    f.up(10);
    REQUIRE(f.link.sync(63));
    failed.token = f.io.take(Kind::Sequence).token;
    f.link.on_answer(f.now, failed);
    CHECK(f.sink.synced == V{"63 down"});
}

TEST_CASE("cluster: a sync waiting when the log was trimmed past this node passes with the resync") {
    Rig r;
    r.up(10);
    REQUIRE(r.link.sync(70));
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Sequence), 15));
    r.read({{20, "J n2 bob disponible 5"}});  // a gap: start again from a snapshot
    auto hello = r.io.take(Kind::Hello);
    ClusterAnswer a = r.answer(hello, 25);
    a.items = {"0"};
    r.link.on_answer(r.now, a);
    CHECK(r.sink.synced.empty());  // not while catching up: a login could not claim yet
    r.link.on_answer(r.now, r.answer(r.io.take(Kind::Range)));  // trimmed: only the snapshot knows
    CHECK(r.link.available());
    CHECK(r.sink.synced == V{"70 ok"});
}
