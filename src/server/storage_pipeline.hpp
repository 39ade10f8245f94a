// The storage state machine: what happens to requests and events between the
// reactor's queue and the database, free of I/O. It talks to a database, a
// journal and a log only through the interfaces below and is told the time,
// so unit tests drive every failure order with fakes in microseconds. The
// storage thread (mysql_storage.cpp) owns one and feeds it.
//
// The policy it implements is described at the top of mysql_storage.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "server/journal.hpp"
#include "server/log.hpp"
#include "server/storage.hpp"

namespace chat::server {

// How a database call ended.
enum class DbStatus {
    ok,
    transient,        // the server refuses for now (full, read-only, timeout, lock): keep it, retry later
    connection_lost,  // the connection is gone or the server cannot be reached
    permanent,        // this very statement can never succeed (a constraint or data error)
};
const char* db_status_name(DbStatus s);

struct DbOutcome {
    DbStatus status = DbStatus::ok;
    std::string error;  // "1114 The table 'messages' is full"
    bool ok() const { return status == DbStatus::ok; }
    static DbOutcome good() { return {}; }
};

// The database as the state machine sees it. Only the storage thread calls it.
class StorageDatabase {
public:
    virtual ~StorageDatabase() = default;
    // Opens a new connection (closing an old one). connection_lost: not
    // reachable; permanent: reachable but refuses us (credentials, no such database).
    virtual DbOutcome connect() = 0;
    virtual void disconnect() = 0;
    // Checks the connection (after idle).
    virtual DbOutcome ping() = 0;
    // Checks the schema version, creating the schema in an empty database.
    // permanent: a version this chatd does not know.
    virtual DbOutcome prepare_schema() = 0;
    virtual DbOutcome load(int recent_public, StartupInfo& info) = 0;
    // Writes the events in one transaction (all or nothing).
    virtual DbOutcome write_batch(std::span<const StorageEvent> events) = 0;
    // Answers a request; `reply` is set when the outcome is ok.
    virtual DbOutcome answer(const StorageRequest& req, StorageReply& reply) = 0;
    // For logs: mysql://user@host:port/db.
    virtual std::string describe() const = 0;
};

// The journal (events waiting for the database, in order) and the
// dead-letter file (events the database will never take). See journal.hpp.
class StorageJournal {
public:
    virtual ~StorageJournal() = default;
    virtual bool append(std::span<const StorageEvent> events, std::string& error) = 0;
    virtual bool has_data() = 0;
    virtual bool read_all(JournalDecoded& out, std::string& error) = 0;
    virtual bool clear(std::string& error) = 0;
    virtual bool dead_letter(const StorageEvent& ev, std::string_view db_error, std::string& error) = 0;
    virtual std::string path() const = 0;
    virtual std::string dead_letter_path() const = 0;
};

using StorageItem = std::variant<StorageRequest, StorageEvent>;
using LogSink = std::function<void(LogLevel, const std::string&)>;
using ReplySink = std::function<void(StorageReply)>;

struct PipelineOptions {
    std::size_t batch = 500;         // most events per transaction
    std::size_t queue_max = 100000;  // most events waiting in memory when the journal cannot take them
    std::uint64_t seed = 1;          // for the jitter of the backoff
};

// What the reactor side needs to decide without waiting (see Storage::write).
struct PipelineState {
    bool writing = false;         // connected, loaded, nothing waiting: events go straight to the database
    bool journal_ok = true;       // the last journal append worked (or none was needed)
    std::size_t in_memory = 0;    // events held in memory
};

class StoragePipeline {
public:
    using Clock = std::chrono::steady_clock;
    using Time = Clock::time_point;
    using Duration = Clock::duration;

    static constexpr Duration kBackoffFirst = std::chrono::milliseconds(100);
    static constexpr Duration kBackoffMax = std::chrono::seconds(30);        // a batch keeps failing
    static constexpr Duration kConnectBackoffMax = std::chrono::seconds(5);  // the server cannot be reached
    static constexpr Duration kSpillAfter = std::chrono::seconds(1);         // held this long: to the journal
    static constexpr Duration kJournalRetryFirst = std::chrono::seconds(1);
    static constexpr Duration kIdlePing = std::chrono::seconds(30);
    static constexpr Duration kIdleRetry = std::chrono::seconds(1);  // a write after this much idle may reconnect once
    static constexpr Duration kSchemaRetry = std::chrono::seconds(60);
    static constexpr Duration kStillDownLog = std::chrono::seconds(30);

    StoragePipeline(PipelineOptions opt, StorageDatabase& db, StorageJournal& journal, ReplySink reply, LogSink log);

    // At start, before any run(): connects, checks the schema, replays the
    // journal and loads `info`. Returns an error only when chatd cannot run:
    // the database refuses us or has a schema version this chatd does not
    // know. An unreachable database is no error: `info` is left empty and
    // run() gets there later, delivering a LoadedReply.
    std::string start(int recent_public, StartupInfo& info, Time now);

    // Takes the work (requests and events in submission order) and does what
    // can be done now: connects when due, replays the journal, writes what
    // waits, writes or holds the events, answers or fails the requests,
    // spills held events to the journal.
    void run(std::deque<StorageItem>& work, Time now);
    // When run() wants to be called again even without new work.
    Time wake_at() const;

    // Nothing waits: not in memory, not in the journal.
    bool drained() const { return memory_size() == 0 && !journal_pending_; }
    // At stop, after the last run(): whatever is still in memory goes to the journal.
    void shutdown(Time now);

    PipelineState state() const;

    // For tests and logs.
    bool connected() const { return connected_; }
    bool loaded() const { return loaded_; }
    bool journal_pending() const { return journal_pending_; }
    std::size_t memory_size() const { return backlog_.size() + late_status_.size(); }
    Time next_attempt() const { return next_attempt_; }
    struct Dropped {
        std::size_t sessions = 0;  // session events let go past the memory bound
        std::size_t statuses = 0;  // status changes replaced by a later one past the bound
        std::size_t messages_over = 0;  // messages kept past the bound (taken before the reactor knew)
    };
    Dropped dropped() const { return dropped_; }

private:
    enum class Write { done, blocked };

    void log(LogLevel level, std::string text) const;
    Duration jittered(Duration d);
    void fail_later(Time now, Duration cap);
    void progress() { backoff_ = kBackoffFirst; }
    void outage_begins(Time now, const std::string& why);
    void outage_ends(Time now);
    void connection_lost(const DbOutcome& r, Time now);
    void transient(const DbOutcome& r, Time now, const char* what);

    bool try_connect(Time now);
    bool bring_up(Time now, StartupInfo* direct);  // schema, journal, load (into *direct, else a LoadedReply)
    bool fresh(Time now);     // connected, pinged after idle
    bool replay_journal(Time now);
    Write write_events(std::vector<StorageEvent>& events, Time now);
    Write write_held(Time now);
    bool clear_to_write(Time now) const;
    void hold(StorageEvent ev, Time now);
    void answer(const StorageRequest& req, Time now);
    void fail(const StorageRequest& req);
    void maybe_spill(Time now, bool force);
    void remind(Time now);

    PipelineOptions opt_;
    StorageDatabase& db_;
    StorageJournal& journal_;
    ReplySink reply_;
    LogSink log_;
    std::uint64_t rng_;

    bool connected_ = false;
    bool schema_ok_ = false;
    bool schema_bad_ = false;
    std::string schema_error_;
    bool loaded_ = false;
    int recent_public_ = 0;
    Time last_use_{};
    Time next_attempt_{};
    Duration backoff_ = kBackoffFirst;

    // The outage (anything that keeps events from the database), for logs.
    bool outage_ = false;
    Time outage_since_{};
    Time last_remind_{};
    bool transient_logged_ = false;

    bool journal_pending_ = false;  // the journal holds events older than anything in memory
    std::size_t journal_done_ = 0;  // of them, written already in this run (the file is not cleared yet)
    bool journal_ok_ = true;
    bool journal_error_logged_ = false;
    Time journal_retry_at_{};
    Duration journal_backoff_ = kJournalRetryFirst;

    std::deque<StorageEvent> backlog_;           // held events, in order, newer than the journal
    std::map<UserId, std::string> late_status_;  // past the bound: last status per user, after backlog_
    Time held_since_{};
    std::size_t sessions_over_ = 0;  // session events held past the bound
    Dropped dropped_;
    bool bound_logged_ = false;
};

}  // namespace chat::server
