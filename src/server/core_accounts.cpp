// The chat core's accounts (PROTOCOL.md, "Accounts"): AUTH and the password
// after it, /registrar and /clave, the throttle on wrong passwords. Hashing
// runs elsewhere (the PasswordHasher); the session waits for it in its own
// state, paused like a session waiting for storage, so no other client waits.
//
// A password is passed to the hasher and forgotten here: it is never kept in
// a session, logged or written into an error text.
#include <string>

#include "proto/password.hpp"
#include "proto/server_line.hpp"
#include "server/core.hpp"
#include "server/core_session.hpp"
#include "server/log.hpp"

namespace chat::server {

using proto::append_line;

namespace {
constexpr std::string_view kTlsRequired = "passwords are taken only over TLS or from this machine";
constexpr std::string_view kBadPassword = "wrong password; send your nickname again";
constexpr std::string_view kPasswordRules = "a password is 8 to 128 bytes of text, not starting with a space";
constexpr std::string_view kBusy = "too many password checks under way; try again later";

unsigned long long num(ConnId id) { return static_cast<unsigned long long>(id); }
}  // namespace

// The login in progress is given up; the connection waits for a nickname.
void ChatCore::back_to_nick(Session& s) {
    if (!s.key.empty()) {
        auto k = by_key_.find(s.key);
        if (k != by_key_.end() && k->second == s.id) by_key_.erase(k);
    }
    s.key.clear();
    s.user = UserRecord{};
    s.verified_hash.clear();
    s.rehash.clear();
    s.state = State::AwaitNick;
}

// Storage answered a login with "that nickname is an account" or "not one".
void ChatCore::account_login(Session& s, const LoginReply& r) {
    if (r.outcome == LoginOutcome::NotAnAccount) {
        back_to_nick(s);
        send_error(s.id, "account-required", {}, "this server accepts registered accounts only");
        return;
    }
    if (!s.verified_hash.empty()) {
        // The password was checked against a hash that changed before the login was recorded.
        back_to_nick(s);
        send_error(s.id, "bad-password", {}, kBadPassword);
        LOG_INFO("#%llu: password changed during the login", num(s.id));
        return;
    }
    std::string key = s.key;
    back_to_nick(s);  // the nickname is not held while its password is typed
    if (!s.takes_passwords) {
        send_error(s.id, "tls-required", {}, kTlsRequired);
        return;
    }
    s.key = std::move(key);
    s.user = r.user;
    s.state = State::AwaitPassword;
    scratch_.clear();
    append_line(scratch_, "AUTH", {s.user.nick}, "this nickname is an account; send its password");
    io_.send(s.id, scratch_);
}

bool ChatCore::hash_for(Session& s, Asked why, AuthRequest req) {
    AuthToken t = next_token_++;
    std::visit([t](auto& r) { r.token = t; }, req);
    if (!hasher_ || !hasher_->submit(std::move(req))) {
        send_error(s.id, "unavailable", {}, kBusy);
        ++hasher_refusals_;
        const Mono now = clock_.now();
        if (hasher_refusal_logged_ == Mono{} || now - hasher_refusal_logged_ >= std::chrono::minutes(1)) {
            LOG_WARN("password work refused %llu time%s since the last such line: the hasher is full "
                     "(the clients got ERROR unavailable; see --auth-threads, chatd_password_refused_total)",
                     static_cast<unsigned long long>(hasher_refusals_), hasher_refusals_ == 1 ? "" : "s");
            hasher_refusals_ = 0;
            hasher_refusal_logged_ = now;
        }
        return false;
    }
    wait_for(s, t, why);
    return true;
}

void ChatCore::handle_password(Session& s, std::string_view line) {
    Mono now = clock_.now();
    if (throttle_.blocked(s.key, s.ip, now)) {
        LOG_INFO("#%llu: password for %s not checked: too many attempts", num(s.id), s.user.nick.c_str());
        back_to_nick(s);
        send_error(s.id, "too-many-attempts", {}, "too many wrong passwords; wait a minute and try again");
        return;
    }
    if (!proto::is_valid_password(line)) {  // can be no account's password: wrong, without hashing
        throttle_.record_failure(s.key, s.ip, now);
        LOG_INFO("#%llu: wrong password for %s", num(s.id), s.user.nick.c_str());
        back_to_nick(s);
        send_error(s.id, "bad-password", {}, kBadPassword);
        return;
    }
    std::string stored = s.user.password_hash;
    if (!hash_for(s, Asked::Verify, VerifyRequest{0, std::string(line), std::move(stored)})) {
        back_to_nick(s);
        return;
    }
    s.state = State::Verifying;
}

void ChatCore::on_auth_reply(AuthReply reply) {
    AuthToken token = std::visit([](const auto& r) { return r.token; }, reply);
    Wait w;
    if (!take_wait(token, w)) return;  // the client left meanwhile
    Session* s = find(w.id);
    if (!s || s->waiting != token) return;
    s->waiting = 0;
    if (auto* v = std::get_if<VerifyReply>(&reply))
        password_checked(*s, *v);
    else
        password_hashed(*s, w.why, std::get<HashReply>(reply));
    if ((s = find(w.id))) unblock(*s);
}

void ChatCore::password_checked(Session& s, const VerifyReply& r) {
    if (!r.ok) {
        throttle_.record_failure(s.key, s.ip, clock_.now());
        LOG_INFO("#%llu: wrong password for %s", num(s.id), s.user.nick.c_str());
        back_to_nick(s);
        send_error(s.id, "bad-password", {}, kBadPassword);
        return;
    }
    if (nick_taken(s.key)) {  // logged in elsewhere while the password was typed
        back_to_nick(s);
        send_error(s.id, "nick-in-use", {}, "that nickname is online; choose another");
        return;
    }
    by_key_.emplace(s.key, s.id);
    s.state = State::LoggingIn;
    s.verified_hash = s.user.password_hash;
    if (r.needs_rehash) s.rehash = r.new_hash;
    Token t = next_token_++;
    wait_for(s, t);
    storage_.submit(LoginRequest{t, s.user.nick, s.key, now_s(), true, s.verified_hash});
}

// /registrar and /clave, checked in the contract's order (usage came from the parser).
void ChatCore::set_password(Session& s, Asked why, std::string_view password) {
    bool reg = why == Asked::Register;
    if (!s.takes_passwords) {
        send_error(s.id, "tls-required", {}, kTlsRequired);
        return;
    }
    if (reg && !limits_.registration_open) {
        send_error(s.id, "registration-closed", {}, "this server's accounts are made by its operator");
        return;
    }
    if (reg && !s.user.password_hash.empty()) {
        send_error(s.id, "already-registered", {}, "this nickname is an account already; /clave changes its password");
        return;
    }
    if (!reg && s.user.password_hash.empty()) {
        send_error(s.id, "not-registered", {}, "this nickname is no account; /registrar makes it one");
        return;
    }
    if (!proto::is_valid_password(password)) {
        send_error(s.id, "password-invalid", {}, kPasswordRules);
        return;
    }
    hash_for(s, why, HashRequest{0, std::string(password)});
}

void ChatCore::password_hashed(Session& s, Asked why, const HashReply& r) {
    if (!r.ok) {
        send_error(s.id, "unavailable", {}, "the password could not be hashed; try again later");
        LOG_ERROR("#%llu: password hashing failed", num(s.id));
        return;
    }
    s.new_hash = r.hash;
    Token t = next_token_++;
    wait_for(s, t, why);
    PasswordChange change = why == Asked::Register ? PasswordChange::Register : PasswordChange::Change;
    storage_.submit(SetPasswordRequest{t, s.user.id, change, r.hash, now_s(), {}});
}

// Storage has the new hash durably (or could not take it).
void ChatCore::password_stored(Session& s, Asked why, const SetPasswordReply& r) {
    bool reg = why == Asked::Register;
    std::string hash = std::move(s.new_hash);
    s.new_hash.clear();
    if (!r.ok) {
        send_error(s.id, "unavailable", {}, "storage cannot be reached; the password was not set");
        return;
    }
    if (!r.done) {  // changed outside this session meanwhile (chatd account ...)
        if (reg)
            send_error(s.id, "already-registered", {}, "this nickname is an account already");
        else
            send_error(s.id, "not-registered", {}, "this nickname is no account");
        return;
    }
    s.user.password_hash = std::move(hash);
    s.user.password_set = now_s();
    scratch_.clear();
    if (reg)
        append_line(scratch_, "OK", {"register"}, s.user.nick + " is an account now; log in with its password");
    else
        append_line(scratch_, "OK", {"password"}, "password changed");
    io_.send(s.id, scratch_);
    LOG_INFO("%s: %s", s.user.nick.c_str(), reg ? "registered" : "password changed");
}

}  // namespace chat::server
