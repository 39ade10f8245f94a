// MySQL/MariaDB storage for chatd: one storage thread owns the connection,
// the reactor talks to it through a queue and never waits on it.
//
// The pieces: mysql_url (the --db URL), mysql_sql (statement text),
// mysql_client (the C API connection and what an error number means),
// storage_pipeline (the state machine, free of I/O, tested with fakes) and
// this file (the thread and the glue: the queue, the MySQL database and the
// journal files behind the pipeline's interfaces).
//
// Queue and failure policy (what "never lose an accepted message, never
// block" means here):
// - submit()/write() append to an in-memory queue under a mutex and return;
//   they never touch the database or a file. write() decides on the spot,
//   from the state the storage thread publishes (see "memory bound").
// - The storage thread takes the whole queue at once. With the database up it
//   writes events in batches (one transaction each, multi-row statements) of
//   at most `batch` events; it waits up to flush_ms for a batch to fill. A
//   request flushes the writes before it and is then answered, so a read sees
//   every write submitted before it.
// - Errors are sorted (mysql_client.hpp): a lost connection, a transient
//   refusal (table or disk full, out of memory, read-only, lock wait timeout,
//   deadlock, statement timeout, and anything not known to be permanent), or
//   a permanent one (a constraint or data error of one row). For the first
//   two the batch is kept whole, the storage is unavailable, and the thread
//   retries with backoff: 100 ms doubling to 30 s, +-10 % jitter, reset only
//   when a write or a read succeeds (so a batch that kills the connection
//   each time is not retried every 100 ms); connecting to a server that is
//   not there is retried at least every 5 s.
// - A batch refused permanently is written event by event; an event the
//   database still refuses for good goes to the dead-letter file
//   (<journal>.dead, journal.hpp) with the error text, logged once with the
//   file name. Nothing is skipped silently; if the dead-letter file cannot be
//   written either, the event stays and is retried like a transient error.
// - While unavailable, requests are answered at once with ok = false and
//   events wait in memory, in order. They go to the journal (append-only,
//   fsync'd once per spill) when queue_max of them wait, or after a second
//   (so a crash loses nothing older than that).
// - Order is journal, then events in memory, then the queue. Nothing newer is
//   written while an older journal is pending: when the journal cannot be
//   read or emptied, newer events wait (in memory, or appended to the journal
//   behind the old ones) and the whole is retried later. Messages and
//   sessions have unique ids and are written with upserts, and status /
//   last_seen are last-value updates, so writing a batch twice (a lost COMMIT
//   answer, a crash during replay) changes nothing.
// - Memory bound: when the journal cannot be written, at most queue_max
//   events wait in memory. Past that write() refuses a MessageEvent (returns
//   false: the core answers ERROR unavailable and delivers it to nobody);
//   requests fail as during any outage. Presence is still taken but bounded:
//   statuses are merged per user (last value wins), session records are kept
//   up to a tenth of queue_max more (at least 16) and then let go; what was
//   let go is counted and logged once per outage. The journal is retried
//   after 1 s doubling to 30 s, not on every wake-up.
// - The connection is pinged before use after 30 s idle (a server's
//   wait_timeout closes idle connections); a request that meets a lost
//   connection reconnects once and is retried before it fails.
// - start() fails only for a bad URL, a server that refuses us (credentials,
//   no such database) or a schema version this chatd does not know. A server
//   that cannot be reached is no error: start() returns with `info` empty and
//   the thread connects in the background, then checks the schema, replays
//   the journal, loads the recent history and ids and delivers them as a
//   LoadedReply. A schema version found unknown then is logged every minute
//   and storage stays unavailable.
// - stop() writes everything accepted; if the database does not take it
//   within a few seconds, what is left goes to the journal, which the next
//   start replays before it loads anything.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "server/mysql_sql.hpp"
#include "server/mysql_url.hpp"
#include "server/storage.hpp"
#include "server/storage_pipeline.hpp"

namespace chat::server {

struct MysqlOptions {
    std::string url;           // mysql://user@host:port/dbname or mysql://user@localhost/dbname?socket=/path
    std::string password;      // empty: the MySQL option files ([client] group), else none
    std::string journal_path;  // empty: kDefaultJournalPath; the dead-letter file is <journal_path>.dead
    int flush_ms = 5;          // longest wait for a batch to fill
    std::size_t batch = 500;   // most events per transaction; 1 = one INSERT per event
    std::size_t queue_max = 100000;  // most events in memory when the journal cannot take them
    // A single server (no --cluster): the database is its alone. Its storage connection holds
    // a named lock, and a second single chatd on the same database is refused (start-up
    // fails; after a reconnect, storage stays unavailable and says why). A cluster node
    // (false) refuses a database whose lock a single server holds.
    bool exclusive = false;
};

// Relative to the working directory of chatd.
inline constexpr const char* kDefaultJournalPath = "var/chatd.journal";

// Never fails; start() reports a bad URL or a database that refuses us.
std::unique_ptr<Storage> make_mysql_storage(MysqlOptions options);

class MysqlClient;
// Creates the schema in an empty database, migrates a version-1 one in place,
// and refuses a version this chatd does not know. Blocking: for start-up and
// `chatd account`.
DbOutcome prepare_mysql_schema(MysqlClient& client);

// The same thread and queue over any database and journal (tests use fakes;
// they are called from the storage thread only). options.url is not used.
std::unique_ptr<Storage> make_pipeline_storage(std::unique_ptr<StorageDatabase> db,
                                               std::unique_ptr<StorageJournal> journal, MysqlOptions options);

}  // namespace chat::server
