#include <doctest/doctest.h>

#include <string>

#include "server/mysql_storage.hpp"

using namespace chat::server;
namespace sql = chat::server::mysql_sql;

TEST_CASE("URL: host, port and database") {
    MysqlUrl u;
    std::string err;
    REQUIRE(parse_mysql_url("mysql://chatd@127.0.0.1:3307/chatd", u, err));
    CHECK(u.user == "chatd");
    CHECK(u.password.empty());
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 3307);
    CHECK(u.database == "chatd");
    CHECK(u.socket.empty());
    CHECK(mysql_url_text(u) == "mysql://chatd@127.0.0.1:3307/chatd");
}

TEST_CASE("URL: default port, IPv6, socket, escapes") {
    MysqlUrl u;
    std::string err;
    REQUIRE(parse_mysql_url("mysql://app@db.example/chat", u, err));
    CHECK(u.port == 3306);
    CHECK(u.host == "db.example");

    REQUIRE(parse_mysql_url("mysql://app@[::1]:3310/chat", u, err));
    CHECK(u.host == "::1");
    CHECK(u.port == 3310);
    CHECK(mysql_url_text(u) == "mysql://app@[::1]:3310/chat");

    REQUIRE(parse_mysql_url("mysql://chatd@localhost/chatd?socket=/srv/chatd/var/mysqld.sock", u, err));
    CHECK(u.host == "localhost");
    CHECK(u.socket == "/srv/chatd/var/mysqld.sock");
    CHECK(mysql_url_text(u) == "mysql://chatd@localhost/chatd?socket=/srv/chatd/var/mysqld.sock");

    REQUIRE(parse_mysql_url("mysql://a%40b:p%3Aw%40rd@h/d", u, err));
    CHECK(u.user == "a@b");
    CHECK(u.password == "p:w@rd");
    CHECK(mysql_url_text(u).find("rd") == std::string::npos);  // never shows the password
}

TEST_CASE("URL: refusals") {
    MysqlUrl u;
    std::string err;
    for (const char* bad : {"", "postgres://u@h/d", "mysql://h/d", "mysql://@h/d", "mysql://u@h", "mysql://u@h/",
                            "mysql://u@/d", "mysql://u@h:/d", "mysql://u@h:0/d", "mysql://u@h:70000/d",
                            "mysql://u@h:33x/d", "mysql://u@[::1/d", "mysql://u@h/d?socket=",
                            "mysql://u@h/d?sslmode=on", "mysql://u%4@h/d", "mysql://u@h/d/e"}) {
        CAPTURE(bad);
        err.clear();
        CHECK_FALSE(parse_mysql_url(bad, u, err));
        CHECK_FALSE(err.empty());
    }
}

TEST_CASE("quote: hex literal of the exact bytes, nothing can escape it") {
    CHECK(sql::quote("") == "X''");
    CHECK(sql::quote("a'") == "X'6127'");
    CHECK(sql::quote(std::string("\0\xff", 2)) == "X'00FF'");
    std::string q = sql::quote("'; DROP TABLE users; --");
    CHECK(q.find(';') == std::string::npos);
    CHECK(q.size() == 3 + 2 * 23);
}

TEST_CASE("batch: one multi-row statement per kind, messages with NULL recipient for public") {
    std::vector<StorageEvent> events{
        MessageEvent{10, 100, 1, 0, "hi"},
        MessageEvent{11, 101, 1, 2, "'; DROP TABLE users; --"},
        SessionStartEvent{5, 1, 99, "127.0.0.1:4000"},
    };
    auto stmts = sql::batch_statements(events);
    REQUIRE(stmts.size() == 2);
    CHECK(stmts[0] ==
          "INSERT INTO messages (id, at, sender_id, recipient_id, body) VALUES (10,100,1,NULL,X'6869'),"
          "(11,101,1,2," + sql::quote("'; DROP TABLE users; --") + ") ON DUPLICATE KEY UPDATE id = id");
    CHECK(stmts[1] ==
          "INSERT INTO sessions (id, user_id, login_at, address) VALUES (5,1,99," + sql::quote("127.0.0.1:4000") +
          ") ON DUPLICATE KEY UPDATE id = id");
    CHECK(stmts[0].find("DROP") == std::string::npos);
}

TEST_CASE("batch: statuses and last_seen collapse to the last value per user") {
    std::vector<StorageEvent> events{
        StatusEvent{1, "ocupado"},
        SessionEndEvent{5, 1, 200, "quit"},
        StatusEvent{2, "ausente"},
        StatusEvent{1, "en-reunión"},
        SessionEndEvent{6, 1, 300, "timeout"},
    };
    auto stmts = sql::batch_statements(events);
    REQUIRE(stmts.size() == 3);
    CHECK(stmts[0] ==
          "INSERT INTO sessions (id, user_id, login_at, logout_at, reason) VALUES (5,1,200,200,X'71756974'),"
          "(6,1,300,300," + sql::quote("timeout") +
          ") ON DUPLICATE KEY UPDATE logout_at = VALUES(logout_at), reason = VALUES(reason)");
    CHECK(stmts[1] == "UPDATE users SET status = CASE id WHEN 1 THEN " + sql::quote("en-reunión") +
                          " WHEN 2 THEN " + sql::quote("ausente") + " ELSE status END WHERE id IN (1,2)");
    CHECK(stmts[2] == "UPDATE users SET last_seen = CASE id WHEN 1 THEN GREATEST(COALESCE(last_seen, 0), 300) "
                      "ELSE last_seen END WHERE id IN (1)");
}

TEST_CASE("batch: a session of another cluster node (session 0) moves only last_seen") {
    std::vector<StorageEvent> events{SessionEndEvent{0, 7, 400, "quit"}};
    auto stmts = sql::batch_statements(events);
    REQUIRE(stmts.size() == 1);
    CHECK(stmts[0] == "UPDATE users SET last_seen = CASE id WHEN 7 THEN GREATEST(COALESCE(last_seen, 0), 400) "
                      "ELSE last_seen END WHERE id IN (7)");
}

TEST_CASE("batch: nothing to write, no statement") { CHECK(sql::batch_statements({}).empty()); }

TEST_CASE("reads quote their keys and clamp limits") {
    CHECK(sql::login_select("ana'--").find(sql::quote("ana'--")) != std::string::npos);
    LoginRequest l{1, "Ana'", "ana'", 1234};
    std::string ins = sql::login_insert(l);
    CHECK(ins.find(sql::quote("Ana'")) != std::string::npos);
    CHECK(ins.find('\'' + std::string("Ana")) == std::string::npos);
    CHECK(sql::history_select(7, 20).find("LIMIT 20") != std::string::npos);
    CHECK(sql::history_select(7, -3).find("LIMIT -") == std::string::npos);
    CHECK(sql::history_select(7, 1 << 30).find("LIMIT 1000") != std::string::npos);
}

TEST_CASE("schema script: compiled in, split into its statements, versioned") {
    auto stmts = sql::split_script(sql::schema_text());
    REQUIRE(stmts.size() == 5);
    int tables = 0;
    for (const auto& s : stmts) {
        CHECK(s.rfind("--", 0) != 0);  // comment lines dropped
        CHECK(s.back() != ';');
        if (s.rfind("CREATE TABLE IF NOT EXISTS", 0) == 0) ++tables;
    }
    CHECK(tables == 4);
    CHECK(sql::schema_text().find("version INT") != std::string::npos);
    CHECK(stmts[1] == "INSERT IGNORE INTO schema_version (id, version) VALUES (1, " +
                          std::to_string(sql::kSchemaVersion) + ")");
}

TEST_CASE("split_script keeps statements spanning lines and a last one without ;") {
    auto s = sql::split_script("-- c\nCREATE TABLE a (\n  x INT\n);\n\nSELECT 1;\nSELECT 2");
    REQUIRE(s.size() == 3);
    CHECK(s[0] == "CREATE TABLE a (\n  x INT\n)");
    CHECK(s[1] == "SELECT 1");
    CHECK(s[2] == "SELECT 2");
}
