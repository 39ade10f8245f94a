#include "server/mysql_sql.hpp"

#include <algorithm>
#include <map>

namespace chat::server {

extern const char* const kChatdSchemaSql;  // generated from schema.sql at build time

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
            if (e->session != 0) {
                row_start(ends, "INSERT INTO sessions (id, user_id, login_at, logout_at, reason) VALUES ");
                ends += num(e->session) + ',' + num(e->user) + ',' + num(e->time) + ',' + num(e->time) + ',' +
                        quote(e->reason) + ')';
            }
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
    // Never back: in a cluster the end of a session may also come late from another node.
    case_update("last_seen", last_seen, [](UnixTime t) { return "GREATEST(COALESCE(last_seen, 0), " + num(t) + ")"; });
    return out;
}

namespace {
constexpr const char* kUserColumns =
    "SELECT id, nick, created, COALESCE(last_login, 0), COALESCE(last_seen, 0), status, "
    "COALESCE(password_hash, ''), COALESCE(password_set, 0) FROM users ";
}

std::vector<std::string> migration_v1_to_v2() {
    return {"ALTER TABLE users ADD COLUMN password_hash VARBINARY(255) NULL AFTER status",
            "ALTER TABLE users ADD COLUMN password_set BIGINT NULL AFTER password_hash",
            "UPDATE schema_version SET version = 2 WHERE id = 1 AND version = 1"};
}

std::string password_update(const SetPasswordRequest& req) {
    std::string sql = "UPDATE users SET password_hash = " + quote(req.hash) + ", password_set = " + num(req.time) +
                      " WHERE id = " + num(req.user) + " AND ";
    switch (req.change) {
        case PasswordChange::Register: return sql + "password_hash IS NULL";
        case PasswordChange::Change: return sql + "password_hash IS NOT NULL";
        case PasswordChange::Rehash: return sql + "password_hash = " + quote(req.old_hash);
    }
    return sql + "FALSE";
}

std::string accounts_select() {
    return "SELECT nick, id, created, COALESCE(password_set, 0) FROM users WHERE password_hash IS NOT NULL "
           "ORDER BY nick_key";
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

}  // namespace chat::server
