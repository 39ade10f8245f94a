// Drives MysqlStorage against a real MySQL/MariaDB (CHATD_DB, CHATD_DB_PASSWORD).
//   storage-it basic          logins, writes, reads, byte-exactness, restart, schema checks
//   storage-it fault DB_SH    stops the private database (scripts/db.sh) in the middle of
//                             a stream of messages and checks every one lands exactly once
//   storage-it transient DB_SH  makes the server refuse writes (table full, disk full,
//                             statement timeout, read-only) and heals it: every message accepted
//                             meanwhile lands exactly once; a row refused for good goes to the
//                             dead-letter file
//   storage-it stale DB_SH    wait_timeout=2 on the server: after idling past it a login works
//   storage-it startdown DB_SH  starts storage with the database stopped, then starts it:
//                             requests fail, then a LoadedReply and a working login
// Exit 77 (skipped) when CHATD_DB is unset. Each run uses its own database
// (chatd_it_<pid>) when the account may create one, and drops it afterwards.
#include <mysql.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/journal.hpp"
#include "server/mysql_storage.hpp"

using namespace chat::server;
using namespace std::chrono_literals;

namespace {

int g_failures = 0;

#define EXPECT(cond)                                                                \
    do {                                                                            \
        if (!(cond)) {                                                              \
            std::fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
            ++g_failures;                                                           \
        }                                                                           \
    } while (0)
// Throws, so the guards (restart the database, drop the test database) still run.
#define REQUIRE_OR_EXIT(cond)                                                               \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "%s:%d: FAILED (fatal): %s\n", __FILE__, __LINE__, #cond); \
            throw std::runtime_error("fatal check failed");                                 \
        }                                                                                   \
    } while (0)

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// A plain connection for setting up and for checking what landed.
struct Db {
    std::unique_ptr<MYSQL, void (*)(MYSQL*)> conn{nullptr, mysql_close};

    bool open(const MysqlUrl& u, const std::string& password, const std::string& db) {
        conn.reset(mysql_init(nullptr));
        mysql_options(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const char* pw = password.empty() ? nullptr : password.c_str();
        if (!pw) mysql_options(conn.get(), MYSQL_READ_DEFAULT_GROUP, "client");
        return mysql_real_connect(conn.get(), u.socket.empty() ? u.host.c_str() : "localhost", u.user.c_str(), pw,
                                  db.empty() ? nullptr : db.c_str(), u.socket.empty() ? u.port : 0,
                                  u.socket.empty() ? nullptr : u.socket.c_str(), 0) != nullptr;
    }
    bool exec(const std::string& sql) {
        if (mysql_real_query(conn.get(), sql.data(), sql.size()) != 0) {
            std::fprintf(stderr, "sql error: %s\n  in: %.200s\n", mysql_error(conn.get()), sql.c_str());
            return false;
        }
        if (MYSQL_RES* r = mysql_store_result(conn.get())) mysql_free_result(r);
        return true;
    }
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        std::vector<std::vector<std::string>> out;
        if (mysql_real_query(conn.get(), sql.data(), sql.size()) != 0) {
            std::fprintf(stderr, "sql error: %s\n  in: %.200s\n", mysql_error(conn.get()), sql.c_str());
            return out;
        }
        MYSQL_RES* r = mysql_store_result(conn.get());
        if (!r) return out;
        unsigned n = mysql_num_fields(r);
        while (MYSQL_ROW row = mysql_fetch_row(r)) {
            unsigned long* len = mysql_fetch_lengths(r);
            std::vector<std::string> v(n);
            for (unsigned i = 0; i < n; ++i)
                if (row[i]) v[i].assign(row[i], len[i]);
            out.push_back(std::move(v));
        }
        mysql_free_result(r);
        return out;
    }
    std::string one(const std::string& sql) {
        auto r = rows(sql);
        return r.empty() || r[0].empty() ? std::string("<none>") : r[0][0];
    }
};

// Collects replies the way the reactor would: notify wakes, take_replies drains.
class Replies {
public:
    explicit Replies(Storage& s) : s_(s) {
        s_.set_notify([this] {
            std::lock_guard lk(mu_);
            ++notified_;
            cv_.notify_all();
        });
    }
    std::optional<StorageReply> wait(Token token, std::chrono::seconds limit = 60s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            for (auto& r : s_.take_replies())
                std::visit([&](auto& x) { got_.emplace(x.token, std::move(r)); }, r);
            if (auto it = got_.find(token); it != got_.end()) {
                StorageReply r = std::move(it->second);
                got_.erase(it);
                return r;
            }
            std::unique_lock lk(mu_);
            if (!cv_.wait_until(lk, deadline, [&] { return notified_ > seen_; })) return std::nullopt;
            seen_ = notified_;
        }
    }

private:
    Storage& s_;
    std::mutex mu_;
    std::condition_variable cv_;
    unsigned long notified_ = 0, seen_ = 0;
    std::map<Token, StorageReply> got_;
};

std::string fold(std::string_view nick) {
    std::string k(nick);
    for (char& c : k)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return k;
}

struct Setup {
    MysqlUrl url;
    std::string password;
    std::string base_db;
    std::string db;  // the one this run uses
    bool own_db = false;
    std::string url_text;  // for MysqlOptions.url
    std::filesystem::path tmp;

    ~Setup() {
        if (own_db) {
            Db d;
            if (d.open(url, password, "")) d.exec("DROP DATABASE IF EXISTS `" + db + "`");
        }
        if (!tmp.empty()) std::filesystem::remove_all(tmp);
    }
};

std::unique_ptr<Setup> setup() {
    std::string url = env("CHATD_DB");
    if (url.empty()) {
        std::printf("SKIPPED: CHATD_DB is unset (eval \"$(scripts/db.sh env)\" to test against the private MariaDB)\n");
        std::exit(77);
    }
    auto s = std::make_unique<Setup>();
    std::string err;
    REQUIRE_OR_EXIT(parse_mysql_url(url, s->url, err));
    s->password = env("CHATD_DB_PASSWORD");
    s->base_db = s->url.database;
    std::random_device rd;
    s->db = "chatd_it_" + std::to_string(::getpid()) + "_" + std::to_string(rd() % 100000);
    Db d;
    REQUIRE_OR_EXIT(d.open(s->url, s->password, ""));
    if (mysql_query(d.conn.get(), ("CREATE DATABASE `" + s->db + "` CHARACTER SET utf8mb4").c_str()) == 0) {
        s->own_db = true;
    } else {
        std::printf("note: cannot create a database of its own (%s); using %s\n", mysql_error(d.conn.get()),
                    s->base_db.c_str());
        s->db = s->base_db;
    }
    MysqlUrl u = s->url;
    u.database = s->db;
    u.password.clear();
    s->url_text = mysql_url_text(u);
    char tmpl[] = "/tmp/chatd-storage-it-XXXXXX";
    REQUIRE_OR_EXIT(::mkdtemp(tmpl) != nullptr);
    s->tmp = tmpl;
    return s;
}

MysqlOptions options(const Setup& s) {
    MysqlOptions o;
    o.url = s.url_text;
    o.password = s.password.empty() ? s.url.password : s.password;
    o.journal_path = (s.tmp / "chatd.journal").string();
    return o;
}

UnixTime now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Token g_token = 1;

LoginReply login(Storage& st, Replies& rp, const std::string& nick, UnixTime t) {
    Token tok = g_token++;
    st.submit(LoginRequest{tok, nick, fold(nick), t});
    auto r = rp.wait(tok);
    REQUIRE_OR_EXIT(r.has_value());
    return std::get<LoginReply>(*r);
}

// ------------------------------------------------------------------ basic

int basic() {
    auto s = setup();
    const std::string emoji = "hola 👋🏽 ñandú 漢字 \xF0\x9F\x98\x80";
    const std::string inject = "'; DROP TABLE users; --";
    const std::string odd = "back\\slash \"dq\" 'sq' `bt` %_ \t tab";
    UnixTime t0 = now() - 100;
    std::int64_t last_msg = 0, last_session = 0;
    UserId ana = 0, bego = 0, bego_upper = 0;
    {
        auto st = make_mysql_storage(options(*s));
        Replies rp(*st);
        StartupInfo info;
        std::string err = st->start(20, info);
        REQUIRE_OR_EXIT(err.empty());
        if (s->own_db) {  // an empty database got the schema from chatd itself
            Db d;
            REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
            EXPECT(d.one("SELECT version FROM schema_version") == "2");
            EXPECT(d.rows("SHOW TABLES").size() == 4);
            EXPECT(info.recent_public.empty());
            EXPECT(info.max_message_id == 0);
        }
        std::int64_t mid = info.max_message_id, sid = info.max_session_id;
        std::string tag = std::to_string(::getpid() % 100000);

        LoginReply a = login(*st, rp, "Ana" + tag, t0);
        EXPECT(a.ok);
        EXPECT(a.user.id > 0);
        EXPECT(a.user.nick == "Ana" + tag);
        EXPECT(a.user.created == t0);
        EXPECT(a.user.last_login == t0);
        EXPECT(a.user.last_seen == 0);
        EXPECT(a.user.status == "disponible");
        ana = a.user.id;

        LoginReply b1 = login(*st, rp, "Begoña" + tag, t0 + 1);
        LoginReply b2 = login(*st, rp, "BEGOÑA" + tag, t0 + 2);
        EXPECT(b1.ok && b2.ok);
        EXPECT(b1.user.id != b2.user.id);  // only ASCII letters fold
        bego = b1.user.id;
        bego_upper = b2.user.id;

        st->write(SessionStartEvent{++sid, ana, t0 + 3, "127.0.0.1:40000"});
        st->write(MessageEvent{++mid, t0 + 4, ana, 0, emoji});
        st->write(MessageEvent{++mid, t0 + 5, bego, 0, inject});
        st->write(MessageEvent{++mid, t0 + 6, ana, bego, odd});
        st->write(StatusEvent{ana, "en-reunión"});
        st->write(SessionEndEvent{sid, ana, t0 + 7, "quit hasta luego"});
        last_msg = mid;
        last_session = sid;

        // A read right after the writes sees them (ordering contract).
        Token th = g_token++;
        st->submit(HistoryRequest{th, ana, 10});
        auto h = rp.wait(th);
        REQUIRE_OR_EXIT(h.has_value());
        auto& hist = std::get<HistoryReply>(*h);
        EXPECT(hist.ok);
        REQUIRE_OR_EXIT(hist.messages.size() == 3);
        EXPECT(hist.messages[0].body == emoji);
        EXPECT(hist.messages[0].from == "Ana" + tag);
        EXPECT(hist.messages[0].to.empty());
        EXPECT(hist.messages[0].time == t0 + 4);
        EXPECT(hist.messages[1].body == inject);
        EXPECT(hist.messages[1].from == "Begoña" + tag);
        EXPECT(hist.messages[2].body == odd);
        EXPECT(hist.messages[2].to == "Begoña" + tag);
        EXPECT(hist.messages[2].id == last_msg);

        // Another user sees the public ones but not Ana's private message to Begoña.
        Token tu = g_token++;
        st->submit(HistoryRequest{tu, bego_upper, 10});
        auto hu = rp.wait(tu);
        REQUIRE_OR_EXIT(hu.has_value());
        EXPECT(std::get<HistoryReply>(*hu).messages.size() == 2);
        Token tl = g_token++;
        st->submit(HistoryRequest{tl, ana, 2});
        auto hl = rp.wait(tl);
        REQUIRE_OR_EXIT(hl.has_value());
        auto& last2 = std::get<HistoryReply>(*hl).messages;
        EXPECT(last2.size() == 2 && last2.back().body == odd && last2.front().body == inject);

        Token tp = g_token++;
        st->submit(ProfileRequest{tp, fold("ANA" + tag)});
        auto p = rp.wait(tp);
        REQUIRE_OR_EXIT(p.has_value());
        auto& prof = std::get<ProfileReply>(*p);
        EXPECT(prof.ok && prof.found);
        EXPECT(prof.user.id == ana);
        EXPECT(prof.user.status == "en-reunión");
        EXPECT(prof.user.last_seen == t0 + 7);
        EXPECT(prof.user.created == t0);

        Token tn = g_token++;
        st->submit(ProfileRequest{tn, "nobody-" + tag});
        auto pn = rp.wait(tn);
        REQUIRE_OR_EXIT(pn.has_value());
        EXPECT(std::get<ProfileReply>(*pn).ok && !std::get<ProfileReply>(*pn).found);

        // Same user, another spelling: first spelling and creation time kept.
        LoginReply a2 = login(*st, rp, "ANA" + tag, t0 + 50);
        EXPECT(a2.user.id == ana);
        EXPECT(a2.user.nick == "Ana" + tag);
        EXPECT(a2.user.created == t0);
        EXPECT(a2.user.last_login == t0 + 50);
        EXPECT(a2.user.last_seen == t0 + 7);
        EXPECT(a2.user.status == "disponible");
        st->stop();
    }
    {
        // What a query in the database shows.
        Db d;
        REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
        auto ids = std::to_string(ana);
        EXPECT(d.one("SELECT HEX(body) FROM messages WHERE id = " + std::to_string(last_msg - 2)) ==
               d.one("SELECT HEX(" + mysql_sql::quote(emoji) + ")"));
        EXPECT(d.one("SELECT body FROM messages WHERE id = " + std::to_string(last_msg - 1)) == inject);
        EXPECT(d.one("SELECT body FROM messages WHERE id = " + std::to_string(last_msg)) == odd);
        EXPECT(d.one("SELECT recipient_id FROM messages WHERE id = " + std::to_string(last_msg)) ==
               std::to_string(bego));
        EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id = " + std::to_string(last_msg - 2) +
                     " AND recipient_id IS NULL") == "1");
        EXPECT(d.one("SELECT COUNT(*) FROM users WHERE id IN (" + ids + "," + std::to_string(bego) + "," +
                     std::to_string(bego_upper) + ")") == "3");
        auto sess = d.rows("SELECT user_id, login_at, logout_at, address, reason FROM sessions WHERE id = " +
                           std::to_string(last_session));
        REQUIRE_OR_EXIT(sess.size() == 1);
        EXPECT(sess[0][0] == ids);
        EXPECT(sess[0][1] == std::to_string(t0 + 3));
        EXPECT(sess[0][2] == std::to_string(t0 + 7));
        EXPECT(sess[0][3] == "127.0.0.1:40000");
        EXPECT(sess[0][4] == "quit hasta luego");
        EXPECT(d.one("SELECT last_login FROM users WHERE id = " + ids) == std::to_string(t0 + 50));
    }
    {
        // A restart: recent public history and the highest ids come back.
        auto st = make_mysql_storage(options(*s));
        Replies rp(*st);
        StartupInfo info;
        REQUIRE_OR_EXIT(st->start(20, info).empty());
        EXPECT(info.max_message_id == last_msg);
        EXPECT(info.max_session_id == last_session);
        REQUIRE_OR_EXIT(info.recent_public.size() >= 2);
        auto n = info.recent_public.size();
        EXPECT(info.recent_public[n - 2].body == emoji);
        EXPECT(info.recent_public[n - 1].body == inject);
        EXPECT(info.recent_public[n - 1].id == last_msg - 1);
        // Replaying the same ids writes nothing twice.
        st->write(MessageEvent{last_msg, t0 + 6, ana, bego, "a different body"});
        Token th = g_token++;
        st->submit(HistoryRequest{th, ana, 200});
        auto h = rp.wait(th);
        REQUIRE_OR_EXIT(h.has_value());
        EXPECT(std::get<HistoryReply>(*h).messages.back().body == odd);
        st->stop();
    }
    {
        Db d;
        REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
        EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id = " + std::to_string(last_msg)) == "1");
        if (s->own_db) {
            // A database of a newer schema is refused, not damaged.
            REQUIRE_OR_EXIT(d.exec("UPDATE schema_version SET version = 99"));
            auto st = make_mysql_storage(options(*s));
            StartupInfo info;
            std::string err = st->start(20, info);
            EXPECT(err.find("version 99") != std::string::npos);
            REQUIRE_OR_EXIT(d.exec("UPDATE schema_version SET version = 1"));
        }
    }
    {
        // A wrong password is an error at start, not a crash or a hang.
        MysqlOptions o = options(*s);
        o.password = "definitely-not-the-password";
        auto st = make_mysql_storage(o);
        StartupInfo info;
        EXPECT(!st->start(20, info).empty());
        auto bad = make_mysql_storage(MysqlOptions{"mysql://nohost", "", "", 5, 500, 100});
        EXPECT(bad->start(20, info).find("bad database URL") != std::string::npos);
    }
    return g_failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ fault

int run_script(const std::string& db_sh, const char* what) {
    std::string cmd = "'" + db_sh + "' " + what + " >&2";
    return std::system(cmd.c_str());
}

int fault(const std::string& db_sh) {
    auto s = setup();
    if (run_script(db_sh, "status") != 0) {
        std::printf("SKIPPED: the fault test stops and starts the private database of scripts/db.sh, "
                    "which is not running\n");
        return 77;
    }
    // Whatever happens below, leave the database running.
    struct Restart {
        std::string sh;
        ~Restart() { run_script(sh, "start"); }
    } restart{db_sh};

    MysqlOptions o = options(*s);
    o.queue_max = 300;  // small, so the outage also goes through the journal
    auto st = make_mysql_storage(o);
    Replies rp(*st);
    StartupInfo info;
    REQUIRE_OR_EXIT(st->start(20, info).empty());
    std::int64_t first = info.max_message_id + 1;
    LoginReply a = login(*st, rp, "Fault" + std::to_string(::getpid()), now());
    REQUIRE_OR_EXIT(a.ok);

    const int total = 3000;
    int sent = 0;
    auto send_some = [&](int n) {
        for (int i = 0; i < n && sent < total; ++i, ++sent)
            st->write(MessageEvent{first + sent, now(), a.user.id, 0, "m" + std::to_string(sent) + " 👍"});
    };
    auto pace = [&](std::chrono::milliseconds d) {  // a steady trickle while waiting
        auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            send_some(5);
            std::this_thread::sleep_for(10ms);
        }
    };
    pace(300ms);
    // Stop the server in the background while messages keep coming.
    std::thread stopper([&] { run_script(db_sh, "stop"); });
    while (sent < 1200) pace(50ms);
    stopper.join();
    std::fprintf(stderr, "database stopped after %d messages\n", sent);
    pace(500ms);

    // While the database is down, a login is answered at once with ok = false.
    Token tl = g_token++;
    st->submit(LoginRequest{tl, "x", "x", now()});
    auto lr = rp.wait(tl);
    REQUIRE_OR_EXIT(lr.has_value());
    EXPECT(!std::get<LoginReply>(*lr).ok);

    // The waiting events reach the journal (after a second of outage or past queue_max).
    Journal probe(o.journal_path);
    for (int i = 0; i < 200 && !probe.has_data(); ++i) pace(100ms);
    EXPECT(probe.has_data());
    pace(1000ms);
    std::fprintf(stderr, "restarting the database after %d messages\n", sent);
    REQUIRE_OR_EXIT(run_script(db_sh, "start") == 0);
    while (sent < total) pace(20ms);

    // Reads work again once the storage has reconnected.
    bool back = false;
    for (int i = 0; i < 120 && !back; ++i) {
        Token th = g_token++;
        st->submit(HistoryRequest{th, a.user.id, 5});
        auto h = rp.wait(th);
        REQUIRE_OR_EXIT(h.has_value());
        back = std::get<HistoryReply>(*h).ok;
        if (!back) std::this_thread::sleep_for(250ms);
    }
    EXPECT(back);
    st->stop();
    EXPECT(!probe.has_data());  // replayed and emptied

    Db d;
    REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
    std::string range = " FROM messages WHERE id BETWEEN " + std::to_string(first) + " AND " +
                        std::to_string(first + total - 1);
    EXPECT(d.one("SELECT COUNT(*)" + range) == std::to_string(total));
    // Bodies match their ids: nothing shifted, nothing replaced.
    EXPECT(d.one("SELECT COUNT(*)" + range + " AND body = CONCAT('m', id - " + std::to_string(first) +
                 ", ' 👍')") == std::to_string(total));
    EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id > " + std::to_string(first + total - 1)) == "0");

    // Shutting down while the database is away: what was accepted goes to the
    // journal, and the next start writes it before loading anything.
    {
        auto st2 = make_mysql_storage(o);
        Replies rp2(*st2);
        REQUIRE_OR_EXIT(st2->start(20, info).empty());
        REQUIRE_OR_EXIT(run_script(db_sh, "stop") == 0);
        std::int64_t base = first + total;
        for (int i = 0; i < 100; ++i)
            st2->write(MessageEvent{base + i, now(), a.user.id, 0, "late " + std::to_string(i)});
        st2->stop();
        EXPECT(probe.has_data());
        REQUIRE_OR_EXIT(run_script(db_sh, "start") == 0);
        auto st3 = make_mysql_storage(o);
        REQUIRE_OR_EXIT(st3->start(20, info).empty());
        EXPECT(!probe.has_data());
        EXPECT(info.max_message_id == base + 99);
        REQUIRE_OR_EXIT(!info.recent_public.empty());
        EXPECT(info.recent_public.back().body == "late 99");
        st3->stop();
    }
    return g_failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ transient

// The server's administrator: the OS user through the private server's socket
// (scripts/db.sh sets it up with unix_socket authentication).
bool open_admin(Db& d, const std::string& db_sh) {
    std::string dir = std::filesystem::path(db_sh).parent_path().string();
    MysqlUrl u;
    const passwd* pw = ::getpwuid(::getuid());
    if (!pw) return false;
    u.user = pw->pw_name;
    u.host = "localhost";
    const char* own = std::getenv("CHATD_DB_DIR");  // the server of scripts/db.sh in use
    u.socket = (own && *own ? std::string(own) : dir + "/../var/mariadb") + "/mysqld.sock";
    return d.open(u, "", "");
}

bool needs_running_db(const std::string& db_sh) {
    if (run_script(db_sh, "status") != 0) {
        std::printf("SKIPPED: this test needs the private database of scripts/db.sh running\n");
        return false;
    }
    return true;
}

// Waits until storage answers reads again (it refuses them while writes wait).
bool wait_usable(Storage& st, Replies& rp, UserId user, std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        Token th = g_token++;
        st.submit(HistoryRequest{th, user, 1});
        auto h = rp.wait(th);
        if (h && std::get<HistoryReply>(*h).ok) return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

int transient(const std::string& db_sh) {
    if (!needs_running_db(db_sh)) return 77;
    auto s = setup();
    Db d;
    REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
    Db admin;
    bool have_admin = open_admin(admin, db_sh);
    struct Heal {
        Db& d;
        Db& admin;
        bool have_admin;
        ~Heal() {
            d.exec("DROP TRIGGER IF EXISTS chatd_fault");
            d.exec("DROP TRIGGER IF EXISTS chatd_poison");
            if (have_admin) admin.exec("SET GLOBAL read_only = 0");
        }
    } heal{d, admin, have_admin};

    MysqlOptions o = options(*s);
    auto st = make_mysql_storage(o);
    Replies rp(*st);
    StartupInfo info;
    REQUIRE_OR_EXIT(st->start(20, info).empty());
    LoginReply a = login(*st, rp, "Tr" + std::to_string(::getpid()), now());
    REQUIRE_OR_EXIT(a.ok);
    std::int64_t next = info.max_message_id + 1;
    std::int64_t first = next;

    // Each way of refusing writes for a while, then healed.
    struct Fault {
        const char* name;
        std::string make, undo;
    };
    auto signal = [](int errnum, const char* text) {
        return "CREATE TRIGGER chatd_fault BEFORE INSERT ON messages FOR EACH ROW SIGNAL SQLSTATE 'HY000' "
               "SET MYSQL_ERRNO = " + std::to_string(errnum) + ", MESSAGE_TEXT = '" + text + "'";
    };
    std::vector<Fault> faults{
        {"table full (1114)", signal(1114, "The table messages is full"), "DROP TRIGGER chatd_fault"},
        {"disk full (1030)", signal(1030, "Got error 28 No space left on device from storage engine"),
         "DROP TRIGGER chatd_fault"},
        {"statement timeout (1969)", signal(1969, "Query execution was interrupted (max_statement_time exceeded)"),
         "DROP TRIGGER chatd_fault"},
        {"read-only mode (1836)", signal(1836, "Running in read-only mode"), "DROP TRIGGER chatd_fault"},
    };
    if (have_admin)
        faults.push_back({"SET GLOBAL read_only = 1 (1290)", "SET GLOBAL read_only = 1", "SET GLOBAL read_only = 0"});
    else
        std::printf("note: no administrator connection; read_only is not tried\n");
    for (const auto& f : faults) {
        std::fprintf(stderr, "fault: %s\n", f.name);
        Db& who = f.make.rfind("SET GLOBAL", 0) == 0 ? admin : d;
        REQUIRE_OR_EXIT(who.exec(f.make));
        std::int64_t from = next;
        for (int i = 0; i < 40; ++i) {
            EXPECT(st->write(MessageEvent{next, now(), a.user.id, 0, "t" + std::to_string(next)}));
            ++next;
            std::this_thread::sleep_for(20ms);
        }
        std::this_thread::sleep_for(700ms);  // retried meanwhile, and held past a second: into the journal
        EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id >= " + std::to_string(from)) == "0");
        // Reads are refused while accepted writes wait.
        Token tl = g_token++;
        st->submit(LoginRequest{tl, a.user.nick, fold(a.user.nick), now()});
        auto lr = rp.wait(tl);
        REQUIRE_OR_EXIT(lr.has_value());
        EXPECT(!std::get<LoginReply>(*lr).ok);
        REQUIRE_OR_EXIT(who.exec(f.undo));
        EXPECT(wait_usable(*st, rp, a.user.id));
        std::string range = " FROM messages WHERE id BETWEEN " + std::to_string(from) + " AND " +
                            std::to_string(next - 1);
        EXPECT(d.one("SELECT COUNT(*)" + range) == std::to_string(next - from));
        EXPECT(d.one("SELECT COUNT(*)" + range + " AND body = CONCAT('t', id)") == std::to_string(next - from));
    }

    // A row the database refuses for good: the others are written, it goes to the dead-letter file.
    REQUIRE_OR_EXIT(d.exec("CREATE TRIGGER chatd_poison BEFORE INSERT ON messages FOR EACH ROW "
                           "IF NEW.body LIKE 'poison%' THEN SIGNAL SQLSTATE '22001' SET MYSQL_ERRNO = 1406, "
                           "MESSAGE_TEXT = 'Data too long for column body at row 1'; END IF"));
    std::int64_t poison = next + 1;
    EXPECT(st->write(MessageEvent{next, now(), a.user.id, 0, "t" + std::to_string(next)}));
    EXPECT(st->write(MessageEvent{poison, now(), a.user.id, 0, "poison pill"}));
    EXPECT(st->write(MessageEvent{next + 2, now(), a.user.id, 0, "t" + std::to_string(next + 2)}));
    next += 3;
    EXPECT(wait_usable(*st, rp, a.user.id));
    st->stop();
    EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id BETWEEN " + std::to_string(poison - 1) + " AND " +
                 std::to_string(poison + 1)) == "2");
    EXPECT(d.one("SELECT COUNT(*) FROM messages WHERE id >= " + std::to_string(first)) ==
           std::to_string(next - first - 1));
    std::string dead_path = o.journal_path + ".dead";
    std::ifstream dead_file(dead_path, std::ios::binary);
    std::string dead_bytes((std::istreambuf_iterator<char>(dead_file)), std::istreambuf_iterator<char>());
    DeadLetterDecoded dl = dead_letter_decode(dead_bytes);
    EXPECT(!dl.damaged);
    REQUIRE_OR_EXIT(dl.letters.size() == 1);
    EXPECT(std::get<MessageEvent>(dl.letters[0].event).id == poison);
    EXPECT(std::get<MessageEvent>(dl.letters[0].event).body == "poison pill");
    EXPECT(dl.letters[0].error.find("1406") != std::string::npos);
    EXPECT(!Journal(o.journal_path).has_data());
    return g_failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ stale

int stale(const std::string& db_sh) {
    if (!needs_running_db(db_sh)) return 77;
    Db admin;
    if (!open_admin(admin, db_sh)) {
        std::printf("SKIPPED: no administrator connection to the private database\n");
        return 77;
    }
    auto s = setup();
    std::string old = admin.one("SELECT @@GLOBAL.wait_timeout");
    struct Restore {
        Db& admin;
        std::string old;
        ~Restore() { admin.exec("SET GLOBAL wait_timeout = " + old); }
    } restore{admin, old};
    REQUIRE_OR_EXIT(admin.exec("SET GLOBAL wait_timeout = 2"));  // new connections get it

    auto st = make_mysql_storage(options(*s));
    Replies rp(*st);
    StartupInfo info;
    REQUIRE_OR_EXIT(st->start(20, info).empty());
    std::string nick = "Stale" + std::to_string(::getpid());
    LoginReply a = login(*st, rp, nick, now());
    REQUIRE_OR_EXIT(a.ok);
    std::this_thread::sleep_for(3500ms);  // the server closes the idle connection
    LoginReply b = login(*st, rp, nick, now());
    EXPECT(b.ok);  // the first login of the morning
    EXPECT(b.user.id == a.user.id);
    std::this_thread::sleep_for(3500ms);
    std::int64_t id = info.max_message_id + 1;
    EXPECT(st->write(MessageEvent{id, now(), a.user.id, 0, "after idle"}));
    Token tp = g_token++;
    st->submit(ProfileRequest{tp, fold(nick)});
    auto p = rp.wait(tp);
    REQUIRE_OR_EXIT(p.has_value());
    EXPECT(std::get<ProfileReply>(*p).ok);
    st->stop();
    Db d;
    REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
    EXPECT(d.one("SELECT body FROM messages WHERE id = " + std::to_string(id)) == "after idle");
    return g_failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ startdown

int startdown(const std::string& db_sh) {
    if (!needs_running_db(db_sh)) return 77;
    auto s = setup();
    struct Restart {
        std::string sh;
        ~Restart() { run_script(sh, "start"); }
    } restart{db_sh};
    UserId user = 0;
    std::int64_t first = 0;
    {
        // A user and a message from before, so the LoadedReply has something to bring.
        auto st = make_mysql_storage(options(*s));
        Replies rp(*st);
        StartupInfo info;
        REQUIRE_OR_EXIT(st->start(20, info).empty());
        user = login(*st, rp, "Early" + std::to_string(::getpid()), now()).user.id;
        first = info.max_message_id + 1;
        st->write(MessageEvent{first, now(), user, 0, "before the outage"});
        st->stop();
    }
    REQUIRE_OR_EXIT(run_script(db_sh, "stop") == 0);
    auto st = make_mysql_storage(options(*s));
    Replies rp(*st);
    StartupInfo info;
    info.max_message_id = 12345;
    auto t0 = std::chrono::steady_clock::now();
    std::string err = st->start(20, info);
    EXPECT(err.empty());
    EXPECT(std::chrono::steady_clock::now() - t0 < 10s);
    EXPECT(info.max_message_id == 0);
    EXPECT(info.recent_public.empty());
    Token tl = g_token++;
    st->submit(LoginRequest{tl, "x", "x", now()});
    auto lr = rp.wait(tl);
    REQUIRE_OR_EXIT(lr.has_value());
    EXPECT(!std::get<LoginReply>(*lr).ok);
    for (int i = 1; i <= 30; ++i) EXPECT(st->write(SessionStartEvent{1000 + i, user, now(), "127.0.0.1:1"}));
    std::this_thread::sleep_for(1500ms);
    REQUIRE_OR_EXIT(run_script(db_sh, "start") == 0);
    auto loaded = rp.wait(0, 60s);
    REQUIRE_OR_EXIT(loaded.has_value());
    auto& li = std::get<LoadedReply>(*loaded).info;
    EXPECT(li.max_message_id == first);
    REQUIRE_OR_EXIT(!li.recent_public.empty());
    EXPECT(li.recent_public.back().body == "before the outage");
    LoginReply b = login(*st, rp, "Early" + std::to_string(::getpid()), now());
    EXPECT(b.ok);
    EXPECT(b.user.id == user);
    st->stop();
    Db d;
    REQUIRE_OR_EXIT(d.open(s->url, s->password, s->db));
    EXPECT(d.one("SELECT COUNT(*) FROM sessions WHERE id BETWEEN 1001 AND 1030") == "30");
    return g_failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    int rc;
    try {
        if (mode == "basic") {
            rc = basic();
        } else if (mode == "fault" && argc > 2) {
            rc = fault(argv[2]);
        } else if (mode == "transient" && argc > 2) {
            rc = transient(argv[2]);
        } else if (mode == "stale" && argc > 2) {
            rc = stale(argv[2]);
        } else if (mode == "startdown" && argc > 2) {
            rc = startdown(argv[2]);
        } else {
            std::fprintf(stderr, "usage: storage-it basic | storage-it fault|transient|stale|startdown PATH/TO/db.sh\n");
            return 2;
        }
    } catch (const std::exception&) {
        return 1;
    }
    if (rc == 77) return 77;
    if (rc == 0) std::printf("storage-it %s: all checks passed\n", mode.c_str());
    return rc;
}
