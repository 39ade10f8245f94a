// The chat core in a cluster: the sink of the ClusterLink. Presence and
// public messages reach this node's clients only as they come back from the
// one order, its own users' echo included (docs/architecture.md, "Clusters").
#include "proto/names.hpp"
#include "proto/server_line.hpp"
#include "server/core.hpp"
#include "server/core_session.hpp"
#include "server/log.hpp"

namespace chat::server {

using proto::append_line;

void ChatCore::attach_cluster(ClusterLink* link, unsigned slot) {
    cluster_ = link;
    id_slot_ = link ? static_cast<int>(slot % 1024) : -1;
}

bool ChatCore::nick_taken(const std::string& key) const {
    return by_key_.count(key) != 0 || (cluster_ && cluster_->find(key) != nullptr);
}

void ChatCore::cluster_public(Session& s, std::string_view text) {
    const std::int64_t id = next_message_id();
    if (!cluster_->publish_message(static_cast<ClusterToken>(id), id, s.user.nick, text)) {
        send_error(s.id, "unavailable", {}, "the cluster cannot be reached; not sent, try again later");
        return;
    }
    in_flight_[id] = InFlight{s.id, MessageEvent{id, now_s(), s.user.id, 0, std::string(text)}, 0};
    await_echo(s, id);
}

// The sender's next line waits for this one's echo: its own lines take effect
// in the order it sent them, a /listar or /historial after it included.
void ChatCore::await_echo(Session& s, std::int64_t message_id) {
    const Token t = next_token_++;
    wait_for(s, t, Asked::Echo);
    if (message_id != 0)
        in_flight_[message_id].echo = t;
    else
        status_echo_[s.key] = t;
}

void ChatCore::end_echo(Token token) {
    Wait asked;
    if (token == 0 || !take_wait(token, asked)) return;
    if (Session* s = find(asked.id); s && s->waiting == token) finish_wait(*s);
}

void ChatCore::cluster_private(Session& s, const ClusterUser& to, std::string_view text) {
    const std::int64_t id = next_message_id();
    if (!cluster_->publish_private(static_cast<ClusterToken>(id), id, s.user.nick, to.nick, text)) {
        send_error(s.id, "unavailable", {}, "the cluster cannot be reached; not sent, try again later");
        return;
    }
    in_flight_[id] = InFlight{s.id, MessageEvent{id, now_s(), s.user.id, to.id, std::string(text)}, 0};
    await_echo(s, id);
}

void ChatCore::on_publish_failed(ClusterToken token) {
    const auto it = in_flight_.find(static_cast<std::int64_t>(token));
    if (it == in_flight_.end()) return;
    if (Session* s = find(it->second.sender); s && s->state == State::Active)
        send_error(s->id, "unavailable", {}, "the cluster lost this message; not sent, try again later");
    const Token echo = it->second.echo;
    in_flight_.erase(it);
    end_echo(echo);
}

void ChatCore::on_claim(ClusterToken token, Claim outcome) {
    Wait asked;
    if (!take_wait(token, asked)) return;
    Session* s = find(asked.id);
    if (!s || s->waiting != token) return;
    back_to_nick(*s);
    if (outcome == Claim::InUse)
        send_error(s->id, "nick-in-use", {}, "that nickname is online; choose another");
    else
        send_error(s->id, "unavailable", {}, "the cluster cannot be reached; try again later");
    finish_wait(*s);
}

void ChatCore::on_available(bool available) {
    if (available) {
        LOG_INFO("cluster: in the order again (%zu users)", cluster_ ? cluster_->users().size() : 0);
        return;
    }
    LOG_WARN("cluster: unreachable; logins and messages are refused until it is back");
    // Nobody waits for an echo that may never come: their next lines are refused anyway.
    std::vector<Token> echoes;
    for (const auto& [token, w] : waits_)
        if (w.why == Asked::Echo) echoes.push_back(token);
    for (Token t : echoes) end_echo(t);
    status_echo_.clear();
}

void ChatCore::on_lost_claim(const std::string& folded) {
    const auto it = by_key_.find(folded);
    Session* s = it == by_key_.end() ? nullptr : find(it->second);
    if (!s || s->state != State::Active) return;
    LOG_WARN("cluster: %s logged in on another node while this one was away", s->user.nick.c_str());
    bye_and_close(*s, "nickname taken on another node");
    drop(*s, "closed", {}, false);
}

// In a cluster BYE means what it means on one server: the nickname is free on
// every node. It waits until the release is in the order and the claim gone
// from Redis; a login elsewhere that still sees the user syncs first (handle_nick).
void ChatCore::quit(Session& s, std::string_view detail) {
    const ConnId id = s.id;
    cut_paced(s);
    const Token t = cluster_ ? next_token_++ : 0;
    if (drop(s, "quit", detail, true, t))
        byes_.emplace(t, id);
    else
        send_bye(id, "adios");
}

void ChatCore::on_released(ClusterToken token) {
    const auto it = byes_.find(token);
    if (it == byes_.end()) return;
    const ConnId id = it->second;
    byes_.erase(it);
    send_bye(id, "adios");
}

void ChatCore::on_synced(ClusterToken token, bool ok) {
    Wait asked;
    if (!take_wait(token, asked)) return;
    Session* s = find(asked.id);
    if (!s || s->waiting != token) return;
    s->waiting = 0;
    if (ok)
        handle_nick(*s, asked.nick, true);
    else
        send_error(s->id, "unavailable", {}, "the cluster cannot be reached; try again later");
    unblock(*s);
}

void ChatCore::on_event(const ClusterEvent& e) {
    if (shutting_down_) return;
    switch (e.kind) {
        case ClusterEvent::Kind::Join:
        case ClusterEvent::Kind::Part:
        case ClusterEvent::Kind::Status:
            cluster_presence(e);
            break;
        case ClusterEvent::Kind::Message:
        case ClusterEvent::Kind::Private:
            cluster_message(e);
            break;
    }
}

void ChatCore::cluster_presence(const ClusterEvent& e) {
    const std::string key = proto::fold_nick(e.nick);
    const auto at = by_key_.find(key);
    Session* own = e.local && at != by_key_.end() ? find(at->second) : nullptr;
    ConnId except = 0;
    switch (e.kind) {
        case ClusterEvent::Kind::Join: {
            if (e.local && own && own->state == State::Active) {
                except = own->id;  // claimed again after this node was declared gone
            } else if (e.local) {
                const auto w = own ? waits_.find(own->waiting) : waits_.end();
                if (!own || own->state != State::LoggingIn || w == waits_.end() || w->second.why != Asked::Claim) {
                    // Its client left while the claim was on its way: it leaves again.
                    cluster_->release(e.nick, "closed");
                    return;
                }
                waits_.erase(w);
                own->waiting = 0;
                activate(*own);  // its roster is the table as of its own Join
                if (Session* s = find(at->second)) unblock(*s);
                except = at->second;
            }
            scratch_.clear();
            append_line(scratch_, "JOIN", {e.nick, e.arg});
            break;
        }
        case ClusterEvent::Kind::Part:
            if (own && own->state == State::Active) except = own->id;  // declared gone while here: back soon
            // Its node ends the session in its next batch; a /perfil here must not wait for that.
            if (!e.local && e.id != 0 && storage_.shared())
                (void)storage_.write(SessionEndEvent{0, e.id, now_s(), e.arg});
            scratch_.clear();
            append_line(scratch_, "PART", {e.nick}, e.arg);
            break;
        default:
            if (own && own->state == State::Active) {
                own->user.status = e.arg;
                storage_.write(StatusEvent{own->user.id, own->user.status});
            } else if (const ClusterUser* u = e.local || !storage_.shared() ? nullptr : cluster_->find(key);
                       u && u->id != 0) {
                (void)storage_.write(StatusEvent{u->id, e.arg});  // as for a Part: read here, written here
            }
            scratch_.clear();
            append_line(scratch_, "STATUS", {e.nick, e.arg});
            for (const Session* o : online_) io_.send(o->id, scratch_);
            if (const auto w = status_echo_.find(key); e.local && w != status_echo_.end()) {
                const Token t = w->second;
                status_echo_.erase(w);
                end_echo(t);
            }
            return;
    }
    broadcast_presence(scratch_, key, except);
}

void ChatCore::cluster_message(const ClusterEvent& e) {
    if (e.local) {
        // Back through the order: now it is accepted, so now it is stored.
        if (const auto it = in_flight_.find(e.id); it != in_flight_.end()) {
            if (!storage_.write(it->second.event))
                LOG_WARN("cluster: message %lld delivered but storage refused it", static_cast<long long>(e.id));
            const Token echo = it->second.echo;
            in_flight_.erase(it);
            end_echo(echo);
        }
        ++messages_;
        if (e.kind != ClusterEvent::Kind::Message) ++messages_private_;
    }
    if (e.kind == ClusterEvent::Kind::Message) {
        if (!e.local) store_delivered(e, 0);
        scratch_.clear();
        append_line(scratch_, "MSG", {e.nick}, e.arg);
        deliver_to_all(scratch_);
        remember_recent(StoredMessage{e.id, now_s(), e.nick, {}, e.arg});
        return;
    }
    scratch_.clear();
    append_line(scratch_, "PRIV", {e.nick, e.to}, e.arg);
    const std::string to = proto::fold_nick(e.to), from = proto::fold_nick(e.nick);
    for (const std::string* k : {&to, &from}) {
        if (k == &from && from == to) break;  // to oneself: once
        const auto it = by_key_.find(*k);
        Session* s = it == by_key_.end() ? nullptr : find(it->second);
        if (s && s->state == State::Active && (k == &to || e.local)) {
            if (!e.local) store_delivered(e, s->user.id);
            io_.send(s->id, scratch_);
            ++deliveries_;
        }
    }
}

// A message of another node's user, delivered here: its node stores it in its
// own batches, so a /historial asked here right after would not see it yet.
// Written here too, under the same id: one row whichever write lands first
// (ON DUPLICATE KEY), and this node's reads come after its own writes.
// Refused (storage full): the origin's write still stands. Not with storage of
// this node's own (memory): another node's user ids mean nothing in it.
void ChatCore::store_delivered(const ClusterEvent& e, std::int64_t recipient_id) {
    if (!storage_.shared()) return;
    const ClusterUser* from = cluster_->find(proto::fold_nick(e.nick));
    if (!from || from->id == 0) return;
    (void)storage_.write(MessageEvent{e.id, now_s(), from->id, recipient_id, e.arg});
}

}  // namespace chat::server
