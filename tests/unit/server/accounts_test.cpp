// The chat core against every rule of PROTOCOL.md, "Accounts": fake clock,
// in-memory storage, a fake hasher (harness.hpp) whose answers the test holds
// or lets through.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace chat::server;
using namespace chat::server::test;
using namespace std::chrono_literals;
using V = std::vector<std::string>;

namespace {

bool starts(const std::string& line, std::string_view prefix) { return line.rfind(prefix, 0) == 0; }

// Logs `nick` in as a guest and registers it with `password`.
void make_account(Harness& h, std::string_view nick, std::string_view password) {
    ConnId c = h.login(nick);
    h.feed(c, "/registrar " + std::string(password) + "\n");
    auto l = h.lines(c);
    REQUIRE(l.size() == 1);
    REQUIRE(starts(l[0], "OK register :"));
    h.feed(c, "/salir\n");
    for (auto& [id, _] : h.out) h.lines(id);
}

// Opens a connection and sends the nickname; returns it with HELLO dropped.
ConnId at_nick(Harness& h, std::string_view nick, std::string ip = "10.0.0.1") {
    ConnId c = h.open(ip);
    h.lines(c);
    h.feed(c, std::string(nick) + "\n");
    return c;
}

UserRecord stored(Harness& h, std::string key) {
    h.storage.submit(ProfileRequest{999'999, std::move(key)});
    for (auto& r : h.storage.take_replies())
        if (auto* p = std::get_if<ProfileReply>(&r); p && p->token == 999'999) return p->user;
    return {};
}

}  // namespace

TEST_CASE("register, then log in with the password; the account keeps its id") {
    Harness h;
    ConnId a = h.login("Ana");
    h.feed(a, "/perfil\n");
    CHECK(h.lines(a).at(0).find(" online=yes account=no") != std::string::npos);
    h.feed(a, "/registrar una clave\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 1);
    CHECK(starts(l[0], "OK register :"));
    CHECK(stored(h, "ana").password_hash == "fake$una clave");
    h.feed(a, "/perfil\n");
    CHECK(h.lines(a).at(0).find(" online=yes account=yes") != std::string::npos);
    h.feed(a, "/salir\n");

    ConnId b = at_nick(h, "ANA");
    CHECK(h.lines(b) == V{"AUTH Ana :this nickname is an account; send its password"});  // first spelling
    h.feed(b, "una clave\n");
    l = h.lines(b);
    REQUIRE(!l.empty());
    CHECK(starts(l[0], "WELCOME Ana 1 :"));
    ConnId c = h.login("bob");
    h.feed(c, "/perfil ana\n");
    CHECK(h.lines(c).at(0).find(" online=yes account=yes") != std::string::npos);
}

TEST_CASE("a wrong password: bad-password and the nickname step again; other nicknames then work") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "incorrecta\n");
    CHECK(h.lines(b) == V{"ERROR bad-password :wrong password; send your nickname again"});
    h.feed(b, "correcta1\n");  // a nickname now, not a password: a guest named correcta1
    auto l = h.lines(b);
    REQUIRE(!l.empty());
    CHECK(starts(l[0], "WELCOME correcta1 "));
}

TEST_CASE("the password is byte-exact: spaces inside and at the end count, a leading space never matches") {
    Harness h;
    make_account(h, "ana", "mi clave  ");  // /registrar takes the rest of the line, trailing spaces included
    CHECK(stored(h, "ana").password_hash == "fake$mi clave  ");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "mi clave\n");
    CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
    h.feed(b, "ana\n");
    h.lines(b);
    h.feed(b, " mi clave  \n");
    CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
    int checks = h.hasher.submitted;
    h.feed(b, "ana\n");
    h.lines(b);
    h.feed(b, "mi clave  \r\n");  // the CR is dropped as always
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
    CHECK(h.hasher.submitted == checks + 1);
}

TEST_CASE("while the password is awaited: blank lines ignored, bad-text and line-too-long answered, still waiting") {
    Limits lim;
    lim.max_line = 64;
    Harness h(lim);
    make_account(h, "ana", "correcta1");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "   \n\t\n");
    CHECK(h.lines(b).empty());
    h.feed(b, "mal\x01texto\n" + std::string(100, 'x') + "\n");
    auto l = h.lines(b);
    REQUIRE(l.size() == 2);
    CHECK(starts(l[0], "ERROR bad-text "));
    CHECK(starts(l[1], "ERROR line-too-long "));
    h.feed(b, "correcta1\n");
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
}

TEST_CASE("nick-in-use, nick-invalid, unavailable come at the nickname, before any AUTH") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId a = at_nick(h, "ana");
    h.lines(a);
    h.feed(a, "correcta1\n");
    h.lines(a);
    ConnId b = at_nick(h, "ANA");
    CHECK(starts(h.lines(b).at(0), "ERROR nick-in-use "));
    h.feed(b, "-x\n");
    CHECK(starts(h.lines(b).at(0), "ERROR nick-invalid "));
    h.storage.set_unavailable(true);
    h.feed(b, "otra\n");
    CHECK(starts(h.lines(b).at(0), "ERROR unavailable "));
}

TEST_CASE("the account logged in elsewhere while the password was checked: nick-in-use after it") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId a = at_nick(h, "ana");
    ConnId b = at_nick(h, "ana");
    CHECK(starts(h.lines(a).at(0), "AUTH ana "));
    CHECK(starts(h.lines(b).at(0), "AUTH ana "));  // the nickname is not held while a password is typed
    h.feed(a, "correcta1\n");
    CHECK(starts(h.lines(a).at(0), "WELCOME ana "));
    h.feed(b, "correcta1\n");
    CHECK(h.lines(b) == V{"ERROR nick-in-use :that nickname is online; choose another"});
}

TEST_CASE("lines after the password wait for the check and the login, in order") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.hasher.hold = true;
    h.feed(b, "correcta1\nhola\n/estado ocupado\n");
    CHECK(h.lines(b).empty());
    CHECK(h.paused.count(b));
    h.hasher.hold = false;
    h.pump();
    auto l = h.lines(b);
    REQUIRE(l.size() >= 3);
    CHECK(starts(l[0], "WELCOME ana "));
    CHECK(l[l.size() - 2] == "MSG ana :hola");
    CHECK(l.back() == "STATUS ana ocupado");
}

TEST_CASE("the login timeout keeps running from the accept while AUTH waits") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId b = h.open();
    h.lines(b);
    h.advance(20s);
    h.feed(b, "ana\n");
    CHECK(starts(h.lines(b).at(0), "AUTH ana "));
    h.advance(10s);
    auto l = h.lines(b);
    REQUIRE(l.size() == 2);
    CHECK(starts(l[0], "ERROR login-timeout "));
    CHECK(starts(l[1], "BYE "));
    CHECK(h.closed.count(b));
}

Limits patient() {
    Limits l;
    l.login_timeout = std::chrono::hours(1);  // these connections stay at the nickname step for minutes
    return l;
}

TEST_CASE("throttling: the 6th password for an account within 60 s is not checked; the window slides") {
    Harness h(patient());
    make_account(h, "ana", "correcta1");
    ConnId b = h.open("10.0.0.9");
    h.lines(b);
    for (int i = 0; i < 5; ++i) {
        h.feed(b, "ana\n");
        CHECK(starts(h.lines(b).at(0), "AUTH ana "));
        h.feed(b, "incorrecta\n");
        CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
        h.advance(1s);  // failures at t = 0..4 s
    }
    int checks = h.hasher.submitted;
    h.feed(b, "ana\n");
    CHECK(starts(h.lines(b).at(0), "AUTH ana "));  // AUTH is still sent
    h.feed(b, "correcta1\n");                      // even the right password is not checked
    CHECK(h.lines(b) == V{"ERROR too-many-attempts :too many wrong passwords; wait a minute and try again"});
    CHECK(h.hasher.submitted == checks);
    // Another address, same account: still blocked (per account).
    ConnId c = at_nick(h, "ana", "10.0.0.10");
    h.lines(c);
    h.feed(c, "correcta1\n");
    CHECK(starts(h.lines(c).at(0), "ERROR too-many-attempts "));
    // 60 s after the oldest failure (t = 0), it falls out: one attempt gets through.
    h.advance(55s);  // t = 60 s
    h.feed(b, "ana\n");
    h.lines(b);
    h.feed(b, "correcta1\n");
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
}

TEST_CASE("throttling by address: 20 wrong passwords from one address block it for every account") {
    Harness h(patient());
    for (int i = 0; i < 5; ++i) make_account(h, "user" + std::to_string(i), "correcta1");
    ConnId b = h.open("::ffff:10.0.0.7");  // the IPv4-mapped form counts as the IPv4 address
    h.lines(b);
    for (int i = 0; i < 20; ++i) {
        h.feed(b, "user" + std::to_string(i % 5) + "\n");
        h.lines(b);
        h.feed(b, "incorrecta\n");
        CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
        h.advance(1s);
    }
    // 4 per account (none blocked as an account); the address has 20 younger than 60 s.
    ConnId c = at_nick(h, "user0", "10.0.0.7");
    h.lines(c);
    h.feed(c, "correcta1\n");
    CHECK(starts(h.lines(c).at(0), "ERROR too-many-attempts "));
    ConnId d = at_nick(h, "user0", "10.0.0.8");  // another address: checked
    h.lines(d);
    h.feed(d, "correcta1\n");
    CHECK(starts(h.lines(d).at(0), "WELCOME user0 "));
}

TEST_CASE("a line that cannot be a password is a wrong one without hashing, and counts") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId b = h.open();
    h.lines(b);
    int checks = h.hasher.submitted;
    for (int i = 0; i < 5; ++i) {
        h.feed(b, "ana\n");
        h.lines(b);
        h.feed(b, "corta\n");  // 5 bytes
        CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
    }
    CHECK(h.hasher.submitted == checks);
    h.feed(b, "ana\n");
    h.lines(b);
    h.feed(b, "correcta1\n");
    CHECK(starts(h.lines(b).at(0), "ERROR too-many-attempts "));
}

TEST_CASE("/registrar: refusals in the contract's order") {
    Limits closed;
    closed.registration_open = false;
    Harness h(closed);
    ConnId a = h.login("ana");
    h.feed(a, "/registrar\n/register   \n");
    CHECK(h.lines(a) == V{"ERROR usage register :usage: /registrar <password>, 8 to 128 bytes",
                          "ERROR usage register :usage: /registrar <password>, 8 to 128 bytes"});
    h.feed(a, "/registrar corta\n");  // closed comes before the password rules
    CHECK(starts(h.lines(a).at(0), "ERROR registration-closed "));

    Harness o;
    o.takes_passwords = false;
    ConnId far = o.login("lejos");
    o.feed(far, "/registrar corta\n/clave corta\n");
    auto l = o.lines(far);
    REQUIRE(l.size() == 2);
    CHECK(l[0] == "ERROR tls-required :passwords are taken only over TLS or from this machine");
    CHECK(starts(l[1], "ERROR tls-required "));
    o.takes_passwords = true;
    ConnId b = o.login("bea");
    o.feed(b, "/registrar corta\n/registrar " + std::string(129, 'x') + "\n");
    l = o.lines(b);
    REQUIRE(l.size() == 2);
    CHECK(starts(l[0], "ERROR password-invalid "));
    CHECK(starts(l[1], "ERROR password-invalid "));
    o.feed(b, "/registrar " + std::string(128, 'x') + "\n");
    CHECK(starts(o.lines(b).at(0), "OK register "));
    o.feed(b, "/registrar otraclave\n");
    CHECK(starts(o.lines(b).at(0), "ERROR already-registered "));
}

TEST_CASE("/clave: usage, tls-required, not-registered, password-invalid; then the new password works") {
    Harness h;
    ConnId a = h.login("ana");
    h.feed(a, "/clave\n/password nuevaclave\n");
    auto l = h.lines(a);
    REQUIRE(l.size() == 2);
    CHECK(l[0] == "ERROR usage password :usage: /clave <new password>, 8 to 128 bytes");
    CHECK(starts(l[1], "ERROR not-registered "));
    h.feed(a, "/registrar vieja-clave\n/clave corta\n/clave nueva clave\n");
    l = h.lines(a);
    REQUIRE(l.size() == 3);
    CHECK(starts(l[0], "OK register "));
    CHECK(starts(l[1], "ERROR password-invalid "));
    CHECK(l[2] == "OK password :password changed");
    h.feed(a, "/salir\n");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "vieja-clave\n");
    CHECK(starts(h.lines(b).at(0), "ERROR bad-password "));
    h.feed(b, "ana\n");
    h.lines(b);
    h.feed(b, "nueva clave\n");
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
}

TEST_CASE("plain TCP from elsewhere: an account's nickname gets tls-required instead of AUTH") {
    Harness h;
    make_account(h, "ana", "correcta1");
    h.takes_passwords = false;
    ConnId b = at_nick(h, "ana", "192.0.2.1");
    CHECK(h.lines(b) == V{"ERROR tls-required :passwords are taken only over TLS or from this machine"});
    h.feed(b, "invitado\n");  // a guest nickname still works there
    CHECK(starts(h.lines(b).at(0), "WELCOME invitado "));
}

TEST_CASE("accounts only: a guest nickname is refused with account-required, nothing stored") {
    Harness h;
    make_account(h, "ana", "correcta1");
    std::size_t users = h.storage.user_count();
    h.limits.require_account = true;
    h.reset();
    ConnId b = at_nick(h, "invitado");
    CHECK(h.lines(b) == V{"ERROR account-required :this server accepts registered accounts only"});
    CHECK(h.storage.user_count() == users);
    h.feed(b, "ana\n");
    CHECK(starts(h.lines(b).at(0), "AUTH ana "));
    h.feed(b, "correcta1\n");
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
}

TEST_CASE("the hasher at its bound: ERROR unavailable, nothing waits") {
    Harness h;
    make_account(h, "ana", "correcta1");
    h.hasher.full = true;
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "correcta1\n");
    CHECK(h.lines(b) == V{"ERROR unavailable :too many password checks under way; try again later"});
    CHECK_FALSE(h.paused.count(b));
    ConnId c = h.login("bob");
    h.feed(c, "/registrar otraclave\n");
    CHECK(starts(h.lines(c).at(0), "ERROR unavailable "));
    CHECK(stored(h, "bob").password_hash.empty());
}

TEST_CASE("storage unreachable at /registrar: unavailable, the nickname stays a guest") {
    Harness h;
    ConnId a = h.login("ana");
    h.storage.set_unavailable(true);
    h.feed(a, "/registrar unaclave1\n");
    CHECK(starts(h.lines(a).at(0), "ERROR unavailable "));
    h.storage.set_unavailable(false);
    h.feed(a, "/perfil\n");
    CHECK(h.lines(a).at(0).find(" account=no") != std::string::npos);
    h.feed(a, "/registrar unaclave1\n");
    CHECK(starts(h.lines(a).at(0), "OK register "));
}

TEST_CASE("OK register comes only after storage has the hash") {
    Harness h;
    ConnId a = h.login("ana");
    h.hold_replies = true;
    h.feed(a, "/registrar unaclave1\n");
    CHECK(h.lines(a).empty());
    h.hold_replies = false;
    h.pump();
    CHECK(starts(h.lines(a).at(0), "OK register "));
}

TEST_CASE("a hash made at a weaker cost is replaced at the next successful login") {
    Harness h;
    make_account(h, "ana", "correcta1");
    UserRecord u = stored(h, "ana");
    h.storage.submit(SetPasswordRequest{1'000'000, u.id, PasswordChange::Change, "weak$correcta1", 1, {}});
    h.storage.take_replies();
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.feed(b, "correcta1\n");
    CHECK(starts(h.lines(b).at(0), "WELCOME ana "));
    CHECK(stored(h, "ana").password_hash == "fake$correcta1");
}

TEST_CASE("a client that leaves while its password is checked leaves nothing behind") {
    Harness h;
    make_account(h, "ana", "correcta1");
    ConnId b = at_nick(h, "ana");
    h.lines(b);
    h.hasher.hold = true;
    h.feed(b, "correcta1\n");
    h.core->on_gone(b, Gone::Closed);
    h.hasher.hold = false;
    h.pump();
    CHECK(h.core->stats().online == 0);
    ConnId c = at_nick(h, "ana");
    CHECK(starts(h.lines(c).at(0), "AUTH ana "));
}
