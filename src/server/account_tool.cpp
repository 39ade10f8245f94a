#include "server/account_tool.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>

#include "proto/names.hpp"
#include "proto/password.hpp"
#include "proto/server_line.hpp"
#include "proto/text.hpp"
#include "server/auth_pool.hpp"
#ifdef CHATD_HAVE_MYSQL
#include "server/mysql_client.hpp"
#include "server/mysql_sql.hpp"
#include "server/mysql_storage.hpp"
#include "server/mysql_url.hpp"
#endif

namespace chat::server {

namespace {

constexpr int kDone = 0, kRefused = 1, kUsage = 2, kDbFailed = 3;

int fail(int code, const std::string& text) {
    std::fprintf(stderr, "chatd account: %s\n", text.c_str());
    return code;
}

void wipe(std::string& s) {
    volatile char* p = s.data();
    for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
    s.clear();
}

// One line of standard input without its LF (and a CR before it); with a
// terminal, prompted on stderr with echo off.
bool read_secret(const char* prompt, std::string& out) {
    bool tty = ::isatty(STDIN_FILENO);
    termios old{};
    if (tty) {
        std::fprintf(stderr, "%s", prompt);
        std::fflush(stderr);
        ::tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = static_cast<bool>(std::getline(std::cin, out));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        std::fprintf(stderr, "\n");
    }
    if (ok && !out.empty() && out.back() == '\r') out.pop_back();
    return ok;
}

// The new password: read (twice from a terminal) and checked against the rules.
int new_password(const std::string& nick, std::string& password) {
    std::string prompt = "New password for " + nick + ": ";
    if (!read_secret(prompt.c_str(), password)) return fail(kRefused, "no password on standard input");
    if (::isatty(STDIN_FILENO)) {
        std::string again;
        bool same = read_secret("Again: ", again) && again == password;
        wipe(again);
        if (!same) {
            wipe(password);
            return fail(kRefused, "the two passwords differ; nothing changed");
        }
    }
    if (!proto::is_valid_password(password)) {
        wipe(password);
        return fail(kRefused, "a password is 8 to 128 bytes of text, not starting with a space; nothing changed");
    }
    return kDone;
}

#ifdef CHATD_HAVE_MYSQL

struct Account {
    bool found = false;
    bool is_account = false;
    std::int64_t id = 0;
    std::string nick;
};

DbOutcome find_user(MysqlClient& db, const std::string& key, Account& a) {
    std::vector<MysqlClient::Row> rows;
    DbOutcome r = db.query(mysql_sql::login_select(key), 8, rows);
    if (!r.ok()) return r;
    a.found = !rows.empty();
    if (a.found) {
        a.id = std::strtoll(rows[0][0].c_str(), nullptr, 10);
        a.nick = rows[0][1];
        a.is_account = !rows[0][6].empty();
    }
    return r;
}

int db_error(const DbOutcome& r) { return fail(kDbFailed, "database: " + r.error); }

int set_hash(MysqlClient& db, const Account& a, PasswordChange change, const std::string& hash) {
    SetPasswordRequest req{0, a.id, change, hash, std::time(nullptr), {}};
    if (DbOutcome r = db.exec(mysql_sql::password_update(req)); !r.ok()) return db_error(r);
    if (db.affected_rows() != 1) return fail(kRefused, "the account changed meanwhile; nothing done, try again");
    return kDone;
}

int add_or_passwd(MysqlClient& db, const ServerConfig& cfg, const std::string& nick, const std::string& key) {
    bool add = cfg.account_action == "add";
    Account a;
    if (DbOutcome r = find_user(db, key, a); !r.ok()) return db_error(r);
    if (add && a.is_account) return fail(kRefused, a.nick + " is an account already (chatd account passwd changes it)");
    if (!add && !a.is_account) return fail(kRefused, "no account " + nick);
    std::string password;
    if (int rc = new_password(a.found ? a.nick : nick, password); rc != kDone) return rc;
    std::string hash = hash_password(password, cfg.auth);
    wipe(password);
    if (hash.empty()) return fail(kDbFailed, "the password could not be hashed (out of memory?)");
    if (!add) {
        if (int rc = set_hash(db, a, PasswordChange::Change, hash); rc != kDone) return rc;
        std::printf("password of %s changed\n", a.nick.c_str());
        return kDone;
    }
    if (!a.found) {
        std::int64_t now = std::time(nullptr);
        std::string sql = "INSERT INTO users (nick, nick_key, created, status, password_hash, password_set) VALUES (" +
                          mysql_sql::quote(nick) + ',' + mysql_sql::quote(key) + ',' + std::to_string(now) +
                          ",'disponible'," + mysql_sql::quote(hash) + ',' + std::to_string(now) + ')';
        DbOutcome r = db.exec(sql);
        if (r.ok()) {
            std::printf("account %s created (id %llu)\n", nick.c_str(),
                        static_cast<unsigned long long>(db.insert_id()));
            return kDone;
        }
        // Someone logged in with it meanwhile (the unique key decided): register that user.
        if (DbOutcome f = find_user(db, key, a); !f.ok() || !a.found) return db_error(r);
    }
    if (int rc = set_hash(db, a, PasswordChange::Register, hash); rc != kDone) return rc;
    std::printf("%s (id %lld) is an account now; its history stays\n", a.nick.c_str(), static_cast<long long>(a.id));
    return kDone;
}

int remove_account(MysqlClient& db, const std::string& nick, const std::string& key) {
    std::string sql = "UPDATE users SET password_hash = NULL, password_set = NULL WHERE nick_key = " +
                      mysql_sql::quote(key) + " AND password_hash IS NOT NULL";
    if (DbOutcome r = db.exec(sql); !r.ok()) return db_error(r);
    if (db.affected_rows() != 1) return fail(kRefused, "no account " + nick);
    std::printf("%s is a guest nickname again (sessions already logged in keep going)\n", nick.c_str());
    return kDone;
}

int list_accounts(MysqlClient& db) {
    std::vector<MysqlClient::Row> rows;
    if (DbOutcome r = db.query(mysql_sql::accounts_select(), 4, rows); !r.ok()) return db_error(r);
    std::printf("%-32s %10s  %-20s  %s\n", "nick", "id", "created", "password set");
    for (const auto& row : rows) {
        // printf pads by bytes: Begoña would stand one column short of ana.
        std::string nick = row[0];
        nick.append(32 - std::min<std::size_t>(32, proto::count_code_points(nick)), ' ');
        std::printf("%s %10s  %-20s  %s\n", nick.c_str(), row[1].c_str(),
                    proto::format_time(std::strtoll(row[2].c_str(), nullptr, 10)).c_str(),
                    proto::format_time(std::strtoll(row[3].c_str(), nullptr, 10)).c_str());
    }
    return kDone;
}

#endif

}  // namespace

int run_account_tool(const ServerConfig& cfg) {
    if (cfg.db.empty())
        return fail(kUsage, "needs --db (or CHATD_DB): without a database, accounts live only in a running chatd");
    std::string key;
    if (cfg.account_action != "list") {
        if (!proto::is_valid_nick(cfg.account_nick))
            return fail(kUsage, "not a valid nickname: 1 to 32 letters, digits, _ - . or characters from U+00C0 up");
        key = proto::fold_nick(cfg.account_nick);
    }
#ifdef CHATD_HAVE_MYSQL
    MysqlUrl url;
    std::string err;
    if (!parse_mysql_url(cfg.db, url, err)) return fail(kUsage, "--db: " + err);
    std::string db_password;
    if (const char* pw = std::getenv("CHATD_DB_PASSWORD")) db_password = pw;
    MysqlClient db;
    if (DbOutcome r = db.connect(url, db_password); !r.ok())
        return fail(kDbFailed, "cannot connect to " + mysql_url_text(url) + ": " + r.error);
    if (DbOutcome r = prepare_mysql_schema(db); !r.ok()) return fail(kDbFailed, "database: " + r.error);
    if (cfg.account_action == "list") return list_accounts(db);
    if (cfg.account_action == "remove") return remove_account(db, cfg.account_nick, key);
    return add_or_passwd(db, cfg, cfg.account_nick, key);
#else
    return fail(kUsage, "this chatd was built without MySQL support");
#endif
}

}  // namespace chat::server
