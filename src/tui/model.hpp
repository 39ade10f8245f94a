// The client's model: server lines in, users, statuses, the chat log, unread
// marks and connection state out. Pure: no I/O, no clock, no curses; the
// caller passes the time and performs the lines the model asks to send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "tui/roster.hpp"
#include "tui/windows.hpp"

namespace chat::tui {

enum class EntryKind {
    Public,    // nick: sender
    Own,       // a public message of mine (the server's echo)
    PrivIn,    // nick: sender
    PrivOut,   // nick: recipient
    Join,      // nick, text: status
    Part,      // nick, text: reason
    Status,    // nick, text: new status
    Error,     // text: "code [arg]: text"
    Info,      // text: client or server information (HELLO, BYE, PONG, connection)
    Help,      // text: one help line
    Profile,   // nick, text: the formatted fields
    Users,     // text: "a (disponible), b (ocupado)"
};

struct LogEntry {
    std::int64_t time = 0;  // unix seconds
    EntryKind kind = EntryKind::Info;
    std::string nick;
    std::string text;  // already sanitized
    bool mention = false;
    bool history = false;  // came from a HIST line
    std::uint64_t seq = 0;  // its ordinal among all entries ever added (from 1)
    std::string window{};   // WindowList::key_for: the conversation it belongs to, empty for the room
};

enum class ConnState {
    Connecting,      // TCP connect in progress
    LoggingIn,       // connected, HELLO or WELCOME not yet seen
    AskingNick,      // the server waits for a nickname the user must type
    AskingPassword,  // AUTH seen: the server waits for the account's password the user must type
    Online,          // WELCOME seen
    Reconnecting,    // lost; a new attempt is scheduled
    Closed,          // gone for good (quitting, or plain mode)
};

// Why an automatic re-login is tried again later instead of asking the user.
enum class LoginRetry : unsigned char {
    None,
    // nick-in-use: the old session still holds the nick (the server has not yet seen it die).
    NickHeld,
    // ERROR unavailable: the server's password checks are full (after a restart everyone logs
    // in again at once) or its storage is out of reach; the kept password stays.
    ServerBusy,
};

// What the caller must do after a server line.
struct Effects {
    std::vector<std::string> send;  // client lines, without LF
    bool bell = false;
    bool bye = false;  // BYE arrived: the server closes the connection next
    // Accounts. The model never holds a password: it asks the caller to send
    // the one it keeps, to drop it, or to keep or drop a new one it sent.
    bool send_password = false;         // AUTH for the nick the kept password is for: send it now
    bool forget_password = false;       // the kept password was sent and refused (bad-password)
    bool new_password_ok = false;       // OK register / OK password: the new password is the one to keep
    bool new_password_refused = false;  // an ERROR answered /registrar or /clave: drop the new one
    // An automatic re-login was refused for a reason that passes: the caller closes, tries
    // again later and calls on_login_retry.
    LoginRetry retry = LoginRetry::None;
};

// A search in the window shown (search.hpp has its helpers).
struct Search {
    std::string text;                 // as typed
    std::vector<std::uint64_t> hits;  // seq of the matching entries, newest first
    std::size_t at = 0;               // the hit shown
    bool active() const { return !text.empty(); }
};

class Model {
public:
    static constexpr std::size_t kDefaultScrollback = 10000;
    static constexpr std::size_t kListedUsers = 100;  // names a /listar answer shows in the log

    explicit Model(std::size_t scrollback = kDefaultScrollback) : scrollback_(scrollback) {}

    // One server line without its LF. `now` is the local unix time used to stamp entries.
    Effects apply(std::string_view line, std::int64_t now);

    // Connection events driven by the client loop.
    void on_connecting(std::int64_t now, std::string_view where);
    void on_connected(std::int64_t now);
    // The connection is gone; `retry_in` seconds until the next attempt (0: no retry).
    void on_disconnected(std::int64_t now, std::string_view why, int retry_in);

    // The re-login is tried again in `retry_in` seconds (Effects::retry): says why in the log
    // and, until the next login, in the status bar (login_retry()).
    void on_login_retry(LoginRetry why, std::int64_t now, int retry_in);
    LoginRetry login_retry() const { return login_retry_; }
    // This login is an automatic one after a lost connection (same nick as before).
    bool rejoining() const { return rejoining_; }

    // A server line longer than `max_line` bytes arrived and was dropped: says so in the log.
    void on_line_too_long(std::int64_t now, std::size_t max_line);

    // Adds a client-side line to the log (help, usage, local errors).
    void add_info(std::int64_t now, std::string_view text, EntryKind kind = EntryKind::Info);
    // Empties the window shown.
    void clear_log();

    // Windows (windows.hpp). Switching scrolls the new one to its bottom.
    const WindowList& windows() const { return windows_; }
    void select_window(std::size_t i);
    void next_window(int step);  // Ctrl-N (+1), Ctrl-P (-1), wrapping around
    // /query nick: the conversation's window, opened if needed, shown; when nick is not
    // online, a line in it says that what is typed there will be refused until they are.
    void open_query(std::string_view nick, std::int64_t now);
    // Before `line` (as outgoing() made it) is sent: a private message typed in another
    // window (`!nick text`, `/msg nick text`) shows nick's window, where its echo and any
    // no-such-user will go.
    void follow_private(std::string_view line, std::int64_t now);
    // Closes the conversation shown; false in the room.
    bool close_window();
    // The line to send for `line` typed in the window shown: in a conversation,
    // text goes to that person ("/msg nick text"); commands go as typed.
    std::string outgoing(std::string_view line) const;
    // /buscar: the lines of the window shown holding `text`; shows the newest. False when none.
    bool search(std::string_view text);
    // The next older (+1) or newer (-1) hit, shown; stays at the ends.
    void search_step(int dir);
    void end_search() { search_ = {}; }
    const Search& search_state() const { return search_; }
    // Whether entry `e` is drawn in the window shown.
    bool shown(const LogEntry& e) const { return e.window == windows_.shown().key; }

    // The nick to log in with; the model sends it on HELLO when set.
    void set_wanted_nick(std::string_view nick) { wanted_nick_ = nick; }
    const std::string& wanted_nick() const { return wanted_nick_; }
    // The user typed a line while AskingNick: it is sent as the nickname.
    void nick_sent(std::string_view nick);

    // Whether the caller keeps a password, and for which nickname (empty: any,
    // as one from --password-file or CHAT_PASSWORD). On AUTH for that nick the
    // model asks for it to be sent (Effects::send_password) instead of asking the user.
    void set_password(bool have, std::string_view for_nick = {});
    bool has_password() const { return have_password_; }
    // The user typed the password asked for while AskingPassword; the caller sent it.
    void password_sent();
    // The nick of the last AUTH (as the server spells it): whose password is asked for.
    const std::string& auth_nick() const { return auth_nick_; }
    // The protocol version from HELLO ("1" or "2"; empty before it).
    const std::string& server_version() const { return server_version_; }

    // Scrolling is counted in log entries from the bottom; new entries that
    // arrive while scrolled up do not move the view and are counted as unread.
    void scroll_up(std::size_t n);
    void scroll_down(std::size_t n);
    void scroll_to_bottom();
    std::size_t scroll_offset() const { return scroll_; }
    std::size_t unread() const { return unread_; }

    ConnState state() const { return state_; }
    void set_state(ConnState s) { state_ = s; }
    int retry_in() const { return retry_in_; }
    const std::string& nick() const { return nick_; }  // as the server spells it, empty before WELCOME
    const std::string& my_status() const { return my_status_; }
    const std::string& server_name() const { return server_name_; }
    const std::vector<User>& users() const { return users_.list(); }
    const std::deque<LogEntry>& log() const { return log_; }
    // Entries ever added (not lowered by clear_log or the scrollback limit): --plain prints the new ones.
    std::uint64_t added() const { return added_; }
    const User* find_user(std::string_view nick) const;
    // Nicks for completion, in roster order.
    std::vector<std::string> nicks() const;

private:
    void add(LogEntry e);
    // Puts `e` in the log, in the window add() or tell_conversation() chose for it.
    void place(LogEntry e);
    // `e` (a join, a part, a note) also in the conversation with e.nick, when its window is open.
    void tell_conversation(LogEntry e);
    void upsert_user(std::string_view nick, std::string_view status);
    void remove_user(std::string_view nick);
    bool mentions_me(std::string_view text) const;
    void on_error(const std::string& code, const std::string& arg, std::int64_t now, Effects& fx);
    void back_to_nick(std::int64_t now, std::string_view why);
    bool already_shown(const LogEntry& e);
    std::uint64_t last_seq_shown() const;
    std::size_t count_shown() const;

    void show_hit();

    std::size_t scrollback_;
    std::deque<LogEntry> log_;
    WindowList windows_;
    Search search_;
    std::uint64_t added_ = 0;
    std::size_t scroll_ = 0;
    std::size_t unread_ = 0;

    ConnState state_ = ConnState::Connecting;
    int retry_in_ = 0;
    std::string server_name_;
    std::string wanted_nick_;
    std::string nick_;
    std::string my_status_;
    Roster users_;

    std::string server_version_;
    std::string auth_nick_;
    bool have_password_ = false;
    std::string password_nick_;   // empty: for any nick
    bool password_auto_ = false;  // the password after the last AUTH was the kept one, sent unasked

    // USER lines are collected until END USERS; the first list after WELCOME
    // is the roster, later ones answer /listar and are also logged.
    std::vector<User> pending_users_;
    bool collecting_users_ = false;
    bool roster_is_login_ = false;
    bool hist_is_login_ = false;

    // Reconnecting: the history of a re-login repeats lines already on screen.
    bool logged_in_once_ = false;
    bool rejoining_ = false;
    LoginRetry login_retry_ = LoginRetry::None;
    std::vector<std::uint64_t> replayed_;  // seq of the entries a HIST line matched
    std::size_t hist_skipped_ = 0;
};

// A piece of a formatted entry with one look.
enum class Style { Time, Nick, OwnNick, Text, OwnText, Private, Event, Error, Info, Mention, Found };

struct Span {
    std::string text;
    Style style = Style::Text;
    std::string nick;  // for Nick/OwnNick/Private: whose color
};

// How an entry reads, shared by the curses view and --plain. `clock` is
// "HH:MM" (curses) or "HH:MM:SS" (plain); times are shown in local time.
// A line from the history that is not from `now`'s day carries its date
// before the time ("2026-12-01 18:30"); now = 0: never.
std::vector<Span> format_entry(const LogEntry& e, bool with_seconds, std::int64_t now = 0);
std::string format_entry_plain(const LogEntry& e, std::int64_t now = 0);

// Stable per-nick color index in [0, n): a hash of the case-folded nick.
unsigned nick_color(std::string_view nick, unsigned n);

}  // namespace chat::tui
