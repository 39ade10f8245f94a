// The client's windows, as in irssi and WeeChat: window 1 holds the room
// (public messages, joins, server lines), and each private conversation has
// a window of its own, opened by /query (/privado) or by the first private
// message. A hotlist says which windows have unread messages and which have
// something for me (a private message, or my nick named); a marker
// remembers where I left each window. Pure; the model routes its entries here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tui {

struct LogEntry;

struct Window {
    std::string key;           // the folded nick of a conversation; empty for the room
    std::string name;          // the nick as last seen, or "main"
    std::size_t unread = 0;    // messages arrived while another window was shown
    bool mention = false;      // among them, one for me
    std::uint64_t marker = 0;  // seq of the last entry shown when I left it (0: none yet)
};

class WindowList {
public:
    WindowList() { windows_.push_back({{}, "main"}); }

    // The window an entry belongs to: a private message's other side, or the room.
    static std::string key_for(const LogEntry& e);

    std::size_t size() const { return windows_.size(); }
    const Window& at(std::size_t i) const { return windows_[i]; }
    std::size_t current() const { return current_; }
    const Window& shown() const { return windows_[current_]; }
    std::size_t find(std::string_view key) const;  // npos when there is none

    // The conversation with `nick`, created (at the end) when missing.
    std::size_t open(std::string_view nick);
    // An entry arrived, its `window` set: that window is created if needed, and the entry
    // counted in the hotlist unless the window is shown.
    void arrived(const LogEntry& e);
    // Shows window `i`; the one left keeps a marker after `last_seq`, its last entry.
    void select(std::size_t i, std::uint64_t last_seq);
    // Closes window `i` (never the room); the room is shown if it was the one shown.
    bool close(std::size_t i);

    // "Act: 2,3!" — the windows with unread messages, "!" after those with something for me; empty when none.
    std::string hotlist() const;

private:
    std::vector<Window> windows_;
    std::size_t current_ = 0;
};

}  // namespace chat::tui
