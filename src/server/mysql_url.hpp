// The database URL chatd takes (--db / CHATD_DB): parsing and the text shown
// in logs. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace chat::server {

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

}  // namespace chat::server
