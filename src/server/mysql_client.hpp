// A thin wrapper over one MariaDB/MySQL C API connection: connect, exec,
// query, ping, and what an error number means for the storage (transient,
// connection lost, permanent). No policy here; the storage thread owns one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/mysql_url.hpp"
#include "server/storage_pipeline.hpp"

struct st_mysql;

namespace chat::server {

// What a server or client error number means for the storage:
// - connection_lost: the client library's own errors (network, protocol,
//   CR_*) and the server's "this connection is over" (shutdown, killed, too
//   many connections, wait_timeout);
// - permanent: the statement itself can never succeed (duplicate key,
//   data too long, bad value, foreign key, constraint, syntax);
// - transient: everything else, which may pass (table or disk full, out of
//   memory, read-only, lock wait timeout, deadlock, statement timeout,
//   missing privileges or tables an operator can fix).
DbStatus mysql_error_class(unsigned error_number);
// At connect time: refused by a reachable server (bad credentials, no such
// database) is permanent, anything else means unreachable.
DbStatus mysql_connect_error_class(unsigned error_number);

class MysqlClient {
public:
    using Row = std::vector<std::string>;

    MysqlClient() = default;
    ~MysqlClient();
    MysqlClient(const MysqlClient&) = delete;
    MysqlClient& operator=(const MysqlClient&) = delete;

    // Connects (closing an old connection first); utf8mb4, strict SQL mode, autocommit.
    DbOutcome connect(const MysqlUrl& url, const std::string& password);
    void close();
    bool connected() const { return conn_ != nullptr; }

    // A statement without rows.
    DbOutcome exec(std::string_view sql);
    // A statement with rows of at least `columns` columns (NULL reads as "").
    DbOutcome query(std::string_view sql, unsigned columns, std::vector<Row>& rows);
    DbOutcome ping();
    std::uint64_t insert_id() const;
    std::uint64_t affected_rows() const;  // of the last exec()
    unsigned last_errno() const { return last_errno_; }

private:
    DbOutcome error(DbStatus (*classify)(unsigned));

    st_mysql* conn_ = nullptr;
    unsigned last_errno_ = 0;
};

}  // namespace chat::server
