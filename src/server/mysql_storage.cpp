#include "server/mysql_storage.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>

#include <csignal>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "server/journal.hpp"
#include "server/log.hpp"

namespace chat::server {

extern const char* const kChatdSchemaSql;  // generated from schema.sql at build time

// ---------------------------------------------------------------- URL

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return false;
        int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return true;
}

}  // namespace

bool parse_mysql_url(std::string_view text, MysqlUrl& out, std::string& error) {
    MysqlUrl u;
    constexpr std::string_view scheme = "mysql://";
    if (text.substr(0, scheme.size()) != scheme) {
        error = "must begin with mysql://";
        return false;
    }
    std::string_view rest = text.substr(scheme.size());
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    auto at = rest.rfind('@');
    if (at == std::string_view::npos || at == 0) {
        error = "needs a user: mysql://user@host/dbname";
        return false;
    }
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = userinfo, pass;
    bool has_pass = false;
    if (auto c = userinfo.find(':'); c != std::string_view::npos) {
        user = userinfo.substr(0, c);
        pass = userinfo.substr(c + 1);
        has_pass = true;
    }
    if (!percent_decode(user, u.user) || u.user.empty() || (has_pass && !percent_decode(pass, u.password))) {
        error = "bad user or password";
        return false;
    }
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
        error = "needs a database: mysql://user@host/dbname";
        return false;
    }
    std::string_view hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (db.find('/') != std::string_view::npos) {
        error = "bad database name";
        return false;
    }
    u.database = std::string(db);
    std::string_view portpart;
    if (!hostport.empty() && hostport.front() == '[') {
        auto close = hostport.find(']');
        if (close == std::string_view::npos) {
            error = "unclosed [ in host";
            return false;
        }
        u.host = std::string(hostport.substr(1, close - 1));
        std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                error = "bad host";
                return false;
            }
            portpart = after.substr(1);
            if (portpart.empty()) {
                error = "empty port";
                return false;
            }
        }
    } else {
        auto colon = hostport.find(':');
        u.host = std::string(hostport.substr(0, colon));
        if (colon != std::string_view::npos) {
            portpart = hostport.substr(colon + 1);
            if (portpart.empty()) {
                error = "empty port";
                return false;
            }
        }
    }
    if (u.host.empty()) {
        error = "needs a host";
        return false;
    }
    if (!portpart.empty()) {
        unsigned port = 0;
        auto [p, ec] = std::from_chars(portpart.data(), portpart.data() + portpart.size(), port);
        if (ec != std::errc{} || p != portpart.data() + portpart.size() || port == 0 || port > 65535) {
            error = "bad port";
            return false;
        }
        u.port = port;
    }
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view kv = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto eq = kv.find('=');
        std::string_view key = kv.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
        if (key == "socket") {
            if (!percent_decode(value, u.socket) || u.socket.empty()) {
                error = "bad socket path";
                return false;
            }
        } else {
            error = "unknown option " + std::string(key);
            return false;
        }
    }
    out = std::move(u);
    return true;
}

std::string mysql_url_text(const MysqlUrl& url) {
    std::string s = "mysql://" + url.user + "@";
    if (url.host.find(':') != std::string::npos)
        s += "[" + url.host + "]";
    else
        s += url.host;
    if (url.socket.empty()) s += ":" + std::to_string(url.port);
    s += "/" + url.database;
    if (!url.socket.empty()) s += "?socket=" + url.socket;
    return s;
}

// ---------------------------------------------------------------- SQL

namespace mysql_sql {

std::string_view schema_text() { return kChatdSchemaSql; }

std::vector<std::string> split_script(std::string_view script) {
    std::vector<std::string> out;
    std::string cur;
    while (!script.empty()) {
        auto nl = script.find('\n');
        std::string_view line = script.substr(0, nl);
        script = nl == std::string_view::npos ? std::string_view{} : script.substr(nl + 1);
        std::string_view trimmed = line;
        while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
        while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t' || trimmed.back() == '\r'))
            trimmed.remove_suffix(1);
        if (trimmed.empty() || trimmed.substr(0, 2) == "--") continue;
        if (!cur.empty()) cur.push_back('\n');
        if (trimmed.back() == ';') {
            cur.append(line.substr(0, line.rfind(';')));
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.append(line);
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string quote(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string s;
    s.reserve(bytes.size() * 2 + 3);
    s += "X'";
    for (unsigned char c : bytes) {
        s.push_back(kHex[c >> 4]);
        s.push_back(kHex[c & 15]);
    }
    s += '\'';
    return s;
}

namespace {

std::string num(std::int64_t v) { return std::to_string(v); }

// Starts "PREFIX (" for the first row and ",(" for the others.
void row_start(std::string& sql, const char* prefix) {
    if (sql.empty())
        sql = prefix;
    else
        sql += ',';
    sql += '(';
}

}  // namespace

std::vector<std::string> batch_statements(std::span<const StorageEvent> events) {
    std::string messages, starts, ends;
    // Last value per user: applying only the last one equals applying all in order.
    std::map<UserId, const std::string*> statuses;
    std::map<UserId, UnixTime> last_seen;
    for (const auto& ev : events) {
        if (const auto* m = std::get_if<MessageEvent>(&ev)) {
            row_start(messages, "INSERT INTO messages (id, at, sender_id, recipient_id, body) VALUES ");
            messages += num(m->id) + ',' + num(m->time) + ',' + num(m->from) + ',' +
                        (m->to == 0 ? std::string("NULL") : num(m->to)) + ',' + quote(m->body) + ')';
        } else if (const auto* s = std::get_if<SessionStartEvent>(&ev)) {
            row_start(starts, "INSERT INTO sessions (id, user_id, login_at, address) VALUES ");
            starts += num(s->session) + ',' + num(s->user) + ',' + num(s->time) + ',' + quote(s->address) + ')';
        } else if (const auto* e = std::get_if<SessionEndEvent>(&ev)) {
            row_start(ends, "INSERT INTO sessions (id, user_id, login_at, logout_at, reason) VALUES ");
            ends += num(e->session) + ',' + num(e->user) + ',' + num(e->time) + ',' + num(e->time) + ',' +
                    quote(e->reason) + ')';
            last_seen[e->user] = e->time;
        } else if (const auto* st = std::get_if<StatusEvent>(&ev)) {
            statuses[st->user] = &st->status;
        }
    }
    std::vector<std::string> out;
    // `id = id` instead of INSERT IGNORE: a duplicate id is skipped, but any
    // other problem with a row stays an error instead of a silent warning.
    if (!messages.empty()) out.push_back(messages + " ON DUPLICATE KEY UPDATE id = id");
    if (!starts.empty()) out.push_back(starts + " ON DUPLICATE KEY UPDATE id = id");
    if (!ends.empty())
        out.push_back(ends + " ON DUPLICATE KEY UPDATE logout_at = VALUES(logout_at), reason = VALUES(reason)");
    auto case_update = [&out](const char* column, const auto& values, auto value_sql) {
        if (values.empty()) return;
        std::string sql = std::string("UPDATE users SET ") + column + " = CASE id";
        std::string ids;
        for (const auto& [user, value] : values) {
            sql += " WHEN " + num(user) + " THEN " + value_sql(value);
            if (!ids.empty()) ids += ',';
            ids += num(user);
        }
        sql += " ELSE " + std::string(column) + " END WHERE id IN (" + ids + ")";
        out.push_back(std::move(sql));
    };
    case_update("status", statuses, [](const std::string* s) { return quote(*s); });
    case_update("last_seen", last_seen, [](UnixTime t) { return num(t); });
    return out;
}

namespace {
constexpr const char* kUserColumns =
    "SELECT id, nick, created, COALESCE(last_login, 0), COALESCE(last_seen, 0), status FROM users ";
}

std::string login_select(std::string_view key) { return kUserColumns + ("WHERE nick_key = " + quote(key)); }

std::string login_insert(const LoginRequest& req) {
    return "INSERT INTO users (nick, nick_key, created, last_login, status) VALUES (" + quote(req.nick) + ',' +
           quote(req.key) + ',' + num(req.time) + ',' + num(req.time) + ",'disponible')";
}

std::string login_update(UserId id, UnixTime time) {
    return "UPDATE users SET last_login = " + num(time) + ", status = 'disponible' WHERE id = " + num(id);
}

std::string profile_select(std::string_view key) { return login_select(key); }

std::string history_select(UserId user, int limit) {
    std::string n = num(std::clamp(limit, 1, 1000));
    std::string u = num(user);
    // Each branch is a backwards range read of at most n index entries.
    return "SELECT m.id, m.at, COALESCE(s.nick, '?'), COALESCE(r.nick, ''), m.body FROM ("
           "(SELECT id FROM messages WHERE recipient_id IS NULL ORDER BY id DESC LIMIT " +
           n +
           ") UNION "
           "(SELECT id FROM messages WHERE recipient_id = " +
           u + " ORDER BY id DESC LIMIT " + n +
           ") UNION "
           "(SELECT id FROM messages WHERE sender_id = " +
           u + " ORDER BY id DESC LIMIT " + n +
           ")) t JOIN messages m ON m.id = t.id LEFT JOIN users s ON s.id = m.sender_id "
           "LEFT JOIN users r ON r.id = m.recipient_id ORDER BY m.id DESC LIMIT " +
           n;
}

std::string recent_public_select(int limit) {
    return "SELECT m.id, m.at, COALESCE(s.nick, '?'), '', m.body FROM messages m "
           "LEFT JOIN users s ON s.id = m.sender_id WHERE m.recipient_id IS NULL ORDER BY m.id DESC LIMIT " +
           num(std::clamp(limit, 0, 100000));
}

}  // namespace mysql_sql

// ---------------------------------------------------------------- storage

namespace {

using Clock = std::chrono::steady_clock;
using Item = std::variant<StorageRequest, StorageEvent>;
using Row = std::vector<std::string>;

constexpr auto kBackoffFirst = std::chrono::milliseconds(100);
constexpr auto kBackoffMax = std::chrono::seconds(5);
constexpr auto kSpillAfter = std::chrono::seconds(1);     // down this long: waiting events go to the journal
constexpr auto kStopWait = std::chrono::seconds(3);       // stop(): how long to wait for a lost database
constexpr auto kStillDownLog = std::chrono::seconds(30);  // reminder while the outage lasts

struct MysqlCloser {
    void operator()(MYSQL* m) const { mysql_close(m); }
};
using Conn = std::unique_ptr<MYSQL, MysqlCloser>;
struct ResultFree {
    void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

// Errors after which the connection (or the server) cannot be trusted: the
// batch is kept and retried whole on a new connection.
bool is_connection_error(unsigned err) {
    if (err >= 2000 && err < 3000) return true;  // CR_*: client side, network, protocol
    switch (err) {
        case ER_SERVER_SHUTDOWN:
        case ER_CON_COUNT_ERROR:
        case ER_ACCESS_DENIED_ERROR:
        case ER_LOCK_WAIT_TIMEOUT:
        case ER_LOCK_DEADLOCK:
        case ER_QUERY_INTERRUPTED:
        case ER_OPTION_PREVENTS_STATEMENT:  // read-only server: wait for it
        case 1927:                          // ER_CONNECTION_KILLED
        case 4031:                          // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
            return true;
        default:
            return false;
    }
}

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

class MysqlStorage final : public Storage {
public:
    explicit MysqlStorage(MysqlOptions opt)
        : opt_(std::move(opt)), journal_(opt_.journal_path.empty() ? kDefaultJournalPath : opt_.journal_path) {
        if (opt_.batch == 0) opt_.batch = 1;
        if (opt_.queue_max == 0) opt_.queue_max = 1;
        if (opt_.flush_ms < 0) opt_.flush_ms = 0;
        url_ok_ = parse_mysql_url(opt_.url, url_, url_error_);
    }
    ~MysqlStorage() override { stop(); }

    std::string start(int recent_public, StartupInfo& info) override {
        if (!url_ok_) return "bad database URL " + opt_.url + ": " + url_error_;
        std::string err;
        conn_ = connect(err);
        if (!conn_) return "cannot connect to " + describe() + ": " + err;
        up_ = true;
        if (err = ensure_schema(); !err.empty()) return err;
        if (journal_.has_data()) {
            journal_has_data_ = true;
            LOG_INFO("storage: replaying the journal %s", journal_.path().c_str());
            catch_up();
            if (!up_ || journal_has_data_) return "cannot replay the journal " + journal_.path() + ": " + last_error_;
        }
        std::vector<Row> rows;
        if (!query(mysql_sql::recent_public_select(recent_public), 5, rows))
            return "cannot load recent messages: " + last_error_;
        info.recent_public.clear();
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) info.recent_public.push_back(message_from_row(*it));
        if (!query("SELECT COALESCE(MAX(id), 0) FROM messages", 1, rows) || rows.empty())
            return "cannot read message ids: " + last_error_;
        info.max_message_id = to_i64(rows[0][0]);
        if (!query("SELECT COALESCE(MAX(id), 0) FROM sessions", 1, rows) || rows.empty())
            return "cannot read session ids: " + last_error_;
        info.max_session_id = to_i64(rows[0][0]);
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
        LOG_INFO("storage: %s, schema version %d, journal %s, batch %zu, flush %d ms", describe().c_str(),
                 mysql_sql::kSchemaVersion, journal_.path().c_str(), opt_.batch, opt_.flush_ms);
        return {};
    }

    void submit(StorageRequest req) override { push(Item(std::move(req)), true); }
    bool write(StorageEvent ev) override {
        push(Item(std::move(ev)), false);
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

    std::string describe() const override { return url_ok_ ? mysql_url_text(url_) : opt_.url; }

private:
    // ---- reactor side

    void push(Item item, bool is_read) {
        bool wake;
        {
            std::lock_guard lk(mu_);
            wake = queue_.empty() || is_read || queue_.size() + 1 == opt_.batch;
            queue_.push_back(std::move(item));
            if (is_read) ++reads_waiting_;
            if (queue_.size() > opt_.queue_max && !queue_warned_) {
                queue_warned_ = true;
                LOG_WARN("storage: more than %zu events wait for the storage thread; keeping them", opt_.queue_max);
            }
        }
        if (wake) cv_.notify_one();
    }

    // ---- storage thread

    void run() {
        for (;;) {
            std::deque<Item> work;
            bool stopping;
            {
                std::unique_lock lk(mu_);
                auto has_work = [this] { return stopping_ || !queue_.empty(); };
                if (up_)
                    cv_.wait(lk, has_work);
                else
                    cv_.wait_until(lk, down_deadline(), has_work);
                // Let a batch fill, unless someone waits for an answer.
                if (!stopping_ && !queue_.empty() && reads_waiting_ == 0 && queue_.size() < opt_.batch &&
                    opt_.flush_ms > 0) {
                    cv_.wait_for(lk, std::chrono::milliseconds(opt_.flush_ms), [this] {
                        return stopping_ || reads_waiting_ > 0 || queue_.size() >= opt_.batch;
                    });
                }
                work.swap(queue_);
                reads_waiting_ = 0;
                queue_warned_ = false;
                stopping = stopping_;
            }
            if (!up_ && Clock::now() >= next_attempt_) reconnect();
            if (up_) catch_up();
            if (up_)
                process_up(work);
            else
                process_down(work);
            if (!up_) {
                maybe_spill(false);
                remind_down();
            }
            if (stopping) break;
        }
        finish();
    }

    Clock::time_point down_deadline() const {
        auto t = next_attempt_;
        if (!backlog_.empty()) t = std::min(t, down_since_ + kSpillAfter);
        return t;
    }

    void finish() {
        auto deadline = Clock::now() + kStopWait;
        while (!up_ && (!backlog_.empty() || journal_has_data_) && Clock::now() < deadline) {
            std::this_thread::sleep_until(std::min(next_attempt_, deadline));
            reconnect();
        }
        if (up_) catch_up();
        std::deque<Item> none;
        if (up_) process_up(none);
        if (!up_) maybe_spill(true);
        if (!backlog_.empty())
            LOG_ERROR("storage: %zu events could be written neither to the database nor to the journal %s",
                      backlog_.size(), journal_.path().c_str());
        else if (journal_has_data_)
            LOG_WARN("storage: events wait in the journal %s; the next start writes them", journal_.path().c_str());
        conn_.reset();
    }

    // Writes the journal, then the events waiting in memory (both older than
    // anything in the queue). Leaves up_ false if the database fails.
    void catch_up() {
        if (journal_has_data_) {
            JournalDecoded d;
            std::string err;
            if (!journal_.read_all(d, err)) {
                LOG_ERROR("storage: %s", err.c_str());
                last_error_ = err;
                return;
            }
            if (d.damaged)
                LOG_WARN("storage: the journal %s ends in a damaged record; %zu events before it are kept",
                         journal_.path().c_str(), d.events.size());
            std::size_t total = d.events.size();
            for (std::size_t i = 0; i < total; i += opt_.batch) {
                std::size_t n = std::min(opt_.batch, total - i);
                std::vector<StorageEvent> chunk(std::make_move_iterator(d.events.begin() + i),
                                                std::make_move_iterator(d.events.begin() + i + n));
                if (!write_events(chunk)) return;  // the file stays; a replay is idempotent
            }
            if (!journal_.clear(err)) {
                LOG_ERROR("storage: %s", err.c_str());
                last_error_ = err;
                return;
            }
            journal_has_data_ = false;
            LOG_INFO("storage: %zu events from the journal written to the database", total);
        }
        std::vector<StorageEvent> batch;
        while (up_ && !backlog_.empty()) {
            batch.push_back(std::move(backlog_.front()));
            backlog_.pop_front();
            if (batch.size() >= opt_.batch || backlog_.empty()) {
                if (!write_events(batch)) {
                    put_back(batch);
                    return;
                }
            }
        }
    }

    // The events of a failed batch are older than anything still waiting.
    void put_back(std::vector<StorageEvent>& batch) {
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) backlog_.push_front(std::move(*it));
        batch.clear();
    }

    void process_up(std::deque<Item>& work) {
        std::vector<StorageEvent> batch;
        while (!work.empty()) {
            Item& item = work.front();
            if (auto* ev = std::get_if<StorageEvent>(&item)) {
                batch.push_back(std::move(*ev));
                work.pop_front();
                if (batch.size() >= opt_.batch && !write_events(batch)) break;
            } else {
                if (!batch.empty() && !write_events(batch)) break;
                if (!answer(std::get<StorageRequest>(item))) break;
                work.pop_front();
            }
        }
        if (up_ && !batch.empty()) write_events(batch);
        if (!up_) {
            put_back(batch);
            process_down(work);
        }
    }

    void process_down(std::deque<Item>& work) {
        for (auto& item : work) {
            if (auto* ev = std::get_if<StorageEvent>(&item))
                backlog_.push_back(std::move(*ev));
            else
                fail(std::get<StorageRequest>(item));
        }
        work.clear();
    }

    void maybe_spill(bool force) {
        if (backlog_.empty()) return;
        if (!force && backlog_.size() <= opt_.queue_max && Clock::now() < down_since_ + kSpillAfter) return;
        std::vector<StorageEvent> events(std::make_move_iterator(backlog_.begin()),
                                         std::make_move_iterator(backlog_.end()));
        backlog_.clear();
        std::string err;
        if (!journal_.append(events, err)) {
            if (!journal_error_logged_) {
                LOG_ERROR("storage: %s; keeping %zu events in memory", err.c_str(), events.size());
                journal_error_logged_ = true;
            }
            for (auto& e : events) backlog_.push_back(std::move(e));
            return;
        }
        journal_has_data_ = true;
        spilled_ += events.size();
        if (!spill_logged_) {
            LOG_INFO("storage: writing waiting events to the journal %s", journal_.path().c_str());
            spill_logged_ = true;
        }
    }

    void remind_down() {
        auto now = Clock::now();
        if (now - last_down_log_ < kStillDownLog) return;
        last_down_log_ = now;
        LOG_WARN("storage: database still unreachable (%s); %zu events in memory, %zu in the journal so far",
                 last_error_.c_str(), backlog_.size(), spilled_);
    }

    void fail(const StorageRequest& req) {
        std::visit(
            [this](const auto& r) {
                using T = std::decay_t<decltype(r)>;
                if constexpr (std::is_same_v<T, LoginRequest>)
                    reply(LoginReply{r.token, false, {}});
                else if constexpr (std::is_same_v<T, ProfileRequest>)
                    reply(ProfileReply{r.token, false, false, {}});
                else
                    reply(HistoryReply{r.token, false, {}});
            },
            req);
    }

    void reply(StorageReply r) {
        {
            std::lock_guard lk(reply_mu_);
            replies_.push_back(std::move(r));
        }
        if (notify_) notify_();
    }

    // Answers a request; false (nothing answered) when the connection failed.
    bool answer(const StorageRequest& req) {
        if (const auto* l = std::get_if<LoginRequest>(&req)) {
            std::vector<Row> rows;
            for (int attempt = 0; attempt < 2; ++attempt) {
                if (!query(mysql_sql::login_select(l->key), 6, rows)) return after_read_error(req);
                if (!rows.empty()) {
                    UserRecord u = user_from_row(rows[0]);
                    if (!exec(mysql_sql::login_update(u.id, l->time))) return after_read_error(req);
                    u.last_login = l->time;
                    u.status = "disponible";
                    reply(LoginReply{l->token, true, std::move(u)});
                    return true;
                }
                if (exec(mysql_sql::login_insert(*l))) {
                    UserRecord u;
                    u.id = static_cast<UserId>(mysql_insert_id(conn_.get()));
                    u.nick = l->nick;
                    u.created = l->time;
                    u.last_login = l->time;
                    u.status = "disponible";
                    reply(LoginReply{l->token, true, std::move(u)});
                    return true;
                }
                if (last_errno_ != ER_DUP_ENTRY) return after_read_error(req);
                // Created by someone else in between: look it up again.
            }
            return after_read_error(req);
        }
        if (const auto* p = std::get_if<ProfileRequest>(&req)) {
            std::vector<Row> rows;
            if (!query(mysql_sql::profile_select(p->key), 6, rows)) return after_read_error(req);
            ProfileReply r{p->token, true, !rows.empty(), {}};
            if (r.found) r.user = user_from_row(rows[0]);
            reply(std::move(r));
            return true;
        }
        const auto& h = std::get<HistoryRequest>(req);
        std::vector<Row> rows;
        if (!query(mysql_sql::history_select(h.user, h.limit), 5, rows)) return after_read_error(req);
        HistoryReply r{h.token, true, {}};
        r.messages.reserve(rows.size());
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) r.messages.push_back(message_from_row(*it));
        reply(std::move(r));
        return true;
    }

    bool after_read_error(const StorageRequest& req) {
        if (!up_) return false;
        // Not a connection problem: this request cannot be answered, the rest can.
        LOG_ERROR("storage: a read failed: %s", last_error_.c_str());
        fail(req);
        return true;
    }

    // Writes the events in one transaction. On success `events` is emptied;
    // on a connection failure it keeps what is not written and up_ is false.
    bool write_events(std::vector<StorageEvent>& events) {
        if (events.empty()) return true;
        if (transaction(events)) {
            events.clear();
            return true;
        }
        if (!up_) return false;
        // The database refuses something in this batch: find it one by one.
        LOG_WARN("storage: a batch of %zu events was refused (%s); writing them one by one", events.size(),
                 last_error_.c_str());
        std::size_t done = 0;
        for (; done < events.size(); ++done) {
            if (transaction(std::span(&events[done], 1))) continue;
            if (!up_) break;
            LOG_ERROR("storage: the database refuses an event, skipping it: %s", last_error_.c_str());
        }
        events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(done));
        return up_;
    }

    bool transaction(std::span<const StorageEvent> events) {
        if (!exec("START TRANSACTION")) return false;
        for (const auto& sql : mysql_sql::batch_statements(events)) {
            if (!exec(sql)) {
                if (up_) {
                    unsigned err = last_errno_;
                    std::string text = last_error_;
                    exec("ROLLBACK");
                    last_errno_ = err;
                    last_error_ = text;
                }
                return false;
            }
        }
        return exec("COMMIT");
    }

    // ---- connection

    Conn connect(std::string& err) {
        Conn c(mysql_init(nullptr));
        if (!c) {
            err = "out of memory";
            return nullptr;
        }
        unsigned connect_timeout = 3, io_timeout = 10;
        my_bool reconnect = 0;
        mysql_options(c.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
        mysql_options(c.get(), MYSQL_OPT_READ_TIMEOUT, &io_timeout);
        mysql_options(c.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
        mysql_options(c.get(), MYSQL_OPT_RECONNECT, &reconnect);
        mysql_options(c.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const char* password = nullptr;
        if (!opt_.password.empty())
            password = opt_.password.c_str();
        else if (!url_.password.empty())
            password = url_.password.c_str();
        else
            mysql_options(c.get(), MYSQL_READ_DEFAULT_GROUP, "client");  // password from ~/.my.cnf etc.
        const char* host = url_.socket.empty() ? url_.host.c_str() : "localhost";
        const char* sock = url_.socket.empty() ? nullptr : url_.socket.c_str();
        if (!mysql_real_connect(c.get(), host, url_.user.c_str(), password, url_.database.c_str(),
                                url_.socket.empty() ? url_.port : 0, sock, 0)) {
            last_errno_ = mysql_errno(c.get());
            err = last_error_ = mysql_error(c.get());
            return nullptr;
        }
        // An option file may name another character set; the data is utf8mb4.
        if (mysql_set_character_set(c.get(), "utf8mb4") != 0 ||
            mysql_query(c.get(), "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
                                 "SESSION autocommit = 1") != 0) {
            last_errno_ = mysql_errno(c.get());
            err = last_error_ = mysql_error(c.get());
            return nullptr;
        }
        return c;
    }

    std::string ensure_schema() {
        std::vector<Row> rows;
        if (!query("SELECT version FROM schema_version WHERE id = 1", 1, rows)) {
            if (last_errno_ != ER_NO_SUCH_TABLE) return "cannot read the schema version: " + last_error_;
            LOG_INFO("storage: empty database, creating the schema");
            for (const auto& sql : mysql_sql::split_script(mysql_sql::schema_text())) {
                if (!exec(sql)) return "cannot create the schema: " + last_error_;
            }
            if (!query("SELECT version FROM schema_version WHERE id = 1", 1, rows))
                return "cannot read the schema version: " + last_error_;
        }
        if (rows.empty()) return "the schema_version table has no row";
        auto v = to_i64(rows[0][0]);
        if (v != mysql_sql::kSchemaVersion)
            return "the database has schema version " + std::to_string(v) + ", this chatd knows version " +
                   std::to_string(mysql_sql::kSchemaVersion);
        return {};
    }

    void reconnect() {
        std::string err;
        conn_ = connect(err);
        if (conn_) {
            auto secs = std::chrono::duration<double>(Clock::now() - down_since_).count();
            LOG_INFO("storage: database reachable again after %.1f s; writing %s%zu waiting events", secs,
                     journal_has_data_ ? "the journal and " : "", backlog_.size());
            up_ = true;
            backoff_ = kBackoffFirst;
            spill_logged_ = journal_error_logged_ = false;
            return;
        }
        LOG_DEBUG("storage: reconnect failed: %s", err.c_str());
        backoff_ = std::min<Clock::duration>(backoff_ * 2, kBackoffMax);
        next_attempt_ = Clock::now() + backoff_;
    }

    void mark_down() {
        if (!up_) return;
        up_ = false;
        conn_.reset();
        auto now = Clock::now();
        down_since_ = now;
        last_down_log_ = now;
        backoff_ = kBackoffFirst;
        next_attempt_ = now + backoff_;
        spilled_ = 0;
        LOG_WARN("storage: database connection lost (%s); keeping events in order, reconnecting",
                 last_error_.c_str());
    }

    bool exec(const std::string& sql) {
        if (!conn_) return false;
        if (mysql_real_query(conn_.get(), sql.data(), sql.size()) != 0) return on_error();
        // A statement without rows has no result; draining keeps the connection in sync.
        if (MYSQL_RES* r = mysql_store_result(conn_.get())) mysql_free_result(r);
        return true;
    }

    bool query(const std::string& sql, unsigned columns, std::vector<Row>& rows) {
        rows.clear();
        if (!conn_) return false;
        if (mysql_real_query(conn_.get(), sql.data(), sql.size()) != 0) return on_error();
        std::unique_ptr<MYSQL_RES, ResultFree> res(mysql_store_result(conn_.get()));
        if (!res) return on_error();
        if (mysql_num_fields(res.get()) < columns) {
            last_errno_ = 0;
            last_error_ = "unexpected result shape";
            return false;
        }
        while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
            unsigned long* lengths = mysql_fetch_lengths(res.get());
            Row r(columns);
            for (unsigned i = 0; i < columns; ++i)
                if (row[i]) r[i].assign(row[i], lengths[i]);
            rows.push_back(std::move(r));
        }
        return true;
    }

    bool on_error() {
        last_errno_ = mysql_errno(conn_.get());
        last_error_ = std::to_string(last_errno_) + " " + mysql_error(conn_.get());
        if (is_connection_error(last_errno_)) mark_down();
        return false;
    }

    MysqlOptions opt_;
    MysqlUrl url_;
    bool url_ok_ = false;
    std::string url_error_;
    std::function<void()> notify_;

    // Shared with the reactor.
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    std::size_t reads_waiting_ = 0;
    bool stopping_ = false;
    bool queue_warned_ = false;
    std::mutex reply_mu_;
    std::vector<StorageReply> replies_;

    // Storage thread only (and start(), before the thread exists).
    std::thread thread_;
    Conn conn_;
    bool up_ = false;
    Journal journal_;
    bool journal_has_data_ = false;
    std::deque<StorageEvent> backlog_;  // newer than the journal, older than the queue
    unsigned last_errno_ = 0;
    std::string last_error_;
    Clock::time_point down_since_{};
    Clock::time_point next_attempt_{};
    Clock::time_point last_down_log_{};
    Clock::duration backoff_ = kBackoffFirst;
    std::size_t spilled_ = 0;
    bool spill_logged_ = false;
    bool journal_error_logged_ = false;
};

}  // namespace

std::unique_ptr<Storage> make_mysql_storage(MysqlOptions options) {
    return std::make_unique<MysqlStorage>(std::move(options));
}

}  // namespace chat::server
