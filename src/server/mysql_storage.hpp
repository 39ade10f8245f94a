// MySQL/MariaDB storage for chatd: one storage thread owns the connection,
// the reactor talks to it through a queue and never waits on it.
//
// Queue and failure policy (what "never drop, never block" means here):
// - submit()/write() append to an in-memory queue under a mutex and return.
//   They never wait for the database and never touch a file. The queue has no
//   hard bound on the reactor side: when it passes queue_max the storage
//   thread is stuck in a database call (which the connection's read, write
//   and connect timeouts bound to seconds), so a warning is logged once and
//   the event is still kept.
// - The storage thread takes the whole queue at once. With the database up it
//   writes events in batches (one transaction each, multi-row statements) of
//   at most `batch` events; it waits up to flush_ms for a batch to fill. A
//   request flushes the writes before it and is then answered, so a read sees
//   every write submitted before it.
// - When a database call fails with a connection error, the batch is rolled
//   back and kept whole, the database is "down", and the thread reconnects
//   with backoff (100 ms doubling to 5 s). While down, requests are answered
//   at once with ok = false, and events wait in memory in order. They go to
//   the journal (append-only, fsync'd once per spill) when more than
//   queue_max of them wait, or when the database has been down for a second
//   (so a crash during an outage loses nothing older than that).
// - Order is journal, then events waiting in memory, then the queue. When the
//   database is back, the journal is replayed (then emptied), then the rest.
//   Messages and sessions have unique ids and are written with upserts, and
//   status / last_seen are last-value updates, so writing a batch twice (a
//   lost COMMIT answer, a crash during replay) changes nothing.
// - A batch the database refuses for another reason than the connection is
//   written event by event; an event it still refuses is logged and skipped,
//   so one bad row cannot stall the rest.
// - stop() writes everything accepted; if the database does not come back
//   within a few seconds, what is left goes to the journal, which the next
//   start() replays before it loads anything.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/storage.hpp"

namespace chat::server {

struct MysqlOptions {
    std::string url;           // mysql://user@host:port/dbname or mysql://user@localhost/dbname?socket=/path
    std::string password;      // empty: the MySQL option files ([client] group), else none
    std::string journal_path;  // empty: kDefaultJournalPath
    int flush_ms = 5;          // longest wait for a batch to fill
    std::size_t batch = 500;   // most events per transaction; 1 = one INSERT per event
    std::size_t queue_max = 100000;
};

// Relative to the working directory of chatd.
inline constexpr const char* kDefaultJournalPath = "var/chatd.journal";

struct MysqlUrl {
    std::string user;
    std::string password;  // from user:password@, discouraged (visible in ps)
    std::string host;      // "localhost" with socket set means the unix socket
    unsigned port = 3306;
    std::string database;
    std::string socket;
};

// Parses mysql://user[:password]@host[:port]/dbname[?socket=/path]. The host
// may be [v6]. %XX escapes are decoded in the user, password and socket.
// Returns false with `error` set for anything else (a user and a database are required).
bool parse_mysql_url(std::string_view text, MysqlUrl& out, std::string& error);
// mysql://user@host:port/db (never the password), for logs and describe().
std::string mysql_url_text(const MysqlUrl& url);

// Never fails; start() reports a bad URL or an unreachable database.
std::unique_ptr<Storage> make_mysql_storage(MysqlOptions options);

// The SQL the storage thread sends; pure functions, exposed for tests.
namespace mysql_sql {

inline constexpr int kSchemaVersion = 1;
// schema.sql, compiled in.
std::string_view schema_text();
// Splits a script on `;` at the end of a line, dropping `--` comment lines.
std::vector<std::string> split_script(std::string_view script);

// A string literal safe for any bytes: X'..' (hex), so no character set or
// SQL mode can change what it means.
std::string quote(std::string_view bytes);

// The statements of one batch, to run in one transaction, in this order:
// messages, session starts, session ends, statuses, last_seen. Equivalent to
// applying the events one by one in order, and idempotent.
std::vector<std::string> batch_statements(std::span<const StorageEvent> events);

std::string login_select(std::string_view key);
std::string login_insert(const LoginRequest& req);
std::string login_update(UserId id, UnixTime time);
std::string profile_select(std::string_view key);
std::string history_select(UserId user, int limit);
std::string recent_public_select(int limit);

}  // namespace mysql_sql

}  // namespace chat::server
