// The storage interface of chatd. The chat core talks to storage only
// through this: reads are asynchronous requests answered later by replies,
// writes are fire-and-forget events. Two implementations: MemoryStorage
// (memory_storage.hpp) and MysqlStorage (mysql_storage.hpp).
//
// Ordering contract: requests and events are handled in the order they were
// submitted, so a read sees every write submitted before it (a /historial
// right after a message includes that message).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "server/prometheus.hpp"

namespace chat::server {

using UserId = std::int64_t;
using UnixTime = std::int64_t;  // seconds since the epoch, UTC; 0 = "has not happened"
using Token = std::uint64_t;    // matches a reply to its request

struct UserRecord {
    UserId id = 0;
    std::string nick;      // spelling of the first login
    UnixTime created = 0;
    UnixTime last_login = 0;  // start of the most recent session
    UnixTime last_seen = 0;   // end of the most recent finished session
    std::string status;       // latest status
    // An account's Argon2id hash (password_hasher.hpp); empty for a guest
    // nickname. Never logged, never sent to a client, never in the journal.
    std::string password_hash{};
    UnixTime password_set = 0;  // when the password was last set
};

struct StoredMessage {
    std::int64_t id = 0;  // server-assigned, unique
    UnixTime time = 0;
    std::string from;     // sender's nick (first spelling)
    std::string to;       // recipient's nick, empty for a public message
    std::string body;
};

// ---- requests (reads), answered by a reply with the same token ----

// Look up the user by key (fold_nick) or create it (nick as spelled, status
// "disponible", created = time). Either way set last_login = time and status
// "disponible". The reply carries the record as it is after that, with
// last_seen as it was: outcome LoggedIn.
// Accounts: when the user is an account (has a password hash), nothing is
// recorded unless verified_hash is the account's hash as it is now (the
// password was checked against it); otherwise the reply is NeedsPassword,
// carrying the record with its hash. With guests false, a nickname that is
// no account is neither created nor logged in: NotAnAccount.
struct LoginRequest {
    Token token;
    std::string nick;
    std::string key;
    UnixTime time;
    bool guests = true;
    std::string verified_hash{};
};
struct ProfileRequest {  // a user by key, online or not
    Token token;
    std::string key;
};
struct HistoryRequest {  // the last `limit` messages `user` may see: public, or private sent/received by it
    Token token;
    UserId user;
    int limit;
};
// Sets the password hash of user `user`, answered once it is durable. Done
// only when the user is in the state the change expects: Register, a guest
// (no hash yet); Change, an account; Rehash, an account whose hash is still
// `old_hash` (a rehash after a login never undoes a change made meanwhile).
enum class PasswordChange : std::uint8_t { Register, Change, Rehash };
struct SetPasswordRequest {
    Token token;
    UserId user;
    PasswordChange change;
    std::string hash;
    UnixTime time;
    std::string old_hash{};  // Rehash only
};
using StorageRequest = std::variant<LoginRequest, ProfileRequest, HistoryRequest, SetPasswordRequest>;

enum class LoginOutcome : std::uint8_t { LoggedIn, NeedsPassword, NotAnAccount };
struct LoginReply {
    Token token;
    bool ok = false;  // false: storage unreachable
    UserRecord user;
    LoginOutcome outcome = LoginOutcome::LoggedIn;
};
struct SetPasswordReply {
    Token token;
    bool ok = false;    // false: storage unreachable (nothing changed)
    bool done = false;  // false: the user was not in the expected state (nothing changed)
};
struct ProfileReply {
    Token token;
    bool ok = false;     // false: storage unreachable
    bool found = false;
    UserRecord user;
};
struct HistoryReply {
    Token token;
    bool ok = false;                      // false: storage unreachable
    std::vector<StoredMessage> messages;  // oldest first
};
struct StartupInfo {
    std::vector<StoredMessage> recent_public;  // up to the requested count, oldest first
    std::int64_t max_message_id = 0;
    std::int64_t max_session_id = 0;
};
// Storage became usable after start() returned without it (the database was
// down at start and has now been reached): the core seeds its history and id
// counters from it. Token is always 0; nobody waits for it.
struct LoadedReply {
    Token token = 0;
    StartupInfo info;
};
using StorageReply = std::variant<LoginReply, ProfileReply, HistoryReply, SetPasswordReply, LoadedReply>;

// The rules of LoginRequest and SetPasswordRequest above, for storages that
// apply them in code (MySQL applies the password rule in its UPDATE).
// `found` is the user as stored, null when there is none.
inline LoginOutcome login_outcome(const UserRecord* found, const LoginRequest& req) {
    if (found && !found->password_hash.empty())
        return req.verified_hash == found->password_hash ? LoginOutcome::LoggedIn : LoginOutcome::NeedsPassword;
    return req.guests ? LoginOutcome::LoggedIn : LoginOutcome::NotAnAccount;
}
inline bool password_change_applies(const UserRecord& u, const SetPasswordRequest& req) {
    switch (req.change) {
        case PasswordChange::Register: return u.password_hash.empty();
        case PasswordChange::Change: return !u.password_hash.empty();
        case PasswordChange::Rehash: return !u.password_hash.empty() && u.password_hash == req.old_hash;
    }
    return false;
}

// ---- events (writes) ----

struct MessageEvent {
    std::int64_t id;  // unique: a replay cannot write twice
    UnixTime time;
    UserId from;
    UserId to;  // 0 for public
    std::string body;
};
struct SessionStartEvent {
    std::int64_t session;  // unique id of the session
    UserId user;
    UnixTime time;
    std::string address;
};
// Also sets the user's last_seen = time. Session 0: a session of another
// cluster node, ended there; only the user's last_seen is written here.
struct SessionEndEvent {
    std::int64_t session;
    UserId user;
    UnixTime time;
    std::string reason;  // quit, closed, timeout, slow-consumer, shutdown
};
struct StatusEvent {
    UserId user;
    std::string status;
};
using StorageEvent = std::variant<MessageEvent, SessionStartEvent, SessionEndEvent, StatusEvent>;

// What storage reports for the operator's metrics; safe to ask from the reactor thread.
struct StorageStats {
    bool database = false;     // a database is configured (false: in memory)
    bool database_up = false;  // connected, schema checked, loaded
    std::size_t waiting = 0;   // events accepted and not yet in the database or the journal
    bool journal_pending = false;     // the journal holds events the database has not taken yet
    std::uint64_t journal_bytes = 0;  // size of the journal file as last seen by the storage thread
    Histogram::Snapshot batch_events;    // events per database transaction
    Histogram::Snapshot commit_seconds;  // time to write one transaction (failed ones included)
};

class Storage {
public:
    virtual ~Storage() = default;

    // Before the server serves: prepares storage (schema) and loads what the
    // core needs at start. Returns an error text, empty on success; an error
    // means chatd cannot run (a bad URL, a schema version it does not know).
    // A database that cannot be reached is no error: start() returns with
    // `info` empty, storage connects in the background, and a LoadedReply
    // brings the info once it is there (requests meanwhile fail, ok = false).
    virtual std::string start(int recent_public, StartupInfo& info) = 0;

    // Never block (called on the reactor thread).
    virtual void submit(StorageRequest req) = 0;
    // True when the event is kept (it will be written, now or after an
    // outage). False only for a MessageEvent that storage cannot keep: the
    // database is unreachable and the backlog for it is full (the journal
    // cannot be written either). The core then refuses the message with
    // ERROR unavailable and delivers it to nobody. Other events are always
    // taken (presence goes on; how they are kept within bounds is storage's
    // business).
    virtual bool write(StorageEvent ev) = 0;
    // Replies that are ready, in order. Cheap when there are none.
    virtual std::vector<StorageReply> take_replies() = 0;
    // Called (from any thread) when new replies become ready. Set before start().
    virtual void set_notify(std::function<void()> notify) = 0;

    // Blocking, at shutdown: writes every event accepted so far (to the
    // database, or to the journal if it cannot be reached), then stops.
    virtual void stop() = 0;

    // For the first log lines: "memory", "mysql://user@host:port/db", ...
    virtual std::string describe() const = 0;
    // Other processes (the nodes of a cluster) read and write the same records:
    // user ids mean the same to all of them.
    virtual bool shared() const { return false; }

    virtual StorageStats stats() const { return {}; }
};

}  // namespace chat::server
