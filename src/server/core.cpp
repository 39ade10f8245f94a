#include "server/core.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "proto/command.hpp"
#include "proto/names.hpp"
#include "proto/server_line.hpp"
#include "proto/text.hpp"
#include "server/core_session.hpp"
#include "server/log.hpp"

namespace chat::server {

using proto::append_line;

// Roster order: the nick with ASCII letters lowered, i.e. the folded key (unique among the online).
bool ChatCore::by_key(const Session* a, const Session* b) {
    return a->key < b->key;
}

ChatCore::ChatCore(Transport& io, Storage& storage, Clock& clock, Limits limits, std::string server_name,
                   PasswordHasher* hasher)
    : io_(io),
      storage_(storage),
      clock_(clock),
      limits_(limits),
      server_name_(std::move(server_name)),
      hasher_(hasher),
      throttle_(limits.auth_throttle) {
    if (!proto::is_param(server_name_)) server_name_ = "chatd";
}

ChatCore::~ChatCore() = default;

void ChatCore::load(const StartupInfo& info) {
    // Storage may be reached after this process already took messages (it was
    // down at start): merge by id, so none is lost or shown twice.
    std::deque<RecentLine> merged;
    for (const auto& m : info.recent_public) merged.push_back(RecentLine{m.id, hist_line(m)});
    for (auto& r : recent_) merged.push_back(std::move(r));
    std::stable_sort(merged.begin(), merged.end(),
                     [](const RecentLine& a, const RecentLine& b) { return a.id < b.id; });
    merged.erase(std::unique(merged.begin(), merged.end(),
                             [](const RecentLine& a, const RecentLine& b) { return a.id == b.id; }),
                 merged.end());
    recent_ = std::move(merged);
    while (recent_.size() > static_cast<std::size_t>(std::max(limits_.recent_history, 0)))
        recent_.pop_front();
    last_message_id_ = std::max(last_message_id_, info.max_message_id);
    last_session_id_ = std::max(last_session_id_, info.max_session_id);
}

void ChatCore::set_limits(const Limits& limits) {
    Limits next = limits;
    next.max_line = limits_.max_line;
    next.paced_chunk = limits_.paced_chunk;
    next.auth_throttle = limits_.auth_throttle;
    limits_ = next;
    while (recent_.size() > static_cast<std::size_t>(std::max(limits_.recent_history, 0))) recent_.pop_front();
}

ChatCore::Session* ChatCore::find(ConnId id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
}

std::int64_t ChatCore::now_s() {
    return clock_.wall_us() / 1'000'000;
}

// Ids are unique across restarts without asking the database: microseconds
// since the epoch, bumped past the last one handed out. In a cluster the
// node's slot takes the low 10 bits (microseconds times 1024 last past the
// year 2200), so two nodes never hand out the same id.
std::int64_t ChatCore::next_id(std::int64_t& last) {
    if (id_slot_ < 0) {
        last = std::max(last + 1, clock_.wall_us());
        return last;
    }
    const std::int64_t us = std::max(last / 1024 + 1, clock_.wall_us());
    last = us * 1024 + id_slot_;
    return last;
}
std::int64_t ChatCore::next_message_id() { return next_id(last_message_id_); }
std::int64_t ChatCore::next_session_id() { return next_id(last_session_id_); }

void ChatCore::schedule(Mono when, ConnId id, TimerKind kind) {
    timers_.push(TimerEntry{when, id, kind});
}

Mono ChatCore::next_deadline() const {
    return timers_.empty() ? Mono::max() : timers_.top().when;
}

CoreStats ChatCore::stats() const {
    CoreStats st;
    st.connections = sessions_.size();
    st.online = online_.size();
    st.messages = messages_;
    st.messages_private = messages_private_;
    st.messages_public = messages_ - messages_private_;
    st.deliveries = deliveries_;
    st.logins_guest = logins_guest_;
    st.logins_account = logins_account_;
    st.errors.assign(errors_.begin(), errors_.end());
    return st;
}

void ChatCore::count_error(std::string_view code) {
    auto it = errors_.find(code);
    if (it == errors_.end()) it = errors_.emplace(std::string(code), 0).first;
    ++it->second;
}

void ChatCore::send_error(ConnId id, std::string_view code, std::string_view arg, std::string_view text) {
    count_error(code);
    scratch_.clear();
    if (arg.empty())
        append_line(scratch_, "ERROR", {code}, text);
    else
        append_line(scratch_, "ERROR", {code, arg}, text);
    io_.send(id, scratch_);
}

namespace {
constexpr std::string_view kHelloText = "welcome to chatd; send your nickname";
constexpr std::string_view kFullText = "too many connections to this server, try again later";
constexpr std::string_view kRefusedText = "connection refused";
}  // namespace

namespace {
// HELLO, the ERROR that refuses the connection, BYE: all a refused connection hears.
std::string refusal_lines(std::string_view server_name, std::string_view code, std::string_view text) {
    std::string out;
    if (!proto::is_param(server_name)) server_name = "chatd";
    append_line(out, "HELLO", {server_name, proto::kProtocolVersion}, kHelloText);
    append_line(out, "ERROR", {code}, text);
    append_line(out, "BYE", {}, kRefusedText);
    return out;
}
}  // namespace

std::string ChatCore::server_full_lines(std::string_view server_name) {
    return refusal_lines(server_name, "server-full", kFullText);
}

void ChatCore::on_open(ConnId id, std::string_view ip, ConnTraits traits) {
    if (shutting_down_) {
        io_.close(id);
        return;
    }
    Mono now = clock_.now();
    std::size_t& from_ip = per_ip_[std::string(ip)];
    const char* refuse = nullptr;
    if (limits_.max_clients != 0 && sessions_.size() >= limits_.max_clients) {
        refuse = "server-full";
        io_.send(id, server_full_lines(server_name_));
    } else if (limits_.max_per_ip != 0 && from_ip >= limits_.max_per_ip) {
        refuse = "too-many-connections";
        io_.send(id, refusal_lines(server_name_, refuse, "too many connections from your address"));
    }
    if (refuse) {
        count_error(refuse);
        if (from_ip == 0) per_ip_.erase(std::string(ip));
        io_.close(id);
        LOG_INFO("refused %s: %s", std::string(ip).c_str(), refuse);
        return;
    }
    scratch_.clear();
    append_line(scratch_, "HELLO", {server_name_, proto::kProtocolVersion}, kHelloText);
    io_.send(id, scratch_);
    ++from_ip;
    auto [at, _] = sessions_.try_emplace(id, id, ip, limits_.max_line, now, limits_.burst);
    at->second.takes_passwords = traits.takes_passwords;
    Mono started = traits.accepted == Mono{} ? now : std::min(now, traits.accepted);
    schedule(started + limits_.login_timeout, id, TimerKind::Login);
    LOG_INFO("connect #%llu from %s", static_cast<unsigned long long>(id), std::string(ip).c_str());
}

// Token bucket: true if the client may have one more line now; otherwise
// pauses reading and schedules the moment the budget allows one line.
bool ChatCore::take_token(Session& s) {
    if (limits_.rate <= 0) return true;
    Mono now = clock_.now();
    double elapsed = std::chrono::duration<double>(now - s.tokens_at).count();
    s.tokens = std::min(limits_.burst, s.tokens + elapsed * limits_.rate);
    s.tokens_at = now;
    if (s.tokens >= 1.0) {
        s.tokens -= 1.0;
        return true;
    }
    s.throttled = true;
    io_.pause(s.id);
    auto wait = std::chrono::duration<double>((1.0 - s.tokens) / limits_.rate);
    schedule(now + std::chrono::ceil<std::chrono::microseconds>(wait), s.id, TimerKind::Throttle);
    return false;
}

std::size_t ChatCore::on_data(ConnId id, std::string_view data) {
    std::size_t off = 0;
    while (off < data.size()) {
        Session* s = find(id);
        if (!s || blocked(*s)) break;
        std::string_view rest = data.substr(off);
        // The budget is checked before the framer looks, so a line is never half taken.
        if (!s->framer.discarding() && rest.front() != '\n' &&
            !(rest.size() >= 2 && rest[0] == '\r' && rest[1] == '\n')) {
            if (std::memchr(rest.data(), '\n', std::min(rest.size(), limits_.max_line + 1)) ||
                rest.size() > limits_.max_line) {
                if (!take_token(*s)) break;
            }
        }
        auto ev = s->framer.next(rest);
        off += ev.consumed;
        switch (ev.kind) {
            case proto::LineFramer::Kind::NeedMore:
                return off;
            case proto::LineFramer::Kind::TooLong:
                send_error(id, "line-too-long", {}, "line longer than the limit, discarded");
                LOG_INFO("#%llu: line too long", static_cast<unsigned long long>(id));
                break;
            case proto::LineFramer::Kind::EndOfLong:
                s->last_line = clock_.now();
                break;
            case proto::LineFramer::Kind::Line:
                s->last_line = clock_.now();
                handle_line(*s, ev.line);
                break;
        }
    }
    return off;
}

void ChatCore::handle_line(Session& s, std::string_view line) {
    if (proto::is_blank(line)) return;
    if (!proto::is_clean_text(line)) {
        send_error(s.id, "bad-text", {}, "not valid UTF-8 or holds control characters; dropped");
        LOG_INFO("#%llu: bad text refused", static_cast<unsigned long long>(s.id));
        return;
    }
    switch (s.state) {
        case State::AwaitNick:
            handle_nick(s, line);
            break;
        case State::AwaitPassword:
            handle_password(s, line);
            break;
        case State::LoggingIn:
        case State::Verifying:
            break;  // not reached: the session is paused while storage or the hasher works
        case State::Active:
            handle_command(s, line);
            break;
    }
}

void ChatCore::handle_nick(Session& s, std::string_view line, bool synced) {
    auto b = line.find_first_not_of(' ');
    auto e = line.find_last_not_of(' ');
    std::string_view nick = line.substr(b, e - b + 1);
    if (!proto::is_valid_nick(nick)) {
        send_error(s.id, "nick-invalid", {},
                   "1 to 32 letters, digits, _ - . or characters from U+00C0 up; not starting with - or .");
        return;
    }
    std::string key = proto::fold_nick(nick);
    if (cluster_ && !synced && by_key_.count(key) == 0 && cluster_->find(key)) {
        // Online on another node as far as this one has read the order; a Part
        // its BYE waited for may be on its way. Read up to now, then decide.
        const Token t = next_token_++;
        if (cluster_->sync(t)) {
            wait_for(s, t, Asked::Sync, std::string(nick));
            return;
        }
    }
    if (nick_taken(key)) {
        send_error(s.id, "nick-in-use", {}, "that nickname is online; choose another");
        return;
    }
    if (cluster_ && !cluster_->available()) {
        send_error(s.id, "unavailable", {}, "the cluster cannot be reached; try again later");
        return;
    }
    by_key_.emplace(key, s.id);
    s.key = std::move(key);
    s.state = State::LoggingIn;
    Token t = next_token_++;
    wait_for(s, t);
    storage_.submit(LoginRequest{t, std::string(nick), s.key, now_s(), !limits_.require_account, {}});
}

void ChatCore::wait_for(Session& s, Token token, Asked why, std::string nick) {
    s.waiting = token;
    waits_.emplace(token, Wait{s.id, why, std::move(nick)});
    io_.pause(s.id);
}

// The request `token` was answered: who waited for it and why (false: nobody any more).
bool ChatCore::take_wait(Token token, Wait& out) {
    auto it = waits_.find(token);
    if (it == waits_.end()) return false;
    out = std::move(it->second);
    waits_.erase(it);
    return true;
}

void ChatCore::finish_wait(Session& s) {
    s.waiting = 0;
    unblock(s);
}

bool ChatCore::blocked(const Session& s) const {
    return s.throttled || s.waiting || s.paced;
}

// Reading goes on once nothing holds the session. Time the server held it
// (storage, a paced reply) is not the client's idle time: its unread lines
// were there all along.
void ChatCore::unblock(Session& s) {
    if (blocked(s)) return;
    s.last_line = std::max(s.last_line, clock_.now());
    io_.resume(s.id);
}

void ChatCore::on_reply(StorageReply reply) {
    if (auto* loaded = std::get_if<LoadedReply>(&reply)) {
        load(loaded->info);
        return;
    }
    Token token = std::visit([](const auto& r) { return r.token; }, reply);
    Wait asked;
    if (!take_wait(token, asked)) return;
    ConnId id = asked.id;
    Session* s = find(id);
    if (!s || s->waiting != token) {
        // The client left while storage worked; a login that storage
        // recorded still gets its session closed there.
        if (auto* lr = std::get_if<LoginReply>(&reply); lr && lr->ok && lr->outcome == LoginOutcome::LoggedIn) {
            std::int64_t sid = next_session_id();
            storage_.write(SessionStartEvent{sid, lr->user.id, lr->user.last_login, ""});
            storage_.write(SessionEndEvent{sid, lr->user.id, now_s(), "closed"});
        }
        return;
    }
    if (auto* lr = std::get_if<LoginReply>(&reply)) {
        login_done(*s, *lr);
    } else if (auto* sp = std::get_if<SetPasswordReply>(&reply)) {
        password_stored(*s, asked.why, *sp);
    } else if (auto* pr = std::get_if<ProfileReply>(&reply); pr && asked.why == Asked::Recipient) {
        // Not online; storage knows how the user first spelled it, if it knows the user.
        std::string_view name =
            pr->ok && pr->found ? std::string_view(pr->user.nick) : param_or_q(asked.nick);
        send_error(id, "no-such-user", name, "no such user online");
    } else if (pr) {
        if (!pr->ok)
            send_error(id, "unavailable", {}, "storage cannot be reached; try again later");
        else if (!pr->found)
            send_error(id, "no-such-user", param_or_q(asked.nick), "no such user");
        else if (const ClusterUser* u = cluster_ ? cluster_->find(proto::fold_nick(pr->user.nick)) : nullptr) {
            UserRecord online = pr->user;
            online.status = u->status;
            send_profile(*s, online, true);
        } else {
            send_profile(*s, pr->user, false);
        }
    } else if (auto* hr = std::get_if<HistoryReply>(&reply)) {
        if (!hr->ok) {
            send_error(id, "unavailable", {}, "storage cannot be reached; try again later");
        } else {
            PacedPart part;
            part.kind = PacedPart::Kind::History;
            part.history = std::move(hr->messages);
            start_paced(*s, std::move(part));
            produce(*s);
        }
    }
    // A handler that asked for something else meanwhile (a claim) keeps waiting.
    if ((s = find(id)) && s->waiting == token) finish_wait(*s);
}

void ChatCore::login_done(Session& s, const LoginReply& r) {
    if (!r.ok) {
        back_to_nick(s);
        send_error(s.id, "unavailable", {}, "storage cannot be reached; try again later");
        LOG_WARN("#%llu: login refused, storage unavailable", static_cast<unsigned long long>(s.id));
        return;
    }
    if (r.outcome != LoginOutcome::LoggedIn) {
        account_login(s, r);
        return;
    }
    if (!s.rehash.empty()) {  // a weaker hash than today's cost: stored again, now that the login is sure
        storage_.submit(SetPasswordRequest{next_token_++, r.user.id, PasswordChange::Rehash, s.rehash, now_s(),
                                           s.verified_hash});
        LOG_INFO("#%llu: password hash renewed at the current cost", static_cast<unsigned long long>(s.id));
    }
    ++(s.verified_hash.empty() ? logins_guest_ : logins_account_);
    s.verified_hash.clear();
    s.rehash.clear();
    s.user = r.user;
    s.user.status = "disponible";
    if (cluster_) {
        // The nickname is the cluster's to give: the login goes on when this
        // claim's Join comes back through the order (core_cluster.cpp).
        Token t = next_token_++;
        if (!cluster_->claim(t, s.user.nick, s.user.status, s.user.id)) {
            back_to_nick(s);
            send_error(s.id, "unavailable", {}, "the cluster cannot be reached; try again later");
            return;
        }
        wait_for(s, t, Asked::Claim);
        return;
    }
    activate(s);
}

// The login is accepted: WELCOME, the roster, the recent history, JOIN to the others.
void ChatCore::activate(Session& s) {
    s.state = State::Active;
    s.session_id = next_session_id();
    online_.insert(std::lower_bound(online_.begin(), online_.end(), &s, by_key), &s);
    Mono now = clock_.now();
    s.last_line = now;
    schedule(now + limits_.ping_interval, s.id, TimerKind::Idle);
    storage_.write(SessionStartEvent{s.session_id, s.user.id, s.user.last_login, s.ip});

    std::string out;
    append_line(out, "WELCOME", {s.user.nick, std::to_string(s.user.id)}, "hola " + s.user.nick);
    io_.send(s.id, out);
    send_roster(s);
    PacedPart recent;
    recent.kind = PacedPart::Kind::Lines;
    recent.lines.reserve(recent_.size());
    for (const auto& r : recent_) recent.lines.push_back(r.line);
    start_paced(s, std::move(recent));
    produce(s);

    if (!cluster_) {  // in a cluster the Join that let it in is delivered right after
        scratch_.clear();
        append_line(scratch_, "JOIN", {s.user.nick, s.user.status});
        broadcast_presence(scratch_, s.key, s.id);
    }
    LOG_INFO("login %s id=%lld from %s (#%llu)", s.user.nick.c_str(), static_cast<long long>(s.user.id),
             s.ip.c_str(), static_cast<unsigned long long>(s.id));
}

void ChatCore::broadcast(std::string_view line, ConnId except) {
    for (const Session* o : online_)
        if (o->id != except) io_.send(o->id, line);
}

void ChatCore::deliver_to_all(std::string_view line) {
    deliveries_ += online_.size();
    broadcast(line);
}

// A logged-in user leaves: PART to the others, the session closed in storage.
void ChatCore::unlist(Session& s) {
    auto at = std::lower_bound(online_.begin(), online_.end(), &s, by_key);
    if (at != online_.end() && *at == &s) online_.erase(at);
}

bool ChatCore::drop(Session& s, std::string_view reason, std::string_view detail, bool announce,
                    ClusterToken bye_after) {
    ConnId id = s.id;
    bool bye_later = false;
    if (s.state == State::Active) {
        unlist(s);
        std::string why(reason);
        if (!detail.empty()) {
            why += ' ';
            why += detail;
        }
        if (cluster_) {
            if (announce) bye_later = cluster_->release(s.user.nick, why, bye_after);  // PART when it comes back
        } else if (announce) {
            scratch_.clear();
            append_line(scratch_, "PART", {s.user.nick}, why);
            broadcast_presence(scratch_, s.key);
        }
        storage_.write(SessionEndEvent{s.session_id, s.user.id, now_s(), std::string(reason)});
        LOG_INFO("logout %s: %s", s.user.nick.c_str(), std::string(reason).c_str());
    }
    erase(id);
    return bye_later;
}

void ChatCore::erase(ConnId id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = it->second;
    if (!s.key.empty()) {
        auto k = by_key_.find(s.key);
        if (k != by_key_.end() && k->second == id) by_key_.erase(k);
    }
    if (s.waiting) waits_.erase(s.waiting);
    auto ip = per_ip_.find(s.ip);
    if (ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
    sessions_.erase(it);
}

void ChatCore::bye_and_close(Session& s, std::string_view text) {
    cut_paced(s);
    send_bye(s.id, text);
}

// The reply is cut: BYE is the last line, not what waited behind the reply.
void ChatCore::cut_paced(Session& s) {
    if (!s.paced) return;
    s.paced.reset();
    io_.abandon_paced(s.id);
}

void ChatCore::send_bye(ConnId id, std::string_view text) {
    scratch_.clear();
    append_line(scratch_, "BYE", {}, text);
    io_.send(id, scratch_);
    io_.close(id);
}

void ChatCore::on_gone(ConnId id, Gone why) {
    Session* s = find(id);
    if (!s) return;
    if (why == Gone::SlowConsumer) LOG_INFO("#%llu: slow consumer cut", static_cast<unsigned long long>(id));
    drop(*s, why == Gone::SlowConsumer ? "slow-consumer" : "closed", {});
}

void ChatCore::shutdown() {
    shutting_down_ = true;
    if (cluster_) cluster_->leave();  // the other nodes' users get PART ... :closed at once
    std::int64_t now = now_s();
    for (const auto& [token, id] : byes_) send_bye(id, "adios");  // they had asked to go
    byes_.clear();
    scratch_.clear();
    append_line(scratch_, "BYE", {}, "server shutting down");
    for (auto& [id, s] : sessions_) {
        if (s.paced) io_.abandon_paced(id);
        io_.send(id, scratch_);
        io_.close(id);
        if (s.state == State::Active)
            storage_.write(SessionEndEvent{s.session_id, s.user.id, now, "shutdown"});
    }
    sessions_.clear();
    by_key_.clear();
    online_.clear();
    per_ip_.clear();
    waits_.clear();
}

}  // namespace chat::server
