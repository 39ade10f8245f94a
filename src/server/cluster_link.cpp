#include "server/cluster_link.hpp"

#include <algorithm>
#include <charconv>

#include "proto/names.hpp"

namespace chat::server {

namespace {

// Splits off the next word (up to one space); the rest stays in `s`.
std::string_view word(std::string_view& s) {
    const auto sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return w;
}

bool to_int(std::string_view s, std::int64_t& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

ClusterLink::ClusterLink(ClusterIo& io, ClusterSink& sink, ClusterOptions options)
    : io_(io), sink_(sink), options_(std::move(options)), backoff_(options_.min_backoff) {}

std::vector<ClusterEvent> ClusterLink::parse_entry(std::uint64_t seq, std::string_view text) {
    std::vector<ClusterEvent> out;
    const std::string_view kind = word(text);
    ClusterEvent e;
    e.seq = seq;
    e.node = std::string(word(text));
    if (kind.size() != 1 || e.node.empty()) return out;
    switch (kind[0]) {
        case 'J':
            e.kind = ClusterEvent::Kind::Join;
            e.nick = std::string(word(text));
            e.arg = std::string(word(text));
            if (e.nick.empty() || e.arg.empty() || !to_int(text, e.id)) return out;
            out.push_back(std::move(e));
            break;
        case 'S':
            e.kind = ClusterEvent::Kind::Status;
            e.nick = std::string(word(text));
            e.arg = std::string(text);
            if (e.nick.empty() || e.arg.empty()) return out;
            out.push_back(std::move(e));
            break;
        case 'P':
            e.kind = ClusterEvent::Kind::Part;
            e.nick = std::string(word(text));
            e.arg = std::string(text);
            if (e.nick.empty()) return out;
            out.push_back(std::move(e));
            break;
        case 'G':
            // A node gone: its users part, "closed", at this one place of the order.
            e.kind = ClusterEvent::Kind::Part;
            e.arg = "closed";
            while (!text.empty()) {
                const std::string_view n = word(text);
                if (n.empty()) continue;
                e.nick = std::string(n);
                out.push_back(e);
            }
            break;
        case 'M':
        case 'R':
            e.kind = kind[0] == 'M' ? ClusterEvent::Kind::Message : ClusterEvent::Kind::Private;
            if (!to_int(word(text), e.id)) return out;
            e.nick = std::string(word(text));
            if (kind[0] == 'R') e.to = std::string(word(text));
            e.arg = std::string(text);
            if (e.nick.empty() || (kind[0] == 'R' && e.to.empty())) return out;
            out.push_back(std::move(e));
            break;
        default:
            break;
    }
    return out;
}

const ClusterUser* ClusterLink::find(std::string_view folded) const {
    const auto it = users_.find(std::string(folded));
    return it == users_.end() ? nullptr : &it->second;
}

ClusterToken ClusterLink::ask(ClusterOp::Kind kind, Purpose purpose, std::vector<std::string> args,
                              ClusterToken core_token, std::string folded) {
    const ClusterToken t = next_token_++;
    asked_.emplace(t, Asked{purpose, core_token, std::move(folded)});
    ClusterOp op;
    op.kind = kind;
    op.token = t;
    op.args = std::move(args);
    io_.send(std::move(op));
    return t;
}

void ClusterLink::start(ClusterTime) {
    if (state_ != State::Idle) return;
    state_ = State::Connecting;
    io_.connect();
}

void ClusterLink::on_up(ClusterTime) {
    if (state_ != State::Connecting) return;
    send_hello();
}

void ClusterLink::send_hello() {
    state_ = State::Hello;
    // The node's own users as it knows them; the script parts whatever else
    // its roster in Redis still holds (left while the link was down).
    std::vector<std::string> args{options_.node, std::to_string(options_.ttl.count())};
    for (const auto& [folded, l] : local_) {
        args.push_back(folded);
        args.push_back(l.nick);
        args.push_back(l.status);
        args.push_back(std::to_string(l.id));
    }
    ask(ClusterOp::Kind::Hello, Purpose::Hello, std::move(args));
}

void ClusterLink::on_down(ClusterTime now) {
    if (state_ == State::Idle || state_ == State::Left) return;
    go_down(now);
}

void ClusterLink::go_down(ClusterTime now) {
    const bool was_up = state_ == State::Up;
    const bool was_leaving = state_ == State::Leaving;
    reading_ = false;
    // Everything in flight has no answer now; later answers for these tokens are ignored.
    auto asked = std::move(asked_);
    asked_.clear();
    for (auto& [token, a] : asked) {
        if (a.purpose == Purpose::Claim) {
            claiming_.erase(a.folded);
            sink_.on_claim(a.core_token, ClusterSink::Claim::Unavailable);
        } else if (a.purpose == Purpose::Release && a.core_token) {
            sink_.on_released(a.core_token);  // the claim lapses with this node's heartbeat
        } else if (a.purpose == Purpose::Sync) {
            sink_.on_synced(a.core_token, false);
        }
    }
    auto barriers = std::move(barriers_);
    barriers_.clear();
    for (const auto& [seq, t] : barriers) sink_.on_synced(t, false);
    if (was_leaving) {
        state_ = State::Left;
        return;
    }
    state_ = State::Backoff;
    retry_at_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    heartbeat_at_ = ClusterTime::max();
    if (down_since_ == ClusterTime::max()) down_since_ = now;
    if (was_up) sink_.on_available(false);
}

void ClusterLink::on_answer(ClusterTime now, const ClusterAnswer& a) {
    const auto it = asked_.find(a.token);
    if (it == asked_.end()) return;
    const Asked asked = std::move(it->second);
    asked_.erase(it);
    switch (asked.purpose) {
        case Purpose::Hello:
            hello_answered(now, a);
            break;
        case Purpose::Range:
            range_answered(now, a);
            break;
        case Purpose::Read:
            reading_ = false;
            if (a.failed) {
                io_.disconnect();  // lost with the connection (on_down follows), or refused: start again
                return;
            }
            entries(now, a.entries);
            if (state_ == State::Up) read_next();
            break;
        case Purpose::Claim:
            claiming_.erase(asked.folded);
            if (!a.failed && a.n > 0) {
                if (!local_.contains(asked.folded)) local_[asked.folded] = claim_[asked.folded];
            } else if (local_.contains(asked.folded) && local_[asked.folded].joined) {
                // The Join already came back: the claim took, whatever this answer says.
            } else {
                sink_.on_claim(asked.core_token,
                               !a.failed && a.n == 0 ? ClusterSink::Claim::InUse : ClusterSink::Claim::Unavailable);
                if (!a.failed && a.n < 0) resync();
            }
            claim_.erase(asked.folded);
            break;
        case Purpose::Publish:
            if (!a.failed && a.n < 0) resync();
            break;
        case Purpose::Heartbeat:
            if (!a.failed && a.n < 0) resync();  // declared gone while alive: claim everything again
            break;
        case Purpose::Leave:
            state_ = State::Left;
            break;
        case Purpose::Release:
            if (asked.core_token) sink_.on_released(asked.core_token);
            break;
        case Purpose::Sync:
            if (a.failed) {
                sink_.on_synced(asked.core_token, false);
            } else {
                barriers_.emplace(a.n > 0 ? static_cast<std::uint64_t>(a.n) : 0, asked.core_token);
                settle_barriers();
            }
            break;
        case Purpose::Status:
            break;
    }
}

// Barriers wait for the sequence they were asked at; a Redis started afresh
// numbers from 1 again, and a resync from its snapshot delivers the present,
// so reaching the snapshot's sequence settles them too.
void ClusterLink::settle_barriers() {
    if (state_ != State::Up) return;  // a catch-up settles them when it is done (become_up)
    while (!barriers_.empty() && barriers_.begin()->first <= last_seq_) {
        const ClusterToken t = barriers_.begin()->second;
        barriers_.erase(barriers_.begin());
        sink_.on_synced(t, true);
    }
}

void ClusterLink::resync() {
    if (state_ != State::Up) return;
    sink_.on_available(false);
    send_hello();
}

void ClusterLink::hello_answered(ClusterTime now, const ClusterAnswer& a) {
    if (a.failed) {
        io_.disconnect();  // lost with the connection, or a script error: again after a backoff
        return;
    }
    // items: conflicts count, the conflicting folded nicks, then (node, folded, nick, status, id)...
    std::size_t i = 0;
    std::size_t conflicts = 0;
    if (!a.items.empty()) {
        std::int64_t c = 0;
        if (to_int(a.items[0], c) && c >= 0) conflicts = static_cast<std::size_t>(c);
        i = 1;
    }
    for (std::size_t k = 0; k < conflicts && i < a.items.size(); ++k, ++i) {
        local_.erase(a.items[i]);
        sink_.on_lost_claim(a.items[i]);
    }
    snapshot_.clear();
    for (; i + 5 <= a.items.size(); i += 5) {
        std::int64_t id = 0;
        to_int(a.items[i + 4], id);
        snapshot_[a.items[i + 1]] = ClusterUser{a.items[i + 2], a.items[i + 3], a.items[i], id};
    }
    snapshot_seq_ = a.n > 0 ? static_cast<std::uint64_t>(a.n) : 0;
    if (!synced_once_) {
        users_ = snapshot_;
        last_seq_ = snapshot_seq_;
        synced_once_ = true;
        become_up(now);
        return;
    }
    if (snapshot_seq_ == last_seq_) {
        become_up(now);
        return;
    }
    if (snapshot_seq_ < last_seq_) {
        // Redis started afresh: the numbers began again; only the snapshot knows the present.
        resync_from_snapshot();
        become_up(now);
        return;
    }
    state_ = State::Catchup;
    ClusterOp op;
    op.kind = ClusterOp::Kind::Range;
    op.token = next_token_++;
    op.from = last_seq_ + 1;
    op.to = snapshot_seq_;
    asked_.emplace(op.token, Asked{Purpose::Range, 0, {}});
    io_.send(std::move(op));
}

void ClusterLink::range_answered(ClusterTime now, const ClusterAnswer& a) {
    if (a.failed) {
        io_.disconnect();
        return;
    }
    const auto& es = a.entries;
    const bool whole = !es.empty() && es.front().first == last_seq_ + 1 && es.back().first == snapshot_seq_ &&
                       es.size() == snapshot_seq_ - last_seq_;
    if (whole)
        entries(now, es);  // what happened while away, in order, as if it had been read live
    else
        resync_from_snapshot();  // trimmed past what we had: the present, as a difference
    become_up(now);
}

void ClusterLink::resync_from_snapshot() {
    auto deliver = [this](ClusterEvent::Kind kind, const ClusterUser& u, std::string arg) {
        ClusterEvent e;
        e.kind = kind;
        e.node = u.node;
        e.nick = u.nick;
        e.arg = std::move(arg);
        e.id = kind == ClusterEvent::Kind::Status ? 0 : u.id;
        e.local = u.node == options_.node;
        sink_.on_event(e);
    };
    for (const auto& [folded, u] : users_) {
        const auto it = snapshot_.find(folded);
        if (it == snapshot_.end() || it->second.node != u.node) deliver(ClusterEvent::Kind::Part, u, "closed");
    }
    for (const auto& [folded, u] : snapshot_) {
        const auto it = users_.find(folded);
        if (it == users_.end() || it->second.node != u.node)
            deliver(ClusterEvent::Kind::Join, u, u.status);
        else if (it->second.status != u.status)
            deliver(ClusterEvent::Kind::Status, u, u.status);
    }
    users_ = snapshot_;
    last_seq_ = snapshot_seq_;
    // The present is delivered: a barrier asked before it is passed, whatever numbering it saw.
    std::multimap<std::uint64_t, ClusterToken> passed;
    for (const auto& [seq, t] : barriers_) passed.emplace(0, t);
    barriers_ = std::move(passed);
    for (auto& [folded, l] : local_) {
        const auto it = users_.find(folded);
        l.joined = it != users_.end() && it->second.node == options_.node;
    }
}

void ClusterLink::become_up(ClusterTime now) {
    const bool was_up = state_ == State::Up;
    state_ = State::Up;
    backoff_ = options_.min_backoff;
    down_since_ = ClusterTime::max();
    heartbeat_at_ = now + options_.ttl / 3;
    // A message sent before the link went down and not found in what came
    // back since: it reached nobody here, and is refused to its sender.
    fail_publishes();
    // Users who left after the Hello went out: it claimed them again.
    auto departed = std::move(departed_);
    departed_.clear();
    for (const auto& [folded, reason] : departed)
        ask(ClusterOp::Kind::Release, Purpose::Release, {options_.node, folded, reason});
    if (!was_up) sink_.on_available(true);
    settle_barriers();
    read_next();
}

void ClusterLink::fail_publishes() {
    auto pending = std::move(publishing_);
    publishing_.clear();
    for (const auto& [id, token] : pending) sink_.on_publish_failed(token);
}

void ClusterLink::read_next() {
    if (reading_) return;
    reading_ = true;
    ClusterOp op;
    op.kind = ClusterOp::Kind::Read;
    op.token = next_token_++;
    op.from = last_seq_;
    asked_.emplace(op.token, Asked{Purpose::Read, 0, {}});
    io_.send(std::move(op));
}

void ClusterLink::entries(ClusterTime, const std::vector<std::pair<std::uint64_t, std::string>>& es) {
    for (const auto& [seq, text] : es) {
        if (seq <= last_seq_) continue;  // seen already
        if (seq != last_seq_ + 1) {
            // A gap: the log was trimmed past us. Start again from a snapshot.
            if (state_ == State::Up) {
                sink_.on_available(false);
                send_hello();
            }
            return;
        }
        last_seq_ = seq;
        for (auto& e : parse_entry(seq, text)) {
            e.local = e.node == options_.node;
            if (e.kind == ClusterEvent::Kind::Part) {  // who it was, for the core: the table forgets it now
                const auto it = users_.find(proto::fold_nick(e.nick));
                if (it != users_.end() && it->second.node == e.node) e.id = it->second.id;
            }
            apply(e);
            sink_.on_event(e);
        }
    }
    settle_barriers();
}

void ClusterLink::apply(const ClusterEvent& e) {
    const std::string folded = proto::fold_nick(e.nick);
    switch (e.kind) {
        case ClusterEvent::Kind::Join:
            users_[folded] = ClusterUser{e.nick, e.arg, e.node, e.id};
            if (e.local) {
                if (auto it = local_.find(folded); it != local_.end()) {
                    it->second.joined = true;
                } else if (claiming_.contains(folded)) {
                    local_[folded] = Local{e.nick, e.arg, e.id, true};  // came back before the claim's answer
                } else {
                    // Claimed by a request whose answer was lost and then refused to
                    // the core: nobody is there, so it leaves again.
                    local_[folded] = Local{e.nick, e.arg, e.id, true};
                    release(e.nick, "closed");
                }
            }
            break;
        case ClusterEvent::Kind::Part:
            if (auto it = users_.find(folded); it != users_.end() && it->second.node == e.node) users_.erase(it);
            if (e.local) {
                // Our own node declared gone while we live: claimed again on the resync.
                if (auto it = local_.find(folded); it != local_.end()) it->second.joined = false;
            }
            break;
        case ClusterEvent::Kind::Status:
            if (auto it = users_.find(folded); it != users_.end()) it->second.status = e.arg;
            if (auto it = local_.find(folded); it != local_.end() && e.local) it->second.status = e.arg;
            break;
        case ClusterEvent::Kind::Message:
        case ClusterEvent::Kind::Private:
            if (e.local) publishing_.erase(e.id);
            break;
    }
}

bool ClusterLink::claim(ClusterToken token, std::string_view nick, std::string_view status, std::int64_t user_id) {
    if (state_ != State::Up) return false;
    std::string folded = proto::fold_nick(nick);
    if (claiming_.contains(folded) || local_.contains(folded)) return false;
    claiming_.insert(folded);
    claim_[folded] = Local{std::string(nick), std::string(status), user_id, false};
    ask(ClusterOp::Kind::Claim, Purpose::Claim,
        {options_.node, folded, std::string(nick), std::string(status), std::to_string(options_.ttl.count()),
         std::to_string(user_id)},
        token, folded);
    return true;
}

bool ClusterLink::publish_message(ClusterToken token, std::int64_t id, std::string_view from, std::string_view text) {
    if (state_ != State::Up) return false;
    std::string entry = "M " + options_.node + " " + std::to_string(id) + " ";
    entry.append(from).append(" ").append(text);
    publishing_[id] = token;
    ask(ClusterOp::Kind::Publish, Purpose::Publish, {options_.node, std::move(entry)}, token);
    return true;
}

bool ClusterLink::publish_private(ClusterToken token, std::int64_t id, std::string_view from, std::string_view to,
                                  std::string_view text) {
    if (state_ != State::Up) return false;
    std::string entry = "R " + options_.node + " " + std::to_string(id) + " ";
    entry.append(from).append(" ").append(to).append(" ").append(text);
    publishing_[id] = token;
    ask(ClusterOp::Kind::Publish, Purpose::Publish, {options_.node, std::move(entry)}, token);
    return true;
}

bool ClusterLink::set_status(std::string_view nick, std::string_view status) {
    if (state_ != State::Up) return false;
    const std::string folded = proto::fold_nick(nick);
    if (!local_.contains(folded)) return false;
    ask(ClusterOp::Kind::Status, Purpose::Status, {options_.node, folded, std::string(status)});
    return true;
}

bool ClusterLink::release(std::string_view nick, std::string_view reason, ClusterToken token) {
    const std::string folded = proto::fold_nick(nick);
    if (local_.erase(folded) == 0) return false;
    if (state_ != State::Up) {
        departed_[folded] = std::string(reason);  // a Hello not sent yet leaves it out; one sent, a Release after
        return false;
    }
    ask(ClusterOp::Kind::Release, Purpose::Release, {options_.node, folded, std::string(reason)}, token);
    return token != 0;
}

bool ClusterLink::sync(ClusterToken token) {
    if (state_ != State::Up) return false;
    ask(ClusterOp::Kind::Sequence, Purpose::Sync, {}, token);
    return true;
}

void ClusterLink::leave() {
    if (state_ != State::Up) {
        // Unreachable: the claims lapse and another node declares this one gone.
        state_ = State::Left;
        return;
    }
    state_ = State::Leaving;
    ask(ClusterOp::Kind::Leave, Purpose::Leave, {options_.node});
}

void ClusterLink::on_tick(ClusterTime now) {
    if (state_ == State::Backoff && now >= retry_at_) {
        state_ = State::Connecting;
        retry_at_ = ClusterTime::max();
        io_.connect();
    }
    if (state_ == State::Up && now >= heartbeat_at_) {
        heartbeat_at_ = now + options_.ttl / 3;
        ask(ClusterOp::Kind::Heartbeat, Purpose::Heartbeat, {options_.node, std::to_string(options_.ttl.count())});
    }
    // Down past the claims' lifetime: what was sent before is not coming back.
    if (state_ != State::Up && down_since_ != ClusterTime::max() && now >= down_since_ + options_.ttl)
        fail_publishes();
}

ClusterTime ClusterLink::next_deadline() const {
    ClusterTime t = ClusterTime::max();
    if (state_ == State::Backoff) t = std::min(t, retry_at_);
    if (state_ == State::Up) t = std::min(t, heartbeat_at_);
    if (state_ != State::Up && down_since_ != ClusterTime::max() && !publishing_.empty())
        t = std::min(t, down_since_ + options_.ttl);
    return t;
}

}  // namespace chat::server
