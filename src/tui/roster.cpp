#include "tui/roster.hpp"

#include "proto/names.hpp"

namespace chat::tui {

void Roster::upsert(std::string_view nick, std::string_view status) {
    if (nick.empty()) return;
    User& u = by_key_[proto::fold_nick(nick)];
    u.nick = nick;
    u.status = status;
    stale_ = true;
}

void Roster::remove(std::string_view nick) {
    if (by_key_.erase(proto::fold_nick(nick)) > 0) stale_ = true;
}

const User* Roster::find(std::string_view nick) const {
    if (nick.empty()) return nullptr;
    const auto it = by_key_.find(proto::fold_nick(nick));
    return it == by_key_.end() ? nullptr : &it->second;
}

void Roster::clear() {
    by_key_.clear();
    list_.clear();
    stale_ = false;
}

const std::vector<User>& Roster::list() const {
    if (stale_) {
        list_.clear();
        list_.reserve(by_key_.size());
        for (const auto& [key, u] : by_key_) list_.push_back(u);
        stale_ = false;
    }
    return list_;
}

}  // namespace chat::tui
