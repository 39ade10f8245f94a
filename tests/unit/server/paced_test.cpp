// Replies paced to the reader, storage that cannot keep a message, waits on
// storage: the reliability rules of the chat core, without sockets.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include "harness.hpp"

using namespace chat::server;
using namespace chat::server::test;
using namespace std::chrono_literals;
using V = std::vector<std::string>;

namespace {

Limits open_limits() {
    Limits l;
    l.max_per_ip = 0;
    l.rate = 0;
    return l;
}

std::string nick(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "u%04d", i);
    return b;
}

// Logs in n users u0000.. and forgets what everyone was sent.
void crowd(Harness& h, int n) {
    for (int i = 0; i < n; ++i) h.login(nick(i));
    for (auto& [id, _] : h.out) h.lines(id);
}

std::size_t count_prefix(const V& v, std::string_view p) {
    return static_cast<std::size_t>(
        std::count_if(v.begin(), v.end(), [&](const std::string& l) { return l.rfind(p, 0) == 0; }));
}

std::size_t index_of(const V& v, std::string_view line) {
    return static_cast<std::size_t>(std::find(v.begin(), v.end(), line) - v.begin());
}

}  // namespace

TEST_CASE(
    "a roster far larger than any output limit is paced to the reader, and what follows waits behind it") {
    Harness h(open_limits());
    crowd(h, 3000);
    ConnId n = h.open();
    h.lines(n);
    h.stalled.insert(n);  // reads nothing for now
    h.feed(n, "newcomer\n");
    // Only the first chunk is out: WELCOME and part of the roster, not 3000 lines at once.
    std::size_t first = h.out[n].size();
    CHECK(first < 20 * 1024);
    CHECK(h.paced.count(n));
    // Others chat meanwhile: their lines wait behind the roster.
    h.feed(n - 1, "hola\n");  // u2999
    CHECK(h.out[n].size() == first);
    CHECK(!h.held[n].empty());
    h.stalled.erase(n);
    h.pump();
    auto l = h.lines(n);
    REQUIRE(l.size() == 1 + 3001 + 1 + 1 + 1);
    CHECK(l[0].rfind("WELCOME newcomer ", 0) == 0);
    CHECK(count_prefix(l, "USER ") == 3001);
    CHECK(l[3002] == "END USERS 3001");
    CHECK(l[3003] == "END HIST 0");
    CHECK(l[3004] == "MSG u2999 :hola");
    CHECK(h.paced_chunks[n] > 3);
    CHECK(!h.paced.count(n));
    // Reading goes on once the reply is out.
    h.feed(n, "/estado ocupado\n");
    CHECK(h.lines(n) == V{"STATUS newcomer ocupado"});
}

TEST_CASE(
    "presence while a roster is on its way: in the list or in a later JOIN, never both; PART only after "
    "presence") {
    Harness h(open_limits());
    crowd(h, 3000);
    ConnId n = h.open();
    h.lines(n);
    h.stalled.insert(n);
    h.feed(n, "newcomer\n");
    // The first chunk listed u0000 and more, not u2999.
    CHECK(h.out[n].find("USER u0000 ") != std::string::npos);
    CHECK(h.out[n].find("USER u2999 ") == std::string::npos);
    ConnId early = 1, late = 3000;  // u0000 (listed already) and u2999 (not yet)
    h.feed(early, "/salir\n");
    h.feed(late, "/salir\n");
    // (h.login() would read everyone's lines, the newcomer's too)
    ConnId before = h.open();
    h.feed(before, "aaa\n");  // sorts before what was listed: comes as a JOIN
    ConnId after = h.open();
    h.feed(after, "zzz\n");  // sorts after: will be listed
    h.feed(after, "/estado ocupado\n");
    h.stalled.erase(n);
    h.pump();
    auto l = h.lines(n);
    std::size_t end = index_of(l, "END USERS 3001");  // 3000 - u2999 + newcomer + zzz
    REQUIRE(end < l.size());
    V tail(l.begin() + static_cast<std::ptrdiff_t>(end) + 1, l.end());
    CHECK(index_of(l, "USER u0000 disponible") < end);
    CHECK(index_of(l, "USER u2999 disponible") == l.size());
    CHECK(index_of(l, "USER aaa disponible") == l.size());
    CHECK(index_of(l, "USER zzz ocupado") < end);  // listed as it is when the list gets there
    CHECK(tail == V{"END HIST 0", "PART u0000 :quit", "JOIN aaa disponible", "STATUS zzz ocupado"});
    (void)before;
}

TEST_CASE("/listar is paced the same way, and a reply nobody reads is cut as a dead reader") {
    Limits lim = open_limits();
    Harness h(lim);
    crowd(h, 2000);
    ConnId a = h.login("reader");
    ConnId d = h.login("dead");
    h.feed(a, "/listar\n");
    auto l = h.lines(a);
    CHECK(l.back() == "END USERS 2002");
    CHECK(count_prefix(l, "USER ") == 2002);

    h.stalled.insert(d);
    h.feed(d, "/listar\n");
    CHECK(h.paced.count(d));
    h.advance(lim.ping_interval + lim.ping_timeout - 1s);
    CHECK(!h.closed.count(d));
    h.advance(2s);
    CHECK(h.closed.count(d));
    auto la = h.lines(a);
    CHECK(std::find(la.begin(), la.end(), "PART dead :timeout") != la.end());
}

TEST_CASE("a /historial reply is paced, whole and in order") {
    Harness h(open_limits());
    ConnId a = h.login("ana");
    std::string body(4000, 'x');
    for (int i = 0; i < 200; ++i) h.feed(a, std::to_string(i) + body + "\n");
    h.lines(a);
    h.stalled.insert(a);
    h.feed(a, "/historial 200\n");
    CHECK(h.out[a].size() < 40 * 1024);
    h.stalled.erase(a);
    h.pump();
    auto l = h.lines(a);
    REQUIRE(l.size() == 201);
    CHECK(l[0] == "HIST 2026-11-25T10:00:00Z ana * :0" + body);
    CHECK(l[199] == "HIST 2026-11-25T10:00:00Z ana * :199" + body);
    CHECK(l[200] == "END HIST 200");
}

TEST_CASE("not stored, not accepted: a message storage cannot keep reaches nobody; presence goes on") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.storage.set_refusing_messages(true);
    h.feed(a, "hola\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable :", 0) == 0);
    h.feed(a, "!bob hola\n");
    l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable :", 0) == 0);
    CHECK(h.lines(b).empty());
    h.feed(a, "/estado ocupado\n");
    CHECK(h.lines(b) == V{"STATUS ana ocupado"});
    h.storage.set_refusing_messages(false);
    h.feed(a, "ya\n");
    CHECK(h.lines(b) == V{"MSG ana :ya"});
    CHECK(h.storage.message_count() == 1);
}

TEST_CASE("a private message to a known user who is offline names the user as first spelled") {
    Harness h;
    ConnId q = h.login("Quique");
    h.feed(q, "/salir\n");
    ConnId a = h.login("ana");
    h.feed(a, "!QUIQUE hola\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR no-such-user Quique :", 0) == 0);
    h.feed(a, "!nadie hola\n");
    l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR no-such-user nadie :", 0) == 0);
    // Storage unreachable: the name as typed.
    h.storage.set_unavailable(true);
    h.feed(a, "!QUIQUE hola\n");
    l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR no-such-user QUIQUE :", 0) == 0);
}

TEST_CASE("time spent waiting on storage is not idle time") {
    Harness h;
    ConnId a = h.login("ana");
    h.hold_replies = true;
    h.feed(a, "/perfil nadie\n/estado ocupado\n");
    h.advance(170s);  // longer than PING interval and timeout together
    CHECK(!h.closed.count(a));
    CHECK(h.lines(a).empty());  // no PING: the client is waiting for us
    h.hold_replies = false;
    h.pump();
    auto l = h.lines(a);
    REQUIRE(l.size() == 2);
    CHECK(l[0].rfind("ERROR no-such-user nadie :", 0) == 0);
    CHECK(l[1] == "STATUS ana ocupado");
    // Idle counts from the end of the wait.
    h.advance(119s);
    CHECK(h.lines(a).empty());
    h.advance(2s);
    l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("PING ", 0) == 0);
}

TEST_CASE("storage reached after start: its history joins what this process already took, once each") {
    Harness h;
    ConnId a = h.login("ana");
    h.feed(a, "nuevo\n");
    StartupInfo info;
    info.recent_public.push_back(StoredMessage{5, 1'795'600'000, "viejo", {}, "antes"});
    info.max_message_id = 5;
    h.core->on_reply(LoadedReply{0, info});
    h.core->on_reply(LoadedReply{0, info});  // twice: no duplicate
    ConnId b = h.open();
    h.lines(b);
    h.feed(b, "bob\n");
    auto l = h.lines(b);
    REQUIRE(l.size() >= 3);
    CHECK(l[l.size() - 3] == "HIST 2026-11-25T09:46:40Z viejo * :antes");
    CHECK(l[l.size() - 2] == "HIST 2026-11-25T10:00:00Z ana * :nuevo");
    CHECK(l.back() == "END HIST 2");
}
