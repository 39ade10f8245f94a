#include "server/mysql_storage.hpp"

#include <pthread.h>
#include <sys/stat.h>

#include <csignal>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "server/journal.hpp"
#include "server/log.hpp"
#include "server/mysql_client.hpp"

namespace chat::server {

namespace {

using Clock = StoragePipeline::Clock;
using Row = MysqlClient::Row;

constexpr auto kStopWait = std::chrono::seconds(3);  // stop(): how long to wait for a lost database
constexpr unsigned kNoSuchTable = 1146;             // ER_NO_SUCH_TABLE
constexpr unsigned kDupEntry = 1062;                // ER_DUP_ENTRY
constexpr unsigned kDupFieldName = 1060;            // ER_DUP_FIELDNAME
constexpr unsigned kUserColumnCount = 8;            // mysql_sql's user SELECTs

std::int64_t to_i64(const std::string& s) {
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

UserRecord user_from_row(const Row& r) {
    UserRecord u;
    u.id = to_i64(r[0]);
    u.nick = r[1];
    u.created = to_i64(r[2]);
    u.last_login = to_i64(r[3]);
    u.last_seen = to_i64(r[4]);
    u.status = r[5];
    u.password_hash = r[6];
    u.password_set = to_i64(r[7]);
    return u;
}

StoredMessage message_from_row(const Row& r) {
    StoredMessage m;
    m.id = to_i64(r[0]);
    m.time = to_i64(r[1]);
    m.from = r[2];
    m.to = r[3];
    m.body = r[4];
    return m;
}

// ---------------------------------------------------------------- the database

class MysqlDatabase final : public StorageDatabase {
public:
    MysqlDatabase(MysqlUrl url, std::string password, bool exclusive)
        : url_(std::move(url)), password_(std::move(password)), exclusive_(exclusive) {}

    DbOutcome connect() override {
        DbOutcome r = c_.connect(url_, password_);
        if (!r.ok()) return r;
        return exclusive_ ? take_database_lock() : check_no_single_server();
    }
    void disconnect() override { c_.close(); }
    DbOutcome ping() override { return c_.ping(); }
    std::string describe() const override { return mysql_url_text(url_); }

    DbOutcome prepare_schema() override { return prepare_mysql_schema(c_); }

    DbOutcome load(int recent_public, StartupInfo& info) override {
        std::vector<Row> rows;
        if (DbOutcome r = c_.query(mysql_sql::recent_public_select(recent_public), 5, rows); !r.ok()) return r;
        info.recent_public.clear();
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) info.recent_public.push_back(message_from_row(*it));
        if (DbOutcome r = c_.query("SELECT COALESCE(MAX(id), 0) FROM messages", 1, rows); !r.ok()) return r;
        info.max_message_id = rows.empty() ? 0 : to_i64(rows[0][0]);
        if (DbOutcome r = c_.query("SELECT COALESCE(MAX(id), 0) FROM sessions", 1, rows); !r.ok()) return r;
        info.max_session_id = rows.empty() ? 0 : to_i64(rows[0][0]);
        return {};
    }

    DbOutcome write_batch(std::span<const StorageEvent> events) override {
        if (DbOutcome r = c_.exec("START TRANSACTION"); !r.ok()) return r;
        for (const auto& sql : mysql_sql::batch_statements(events)) {
            if (DbOutcome r = c_.exec(sql); !r.ok()) {
                if (r.status != DbStatus::connection_lost) c_.exec("ROLLBACK");
                return r;
            }
        }
        return c_.exec("COMMIT");
    }

    DbOutcome answer(const StorageRequest& req, StorageReply& reply) override {
        std::vector<Row> rows;
        if (const auto* l = std::get_if<LoginRequest>(&req)) return login(*l, reply);
        if (const auto* sp = std::get_if<SetPasswordRequest>(&req)) {
            if (DbOutcome r = c_.exec(mysql_sql::password_update(*sp)); !r.ok()) return r;
            reply = SetPasswordReply{sp->token, true, c_.affected_rows() == 1};
            return {};
        }
        if (const auto* p = std::get_if<ProfileRequest>(&req)) {
            if (DbOutcome r = c_.query(mysql_sql::profile_select(p->key), kUserColumnCount, rows); !r.ok())
                return r;
            ProfileReply pr{p->token, true, !rows.empty(), {}};
            if (pr.found) pr.user = user_from_row(rows[0]);
            reply = std::move(pr);
            return {};
        }
        const auto& h = std::get<HistoryRequest>(req);
        if (DbOutcome r = c_.query(mysql_sql::history_select(h.user, h.limit), 5, rows); !r.ok()) return r;
        HistoryReply hr{h.token, true, {}};
        hr.messages.reserve(rows.size());
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) hr.messages.push_back(message_from_row(*it));
        reply = std::move(hr);
        return {};
    }

private:
    // Ids come from the clock (ChatCore::next_id) and the users' sessions from one server's
    // view of who is online: two single servers on one database would both be wrong, so the
    // second is refused. The lock lives as long as this connection, and its name is the
    // database's (MD5: lock names are at most 64 characters). The 2 s wait (on the storage
    // thread) lets the database see a killed chatd's connection close before its successor
    // asks.
    static constexpr const char* kLockName = "CONCAT('chatd:', MD5(DATABASE()))";

    DbOutcome take_database_lock() {
        std::vector<Row> rows;
        const std::string name = kLockName;
        DbOutcome r = c_.query("SELECT GET_LOCK(" + name + ", 2), IS_USED_LOCK(" + name + ")", 2, rows);
        if (!r.ok()) return r;
        if (!rows.empty() && rows[0][0] == "1") return {};
        c_.close();
        const std::string holder = rows.empty() || rows[0][1].empty() ? "?" : rows[0][1];
        return {DbStatus::permanent,
                "another chatd uses this database: its connection " + holder +
                    " holds the lock of a single server (several servers on one database run as a cluster, "
                    "--cluster; if no other chatd runs, that connection is a dead one the database has not "
                    "noticed yet, and KILL " + holder + " in the database ends it)"};
    }

    // A cluster node (no lock of its own: its nodes share the database) on a database that a
    // single server holds: the same clash the other way round.
    DbOutcome check_no_single_server() {
        std::vector<Row> rows;
        DbOutcome r = c_.query(std::string("SELECT IS_USED_LOCK(") + kLockName + ")", 1, rows);
        if (!r.ok() || rows.empty() || rows[0][0].empty()) return r;
        c_.close();
        return {DbStatus::permanent,
                "a single chatd (no --cluster) uses this database: its connection " + rows[0][0] +
                    " holds the lock of a single server; stop it, or run it as a node of the cluster too"};
    }

    // LoginRequest's rules (storage.hpp). Two logins creating one user at once:
    // the unique key lets one insert win, the other reads the winner's row.
    DbOutcome login(const LoginRequest& l, StorageReply& reply) {
        std::vector<Row> rows;
        DbOutcome r;
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (r = c_.query(mysql_sql::login_select(l.key), kUserColumnCount, rows); !r.ok()) return r;
            UserRecord u;
            if (!rows.empty()) u = user_from_row(rows[0]);
            LoginReply out{l.token, true, {}, login_outcome(rows.empty() ? nullptr : &u, l)};
            if (out.outcome == LoginOutcome::NotAnAccount) {
                reply = std::move(out);
                return {};
            }
            if (out.outcome == LoginOutcome::NeedsPassword) {
                out.user = std::move(u);
                reply = std::move(out);
                return {};
            }
            if (!rows.empty()) {
                if (r = c_.exec(mysql_sql::login_update(u.id, l.time)); !r.ok()) return r;
                u.last_login = l.time;
                u.status = "disponible";
                out.user = std::move(u);
                reply = std::move(out);
                return {};
            }
            if (r = c_.exec(mysql_sql::login_insert(l)); r.ok()) {
                u.id = static_cast<UserId>(c_.insert_id());
                u.nick = l.nick;
                u.created = l.time;
                u.last_login = l.time;
                u.status = "disponible";
                out.user = std::move(u);
                reply = std::move(out);
                return {};
            }
            if (c_.last_errno() != kDupEntry) return r;
            // Created by someone else in between: look it up again.
        }
        return r;
    }


    MysqlUrl url_;
    std::string password_;
    bool exclusive_ = false;
    MysqlClient c_;
};

// ---------------------------------------------------------------- the journal files

class FileJournal final : public StorageJournal {
public:
    explicit FileJournal(std::string path) : journal_(path), dead_(path + ".dead") {}

    bool append(std::span<const StorageEvent> events, std::string& error) override {
        return journal_.append(events, error);
    }
    bool has_data() override { return journal_.has_data(); }
    bool read_all(JournalDecoded& out, std::string& error) override { return journal_.read_all(out, error); }
    bool clear(std::string& error) override { return journal_.clear(error); }
    bool dead_letter(const StorageEvent& ev, std::string_view db_error, std::string& error) override {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        return dead_.append_dead_letter(ev, db_error, now, error);
    }
    std::string path() const override { return journal_.path(); }
    std::string dead_letter_path() const override { return dead_.path(); }

private:
    Journal journal_;
    Journal dead_;
};

// ---------------------------------------------------------------- metrics

// What the storage thread measures for /metrics: histograms are lock-free, the rest atomics.
struct StorageMeters {
    Histogram batch_events{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    Histogram commit_seconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    std::atomic<std::uint64_t> journal_bytes{0};
};

// The database as the pipeline sees it, with each transaction timed.
class TimedDatabase final : public StorageDatabase {
public:
    TimedDatabase(StorageDatabase& db, StorageMeters& m) : db_(db), m_(m) {}
    DbOutcome connect() override { return db_.connect(); }
    void disconnect() override { db_.disconnect(); }
    DbOutcome ping() override { return db_.ping(); }
    DbOutcome prepare_schema() override { return db_.prepare_schema(); }
    DbOutcome load(int recent_public, StartupInfo& info) override { return db_.load(recent_public, info); }
    DbOutcome write_batch(std::span<const StorageEvent> events) override {
        const auto t0 = Clock::now();
        DbOutcome r = db_.write_batch(events);
        m_.commit_seconds.observe(std::chrono::duration<double>(Clock::now() - t0).count());
        m_.batch_events.observe(static_cast<double>(events.size()));
        return r;
    }
    DbOutcome answer(const StorageRequest& req, StorageReply& reply) override { return db_.answer(req, reply); }
    std::string describe() const override { return db_.describe(); }

private:
    StorageDatabase& db_;
    StorageMeters& m_;
};

// The journal, with its file size noted after each change (on the storage thread, which may
// touch the disk; a scrape on the reactor reads the number only).
class MeteredJournal final : public StorageJournal {
public:
    MeteredJournal(StorageJournal& j, StorageMeters& m) : j_(j), m_(m) { note(); }
    bool append(std::span<const StorageEvent> events, std::string& error) override {
        bool ok = j_.append(events, error);
        note();
        return ok;
    }
    bool has_data() override { return j_.has_data(); }
    bool read_all(JournalDecoded& out, std::string& error) override { return j_.read_all(out, error); }
    bool clear(std::string& error) override {
        bool ok = j_.clear(error);
        note();
        return ok;
    }
    bool dead_letter(const StorageEvent& ev, std::string_view db_error, std::string& error) override {
        return j_.dead_letter(ev, db_error, error);
    }
    std::string path() const override { return j_.path(); }
    std::string dead_letter_path() const override { return j_.dead_letter_path(); }

private:
    void note() {
        struct stat st{};
        m_.journal_bytes.store(::stat(j_.path().c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0,
                               std::memory_order_relaxed);
    }
    StorageJournal& j_;
    StorageMeters& m_;
};

// ---------------------------------------------------------------- the thread

class PipelineStorage final : public Storage {
public:
    PipelineStorage(std::unique_ptr<StorageDatabase> db, std::unique_ptr<StorageJournal> journal, MysqlOptions opt,
                    std::string url_error, std::string describe)
        : opt_(std::move(opt)),
          url_error_(std::move(url_error)),
          describe_(std::move(describe)),
          db_(std::move(db)),
          journal_(std::move(journal)),
          timed_db_(*db_, meters_),
          metered_journal_(*journal_, meters_),
          pipeline_(PipelineOptions{opt_.batch, opt_.queue_max,
                                    static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())},
                    timed_db_, metered_journal_, [this](StorageReply r) { reply(std::move(r)); },
                    [](LogLevel level, const std::string& text) { CHATD_LOG(level, "%s", text.c_str()); }) {
        if (opt_.batch == 0) opt_.batch = 1;
        if (opt_.queue_max == 0) opt_.queue_max = 1;
        if (opt_.flush_ms < 0) opt_.flush_ms = 0;
    }
    ~PipelineStorage() override { stop(); }

    std::string start(int recent_public, StartupInfo& info) override {
        if (!url_error_.empty()) return "bad database URL " + opt_.url + ": " + url_error_;
        std::string err = pipeline_.start(recent_public, info, Clock::now());
        if (!err.empty()) return err;
        bool loaded = pipeline_.loaded();  // read before the thread owns the pipeline
        publish();
        // The thread starts with every signal blocked: chatd takes SIGTERM and
        // SIGINT through a signalfd, which only works if no thread lets the
        // kernel deliver them the default way (killing the process).
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        try {
            thread_ = std::thread([this] { run(); });
        } catch (const std::exception& e) {
            pthread_sigmask(SIG_SETMASK, &old, nullptr);
            return std::string("cannot start the storage thread: ") + e.what();
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        LOG_INFO("storage: %s, schema version %d, journal %s, batch %zu, flush %d ms, memory bound %zu events%s",
                 describe().c_str(), mysql_sql::kSchemaVersion, journal_->path().c_str(), opt_.batch, opt_.flush_ms,
                 opt_.queue_max, loaded ? "" : " (not connected yet)");
        return {};
    }

    void submit(StorageRequest req) override { push(StorageItem(std::move(req)), true); }

    bool write(StorageEvent ev) override {
        if (std::holds_alternative<MessageEvent>(ev)) {
            std::lock_guard lk(mu_);
            // Bounded memory: past queue_max waiting events, a message is refused unless the
            // journal is there to take the backlog of a database that is away. A database that
            // is up but slower than the traffic is the same case: nothing waits without bound.
            const std::size_t waiting = pub_.in_memory + queued_events_;
            if (waiting >= opt_.queue_max && (pub_.writing || !pub_.journal_ok)) {
                if (!refusing_) {
                    refusing_ = true;
                    LOG_WARN("storage: %zu events wait in memory (%s); refusing messages until fewer do", waiting,
                             pub_.writing ? "the database is slower than the traffic"
                                          : "neither the database nor the journal takes them");
                }
                return false;
            }
        }
        push(StorageItem(std::move(ev)), false);
        return true;
    }

    std::vector<StorageReply> take_replies() override {
        std::vector<StorageReply> out;
        std::lock_guard lk(reply_mu_);
        out.swap(replies_);
        return out;
    }

    void set_notify(std::function<void()> notify) override { notify_ = std::move(notify); }

    void stop() override {
        if (!thread_.joinable()) return;
        {
            std::lock_guard lk(mu_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

    std::string describe() const override { return describe_; }
    bool shared() const override { return true; }

    StorageStats stats() const override {
        StorageStats st;
        st.database = true;
        {
            std::lock_guard lk(mu_);
            st.waiting = pub_.in_memory + queued_events_;
        }
        st.database_up = up_.load(std::memory_order_relaxed);
        st.journal_pending = journal_pending_.load(std::memory_order_relaxed);
        st.journal_bytes = meters_.journal_bytes.load(std::memory_order_relaxed);
        st.batch_events = meters_.batch_events.snapshot();
        st.commit_seconds = meters_.commit_seconds.snapshot();
        return st;
    }

private:
    // ---- reactor side

    void push(StorageItem item, bool is_read) {
        bool wake;
        {
            std::lock_guard lk(mu_);
            wake = queue_.empty() || is_read || queue_.size() + 1 == opt_.batch;
            queue_.push_back(std::move(item));
            if (is_read)
                ++reads_waiting_;
            else
                ++queued_events_;
        }
        if (wake) cv_.notify_one();
    }

    void reply(StorageReply r) {
        {
            std::lock_guard lk(reply_mu_);
            replies_.push_back(std::move(r));
        }
        if (notify_) notify_();
    }

    // ---- storage thread

    // Takes the queue; counts its events as held until run() says otherwise.
    bool take(std::deque<StorageItem>& work) {
        work.swap(queue_);
        reads_waiting_ = 0;
        pub_.in_memory += queued_events_;
        queued_events_ = 0;
        return stopping_;
    }

    void publish() {
        up_.store(pipeline_.connected() && pipeline_.loaded(), std::memory_order_relaxed);
        journal_pending_.store(pipeline_.journal_pending(), std::memory_order_relaxed);
        PipelineState s = pipeline_.state();
        std::lock_guard lk(mu_);
        pub_ = s;
        if (pub_.in_memory < opt_.queue_max / 2 || (pub_.journal_ok && !pub_.writing)) refusing_ = false;
    }

    void run() {
        for (;;) {
            std::deque<StorageItem> work;
            bool stopping;
            auto wake = pipeline_.wake_at();
            {
                std::unique_lock lk(mu_);
                auto has_work = [this] { return stopping_ || !queue_.empty(); };
                if (wake == Clock::time_point::max())
                    cv_.wait(lk, has_work);
                else
                    cv_.wait_until(lk, wake, has_work);
                // Let a batch fill, unless someone waits for an answer.
                if (pub_.writing && !stopping_ && !queue_.empty() && reads_waiting_ == 0 &&
                    queue_.size() < opt_.batch && opt_.flush_ms > 0) {
                    cv_.wait_for(lk, std::chrono::milliseconds(opt_.flush_ms), [this] {
                        return stopping_ || reads_waiting_ > 0 || queue_.size() >= opt_.batch;
                    });
                }
                stopping = take(work);
            }
            pipeline_.run(work, Clock::now());
            publish();
            if (stopping) break;
        }
        finish();
    }

    void finish() {
        auto deadline = Clock::now() + kStopWait;
        std::deque<StorageItem> work;
        for (;;) {
            {
                std::lock_guard lk(mu_);
                take(work);
            }
            if (work.empty() && (pipeline_.drained() || Clock::now() >= deadline)) break;
            if (work.empty()) std::this_thread::sleep_until(std::min(pipeline_.wake_at(), deadline));
            pipeline_.run(work, Clock::now());
            publish();
        }
        pipeline_.shutdown(Clock::now());
        publish();
    }

    MysqlOptions opt_;
    std::string url_error_;
    std::string describe_;
    std::function<void()> notify_;
    std::unique_ptr<StorageDatabase> db_;
    std::unique_ptr<StorageJournal> journal_;

    StorageMeters meters_;
    TimedDatabase timed_db_;
    MeteredJournal metered_journal_;
    std::atomic<bool> up_{false};
    std::atomic<bool> journal_pending_{false};

    // Shared with the reactor.
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<StorageItem> queue_;
    std::size_t reads_waiting_ = 0;
    std::size_t queued_events_ = 0;
    PipelineState pub_;  // the storage thread's state, as of its last pass
    bool refusing_ = false;
    bool stopping_ = false;
    std::mutex reply_mu_;
    std::vector<StorageReply> replies_;

    // Storage thread only (and start(), before the thread exists).
    StoragePipeline pipeline_;
    std::thread thread_;
};

DbOutcome schema_error(DbOutcome r, const char* prefix) {
    r.error = prefix + r.error;
    return r;
}

}  // namespace

DbOutcome prepare_mysql_schema(MysqlClient& db) {
    std::vector<Row> rows;
    static constexpr const char* kVersion = "SELECT version FROM schema_version WHERE id = 1";
    DbOutcome r = db.query(kVersion, 1, rows);
    if (!r.ok()) {
        if (db.last_errno() != kNoSuchTable) return schema_error(r, "cannot read the schema version: ");
        LOG_INFO("storage: empty database, creating the schema");
        for (const auto& sql : mysql_sql::split_script(mysql_sql::schema_text()))
            if (r = db.exec(sql); !r.ok()) return schema_error(r, "cannot create the schema: ");
        if (r = db.query(kVersion, 1, rows); !r.ok()) return schema_error(r, "cannot read the schema version: ");
    }
    if (rows.empty()) return DbOutcome{DbStatus::permanent, "the schema_version table has no row"};
    auto v = to_i64(rows[0][0]);
    if (v == 1) {
        LOG_WARN("storage: the database has schema version 1; migrating it to version 2 (accounts)");
        for (const auto& sql : mysql_sql::migration_v1_to_v2()) {
            r = db.exec(sql);
            if (!r.ok() && db.last_errno() != kDupFieldName)
                return schema_error(r, "cannot migrate the schema to version 2: ");
        }
        if (r = db.query(kVersion, 1, rows); !r.ok()) return schema_error(r, "cannot read the schema version: ");
        v = rows.empty() ? 0 : to_i64(rows[0][0]);
        LOG_INFO("storage: schema migrated to version %lld", static_cast<long long>(v));
    }
    if (v != mysql_sql::kSchemaVersion)
        return DbOutcome{DbStatus::permanent, "the database has schema version " + std::to_string(v) +
                                                  ", this chatd knows version " +
                                                  std::to_string(mysql_sql::kSchemaVersion)};
    return {};
}

std::unique_ptr<Storage> make_mysql_storage(MysqlOptions options) {
    MysqlUrl url;
    std::string url_error;
    bool ok = parse_mysql_url(options.url, url, url_error);
    std::string describe = ok ? mysql_url_text(url) : options.url;
    std::string path = options.journal_path.empty() ? kDefaultJournalPath : options.journal_path;
    auto db = std::make_unique<MysqlDatabase>(std::move(url), options.password, options.exclusive);
    auto journal = std::make_unique<FileJournal>(path);
    if (ok) url_error.clear();
    return std::make_unique<PipelineStorage>(std::move(db), std::move(journal), std::move(options),
                                             std::move(url_error), std::move(describe));
}

std::unique_ptr<Storage> make_pipeline_storage(std::unique_ptr<StorageDatabase> db,
                                               std::unique_ptr<StorageJournal> journal, MysqlOptions options) {
    std::string describe = db->describe();
    return std::make_unique<PipelineStorage>(std::move(db), std::move(journal), std::move(options), std::string(),
                                             std::move(describe));
}

}  // namespace chat::server
