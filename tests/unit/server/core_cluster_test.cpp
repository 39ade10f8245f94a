// The chat core in a cluster: a ClusterLink whose Redis the test plays by
// hand (FakeIo). Nothing reaches a client before it comes back through the order.
#include <doctest/doctest.h>

#include "cluster_fakes.hpp"
#include "harness.hpp"

using namespace chat::server;
using namespace chat::server::test;
using namespace std::chrono_literals;
using V = std::vector<std::string>;
using Kind = ClusterOp::Kind;

namespace {

struct ClusterRig {
    Harness h;
    FakeIo io;
    ClusterLink link;
    ClusterRig() : link(io, *h.core, ClusterOptions{"n1", 3000ms}) {
        h.storage.set_shared(true);  // as the nodes' MariaDB would be
        h.core->attach_cluster(&link, 3);
        link.start(h.mono);
        link.on_up(h.mono);
        ClusterAnswer a = answer_to(io.take(Kind::Hello), 10);
        a.items = {"0", "n2", "bob", "Bob", "ocupado", "42"};
        link.on_answer(h.mono, a);
    }
    // Answers the pending Read with entries, then lets the core run.
    void log(std::vector<std::pair<std::uint64_t, std::string>> es) {
        ClusterAnswer a = answer_to(io.take(Kind::Read));
        a.entries = std::move(es);
        link.on_answer(h.mono, a);
        h.pump();
    }
    // Logs `nick` in on a new connection as the cluster's seq-th entry.
    ConnId login(const std::string& nick, std::uint64_t seq) {
        ConnId c = h.open();
        h.lines(c);
        h.feed(c, nick + "\n");
        auto claim = io.take(Kind::Claim);
        link.on_answer(h.mono, answer_to(claim, static_cast<long long>(seq)));
        log({{seq, "J n1 " + nick + " disponible " + claim.args[5]}});
        return c;
    }
};

}  // namespace

TEST_CASE("cluster core: WELCOME only when the claim's Join comes back; the roster covers every node") {
    ClusterRig r;
    ConnId a = r.h.open();
    r.h.lines(a);
    r.h.feed(a, "BOB\n");  // on another node, whatever the case
    CHECK(r.h.lines(a).empty());  // first read the order up to now: it may have just left
    r.link.on_answer(r.h.mono, answer_to(r.io.take(Kind::Sequence), 10));
    r.h.pump();
    auto l = r.h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR nick-in-use ", 0) == 0);
    r.h.feed(a, "ana\n");
    CHECK(r.h.lines(a).empty());
    auto claim = r.io.take(Kind::Claim);
    CHECK(claim.args[2] == "ana");
    r.link.on_answer(r.h.mono, answer_to(claim, 11));
    CHECK(r.h.lines(a).empty());
    r.log({{11, "J n1 ana disponible " + claim.args[5]}});
    l = r.h.lines(a);
    REQUIRE(l.size() == 5);
    CHECK(l[0].rfind("WELCOME ana ", 0) == 0);
    CHECK(l[1] == "USER ana disponible");
    CHECK(l[2] == "USER Bob ocupado");
    CHECK(l[3] == "END USERS 2");
    CHECK(l[4] == "END HIST 0");
    // Someone on another node: JOIN; its PART and STATUS too.
    r.log({{12, "J n3 Carla disponible 50"}, {13, "S n2 Bob ausente"}, {14, "P n3 Carla quit adios"}});
    CHECK(r.h.lines(a) == V{"JOIN Carla disponible", "STATUS Bob ausente", "PART Carla :quit adios"});
}

TEST_CASE("cluster core: a public message is delivered (echo included) and stored only when it comes back") {
    ClusterRig r;
    ConnId a = r.login("ana", 11);
    ConnId b = r.login("dan", 12);
    r.h.lines(a);
    r.h.lines(b);
    r.h.feed(a, "hola a todos\n");
    CHECK(r.h.lines(a).empty());
    CHECK(r.h.lines(b).empty());
    auto pub = r.io.take(Kind::Publish);
    const std::string entry = pub.args[1];
    CHECK(entry.rfind("M n1 ", 0) == 0);
    // The id carries the node's slot in its low bits.
    const auto id = std::stoll(entry.substr(5, entry.find(' ', 5) - 5));
    CHECK(id % 1024 == 3);
    r.link.on_answer(r.h.mono, answer_to(pub, 13));
    // A message from another node first, then ours: in the order of the log.
    r.log({{13, "M n2 77 Bob primero"}, {14, entry}});
    CHECK(r.h.lines(a) == V{"MSG Bob :primero", "MSG ana :hola a todos"});
    CHECK(r.h.lines(b) == V{"MSG Bob :primero", "MSG ana :hola a todos"});
    // Ours stored once it came back; the other node's too, as delivered here (that node writes it as well).
    r.h.feed(b, "/historial\n");
    auto hist = r.h.lines(b);
    REQUIRE(hist.size() == 3);
    CHECK(hist[0].find(" * :primero") != std::string::npos);
    hist.erase(hist.begin());
    CHECK(hist[0].find(" ana * :hola a todos") != std::string::npos);
    CHECK(hist[1] == "END HIST 2");
}

TEST_CASE("cluster core: private messages to a user of another node, and from one") {
    ClusterRig r;
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.h.feed(a, "!bob psst\n");
    auto pub = r.io.take(Kind::Publish);
    CHECK(pub.args[1].find(" ana Bob psst") != std::string::npos);
    r.log({{12, pub.args[1]}, {13, "R n2 78 Bob ana hola ana"}, {14, "R n2 79 Bob zoe no es para ti"}});
    CHECK(r.h.lines(a) == V{"PRIV ana Bob :psst", "PRIV Bob ana :hola ana"});
    r.h.feed(a, "!nadie hola\n");
    auto l = r.h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR no-such-user nadie ", 0) == 0);
}

TEST_CASE("cluster core: unreachable: logins, messages and statuses answer unavailable; clients stay") {
    ClusterRig r;
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.link.on_down(r.h.mono);
    r.h.feed(a, "hola\n");
    auto l = r.h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable ", 0) == 0);
    r.h.feed(a, "/estado ocupado\n");
    l = r.h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable ", 0) == 0);
    ConnId c = r.h.open();
    r.h.lines(c);
    r.h.feed(c, "eva\n");
    l = r.h.lines(c);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable ", 0) == 0);
    CHECK_FALSE(r.h.closed.count(a));
    CHECK_FALSE(r.h.closed.count(c));
    // The roster still answers, from the table as last known.
    r.h.feed(a, "/listar\n");
    CHECK(r.h.lines(a) == V{"USER ana disponible", "USER Bob ocupado", "END USERS 2"});
}

TEST_CASE("cluster core: a claim refused (in use elsewhere, or the link fell); a quit is released with its reason") {
    ClusterRig r;
    ConnId c = r.h.open();
    r.h.lines(c);
    r.h.feed(c, "eva\n");
    r.link.on_answer(r.h.mono, answer_to(r.io.take(Kind::Claim), 0));
    r.h.pump();
    auto l = r.h.lines(c);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR nick-in-use ", 0) == 0);
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.h.feed(a, "/salir me voy\n");
    auto rel = r.io.take(Kind::Release);
    CHECK(rel.args == V{"n1", "ana", "quit me voy"});
    CHECK(r.h.lines(a).empty());  // BYE once the nickname is free everywhere
    CHECK_FALSE(r.h.closed.count(a));
    r.link.on_answer(r.h.mono, answer_to(rel, 12));
    r.h.pump();
    CHECK(r.h.lines(a) == V{"BYE :adios"});
    CHECK(r.h.closed.count(a));
}

TEST_CASE("cluster core: a client gone while its claim was out: the Join that comes back is released") {
    ClusterRig r;
    ConnId c = r.h.open();
    r.h.lines(c);
    r.h.feed(c, "eva\n");
    auto claim = r.io.take(Kind::Claim);
    r.h.core->on_gone(c, Gone::Closed);
    r.link.on_answer(r.h.mono, answer_to(claim, 11));
    r.log({{11, "J n1 eva disponible " + claim.args[5]}});
    auto rel = r.io.take(Kind::Release);
    CHECK(rel.args == V{"n1", "eva", "closed"});
}

TEST_CASE("cluster core: a client's next line waits for its message's or status's echo") {
    ClusterRig r;
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.h.feed(a, "/estado ocupado\n/listar\n");
    CHECK(r.h.lines(a).empty());  // /listar waits: it must show the new status
    r.log({{12, "S n1 ana ocupado"}});
    CHECK(r.h.lines(a) == V{"STATUS ana ocupado", "USER ana ocupado", "USER Bob ocupado", "END USERS 2"});
    r.h.feed(a, "uno\n/ping x\n");
    CHECK(r.h.lines(a).empty());
    auto pub = r.io.take(Kind::Publish);
    r.log({{13, pub.args[1]}});
    CHECK(r.h.lines(a) == V{"MSG ana :uno", "PONG x"});
    // The link falls with a message out: the client is not held.
    r.h.feed(a, "dos\n/ping y\n");
    r.link.on_down(r.h.mono);
    r.h.pump();
    CHECK(r.h.lines(a) == V{"PONG y"});
}

TEST_CASE("cluster core: shutdown leaves the cluster at once") {
    ClusterRig r;
    r.login("ana", 11);
    r.h.core->shutdown();
    CHECK(r.io.take(Kind::Leave).args == V{"n1"});
}

TEST_CASE("cluster core: a nickname given up on another node is free to whoever its BYE reached") {
    ClusterRig r;
    // Bob (node n2) quit and got his BYE: the Part is entry 11, not read here yet.
    ConnId c = r.h.open();
    r.h.lines(c);
    r.h.feed(c, "bob\n");
    CHECK_FALSE(r.io.has(Kind::Claim));
    r.link.on_answer(r.h.mono, answer_to(r.io.take(Kind::Sequence), 11));
    r.h.pump();
    CHECK(r.h.lines(c).empty());
    r.log({{11, "P n2 Bob quit"}});
    auto claim = r.io.take(Kind::Claim);  // read up to the Part: free, so claimed
    CHECK(claim.args[2] == "bob");
    r.link.on_answer(r.h.mono, answer_to(claim, 12));
    r.log({{12, "J n1 bob disponible " + claim.args[5]}});
    auto l = r.h.lines(c);
    REQUIRE_FALSE(l.empty());
    CHECK(l[0].rfind("WELCOME bob ", 0) == 0);

    // The link falls during the sync: unavailable, and the client may try again.
    ConnId d = r.h.open();
    r.h.lines(d);
    r.log({{13, "J n2 Zoe disponible 7"}});
    r.h.feed(d, "zoe\n");
    CHECK(r.io.has(Kind::Sequence));
    r.link.on_down(r.h.mono);
    r.h.pump();
    l = r.h.lines(d);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable ", 0) == 0);
    CHECK_FALSE(r.h.closed.count(d));
}

TEST_CASE("cluster core: a quit whose release is out when the server stops still gets its BYE") {
    ClusterRig r;
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.h.feed(a, "/salir\n");
    CHECK(r.h.lines(a).empty());
    r.h.core->shutdown();
    CHECK(r.h.lines(a) == V{"BYE :adios"});
    CHECK(r.h.closed.count(a));
}

TEST_CASE("cluster core: messages of other nodes delivered here are stored here too, under their id") {
    ClusterRig r;
    r.log({{11, "M n2 77 Bob antes de ana"}});  // stored though nobody is here: someone may log in and ask
    CHECK(r.h.storage.message_count() == 1);
    ConnId a = r.login("ana", 12);
    r.h.lines(a);
    r.log({{13, "M n2 78 Bob hola"}, {14, "R n2 79 Bob ana psst"}, {15, "R n2 80 Bob zoe no es para ti"}});
    CHECK(r.h.storage.message_count() == 3);  // and the public one and the private one to ana, not zoe's
    CHECK(r.h.lines(a) == V{"MSG Bob :hola", "PRIV Bob ana :psst"});
    r.h.feed(a, "/historial 5\n");
    auto hist = r.h.lines(a);  // (Bob is a user of the shared storage; this one is of memory: "?")
    REQUIRE(hist.size() == 4);
    CHECK(hist[0].find(" :antes de ana") != std::string::npos);
    CHECK(hist[1].find(" :hola") != std::string::npos);
    CHECK(hist[2].find(" ana :psst") != std::string::npos);
    CHECK(hist[3] == "END HIST 3");
}

TEST_CASE("cluster core: another node's user's status and logout are stored here too, for /perfil here") {
    ClusterRig r;
    // eva is a user of the storage (as if it were shared): logged in here once, then gone.
    ConnId e = r.login("eva", 11);
    r.h.lines(e);
    r.h.feed(e, "/salir\n");
    auto rel = r.io.take(Kind::Release);
    r.link.on_answer(r.h.mono, answer_to(rel, 12));
    r.log({{12, "P n1 eva quit"}});
    ConnId a = r.login("ana", 13);
    r.h.lines(a);
    r.h.feed(a, "/perfil eva\n");
    auto before = r.h.lines(a);
    REQUIRE(before.size() == 1);
    auto field = [](const std::string& line, const std::string& key) {
        const auto at = line.find(" " + key + "=") + key.size() + 2;
        return line.substr(at, line.find(' ', at) - at);
    };
    const std::string id = field(before[0], "id");
    // Now eva logs in on node n2, sets a status and leaves there.
    r.h.advance(5s);
    r.log({{14, "J n2 eva disponible " + id}, {15, "S n2 eva ausente"}, {16, "P n2 eva quit"}});
    CHECK(r.h.lines(a) == V{"JOIN eva disponible", "STATUS eva ausente", "PART eva :quit"});
    r.h.feed(a, "/perfil eva\n");
    auto after = r.h.lines(a);
    REQUIRE(after.size() == 1);
    CHECK(field(after[0], "status") == "ausente");
    CHECK(field(after[0], "online") == "no");
    CHECK(field(after[0], "last_seen") > field(before[0], "last_seen"));  // 5 s later, same format
}

TEST_CASE("cluster core: with storage of its own (memory) a node stores only what its own users do") {
    ClusterRig r;
    r.h.storage.set_shared(false);  // another node's user ids would name users of this storage
    ConnId a = r.login("ana", 11);
    r.h.lines(a);
    r.log({{12, "M n2 78 Bob hola"}, {13, "R n2 79 Bob ana psst"}, {14, "S n2 Bob ausente"}});
    CHECK(r.h.lines(a) == V{"MSG Bob :hola", "PRIV Bob ana :psst", "STATUS Bob ausente"});
    CHECK(r.h.storage.message_count() == 0);
}
