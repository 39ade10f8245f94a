// The model's side of protocol version 2's accounts: HELLO 2, AUTH, OK, the
// new error codes and account= in PROFILE.
#include <doctest/doctest.h>

#include <string>

#include "env.hpp"
#include "tui/messages.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;

// Connected, the nick `nick` sent after HELLO 2, waiting for the answer.
Model sent_nick(const std::string& nick = "ana") {
    test_env();
    Model m;
    m.set_wanted_nick(nick);
    const Effects fx = m.apply("HELLO chatd 2 :welcome", kNow);
    REQUIRE(fx.send.size() == 1);
    REQUIRE(fx.send[0] == nick);
    return m;
}

Model online(const std::string& nick = "ana") {
    Model m = sent_nick(nick);
    m.apply("WELCOME " + nick + " 7 :hola", kNow);
    m.apply("USER " + nick + " disponible", kNow);
    m.apply("END USERS 1", kNow);
    m.apply("END HIST 0", kNow);
    REQUIRE(m.state() == ConnState::Online);
    return m;
}

const LogEntry& last(const Model& m) {
    REQUIRE(!m.log().empty());
    return m.log().back();
}

bool logged(const Model& m, std::string_view needle) {
    for (const LogEntry& e : m.log()) {
        if (e.text.find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("HELLO 2 and HELLO 1 are both spoken; another version is only remarked on") {
    Model two = sent_nick();
    CHECK(two.server_version() == "2");
    CHECK_FALSE(logged(two, "protocol version"));

    test_env();
    Model one;
    one.set_wanted_nick("ana");
    CHECK(one.apply("HELLO chatd 1 :welcome", kNow).send.size() == 1);
    CHECK_FALSE(logged(one, "protocol version"));

    Model three;
    three.set_wanted_nick("ana");
    CHECK(three.apply("HELLO chatd 3 :welcome", kNow).send.size() == 1);
    CHECK(logged(three, "protocol version 3"));
}

TEST_CASE("AUTH without a kept password asks the user; the typed one is then awaited") {
    Model m = sent_nick();
    const Effects fx = m.apply("AUTH Ana :password please", kNow);
    CHECK_FALSE(fx.send_password);
    CHECK(fx.send.empty());
    CHECK(m.state() == ConnState::AskingPassword);
    CHECK(m.auth_nick() == "Ana");
    CHECK(last(m).text.find("type its password") != std::string::npos);
    m.password_sent();
    CHECK(m.state() == ConnState::LoggingIn);
    m.apply("WELCOME Ana 7 :hola", kNow);
    CHECK(m.state() == ConnState::Online);
}

TEST_CASE("AUTH with a kept password sends it, for its own nick (ASCII case aside) or any") {
    Model m = sent_nick();
    m.set_password(true, "ANA");
    Effects fx = m.apply("AUTH ana :password please", kNow);
    CHECK(fx.send_password);
    CHECK(m.state() == ConnState::LoggingIn);

    Model other = sent_nick("bob");
    other.set_password(true, "ana");  // ana's password is never offered to bob's account
    fx = other.apply("AUTH bob :password please", kNow);
    CHECK_FALSE(fx.send_password);
    CHECK(other.state() == ConnState::AskingPassword);

    Model any = sent_nick("bob");
    any.set_password(true, "");  // from --password-file: for whatever nick was given
    CHECK(any.apply("AUTH bob :password please", kNow).send_password);
}

TEST_CASE("bad-password after a typed password: back at the nickname prompt") {
    Model m = sent_nick();
    m.apply("AUTH ana :password please", kNow);
    m.password_sent();
    const Effects fx = m.apply("ERROR bad-password :wrong password", kNow);
    CHECK_FALSE(fx.forget_password);
    CHECK(fx.send.empty());
    CHECK(m.state() == ConnState::AskingNick);
    CHECK(m.wanted_nick().empty());
    CHECK(logged(m, "bad-password: wrong password for ana (wrong password)"));
    CHECK(last(m).text.find("type a nickname") != std::string::npos);
}

TEST_CASE("bad-password after the kept password: it is forgotten and the nick sent again, to ask") {
    Model m = sent_nick();
    m.set_password(true, "ana");
    REQUIRE(m.apply("AUTH ana :password please", kNow).send_password);
    Effects fx = m.apply("ERROR bad-password :wrong password", kNow);
    CHECK(fx.forget_password);
    REQUIRE(fx.send.size() == 1);
    CHECK(fx.send[0] == "ana");
    CHECK_FALSE(m.has_password());
    CHECK(m.state() == ConnState::LoggingIn);
    fx = m.apply("AUTH ana :password please", kNow);
    CHECK_FALSE(fx.send_password);
    CHECK(m.state() == ConnState::AskingPassword);
    // A second refusal is the typed password's: the nickname prompt, as after nick-in-use.
    m.password_sent();
    fx = m.apply("ERROR bad-password :wrong password", kNow);
    CHECK_FALSE(fx.forget_password);
    CHECK(m.state() == ConnState::AskingNick);
}

TEST_CASE("too-many-attempts: back at the nickname prompt, the kept password stays") {
    Model m = sent_nick();
    m.set_password(true, "ana");
    m.apply("AUTH ana :password please", kNow);
    const Effects fx = m.apply("ERROR too-many-attempts :slow down", kNow);
    CHECK_FALSE(fx.forget_password);
    CHECK(m.has_password());
    CHECK(m.state() == ConnState::AskingNick);
    CHECK(logged(m, "wait a minute"));
}

TEST_CASE("tls-required and account-required refuse the login with an explanation") {
    Model m = sent_nick();
    m.apply("ERROR tls-required :use TLS", kNow);
    CHECK(m.state() == ConnState::AskingNick);
    CHECK(logged(m, "only over TLS or from its own machine"));

    Model g = sent_nick("guest");
    g.apply("ERROR account-required :accounts only", kNow);
    CHECK(g.state() == ConnState::AskingNick);
    CHECK(logged(g, "registered accounts only"));
}

TEST_CASE("OK register and OK password confirm, and ask to keep the new password") {
    Model m = online();
    Effects fx = m.apply("OK register :registered", kNow);
    CHECK(fx.new_password_ok);
    CHECK(last(m).kind == EntryKind::Info);
    CHECK(last(m).text.find("ana is now a registered account") != std::string::npos);
    fx = m.apply("OK password :changed", kNow);
    CHECK(fx.new_password_ok);
    CHECK(last(m).text.find("password of ana is changed") != std::string::npos);
    fx = m.apply("OK something :else", kNow);
    CHECK_FALSE(fx.new_password_ok);
    CHECK(last(m).text == "OK something: else");
}

TEST_CASE("errors that answer /registrar or /clave drop the new password, with clear words") {
    struct Case {
        const char* line;
        const char* says;
    };
    const Case cases[] = {
        {"ERROR usage register :usage", "/registrar alone asks"},
        {"ERROR usage password :usage", "/clave alone asks"},
        {"ERROR tls-required :tls", "only over TLS"},
        {"ERROR registration-closed :closed", "does not let its users register"},
        {"ERROR already-registered :already", "ana is already a registered account"},
        {"ERROR password-invalid :bad", "8 to 128 bytes and must not start with a space"},
        {"ERROR not-registered :guest", "ana is a guest nickname"},
        {"ERROR unavailable :storage", "unavailable: storage"},
    };
    for (const Case& c : cases) {
        Model m = online();
        const Effects fx = m.apply(c.line, kNow);
        CAPTURE(c.line);
        CHECK(fx.new_password_refused);
        CHECK(last(m).kind == EntryKind::Error);
        CHECK(last(m).text.find(c.says) != std::string::npos);
        CHECK(m.state() == ConnState::Online);
    }
    Model m = online();
    CHECK_FALSE(m.apply("ERROR usage status :usage", kNow).new_password_refused);
    CHECK_FALSE(m.apply("ERROR no-such-user bob :no", kNow).new_password_refused);
}

TEST_CASE("PROFILE shows account=yes or no") {
    Model m = online();
    m.apply(
        "PROFILE ana id=7 status=disponible created=2026-11-20T09:00:00Z last_login=2026-11-25T10:00:03Z "
        "last_seen=- online=yes account=yes",
        kNow);
    CHECK(last(m).kind == EntryKind::Profile);
    CHECK(last(m).text.ends_with("online=yes account=yes"));
    CHECK(format_entry_plain(last(m)).find("account=yes") != std::string::npos);
    m.apply("PROFILE bob id=8 status=ausente created=- last_login=- last_seen=- online=no account=no", kNow);
    CHECK(last(m).text.ends_with("account=no"));
}

TEST_CASE("server text in the new lines is sanitized") {
    Model m = sent_nick();
    m.apply("AUTH ana\x1b[31m :pw\x1b]0;x\x07", kNow);
    for (const LogEntry& e : m.log()) CHECK(e.text.find('\x1b') == std::string::npos);
    CHECK(m.auth_nick().find('\x1b') == std::string::npos);
    Model o = online();
    o.apply("OK other :\x1b[2J", kNow);
    CHECK(last(o).text.find('\x1b') == std::string::npos);
}

TEST_CASE("refuses_login and explain_error cover the login codes of protocol 2") {
    for (const char* code : {"nick-invalid", "nick-in-use", "unavailable", "bad-password",
                             "too-many-attempts", "account-required", "tls-required"}) {
        CHECK(refuses_login(code));
    }
    CHECK_FALSE(refuses_login("login-timeout"));
    CHECK(explain_error("nick-in-use", "", "ana").empty());  // the server's own text is enough
    CHECK(explain_error("bad-password", "", "").find("this account") != std::string::npos);
}
