// The SQL the storage sends to MySQL/MariaDB: pure functions building
// statement text, exposed for tests. Every string goes in as a hex literal.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/storage.hpp"

namespace chat::server::mysql_sql {

inline constexpr int kSchemaVersion = 2;
// The statements that bring a version-1 database to version 2, in order.
// The last one sets the version; a start that died half-way runs them again
// (an ADD COLUMN that finds its column is then not an error: the caller
// skips ER_DUP_FIELDNAME).
std::vector<std::string> migration_v1_to_v2();
// schema.sql, compiled in.
std::string_view schema_text();
// Splits a script on `;` at the end of a line, dropping `--` comment lines.
std::vector<std::string> split_script(std::string_view script);

// A string literal safe for any bytes: X'..' (hex), so no character set or
// SQL mode can change what it means.
std::string quote(std::string_view bytes);

// The statements of one batch, to run in one transaction, in this order:
// messages, session starts, session ends, statuses, last_seen. Equivalent to
// applying the events one by one in order, and idempotent.
std::vector<std::string> batch_statements(std::span<const StorageEvent> events);

std::string login_select(std::string_view key);
std::string login_insert(const LoginRequest& req);
std::string login_update(UserId id, UnixTime time);
std::string profile_select(std::string_view key);
// The UPDATE of a SetPasswordRequest: changes one row exactly when the user is
// in the state the change expects (1 affected row: done).
std::string password_update(const SetPasswordRequest& req);
// Accounts for `chatd account list`: nick, id, created, password_set.
std::string accounts_select();
std::string history_select(UserId user, int limit);
std::string recent_public_select(int limit);

}  // namespace chat::server::mysql_sql
