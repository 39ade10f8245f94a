// The chat core against every row of the protocol contract, without sockets.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace chat::server;
using namespace chat::server::test;
using namespace std::chrono_literals;
using V = std::vector<std::string>;

TEST_CASE("HELLO first, then login: WELCOME, roster, history; JOIN to the others") {
    Harness h;
    ConnId a = h.open();
    CHECK(h.lines(a) == V{"HELLO chatd 2 :welcome to chatd; send your nickname"});
    h.feed(a, "ana\n");
    auto la = h.lines(a);
    REQUIRE(la.size() == 4);
    CHECK(la[0].rfind("WELCOME ana 1 :", 0) == 0);
    CHECK(la[1] == "USER ana disponible");
    CHECK(la[2] == "END USERS 1");
    CHECK(la[3] == "END HIST 0");

    ConnId b = h.open();
    h.lines(b);
    h.feed(b, "  Bob  \r\n");  // spaces around a nickname are ignored, CR dropped
    auto lb = h.lines(b);
    REQUIRE(lb.size() == 5);
    CHECK(lb[0].rfind("WELCOME Bob 2 :", 0) == 0);
    CHECK(lb[1] == "USER ana disponible");
    CHECK(lb[2] == "USER Bob disponible");
    CHECK(lb[3] == "END USERS 2");
    CHECK(h.lines(a) == V{"JOIN Bob disponible"});
}

TEST_CASE("nicknames: invalid, in use whatever the case, spelling of the first login kept") {
    Harness h;
    ConnId a = h.login("Ana");
    ConnId b = h.open();
    h.lines(b);
    for (const char* bad : {"-x", ".x", "a b", "ab!", "123456789012345678901234567890123", "x\xe2\x80\x8b"}) {
        h.feed(b, std::string(bad) + "\n");
        auto l = h.lines(b);
        REQUIRE(l.size() == 1);
        CHECK_MESSAGE(l[0].rfind("ERROR nick-invalid :", 0) == 0, bad);
    }
    h.feed(b, "ANA\n");
    auto l = h.lines(b);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR nick-in-use :", 0) == 0);
    // Ana leaves; "aNA" logs in as the same user, spelled as first.
    h.feed(a, "/salir\n");
    h.feed(b, "aNA\n");
    l = h.lines(b);
    REQUIRE(!l.empty());
    CHECK(l[0].rfind("WELCOME Ana 1 :", 0) == 0);
    // Begoña and BEGOÑA are two users: no folding beyond ASCII.
    ConnId c = h.login("Begoña");
    ConnId d = h.open();
    h.lines(d);
    h.feed(d, "BEGOÑA\n");
    l = h.lines(d);
    REQUIRE(!l.empty());
    CHECK(l[0].rfind("WELCOME BEGOÑA 3 :", 0) == 0);
    (void)c;
}

TEST_CASE("blank lines are ignored; bad text is refused first, even before login") {
    Harness h;
    ConnId a = h.open();
    h.lines(a);
    h.feed(a, "\n   \n\t \r\n");
    CHECK(h.lines(a).empty());
    h.feed(a, "an\x1b[2Ja\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR bad-text :", 0) == 0);
    h.feed(a, "ana\n");
    ConnId b = h.login("bob");
    h.lines(a);
    for (std::string bad : {std::string("hi\x1b]0;pwn\x07"), std::string("nul\0byte", 8), std::string("\xc3\x28"),
                            std::string("del\x7f"), std::string("c1 \xc2\x9b")}) {
        h.feed(a, bad + "\n");
        l = h.lines(a);
        REQUIRE(l.size() == 1);
        CHECK(l[0].rfind("ERROR bad-text :", 0) == 0);
        CHECK(h.lines(b).empty());  // nobody receives it
    }
    h.feed(a, "tab\tok\n");
    CHECK(h.lines(b) == V{"MSG ana :tab\tok"});
}

TEST_CASE("public messages reach everyone with the sender's echo, byte-exact") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.lines(a);
    h.feed(a, "hola a todos  \n");
    CHECK(h.lines(a) == V{"MSG ana :hola a todos  "});
    CHECK(h.lines(b) == V{"MSG ana :hola a todos  "});
    h.feed(b, "  /no es comando\n");
    CHECK(h.lines(a) == V{"MSG bob :  /no es comando"});
    h.feed(b, "//estado\n!!bob hi\n");
    CHECK(h.lines(a) == V{"MSG bob :/estado", "MSG bob :!bob hi"});
    h.lines(b);
    h.feed(a, ":colon first\n");
    CHECK(h.lines(b) == V{"MSG ana ::colon first"});
}

TEST_CASE("private messages: both ends only, errors, to oneself once") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("Bob");
    ConnId c = h.login("carla");
    h.lines(a);
    h.lines(b);
    h.feed(a, "!bob  hola   bob \n");
    CHECK(h.lines(a) == V{"PRIV ana Bob :hola   bob "});
    CHECK(h.lines(b) == V{"PRIV ana Bob :hola   bob "});
    CHECK(h.lines(c).empty());
    h.feed(a, "/MSG carla qué tal\n");
    CHECK(h.lines(c) == V{"PRIV ana carla :qué tal"});
    h.lines(a);
    h.feed(a, "!ana yo\n");
    CHECK(h.lines(a) == V{"PRIV ana ana :yo"});
    h.feed(a, "!nadie hola\n!bob\n! hola\n/msg\n!bob    \n!:x hola\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 6);
    CHECK(l[0].rfind("ERROR no-such-user nadie :", 0) == 0);
    CHECK(l[1].rfind("ERROR usage msg :", 0) == 0);
    CHECK(l[2].rfind("ERROR usage msg :", 0) == 0);
    CHECK(l[3].rfind("ERROR usage msg :", 0) == 0);
    CHECK(l[4].rfind("ERROR usage msg :", 0) == 0);
    CHECK(l[5].rfind("ERROR no-such-user ? :", 0) == 0);
    CHECK(h.lines(b).empty());
}

TEST_CASE("status: to everyone, even unchanged; usage and status-invalid") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.lines(a);
    h.feed(a, "/estado ocupado\n");
    CHECK(h.lines(a) == V{"STATUS ana ocupado"});
    CHECK(h.lines(b) == V{"STATUS ana ocupado"});
    h.feed(a, "/STATUS ocupado\n");
    CHECK(h.lines(b) == V{"STATUS ana ocupado"});
    h.feed(a, "/estado en-reunión  \n");
    CHECK(h.lines(b) == V{"STATUS ana en-reunión"});
    h.lines(a);
    h.feed(a, "/estado\n/estado a b\n/estado a!\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 3);
    CHECK(l[0].rfind("ERROR usage status :", 0) == 0);
    CHECK(l[1].rfind("ERROR status-invalid :", 0) == 0);
    CHECK(l[2].rfind("ERROR status-invalid :", 0) == 0);
    h.feed(b, "/listar\n");
    CHECK(h.lines(b) == V{"USER ana en-reunión", "USER bob disponible", "END USERS 2"});
}

TEST_CASE("list is sorted by the nick with ASCII letters lowered; aliases") {
    Harness h;
    h.login("zoe");
    h.login("Bob");
    h.login("alba");
    ConnId d = h.login("Ñu");
    for (const char* cmd : {"/listar\n", "/list\n", "/WHO\n"}) {
        h.feed(d, cmd);
        CHECK(h.lines(d) == V{"USER alba disponible", "USER Bob disponible", "USER zoe disponible",
                              "USER Ñu disponible", "END USERS 4"});
    }
}

TEST_CASE("profile: self, another online user, an offline user, an unknown one") {
    Harness h;
    ConnId a = h.login("ana");
    h.feed(a, "/perfil\n");
    CHECK(h.lines(a) == V{"PROFILE ana id=1 status=disponible created=2026-11-25T10:00:00Z "
                          "last_login=2026-11-25T10:00:00Z last_seen=- online=yes account=no"});
    h.advance(60s);
    ConnId b = h.login("bob");
    h.feed(b, "/estado ausente\n/profile ANA\n");
    auto l = h.lines(b);
    REQUIRE(l.size() == 2);
    CHECK(l[1] == "PROFILE ana id=1 status=disponible created=2026-11-25T10:00:00Z "
                  "last_login=2026-11-25T10:00:00Z last_seen=- online=yes account=no");
    h.advance(60s);
    h.feed(b, "/salir\n");
    h.lines(a);
    h.feed(a, "/perfil bob\n");
    CHECK(h.lines(a) == V{"PROFILE bob id=2 status=ausente created=2026-11-25T10:01:00Z "
                          "last_login=2026-11-25T10:01:00Z last_seen=2026-11-25T10:02:00Z online=no account=no"});
    h.feed(a, "/perfil nadie\n/perfil :x\n");
    l = h.lines(a);
    REQUIRE(l.size() == 2);
    CHECK(l[0].rfind("ERROR no-such-user nadie :", 0) == 0);
    CHECK(l[1].rfind("ERROR no-such-user ? :", 0) == 0);
    // Back again: a new session starts disponible; last_seen is the end of the last finished one.
    h.advance(60s);
    ConnId b2 = h.login("Bob");
    h.feed(b2, "/perfil\n");
    CHECK(h.lines(b2) == V{"PROFILE bob id=2 status=disponible created=2026-11-25T10:01:00Z "
                           "last_login=2026-11-25T10:03:00Z last_seen=2026-11-25T10:02:00Z online=yes account=no"});
}

TEST_CASE("history: public and own private messages, oldest first; count rules") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    ConnId c = h.login("carla");
    h.feed(a, "uno\n");
    h.feed(b, "!carla secreto\n");
    h.feed(a, "!bob para bob\n");
    h.feed(c, "dos\n");
    h.lines(a);
    h.lines(b);
    h.feed(b, "/historial\n");
    CHECK(h.lines(b) == V{"HIST 2026-11-25T10:00:00Z ana * :uno", "HIST 2026-11-25T10:00:00Z bob carla :secreto",
                          "HIST 2026-11-25T10:00:00Z ana bob :para bob", "HIST 2026-11-25T10:00:00Z carla * :dos",
                          "END HIST 4"});
    h.feed(a, "/history 2\n");
    CHECK(h.lines(a) ==
          V{"HIST 2026-11-25T10:00:00Z ana bob :para bob", "HIST 2026-11-25T10:00:00Z carla * :dos", "END HIST 2"});
    h.feed(a, "/historial 0\n/historial -1\n/historial x\n/historial 99999999999999999999\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 7);
    CHECK(l[0].rfind("ERROR usage history :", 0) == 0);
    CHECK(l[1].rfind("ERROR usage history :", 0) == 0);
    CHECK(l[2].rfind("ERROR usage history :", 0) == 0);
    CHECK(l[6] == "END HIST 3");  // ana may see 3: two public, her own private
}

TEST_CASE("the 20 most recent public messages follow WELCOME") {
    Harness h;
    ConnId a = h.login("ana");
    for (int i = 0; i < 25; ++i) h.feed(a, "m" + std::to_string(i) + "\n");
    h.advance(10s);
    ConnId b = h.open();
    h.lines(b);
    h.feed(b, "bob\n");
    auto l = h.lines(b);
    REQUIRE(l.size() == 1 + 3 + 21);
    CHECK(l[4] == "HIST 2026-11-25T10:00:00Z ana * :m5");
    CHECK(l[23] == "HIST 2026-11-25T10:00:00Z ana * :m24");
    CHECK(l[24] == "END HIST 20");
}

TEST_CASE("help, ping, pong, unknown commands") {
    Harness h;
    ConnId a = h.login("ana");
    h.feed(a, "/ayuda\n");
    auto l = h.lines(a);
    REQUIRE(l.size() > 2);
    CHECK(l[0].rfind("HELP :", 0) == 0);
    CHECK(l.back() == "END HELP " + std::to_string(l.size() - 1));
    h.feed(a, "/help\n");
    CHECK(h.lines(a) == l);
    h.feed(a, "/ping abc.1_-Z\n/ping\n/PING t extra words\n/ping no!\n/pong 5\n/pong\n");
    l = h.lines(a);
    REQUIRE(l.size() == 4);
    CHECK(l[0] == "PONG abc.1_-Z");
    CHECK(l[1] == "PONG -");
    CHECK(l[2] == "PONG t");
    CHECK(l[3].rfind("ERROR usage ping :", 0) == 0);
    h.feed(a, "/bailar ya\n/\n/:x\n");
    l = h.lines(a);
    REQUIRE(l.size() == 3);
    CHECK(l[0].rfind("ERROR unknown-command bailar :", 0) == 0);
    CHECK(l[1].rfind("ERROR unknown-command ? :", 0) == 0);
    CHECK(l[2].rfind("ERROR unknown-command ? :", 0) == 0);
}

TEST_CASE("leaving: /salir with a reason, its aliases, closed, slow consumer") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    ConnId c = h.login("carla");
    ConnId d = h.login("dani");
    h.lines(a);
    h.lines(b);
    h.lines(c);
    h.feed(b, "/salir me voy  a comer\n");
    auto lb = h.lines(b);
    REQUIRE(lb.size() == 1);
    CHECK(lb[0].rfind("BYE :", 0) == 0);
    CHECK(h.closed.count(b));
    CHECK(h.lines(a) == V{"PART bob :quit me voy  a comer"});
    h.feed(c, "/desconectar\n");
    CHECK(h.lines(a) == V{"PART carla :quit"});
    h.core->on_gone(d, Gone::SlowConsumer);
    CHECK(h.lines(a) == V{"PART dani :slow-consumer"});
    ConnId e = h.login("eva");
    h.lines(a);
    h.core->on_gone(e, Gone::Closed);
    CHECK(h.lines(a) == V{"PART eva :closed"});
    h.feed(a, "/listar\n");
    CHECK(h.lines(a) == V{"USER ana disponible", "END USERS 1"});
    ConnId f = h.login("Bob");  // the nick is free again
    h.feed(f, "/QUIT\n");
    CHECK(h.closed.count(f));
}

TEST_CASE("an overlong line is refused once and the connection kept") {
    Limits lim;
    lim.max_line = 64;
    Harness h(lim);
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.lines(a);
    h.feed(a, std::string(64, 'x') + "\n");  // exactly the limit: fine
    CHECK(h.lines(b) == V{"MSG ana :" + std::string(64, 'x')});
    h.feed(a, std::string(40, 'y'));
    h.feed(a, std::string(40, 'y'));  // limit passed: the error comes now
    auto l = h.lines(a);
    REQUIRE(l.size() == 2);  // echo of the first, then the error
    CHECK(l[1].rfind("ERROR line-too-long :", 0) == 0);
    h.feed(a, std::string(500, 'z') + "\nafter\n");
    CHECK(h.lines(a) == V{"MSG ana :after"});
    CHECK(h.lines(b) == V{"MSG ana :after"});
    CHECK(!h.closed.count(a));
}

TEST_CASE("flow control slows a flooding client down and drops nothing") {
    Harness h;  // 20 lines/s, bursts of 40
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.lines(a);
    std::string flood;
    for (int i = 0; i < 100; ++i) flood += "n" + std::to_string(i) + "\n";
    h.feed(a, flood);
    auto l = h.lines(b);
    CHECK(l.size() == 39);  // the login line took one token of the burst
    CHECK(h.paused.count(a));
    for (int step = 0; step < 10; ++step) {
        h.advance(1s);
        auto more = h.lines(b);
        l.insert(l.end(), more.begin(), more.end());
    }
    REQUIRE(l.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(l[i] == "MSG ana :n" + std::to_string(i));
    CHECK(!h.closed.count(a));
}

TEST_CASE("flow control off with rate 0") {
    Limits lim;
    lim.rate = 0;
    Harness h(lim);
    ConnId a = h.login("ana");
    std::string flood;
    for (int i = 0; i < 500; ++i) flood += "x\n";
    h.feed(a, flood);
    CHECK(h.lines(a).size() == 500);
}

TEST_CASE("login timeout, whatever was sent meanwhile") {
    Harness h;
    ConnId a = h.open();
    h.lines(a);
    h.feed(a, "-bad\n");
    h.advance(29s);
    CHECK(!h.closed.count(a));
    h.advance(1s);
    auto l = h.lines(a);
    REQUIRE(l.size() == 3);
    CHECK(l[1].rfind("ERROR login-timeout :", 0) == 0);
    CHECK(l[2].rfind("BYE :", 0) == 0);
    CHECK(h.closed.count(a));
    ConnId b = h.login("bob");  // a logged-in user is not timed out by it
    h.advance(31s);
    CHECK(!h.closed.count(b));
}

TEST_CASE("the login timeout runs from the accept when the connection came through a handshake") {
    Harness h;
    ConnId a = h.next_id++;
    h.core->on_open(a, "10.0.0.1", ConnTraits{true, h.mono - 8s});  // a TLS handshake took 8 s
    CHECK(h.lines(a).at(0).rfind("HELLO ", 0) == 0);
    h.advance(21s);
    CHECK(!h.closed.count(a));
    h.advance(1s);  // 30 s after the accept, 22 s after on_open
    auto l = h.lines(a);
    REQUIRE(l.size() == 2);
    CHECK(l[0].rfind("ERROR login-timeout :", 0) == 0);
    CHECK(h.closed.count(a));
}

TEST_CASE("idle: PING after 120 s, any line answers, cut 60 s later") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    h.lines(a);
    h.advance(119s);
    CHECK(h.lines(a).empty());
    h.advance(1s);
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("PING ", 0) == 0);
    CHECK(h.lines(b).size() == 1);
    h.feed(a, "/pong " + l[0].substr(5) + "\n");  // bob does not answer
    h.advance(59s);
    CHECK(!h.closed.count(b));
    h.advance(1s);
    CHECK(h.closed.count(b));
    CHECK(h.lines(a) == V{"PART bob :timeout"});
    CHECK(!h.closed.count(a));
    h.advance(59s);  // 119 s after the pong
    CHECK(h.lines(a).empty());
    h.advance(1s);
    CHECK(h.lines(a).size() == 1);
    h.feed(a, "\n");  // even an empty line counts
    h.advance(100s);
    CHECK(!h.closed.count(a));
}

TEST_CASE("max-clients and max-per-ip refuse after HELLO with BYE") {
    Limits lim;
    lim.max_clients = 3;
    lim.max_per_ip = 2;
    Harness h(lim);
    ConnId a = h.open("10.0.0.1");
    ConnId b = h.open("10.0.0.1");
    ConnId c = h.open("10.0.0.1");
    auto l = h.lines(c);
    REQUIRE(l.size() == 3);
    CHECK(l[0].rfind("HELLO ", 0) == 0);
    CHECK(l[1].rfind("ERROR too-many-connections :", 0) == 0);
    CHECK(l[2].rfind("BYE :", 0) == 0);
    CHECK(h.closed.count(c));
    ConnId d = h.open("10.0.0.2");
    CHECK(!h.closed.count(d));
    ConnId e = h.open("10.0.0.3");
    l = h.lines(e);
    REQUIRE(l.size() == 3);
    CHECK(l[1].rfind("ERROR server-full :", 0) == 0);
    CHECK(h.closed.count(e));
    h.core->on_gone(a, Gone::Closed);
    ConnId f = h.open("10.0.0.1");
    CHECK(!h.closed.count(f));
    (void)b;
}

TEST_CASE("storage unreachable: login refused with unavailable, may retry") {
    Harness h;
    h.storage.set_unavailable(true);
    ConnId a = h.open();
    h.lines(a);
    h.feed(a, "ana\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(l[0].rfind("ERROR unavailable :", 0) == 0);
    CHECK(!h.closed.count(a));
    h.storage.set_unavailable(false);
    h.feed(a, "ana\n");
    l = h.lines(a);
    REQUIRE(!l.empty());
    CHECK(l[0].rfind("WELCOME ana ", 0) == 0);
}

TEST_CASE("lines sent while a login is pending wait and keep their order") {
    Harness h;
    ConnId b = h.login("bob");
    ConnId a = h.open();
    h.lines(a);
    h.core->on_data(a, "ana\nuno\n");  // only the nick is taken: the session waits for storage
    CHECK(h.paused.count(a));
    h.in[a] = "uno\n";
    h.pump();
    auto l = h.lines(b);
    CHECK(l == V{"JOIN ana disponible", "MSG ana :uno"});
}

TEST_CASE("shutdown: BYE to every connection, logged in or not, no PART") {
    Harness h;
    ConnId a = h.login("ana");
    ConnId b = h.login("bob");
    ConnId c = h.open();
    h.lines(a);
    h.lines(c);
    h.core->shutdown();
    CHECK(h.lines(a) == V{"BYE :server shutting down"});
    CHECK(h.lines(b) == V{"BYE :server shutting down"});
    CHECK(h.lines(c) == V{"BYE :server shutting down"});
    CHECK(h.closed.size() == 3);
}
