#include "tui/model.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "proto/command.hpp"
#include "proto/names.hpp"
#include "proto/server_line.hpp"
#include "proto/text.hpp"
#include "tui/dates.hpp"
#include "tui/help.hpp"
#include "tui/messages.hpp"
#include "tui/search.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

namespace {

using proto::sanitize_text;

std::string param(const proto::ServerLine& sl, std::size_t i) {
    return i < sl.params.size() ? sanitize_text(sl.params[i]) : std::string();
}

bool same_nick(std::string_view a, std::string_view b) {
    return !a.empty() && proto::fold_nick(a) == proto::fold_nick(b);
}

bool is_word_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    // Any byte of a non-ASCII code point counts as part of a word, so "Begoñas" is not "Begoña".
    return u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c == '-';
}

}  // namespace

Effects Model::apply(std::string_view line, std::int64_t now) {
    Effects fx;
    proto::ServerLine sl;
    if (!proto::parse_server_line(line, sl)) return fx;
    const std::string_view v = sl.verb;
    const std::string trailing = sanitize_text(sl.trailing);

    if (v == "HELLO") {
        server_name_ = param(sl, 0);
        server_version_ = param(sl, 1);
        auth_nick_.clear();
        password_auto_ = false;
        add({now, EntryKind::Info, {}, cat(server_name_, ": ", trailing)});
        // Version 2 adds to version 1 and both are spoken; a later one may still work, so only say so.
        if (server_version_ != "1" && server_version_ != "2") {
            add({now,
                 EntryKind::Info,
                 {},
                 cat("the server speaks protocol version ", server_version_,
                     "; this client knows versions 1 and 2")});
        }
        if (!wanted_nick_.empty()) {
            fx.send.push_back(wanted_nick_);
            state_ = ConnState::LoggingIn;
        } else {
            state_ = ConnState::AskingNick;
            add({now, EntryKind::Info, {}, "type your nickname and press Enter"});
        }
    } else if (v == "AUTH") {
        auth_nick_ = param(sl, 0);
        const bool kept = have_password_ && (password_nick_.empty() || same_nick(password_nick_, auth_nick_));
        password_auto_ = kept;
        if (kept) {
            fx.send_password = true;
            state_ = ConnState::LoggingIn;
            add({now,
                 EntryKind::Info,
                 {},
                 cat(auth_nick_, " is a registered account: sending the kept password")});
        } else {
            state_ = ConnState::AskingPassword;
            add({now,
                 EntryKind::Info,
                 {},
                 cat(auth_nick_,
                     " is a registered account: type its password and press Enter (typing is not shown)")});
        }
    } else if (v == "OK") {
        const std::string what = param(sl, 0);
        fx.new_password_ok = what == "register" || what == "password";
        add({now, EntryKind::Info, {}, confirm_ok(what, nick_, trailing)});
    } else if (v == "WELCOME") {
        nick_ = param(sl, 0);
        wanted_nick_ = nick_;
        my_status_ = "disponible";
        state_ = ConnState::Online;
        retry_in_ = 0;
        roster_is_login_ = true;
        hist_is_login_ = true;
        logged_in_once_ = true;
        login_retry_ = LoginRetry::None;
        replayed_.clear();
        hist_skipped_ = 0;
        add({now, EntryKind::Info, {}, trailing.empty() ? cat("logged in as ", nick_) : trailing});
    } else if (v == "USER") {
        if (!collecting_users_) {
            collecting_users_ = true;
            pending_users_.clear();
        }
        pending_users_.push_back({param(sl, 0), param(sl, 1)});
    } else if (v == "END" && !sl.params.empty() && sl.params[0] == "USERS") {
        std::vector<User> list = std::move(pending_users_);
        pending_users_.clear();
        collecting_users_ = false;
        if (!roster_is_login_) {
            // A big room's list would be one entry of hundreds of kilobytes, wrapped at every redraw:
            // the log names the first ones, the user list has them all.
            std::string text;
            const std::size_t shown = std::min(list.size(), kListedUsers);
            for (std::size_t i = 0; i < shown; ++i) {
                if (!text.empty()) text += ", ";
                text += cat(list[i].nick, " (", list[i].status, ")");
            }
            if (shown < list.size()) {
                text += cat(" ... and ", std::to_string(list.size() - shown), " more (all in the user list)");
            }
            add({now, EntryKind::Users, {}, cat(std::to_string(list.size()), " online: ", text)});
        }
        roster_is_login_ = false;
        users_.clear();
        for (User& u : list) upsert_user(u.nick, u.status);
        if (const User* me = find_user(nick_)) my_status_ = me->status;
    } else if (v == "JOIN") {
        upsert_user(param(sl, 0), param(sl, 1));
        add({now, EntryKind::Join, param(sl, 0), param(sl, 1)});
        tell_conversation({now, EntryKind::Join, param(sl, 0), param(sl, 1)});
    } else if (v == "PART") {
        remove_user(param(sl, 0));
        add({now, EntryKind::Part, param(sl, 0), trailing});
        tell_conversation({now, EntryKind::Part, param(sl, 0), trailing});
    } else if (v == "STATUS") {
        const std::string who = param(sl, 0), status = param(sl, 1);
        upsert_user(who, status);
        if (same_nick(who, nick_)) my_status_ = status;
        add({now, EntryKind::Status, who, status});
    } else if (v == "MSG") {
        const std::string from = param(sl, 0);
        LogEntry e{now, same_nick(from, nick_) ? EntryKind::Own : EntryKind::Public, from, trailing};
        e.mention = e.kind == EntryKind::Public && mentions_me(trailing);
        fx.bell = e.mention;
        add(std::move(e));
    } else if (v == "PRIV") {
        const std::string from = param(sl, 0), to = param(sl, 1);
        if (same_nick(from, nick_)) {
            add({now, EntryKind::PrivOut, to, trailing});
        } else {
            add({now, EntryKind::PrivIn, from, trailing});
            fx.bell = true;
        }
    } else if (v == "HIST") {
        std::int64_t t = 0;
        if (sl.params.empty() || !proto::parse_time(sl.params[0], t)) t = now;
        const std::string from = param(sl, 1), to = param(sl, 2);
        LogEntry e{t, EntryKind::Public, from, trailing};
        if (to == "*") {
            if (same_nick(from, nick_)) e.kind = EntryKind::Own;
        } else if (same_nick(from, nick_)) {
            e.kind = EntryKind::PrivOut;
            e.nick = to;
        } else {
            e.kind = EntryKind::PrivIn;
        }
        e.history = true;
        if (hist_is_login_ && rejoining_ && already_shown(e)) {
            ++hist_skipped_;
        } else {
            add(std::move(e));
        }
    } else if (v == "END" && !sl.params.empty() && sl.params[0] == "HIST") {
        if (!hist_is_login_) {
            add({now, EntryKind::Info, {}, cat("end of history (", param(sl, 1), " messages)")});
        } else if (rejoining_ && hist_skipped_ > 0) {
            add({now,
                 EntryKind::Info,
                 {},
                 cat("back online: ", std::to_string(hist_skipped_),
                     " messages of the history were already on screen and are not shown again")});
        }
        if (hist_is_login_) {
            rejoining_ = false;
            replayed_.clear();
        }
        hist_is_login_ = false;
    } else if (v == "HELP") {
        add({now, EntryKind::Help, {}, trailing});
    } else if (v == "END" && !sl.params.empty() && sl.params[0] == "HELP") {
        for (std::string_view h : client_help_lines()) add({now, EntryKind::Help, {}, std::string(h)});
    } else if (v == "PROFILE") {
        std::string fields;
        for (std::size_t i = 1; i < sl.params.size(); ++i) {
            if (!fields.empty()) fields += ' ';
            fields += sanitize_text(sl.params[i]);
        }
        add({now, EntryKind::Profile, param(sl, 0), fields});
    } else if (v == "PING") {
        const std::string_view token = sl.params.empty() ? std::string_view() : sl.params[0];
        fx.send.push_back(proto::is_valid_token(token) ? cat("/pong ", token) : "/pong");
    } else if (v == "PONG") {
        add({now, EntryKind::Info, {}, cat("PONG ", param(sl, 0))});
    } else if (v == "ERROR") {
        const std::string code = param(sl, 0);
        const std::string arg = sl.params.size() > 1 ? param(sl, 1) : std::string();
        std::string text = code;
        if (!arg.empty()) text += cat(" ", arg);
        const std::string why = explain_error(code, arg, state_ == ConnState::Online ? nick_ : auth_nick_);
        if (why.empty()) {
            text += cat(": ", trailing);
        } else {
            text += cat(": ", why);
            if (!trailing.empty()) text += cat(" (", trailing, ")");
        }
        // An error about a user goes to that user's conversation when one is open (a line typed
        // in a query window to someone gone), else to the room.
        add({now, EntryKind::Error, code == "no-such-user" ? arg : std::string(), text});
        on_error(code, arg, now, fx);
    } else if (v == "BYE") {
        add({now, EntryKind::Info, {}, cat("server closes the connection: ", trailing)});
        fx.bye = true;
    } else {
        add({now, EntryKind::Info, {}, sanitize_text(line)});
    }
    return fx;
}

void Model::on_error(const std::string& code, const std::string& arg, std::int64_t now, Effects& fx) {
    if (state_ == ConnState::Online) {
        fx.new_password_refused = refuses_new_password(code, arg);
        return;
    }
    if (!refuses_login(code)) return;
    if (code == "nick-in-use" && rejoining_ && !wanted_nick_.empty()) {
        // Our own old session, most likely: the server keeps it until it sees that connection die.
        fx.retry = LoginRetry::NickHeld;
        password_auto_ = false;
        return;
    }
    if (code == "unavailable" && rejoining_ && !wanted_nick_.empty()) {
        // Not the nickname's fault: the same nick, and the kept password, a little later.
        fx.retry = LoginRetry::ServerBusy;
        password_auto_ = false;
        return;
    }
    if (code == "bad-password" && password_auto_ && !wanted_nick_.empty()) {
        // The kept password is wrong (changed elsewhere, or a stale file): drop it, and send
        // the nick again so that the next AUTH asks the user.
        password_auto_ = false;
        have_password_ = false;
        password_nick_.clear();
        fx.forget_password = true;
        fx.send.push_back(wanted_nick_);
        state_ = ConnState::LoggingIn;
        add({now,
             EntryKind::Info,
             {},
             cat("the kept password for ", auth_nick_, " was refused and is forgotten")});
        return;
    }
    password_auto_ = false;
    back_to_nick(now, code == "bad-password" || code == "too-many-attempts"
                          ? "type a nickname (the same one to try again) and press Enter"
                      : code == "unavailable" ? "the server cannot take the login now: type the nickname again in a moment"
                                              : "type another nickname and press Enter");
}

void Model::back_to_nick(std::int64_t now, std::string_view why) {
    state_ = ConnState::AskingNick;
    wanted_nick_.clear();
    add({now, EntryKind::Info, {}, std::string(why)});
}

void Model::set_password(bool have, std::string_view for_nick) {
    have_password_ = have;
    password_nick_ = have ? std::string(for_nick) : std::string();
}

void Model::password_sent() {
    password_auto_ = false;
    state_ = ConnState::LoggingIn;
}

void Model::on_login_retry(LoginRetry why, std::int64_t now, int retry_in) {
    state_ = ConnState::Reconnecting;
    retry_in_ = retry_in;
    login_retry_ = why;
    const std::string again = cat("trying again in ", std::to_string(retry_in), " s");
    add({now, EntryKind::Error, {},
         why == LoginRetry::NickHeld
             ? cat(wanted_nick_, " is still held by the old session (the server has not yet seen that it is gone): ",
                   again)
             : cat("the server cannot log ", wanted_nick_, " in now (ERROR unavailable): ", again)});
}

// A HIST line of a re-login that repeats an entry on screen: the same sender,
// recipient and text, stamped within two minutes (entries shown live carry
// the local time of arrival, HIST the server's time of the message).
bool Model::already_shown(const LogEntry& e) {
    constexpr std::int64_t kSkew = 120;
    constexpr std::size_t kLookBack = 2000;  // the log is not in time order (history sits among live lines)
    const std::size_t stop = log_.size() > kLookBack ? log_.size() - kLookBack : 0;
    for (std::size_t i = log_.size(); i-- > stop;) {
        const LogEntry& o = log_[i];
        if (o.kind != e.kind || o.text != e.text || !same_nick(o.nick, e.nick)) continue;
        if (o.time < e.time - kSkew || o.time > e.time + kSkew) continue;
        if (std::find(replayed_.begin(), replayed_.end(), o.seq) != replayed_.end()) continue;
        replayed_.push_back(o.seq);
        return true;
    }
    return false;
}

void Model::on_connecting(std::int64_t now, std::string_view where) {
    state_ = ConnState::Connecting;
    retry_in_ = 0;
    rejoining_ = logged_in_once_ && !wanted_nick_.empty();
    add({now, EntryKind::Info, {}, cat("connecting to ", sanitize_text(where))});
}

void Model::on_connected(std::int64_t) { state_ = ConnState::LoggingIn; }

void Model::on_disconnected(std::int64_t now, std::string_view why, int retry_in) {
    const bool was_online = state_ == ConnState::Online;
    retry_in_ = retry_in;
    state_ = retry_in > 0 ? ConnState::Reconnecting : ConnState::Closed;
    login_retry_ = LoginRetry::None;
    users_.clear();
    collecting_users_ = false;
    pending_users_.clear();
    std::string text = was_online ? "connection lost" : "no connection";
    if (!why.empty()) text += cat(": ", sanitize_text(why));
    if (retry_in > 0) text += cat("; retrying in ", std::to_string(retry_in), " s");
    add({now, EntryKind::Error, {}, text});
}

void Model::on_line_too_long(std::int64_t now, std::size_t max_line) {
    add({now, EntryKind::Info, {}, cat("a server line longer than ", std::to_string(max_line), " bytes was dropped")});
}

void Model::add_info(std::int64_t now, std::string_view text, EntryKind kind) {
    add({now, kind, {}, sanitize_text(text)});
}

void Model::clear_log() {
    std::erase_if(log_, [&](const LogEntry& e) { return shown(e); });
    scroll_ = 0;
    unread_ = 0;
}

std::uint64_t Model::last_seq_shown() const {
    for (std::size_t i = log_.size(); i-- > 0;) {
        if (shown(log_[i])) return log_[i].seq;
    }
    return 0;
}

std::size_t Model::count_shown() const {
    std::size_t n = 0;
    for (const LogEntry& e : log_) n += shown(e) ? 1 : 0;
    return n;
}

void Model::select_window(std::size_t i) {
    if (i >= windows_.size() || i == windows_.current()) return;
    windows_.select(i, last_seq_shown());
    end_search();
    scroll_to_bottom();
}

bool Model::search(std::string_view text) {
    search_ = {};
    search_.text = text;
    for (std::size_t i = log_.size(); i-- > 0;) {
        if (shown(log_[i]) && !find_all(searchable_text(log_[i]), text).empty()) search_.hits.push_back(log_[i].seq);
    }
    if (search_.hits.empty()) return false;
    show_hit();
    return true;
}

void Model::search_step(int dir) {
    if (search_.hits.empty()) return;
    if (dir > 0 && search_.at + 1 < search_.hits.size()) ++search_.at;
    if (dir < 0 && search_.at > 0) --search_.at;
    show_hit();
}

// Scrolls so that the hit shown is the bottom line of the log.
void Model::show_hit() {
    const std::uint64_t seq = search_.hits[search_.at];
    std::size_t below = 0;
    for (std::size_t i = log_.size(); i-- > 0 && log_[i].seq > seq;) below += shown(log_[i]) ? 1 : 0;
    scroll_ = below;
    unread_ = 0;
}

void Model::next_window(int step) {
    const auto n = static_cast<long>(windows_.size());
    const long i = ((static_cast<long>(windows_.current()) + step) % n + n) % n;
    select_window(static_cast<std::size_t>(i));
}

void Model::open_query(std::string_view nick, std::int64_t now) {
    const bool existed = windows_.find(proto::fold_nick(nick)) != std::string::npos;
    select_window(windows_.open(nick));
    if (!existed && state_ == ConnState::Online && find_user(nick) == nullptr) {
        tell_conversation({now, EntryKind::Info, std::string(nick),
                           cat(nick, " is not online: what you type here is refused until ", nick, " logs in")});
    }
}

void Model::follow_private(std::string_view line, std::int64_t now) {
    if (!proto::is_clean_text(line) || proto::is_blank(line)) return;
    const proto::Command c = proto::parse_command(line);
    if (c.kind != proto::Cmd::Private || c.text.empty() || !proto::is_valid_nick(c.arg)) return;
    if (windows_.shown().key == proto::fold_nick(c.arg)) return;
    open_query(c.arg, now);
}

bool Model::close_window() {
    const std::size_t i = windows_.current();
    if (i == 0) return false;
    const std::string key = windows_.shown().key;
    std::erase_if(log_, [&](const LogEntry& e) { return e.window == key; });
    windows_.close(i);
    scroll_to_bottom();
    return true;
}

std::string Model::outgoing(std::string_view line) const {
    const Window& w = windows_.shown();
    if (w.key.empty() || line.starts_with('/')) return std::string(line);
    return cat("/msg ", w.name, " ", line);
}

void Model::nick_sent(std::string_view nick) {
    wanted_nick_ = nick;
    state_ = ConnState::LoggingIn;
}

void Model::scroll_up(std::size_t n) {
    const std::size_t count = count_shown();
    const std::size_t max = count == 0 ? 0 : count - 1;
    scroll_ = std::min(max, scroll_ + n);
}

void Model::scroll_down(std::size_t n) {
    scroll_ = n >= scroll_ ? 0 : scroll_ - n;
    if (scroll_ == 0) unread_ = 0;
    unread_ = std::min(unread_, scroll_);
}

void Model::scroll_to_bottom() {
    scroll_ = 0;
    unread_ = 0;
}

const User* Model::find_user(std::string_view nick) const { return users_.find(nick); }

std::vector<std::string> Model::nicks() const {
    std::vector<std::string> out;
    out.reserve(users_.size());
    for (const User& u : users_.list()) out.push_back(u.nick);
    return out;
}

void Model::add(LogEntry e) {
    e.window = WindowList::key_for(e);
    if (e.kind == EntryKind::Error && !e.nick.empty()) {
        const std::string key = proto::fold_nick(e.nick);
        if (windows_.find(key) != std::string::npos) e.window = key;
    }
    place(std::move(e));
}

void Model::tell_conversation(LogEntry e) {
    std::string key = proto::fold_nick(e.nick);
    if (windows_.find(key) == std::string::npos) return;
    e.window = std::move(key);
    place(std::move(e));
}

void Model::place(LogEntry e) {
    e.seq = ++added_;
    windows_.arrived(e);
    const bool here = shown(e);
    log_.push_back(std::move(e));
    if (scroll_ > 0 && here) {
        ++scroll_;
        ++unread_;
    }
    while (log_.size() > scrollback_ && !log_.empty()) log_.pop_front();
    if (!log_.empty() && scroll_ > log_.size() - 1) scroll_ = log_.size() - 1;
    unread_ = std::min(unread_, scroll_);
}

void Model::upsert_user(std::string_view nick, std::string_view status) { users_.upsert(nick, status); }

void Model::remove_user(std::string_view nick) { users_.remove(nick); }

bool Model::mentions_me(std::string_view text) const {
    if (nick_.empty()) return false;
    const std::string hay = proto::fold_nick(text);
    const std::string needle = proto::fold_nick(nick_);
    for (std::size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
        const bool left_ok = pos == 0 || !is_word_byte(hay[pos - 1]);
        const std::size_t end = pos + needle.size();
        const bool right_ok = end == hay.size() || !is_word_byte(hay[end]);
        if (left_ok && right_ok) return true;
    }
    return false;
}

std::vector<Span> format_entry(const LogEntry& e, bool with_seconds, std::int64_t now) {
    std::vector<Span> out;
    char clock[16] = "";
    const std::time_t t = static_cast<std::time_t>(e.time);
    std::tm tm{};
    if (localtime_r(&t, &tm) != nullptr) {
        std::strftime(clock, sizeof clock, with_seconds ? "%H:%M:%S " : "%H:%M ", &tm);
    }
    out.push_back({e.history && now != 0 ? cat(date_prefix(e.time, now), clock) : std::string(clock), Style::Time, {}});
    switch (e.kind) {
        case EntryKind::Public:
            out.push_back({cat("<", e.nick, ">"), Style::Nick, e.nick});
            out.push_back({cat(" ", e.text), e.mention ? Style::Mention : Style::Text, {}});
            break;
        case EntryKind::Own:
            out.push_back({cat("<", e.nick, ">"), Style::OwnNick, e.nick});
            out.push_back({cat(" ", e.text), Style::OwnText, {}});
            break;
        case EntryKind::PrivIn:
            out.push_back({cat("<- ", e.nick, ":"), Style::Private, e.nick});
            out.push_back({cat(" ", e.text), Style::Text, {}});
            break;
        case EntryKind::PrivOut:
            out.push_back({cat("-> ", e.nick, ":"), Style::Private, e.nick});
            out.push_back({cat(" ", e.text), Style::OwnText, {}});
            break;
        case EntryKind::Join:
            out.push_back({cat("--> ", e.nick, " joined (", e.text, ")"), Style::Event, {}});
            break;
        case EntryKind::Part:
            out.push_back({cat("<-- ", e.nick, " left (", e.text, ")"), Style::Event, {}});
            break;
        case EntryKind::Status:
            out.push_back({cat("--- ", e.nick, " is now ", e.text), Style::Event, {}});
            break;
        case EntryKind::Error:
            out.push_back({cat("!!! ", e.text), Style::Error, {}});
            break;
        case EntryKind::Info:
            out.push_back({cat("--- ", e.text), Style::Info, {}});
            break;
        case EntryKind::Help:
            out.push_back({cat("  ", e.text), Style::Info, {}});
            break;
        case EntryKind::Profile:
            out.push_back({cat("--- profile ", e.nick, ": ", e.text), Style::Info, {}});
            break;
        case EntryKind::Users:
            out.push_back({cat("--- ", e.text), Style::Info, {}});
            break;
    }
    return out;
}

std::string format_entry_plain(const LogEntry& e, std::int64_t now) {
    std::string out;
    for (const Span& s : format_entry(e, true, now)) out += s.text;
    return out;
}

unsigned nick_color(std::string_view nick, unsigned n) {
    if (n == 0) return 0;
    std::uint32_t h = 2166136261u;  // FNV-1a: tiny, and stable across runs and builds
    for (unsigned char c : proto::fold_nick(nick)) {
        h ^= c;
        h *= 16777619u;
    }
    return h % n;
}

}  // namespace chat::tui
