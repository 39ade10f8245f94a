#include "tui/windows.hpp"

#include "proto/names.hpp"
#include "tui/model.hpp"

namespace chat::tui {

std::string WindowList::key_for(const LogEntry& e) {
    // A /historial answer is a listing the user asked for in the window where it was asked: the room.
    if ((e.kind == EntryKind::PrivIn || e.kind == EntryKind::PrivOut) && !e.history)
        return proto::fold_nick(e.nick);
    return {};
}

std::size_t WindowList::find(std::string_view key) const {
    for (std::size_t i = 0; i < windows_.size(); ++i) {
        if (windows_[i].key == key) return i;
    }
    return std::string::npos;
}

std::size_t WindowList::open(std::string_view nick) {
    const std::string key = proto::fold_nick(nick);
    if (key.empty()) return 0;
    std::size_t i = find(key);
    if (i == std::string::npos) {
        windows_.push_back({key, std::string(nick)});
        i = windows_.size() - 1;
    }
    return i;
}

void WindowList::arrived(const LogEntry& e) {
    const std::size_t i = e.window.empty() ? 0 : open(e.nick);
    Window& w = windows_[i];
    // The server's spelling, from what the server sent (a note or an error may hold the typed one).
    if (!e.window.empty() && e.kind != EntryKind::Info && e.kind != EntryKind::Error) w.name = e.nick;
    if (i == current_) return;
    if (e.kind == EntryKind::Public || e.kind == EntryKind::PrivIn) {
        ++w.unread;
        w.mention |= e.mention || e.kind == EntryKind::PrivIn;
    }
}

void WindowList::select(std::size_t i, std::uint64_t last_seq) {
    if (i >= windows_.size() || i == current_) return;
    windows_[current_].marker = last_seq;
    current_ = i;
    windows_[i].unread = 0;
    windows_[i].mention = false;
}

bool WindowList::close(std::size_t i) {
    if (i == 0 || i >= windows_.size()) return false;
    windows_.erase(windows_.begin() + static_cast<std::ptrdiff_t>(i));
    if (current_ == i)
        current_ = 0;
    else if (current_ > i)
        --current_;
    return true;
}

std::string WindowList::hotlist() const {
    std::string out;
    for (std::size_t i = 0; i < windows_.size(); ++i) {
        if (windows_[i].unread == 0) continue;
        out += out.empty() ? "Act: " : ",";
        out += std::to_string(i + 1);
        if (windows_[i].mention) out += '!';
    }
    return out;
}

}  // namespace chat::tui
