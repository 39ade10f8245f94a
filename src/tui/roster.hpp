// Who is online, in the server's order (proto::nick_less: ASCII case
// folded), for rooms of tens of thousands: a map keyed by the folded nick,
// so a JOIN, PART or STATUS costs O(log n) and one allocation, and the list
// the sidebar pages through is rebuilt once after a batch of changes. Pure.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tui {

struct User {
    std::string nick;
    std::string status;
};

class Roster {
public:
    // Adds `nick`, or sets its status (and the server's spelling) when it is there.
    void upsert(std::string_view nick, std::string_view status);
    void remove(std::string_view nick);
    const User* find(std::string_view nick) const;
    void clear();
    std::size_t size() const { return by_key_.size(); }
    bool empty() const { return by_key_.empty(); }
    // In roster order; valid until the next change.
    const std::vector<User>& list() const;

private:
    // A folded key orders as nick_less does: folded bytes first, and two nicks
    // the server tells apart never fold alike.
    std::map<std::string, User, std::less<>> by_key_;
    mutable std::vector<User> list_;
    mutable bool stale_ = false;
};

}  // namespace chat::tui
