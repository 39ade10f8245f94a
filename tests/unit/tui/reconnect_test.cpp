// Reconnecting: the backoff on a fake clock, the old session that still holds
// the nick, and the history a re-login repeats.
#include "tui/reconnect.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "env.hpp"
#include "proto/server_line.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;

std::string at(std::int64_t t) {
    return chat::proto::format_time(t);
}

Model logged_in(const std::string& nick) {
    test_env();
    Model m;
    m.set_wanted_nick(nick);
    m.on_connecting(kNow, "127.0.0.1:5000");
    m.on_connected(kNow);
    m.apply("HELLO chatd 2 :welcome", kNow);
    m.apply("WELCOME " + nick + " 7 :hola " + nick, kNow);
    m.apply("USER " + nick + " disponible", kNow);
    m.apply("END USERS 1", kNow);
    m.apply("HIST " + at(kNow - 1000) + " bea * :buenos días", kNow);
    m.apply("END HIST 1", kNow);
    return m;
}

std::size_t count_text(const Model& m, const std::string& text) {
    std::size_t n = 0;
    for (const LogEntry& e : m.log()) n += e.text == text ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("backoff on a fake clock: 1, 2, 4, 8, 16, 30, 30 s; a login resets it") {
    Reconnect r;
    CHECK_FALSE(r.pending());
    CHECK(r.wait_ms(0, true) == -1);
    std::int64_t now = 10'000;
    const int expected[] = {1, 2, 4, 8, 16, 30, 30};
    for (int d : expected) {
        r.schedule(now, Reconnect::Why::Lost);
        CHECK(r.last_delay() == d);
        CHECK(r.pending());
        CHECK(r.seconds_left(now) == d);
        CHECK_FALSE(r.due(now + d * 1000 - 1));
        CHECK(r.due(now + d * 1000));
        now += d * 1000;
        r.started();
        CHECK_FALSE(r.pending());
    }
    r.succeeded();
    r.schedule(now, Reconnect::Why::NickHeld);
    CHECK(r.last_delay() == 1);
    CHECK(r.why() == Reconnect::Why::NickHeld);
}

TEST_CASE("the countdown wakes on each whole second, or once at the end without a screen") {
    Reconnect r;
    r.schedule(0, Reconnect::Why::Lost);
    r.started();
    r.schedule(0, Reconnect::Why::Lost);  // 2 s
    CHECK(r.seconds_left(0) == 2);
    CHECK(r.seconds_left(1) == 2);  // rounded up
    CHECK(r.seconds_left(1001) == 1);
    CHECK(r.wait_ms(0, true) == 1000);
    CHECK(r.wait_ms(250, true) == 750);
    CHECK(r.wait_ms(250, false) == 1750);
    CHECK(r.wait_ms(5000, true) == 0);
}

TEST_CASE("nick-in-use on an automatic re-login: retried, not the nick prompt") {
    Model m = logged_in("ana");
    m.on_disconnected(kNow + 5, "the server closed the connection", 1);
    CHECK(m.state() == ConnState::Reconnecting);
    m.on_connecting(kNow + 6, "127.0.0.1:5000");
    CHECK(m.rejoining());
    m.on_connected(kNow + 6);
    Effects fx = m.apply("HELLO chatd 2 :welcome", kNow + 6);
    REQUIRE(fx.send == std::vector<std::string>{"ana"});
    fx = m.apply("ERROR nick-in-use ana :taken", kNow + 6);
    CHECK(fx.retry == LoginRetry::NickHeld);
    CHECK(m.state() != ConnState::AskingNick);
    CHECK(m.wanted_nick() == "ana");
    m.on_login_retry(LoginRetry::NickHeld, kNow + 6, 2);
    CHECK(m.state() == ConnState::Reconnecting);
    CHECK(m.login_retry() == LoginRetry::NickHeld);
    CHECK(m.log().back().text.find("ana is still held by the old session") != std::string::npos);
    CHECK(m.log().back().text.find("trying again in 2 s") != std::string::npos);
    // The next attempt gets the nick.
    m.on_connecting(kNow + 8, "127.0.0.1:5000");
    m.on_connected(kNow + 8);
    m.apply("HELLO chatd 2 :welcome", kNow + 8);
    m.apply("WELCOME ana 8 :hola ana", kNow + 8);
    CHECK(m.state() == ConnState::Online);
    CHECK(m.login_retry() == LoginRetry::None);
}

TEST_CASE("ERROR unavailable on an automatic re-login: retried later, the kept password with it") {
    Model m = logged_in("ana");
    m.on_disconnected(kNow + 5, "the server closed the connection", 1);
    m.on_connecting(kNow + 6, "127.0.0.1:5000");
    m.on_connected(kNow + 6);
    Effects fx = m.apply("HELLO chatd 2 :welcome", kNow + 6);
    REQUIRE(fx.send == std::vector<std::string>{"ana"});
    m.set_password(true, "ana");
    fx = m.apply("AUTH ana :this nickname is an account; send its password", kNow + 6);
    CHECK(fx.send_password);
    m.password_sent();
    // The server's password checks are full (everyone logging in again after a restart).
    fx = m.apply("ERROR unavailable :too many password checks under way; try again later", kNow + 6);
    CHECK(fx.retry == LoginRetry::ServerBusy);
    CHECK_FALSE(fx.forget_password);
    CHECK(m.state() != ConnState::AskingNick);
    CHECK(m.wanted_nick() == "ana");
    m.on_login_retry(LoginRetry::ServerBusy, kNow + 6, 2);
    CHECK(m.state() == ConnState::Reconnecting);
    CHECK(m.login_retry() == LoginRetry::ServerBusy);
    CHECK(m.log().back().text.find("cannot log ana in now (ERROR unavailable): trying again in 2 s") !=
          std::string::npos);
    // The next attempt sends the kept password again by itself.
    m.on_connecting(kNow + 8, "127.0.0.1:5000");
    m.on_connected(kNow + 8);
    fx = m.apply("HELLO chatd 2 :welcome", kNow + 8);
    CHECK(fx.send == std::vector<std::string>{"ana"});
    fx = m.apply("AUTH ana :this nickname is an account; send its password", kNow + 8);
    CHECK(fx.send_password);
    m.password_sent();
    m.apply("WELCOME ana 8 :hola ana", kNow + 8);
    CHECK(m.state() == ConnState::Online);
    CHECK(m.login_retry() == LoginRetry::None);
}

TEST_CASE("ERROR unavailable at a first login: back to the nickname, saying why") {
    test_env();
    Model m;
    m.set_wanted_nick("ana");
    m.on_connecting(kNow, "x");
    m.apply("HELLO chatd 2 :welcome", kNow);
    const Effects fx = m.apply("ERROR unavailable :storage cannot be reached", kNow);
    CHECK(fx.retry == LoginRetry::None);
    CHECK(m.state() == ConnState::AskingNick);
    CHECK(m.log().back().text == "the server cannot take the login now: type the nickname again in a moment");
}

TEST_CASE("nick-in-use at a first login, or for a nick typed anew, asks for another") {
    test_env();
    Model m;
    m.set_wanted_nick("ana");
    m.on_connecting(kNow, "x");
    CHECK_FALSE(m.rejoining());
    m.apply("HELLO chatd 2 :welcome", kNow);
    const Effects fx = m.apply("ERROR nick-in-use ana :taken", kNow);
    CHECK(fx.retry == LoginRetry::None);
    CHECK(m.state() == ConnState::AskingNick);
}

TEST_CASE("a re-login's history: what is on screen is not shown again, the rest is") {
    Model m = logged_in("ana");
    // Seen live: stamped with the local time of arrival, a second after the server's time.
    m.apply("MSG bea :¿comemos?", kNow + 100);
    m.apply("MSG ana :vale", kNow + 101);
    m.apply("MSG bea :ok", kNow + 102);
    m.on_disconnected(kNow + 200, "lost", 1);
    m.on_connecting(kNow + 201, "x");
    m.on_connected(kNow + 201);
    m.apply("HELLO chatd 2 :welcome", kNow + 201);
    m.apply("WELCOME ana 9 :hola ana", kNow + 201);
    m.apply("USER ana disponible", kNow + 201);
    m.apply("END USERS 1", kNow + 201);
    m.apply("HIST " + at(kNow - 1000) + " bea * :buenos días", kNow + 201);  // from the first login's history
    m.apply("HIST " + at(kNow + 99) + " bea * :¿comemos?", kNow + 201);
    m.apply("HIST " + at(kNow + 100) + " ana * :vale", kNow + 201);
    m.apply("HIST " + at(kNow + 101) + " bea * :ok", kNow + 201);
    m.apply("HIST " + at(kNow + 150) + " carla * :missed while away", kNow + 201);
    m.apply("HIST " + at(kNow + 160) + " bea * :ok", kNow + 201);  // a second "ok": new
    m.apply("END HIST 6", kNow + 201);
    CHECK(count_text(m, "buenos días") == 1);
    CHECK(count_text(m, "¿comemos?") == 1);
    CHECK(count_text(m, "vale") == 1);
    CHECK(count_text(m, "ok") == 2);
    CHECK(count_text(m, "missed while away") == 1);
    CHECK(m.log().back().text.find("4 messages of the history were already on screen") != std::string::npos);
    CHECK_FALSE(m.rejoining());
    // A /historial later shows everything it is asked for.
    m.apply("HIST " + at(kNow + 99) + " bea * :¿comemos?", kNow + 300);
    m.apply("END HIST 1", kNow + 300);
    CHECK(count_text(m, "¿comemos?") == 2);
}

TEST_CASE("with a seed, each wait is half to all of the delay, and clients lost together spread out") {
    std::vector<std::int64_t> firsts;
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        Reconnect r(seed);
        std::int64_t now = 0;
        const int nominal[] = {1, 2, 4, 8, 16, 30, 30};
        for (int d : nominal) {
            r.schedule(now, Reconnect::Why::Busy);
            // Due somewhere in [d/2, d] seconds; the countdown says the whole seconds left.
            CHECK_FALSE(r.due(now + d * 500 - 1));
            CHECK(r.due(now + d * 1000));
            CHECK(r.last_delay() >= (d + 1) / 2);
            CHECK(r.last_delay() <= d);
            CHECK(r.seconds_left(now) == r.last_delay());
            r.started();
            now += 60'000;
        }
        Reconnect again(seed);
        again.schedule(0, Reconnect::Why::Lost);
        again.schedule(0, Reconnect::Why::Lost);
        again.schedule(0, Reconnect::Why::Lost);  // the 4 s step
        std::int64_t at = 0;
        while (!again.due(at)) at += 1;
        firsts.push_back(at);
    }
    std::sort(firsts.begin(), firsts.end());
    firsts.erase(std::unique(firsts.begin(), firsts.end()), firsts.end());
    CHECK(firsts.size() > 40);  // 50 clients: not one moment for all
    CHECK(firsts.front() >= 2000);
    CHECK(firsts.back() <= 4000);
}
