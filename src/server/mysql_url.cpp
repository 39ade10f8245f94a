#include "server/mysql_url.hpp"

#include <charconv>
#include <utility>

namespace chat::server {

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

}  // namespace chat::server
