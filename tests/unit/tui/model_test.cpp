#include <doctest/doctest.h>

#include <string>

#include "env.hpp"
#include "tui/help.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;  // 2025-11-24T16:00:00Z

// A model logged in as `nick` with the roster given as "nick status" pairs.
Model online(const std::string& nick = "ana") {
    test_env();
    Model m;
    m.set_wanted_nick(nick);
    m.apply("HELLO chatd 1 :welcome", kNow);
    m.apply("WELCOME " + nick + " 7 :hola " + nick, kNow);
    m.apply("USER " + nick + " disponible", kNow);
    m.apply("USER Begoña ocupado", kNow);
    m.apply("END USERS 2", kNow);
    m.apply("END HIST 0", kNow);
    return m;
}

const LogEntry& last(const Model& m) {
    REQUIRE(!m.log().empty());
    return m.log().back();
}

}  // namespace

TEST_CASE("HELLO sends the wanted nick, or asks for one") {
    Model m;
    m.set_wanted_nick("ana");
    Effects fx = m.apply("HELLO chatd 1 :welcome to chatd", kNow);
    REQUIRE(fx.send.size() == 1);
    CHECK(fx.send[0] == "ana");
    CHECK(m.state() == ConnState::LoggingIn);
    CHECK(m.server_name() == "chatd");

    Model ask;
    fx = ask.apply("HELLO chatd 1 :welcome", kNow);
    CHECK(fx.send.empty());
    CHECK(ask.state() == ConnState::AskingNick);
    ask.nick_sent("bob");
    CHECK(ask.state() == ConnState::LoggingIn);
    CHECK(ask.wanted_nick() == "bob");
}

TEST_CASE("WELCOME, the roster and the login history") {
    Model m;
    m.set_wanted_nick("ANA");
    m.apply("HELLO chatd 1 :hi", kNow);
    m.apply("WELCOME ana 7 :hola ana", kNow);
    CHECK(m.state() == ConnState::Online);
    CHECK(m.nick() == "ana");  // the server's spelling wins
    CHECK(m.wanted_nick() == "ana");
    CHECK(m.my_status() == "disponible");
    const std::size_t before = m.log().size();
    m.apply("USER ana ausente", kNow);
    m.apply("USER Begoña ocupado", kNow);
    m.apply("USER carlos disponible", kNow);
    m.apply("END USERS 3", kNow);
    CHECK(m.log().size() == before);  // the login roster is shown in the sidebar only
    REQUIRE(m.users().size() == 3);
    CHECK(m.users()[0].nick == "ana");
    CHECK(m.users()[1].nick == "Begoña");
    CHECK(m.users()[1].status == "ocupado");
    CHECK(m.my_status() == "ausente");
    m.apply("HIST 2025-11-24T15:00:00Z carlos * :old news", kNow);
    m.apply("END HIST 1", kNow);
    CHECK(last(m).kind == EntryKind::Public);
    CHECK(last(m).history);
    CHECK(last(m).time == kNow - 3600);
}

TEST_CASE("a later USER list answers /listar: it replaces the roster and is logged") {
    Model m = online();
    m.apply("USER ana disponible", kNow);
    m.apply("USER zoe ausente", kNow);
    m.apply("END USERS 2", kNow);
    REQUIRE(m.users().size() == 2);
    CHECK(m.users()[1].nick == "zoe");
    CHECK(last(m).kind == EntryKind::Users);
    CHECK(last(m).text == "2 online: ana (disponible), zoe (ausente)");
}

TEST_CASE("JOIN, PART and STATUS update the sidebar and the log") {
    Model m = online();
    m.apply("JOIN Carlos disponible", kNow);
    REQUIRE(m.users().size() == 3);
    CHECK(m.users()[2].nick == "Carlos");
    CHECK(m.users()[1].nick == "Begoña");  // bytes with ASCII lowered: "b..." < "c..."
    CHECK(last(m).kind == EntryKind::Join);
    CHECK(format_entry_plain(last(m)) == "16:00:00 --> Carlos joined (disponible)");

    m.apply("STATUS carlos ausente", kNow);  // case differs: still the same user
    CHECK(m.find_user("Carlos")->status == "ausente");
    CHECK(m.users().size() == 3);
    CHECK(last(m).kind == EntryKind::Status);

    m.apply("STATUS ana ocupado", kNow);
    CHECK(m.my_status() == "ocupado");

    m.apply("PART Carlos :quit se fue", kNow);
    CHECK(m.users().size() == 2);
    CHECK(m.find_user("Carlos") == nullptr);
    CHECK(format_entry_plain(last(m)) == "16:00:00 <-- Carlos left (quit se fue)");
}

TEST_CASE("MSG: others, my echo, and mentions with a bell") {
    Model m = online();
    Effects fx = m.apply("MSG Begoña :hola a todos", kNow);
    CHECK(last(m).kind == EntryKind::Public);
    CHECK_FALSE(last(m).mention);
    CHECK_FALSE(fx.bell);
    CHECK(format_entry_plain(last(m)) == "16:00:00 <Begoña> hola a todos");

    m.apply("MSG ana :mi mensaje", kNow);
    CHECK(last(m).kind == EntryKind::Own);

    fx = m.apply("MSG Begoña :oye ANA, mira", kNow);
    CHECK(last(m).mention);
    CHECK(fx.bell);

    fx = m.apply("MSG Begoña :anabel no es ana_x", kNow);  // part of longer words only
    CHECK_FALSE(last(m).mention);
    CHECK_FALSE(fx.bell);
}

TEST_CASE("PRIV: received and sent are told apart") {
    Model m = online();
    Effects fx = m.apply("PRIV Begoña ana :un secreto", kNow);
    CHECK(last(m).kind == EntryKind::PrivIn);
    CHECK(last(m).nick == "Begoña");
    CHECK(fx.bell);
    CHECK(format_entry_plain(last(m)) == "16:00:00 <- Begoña: un secreto");

    fx = m.apply("PRIV ana Begoña :respuesta", kNow);
    CHECK(last(m).kind == EntryKind::PrivOut);
    CHECK(last(m).nick == "Begoña");
    CHECK_FALSE(fx.bell);
    CHECK(format_entry_plain(last(m)) == "16:00:00 -> Begoña: respuesta");

    m.apply("PRIV ana ana :nota", kNow);  // to oneself: shown once, as sent
    CHECK(last(m).kind == EntryKind::PrivOut);
}

TEST_CASE("HIST after /historial: public, private both ways, and its end") {
    Model m = online();
    m.apply("HIST 2025-11-24T10:00:00Z Begoña * :público", kNow);
    CHECK(last(m).kind == EntryKind::Public);
    CHECK(format_entry_plain(last(m)) == "10:00:00 <Begoña> público");
    m.apply("HIST 2025-11-24T10:01:00Z Begoña ana :para ti", kNow);
    CHECK(last(m).kind == EntryKind::PrivIn);
    m.apply("HIST 2025-11-24T10:02:00Z ana Begoña :para ella", kNow);
    CHECK(last(m).kind == EntryKind::PrivOut);
    CHECK(last(m).nick == "Begoña");
    m.apply("HIST bad-time ana * :x", kNow);
    CHECK(last(m).time == kNow);
    m.apply("END HIST 4", kNow);
    CHECK(last(m).kind == EntryKind::Info);
    CHECK(last(m).text == "end of history (4 messages)");
}

TEST_CASE("HELP lines are followed by the client's own help") {
    Model m = online();
    m.apply("HELP :Commands:", kNow);
    m.apply("HELP :  /ayuda  this help", kNow);
    const std::size_t before = m.log().size();
    m.apply("END HELP 2", kNow);
    CHECK(m.log().size() == before + client_help_lines().size());
    CHECK(last(m).kind == EntryKind::Help);
    bool mentions_clear = false;
    for (const auto& e : m.log()) mentions_clear |= e.text.find("/clear") != std::string::npos;
    CHECK(mentions_clear);
}

TEST_CASE("PROFILE, PING, PONG") {
    Model m = online();
    m.apply("PROFILE Begoña id=9 status=ocupado created=2025-11-20T09:00:00Z last_login=- last_seen=- online=yes",
            kNow);
    CHECK(last(m).kind == EntryKind::Profile);
    CHECK(format_entry_plain(last(m)) ==
          "16:00:00 --- profile Begoña: id=9 status=ocupado created=2025-11-20T09:00:00Z last_login=- "
          "last_seen=- online=yes");

    const std::size_t before = m.log().size();
    Effects fx = m.apply("PING abc-1", kNow);
    REQUIRE(fx.send.size() == 1);
    CHECK(fx.send[0] == "/pong abc-1");
    CHECK(m.log().size() == before);  // keepalives are quiet
    fx = m.apply("PING", kNow);
    CHECK(fx.send == std::vector<std::string>{"/pong"});

    m.apply("PONG tok", kNow);
    CHECK(last(m).text == "PONG tok");
}

TEST_CASE("ERROR: a refused nick asks again; later errors are only shown") {
    Model m;
    m.set_wanted_nick("ana");
    m.apply("HELLO chatd 1 :hi", kNow);
    m.apply("ERROR nick-in-use :that nickname is taken", kNow);
    CHECK(m.state() == ConnState::AskingNick);
    CHECK(m.wanted_nick().empty());
    bool shown = false;
    for (const auto& e : m.log()) shown |= e.kind == EntryKind::Error && e.text == "nick-in-use: that nickname is taken";
    CHECK(shown);

    Model o = online();
    o.apply("ERROR no-such-user zoe :no such user online", kNow);
    CHECK(o.state() == ConnState::Online);
    CHECK(last(o).kind == EntryKind::Error);
    CHECK(format_entry_plain(last(o)) == "16:00:00 !!! no-such-user zoe: no such user online");
}

TEST_CASE("BYE and unknown verbs") {
    Model m = online();
    Effects fx = m.apply("BYE :adiós", kNow);
    CHECK(fx.bye);
    CHECK(last(m).text == "server closes the connection: adiós");
    m.apply("WHATEVER x :y", kNow);
    CHECK(last(m).text == "WHATEVER x :y");
    const std::size_t before = m.log().size();
    m.apply("", kNow);
    CHECK(m.log().size() == before);
}

TEST_CASE("network text cannot smuggle terminal escapes") {
    Model m = online();
    m.apply("MSG Begoña :\x1b[2Jboom\x07\xff", kNow);
    const std::string& t = last(m).text;
    CHECK(t.find('\x1b') == std::string::npos);
    CHECK(t.find('\x07') == std::string::npos);
    CHECK(t.find("boom") != std::string::npos);
    m.apply("JOIN evil\x1b] ocupado", kNow);
    for (const auto& u : m.users()) CHECK(u.nick.find('\x1b') == std::string::npos);
}

TEST_CASE("scrolled up, new lines do not move the view and are counted") {
    Model m = online();
    for (int i = 0; i < 50; ++i) m.apply("MSG Begoña :" + std::to_string(i), kNow);
    m.scroll_up(10);
    CHECK(m.scroll_offset() == 10);
    const std::string shown = m.log()[m.log().size() - 1 - m.scroll_offset()].text;
    m.apply("MSG Begoña :new 1", kNow);
    m.apply("MSG Begoña :new 2", kNow);
    CHECK(m.unread() == 2);
    CHECK(m.log()[m.log().size() - 1 - m.scroll_offset()].text == shown);
    m.scroll_down(5);
    CHECK(m.scroll_offset() == 7);
    m.scroll_down(100);
    CHECK(m.scroll_offset() == 0);
    CHECK(m.unread() == 0);
    m.scroll_up(100000);
    CHECK(m.scroll_offset() == m.log().size() - 1);
    m.scroll_to_bottom();
    CHECK(m.scroll_offset() == 0);
}

TEST_CASE("the scrollback keeps the newest lines, at least 5000") {
    CHECK(Model::kDefaultScrollback >= 5000);
    Model m(100);
    m.apply("HELLO chatd 1 :x", kNow);
    for (int i = 0; i < 250; ++i) m.apply("MSG b :" + std::to_string(i), kNow);
    CHECK(m.log().size() == 100);
    CHECK(m.log().back().text == "249");
    CHECK(m.log().front().text == "150");
    m.clear_log();
    CHECK(m.log().empty());
    CHECK(m.added() == 252);  // two lines for HELLO, then the messages
}

TEST_CASE("connection state: connecting, lost with a retry, closed") {
    Model m = online();
    m.on_disconnected(kNow, "reset by peer", 4);
    CHECK(m.state() == ConnState::Reconnecting);
    CHECK(m.retry_in() == 4);
    CHECK(m.users().empty());
    CHECK(last(m).text == "connection lost: reset by peer; retrying in 4 s");
    CHECK(m.wanted_nick() == "ana");  // the next login uses the same nick
    m.on_connecting(kNow, "127.0.0.1:5000");
    CHECK(m.state() == ConnState::Connecting);
    m.on_connected(kNow);
    CHECK(m.state() == ConnState::LoggingIn);
    Effects fx = m.apply("HELLO chatd 1 :again", kNow);
    CHECK(fx.send == std::vector<std::string>{"ana"});
    m.on_disconnected(kNow, "", 0);
    CHECK(m.state() == ConnState::Closed);
}

TEST_CASE("format_entry gives each part its look") {
    test_env();
    LogEntry e{kNow, EntryKind::Public, "Begoña", "hola ana", true};
    const auto spans = format_entry(e, false);
    REQUIRE(spans.size() == 3);
    CHECK(spans[0].text == "16:00 ");
    CHECK(spans[0].style == Style::Time);
    CHECK(spans[1].text == "<Begoña>");
    CHECK(spans[1].style == Style::Nick);
    CHECK(spans[1].nick == "Begoña");
    CHECK(spans[2].style == Style::Mention);
    e.kind = EntryKind::Own;
    CHECK(format_entry(e, false)[1].style == Style::OwnNick);
    e.kind = EntryKind::Error;
    CHECK(format_entry(e, false)[1].style == Style::Error);
}

TEST_CASE("nick colors are stable and ignore ASCII case") {
    CHECK(nick_color("ana", 6) == nick_color("ANA", 6));
    CHECK(nick_color("ana", 6) < 6);
    bool differ = false;
    for (const char* n : {"bob", "carlos", "dani", "eva", "Begoña", "ñandú"}) differ |= nick_color(n, 6) != nick_color("ana", 6);
    CHECK(differ);
    CHECK(nick_color("x", 0) == 0);
}
