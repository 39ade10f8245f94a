#include "server/memory_storage.hpp"

#include <algorithm>
#include <utility>

namespace chat::server {

std::string MemoryStorage::start(int recent_public, StartupInfo& info) {
    info = StartupInfo{};
    for (auto it = messages_.rbegin(); it != messages_.rend() && static_cast<int>(info.recent_public.size()) < recent_public; ++it) {
        if (it->to == 0) info.recent_public.push_back(StoredMessage{it->id, it->time, nick_of(it->from), {}, it->body});
    }
    std::reverse(info.recent_public.begin(), info.recent_public.end());
    if (!messages_.empty()) info.max_message_id = messages_.back().id;
    return {};
}

UserRecord* MemoryStorage::by_id(UserId id) {
    auto k = keys_.find(id);
    if (k == keys_.end()) return nullptr;
    auto u = users_.find(k->second);
    return u == users_.end() ? nullptr : &u->second;
}

std::string MemoryStorage::nick_of(UserId id) {
    UserRecord* u = by_id(id);
    return u ? u->nick : std::string("?");
}

void MemoryStorage::submit(StorageRequest req) {
    if (auto* r = std::get_if<LoginRequest>(&req)) {
        LoginReply out{r->token, !unavailable_, {}};
        if (out.ok) {
            auto found = users_.find(r->key);
            out.outcome = login_outcome(found == users_.end() ? nullptr : &found->second, *r);
            if (out.outcome == LoginOutcome::NeedsPassword) out.user = found->second;
            if (out.outcome == LoginOutcome::LoggedIn) {
                auto [it, fresh] = users_.try_emplace(r->key);
                UserRecord& u = it->second;
                if (fresh) {
                    u.id = next_id_++;
                    u.nick = r->nick;
                    u.created = r->time;
                    keys_[u.id] = r->key;
                }
                u.last_login = r->time;
                u.status = "disponible";
                out.user = u;
            }
        }
        replies_.emplace_back(std::move(out));
    } else if (auto* r = std::get_if<SetPasswordRequest>(&req)) {
        SetPasswordReply out{r->token, !unavailable_, false};
        UserRecord* u = by_id(r->user);
        if (out.ok && u && password_change_applies(*u, *r)) {
            u->password_hash = r->hash;
            u->password_set = r->time;
            out.done = true;
        }
        replies_.emplace_back(out);
    } else if (auto* r = std::get_if<ProfileRequest>(&req)) {
        ProfileReply out{r->token, !unavailable_, false, {}};
        if (out.ok) {
            auto it = users_.find(r->key);
            if (it != users_.end()) {
                out.found = true;
                out.user = it->second;
            }
        }
        replies_.emplace_back(std::move(out));
    } else if (auto* r = std::get_if<HistoryRequest>(&req)) {
        HistoryReply out{r->token, !unavailable_, {}};
        if (out.ok) {
            for (auto it = messages_.rbegin(); it != messages_.rend() && static_cast<int>(out.messages.size()) < r->limit; ++it) {
                if (it->to != 0 && it->to != r->user && it->from != r->user) continue;
                out.messages.push_back(
                    StoredMessage{it->id, it->time, nick_of(it->from), it->to ? nick_of(it->to) : std::string(), it->body});
            }
            std::reverse(out.messages.begin(), out.messages.end());
        }
        replies_.emplace_back(std::move(out));
    }
    if (notify_) notify_();
}

bool MemoryStorage::write(StorageEvent ev) {
    if (auto* m = std::get_if<MessageEvent>(&ev)) {
        if (refuse_messages_) return false;
        messages_.push_back(Msg{m->id, m->time, m->from, m->to, std::move(m->body)});
        if (messages_.size() > max_messages_) messages_.pop_front();
    } else if (auto* e = std::get_if<SessionEndEvent>(&ev)) {
        if (UserRecord* u = by_id(e->user)) u->last_seen = std::max(u->last_seen, e->time);
    } else if (auto* st = std::get_if<StatusEvent>(&ev)) {
        if (UserRecord* u = by_id(st->user)) u->status = st->status;
    }
    return true;
}

std::vector<StorageReply> MemoryStorage::take_replies() { return std::exchange(replies_, {}); }

}  // namespace chat::server
