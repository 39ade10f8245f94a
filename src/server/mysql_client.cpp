#include "server/mysql_client.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

namespace chat::server {

DbStatus mysql_error_class(unsigned err) {
    if (err >= 2000 && err < 3000) return DbStatus::connection_lost;  // CR_*: client side, network, protocol
    switch (err) {
        case 0:
            return DbStatus::transient;  // no number: something odd, retry
        case 1040:  // ER_CON_COUNT_ERROR
        case 1043:  // ER_HANDSHAKE_ERROR
        case 1053:  // ER_SERVER_SHUTDOWN
        case 1080:  // ER_FORCING_CLOSE
        case 1081:  // ER_IPSOCK_ERROR
        case 1152:  // ER_ABORTING_CONNECTION
        case 1154: case 1155: case 1156: case 1157:  // ER_NET_*: read, fcntl, order, uncompress
        case 1158: case 1159: case 1160: case 1161:  // ER_NET_*: read, interrupted, write
        case 1184:  // ER_NEW_ABORTING_CONNECTION
        case 1927:  // ER_CONNECTION_KILLED
        case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: wait_timeout)
            return DbStatus::connection_lost;
        case 1048:  // ER_BAD_NULL_ERROR
        case 1062:  // ER_DUP_ENTRY (ids are upserts: a duplicate on another key)
        case 1064:  // ER_PARSE_ERROR
        case 1118:  // ER_TOO_BIG_ROWSIZE
        case 1153:  // ER_NET_PACKET_TOO_LARGE: a batch is split, one row too large stays so
        case 1169:  // ER_DUP_UNIQUE
        case 1216: case 1217: case 1451: case 1452:  // foreign keys
        case 1263:  // ER_WARN_NULL_TO_NOTNULL
        case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
        case 1265:  // WARN_DATA_TRUNCATED
        case 1292:  // ER_TRUNCATED_WRONG_VALUE
        case 1300:  // ER_INVALID_CHARACTER_STRING
        case 1364:  // ER_NO_DEFAULT_FOR_FIELD
        case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
        case 1367:  // ER_ILLEGAL_VALUE_FOR_TYPE
        case 1406:  // ER_DATA_TOO_LONG
        case 1557:  // ER_FOREIGN_DUPLICATE_KEY
        case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
        case 1690:  // ER_DATA_OUT_OF_RANGE
        case 3819:  // MySQL: check constraint violated
        case 4025:  // ER_CONSTRAINT_FAILED
            return DbStatus::permanent;
        default:
            // 1030 engine error (disk full), 1037/1038 out of memory, 1114 table
            // full, 1205 lock wait timeout, 1213 deadlock, 1290/1836 read-only,
            // 1317 interrupted, 1969 statement timeout, 1142 no privilege,
            // 1146 no such table, ...: all of them can pass.
            return DbStatus::transient;
    }
}

DbStatus mysql_connect_error_class(unsigned err) {
    switch (err) {
        case 1044:  // ER_DBACCESS_DENIED_ERROR
        case 1045:  // ER_ACCESS_DENIED_ERROR
        case 1049:  // ER_BAD_DB_ERROR
        case 1130:  // ER_HOST_NOT_PRIVILEGED
        case 1251:  // ER_NOT_SUPPORTED_AUTH_MODE
        case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
            return DbStatus::permanent;
        default:
            return DbStatus::connection_lost;
    }
}

MysqlClient::~MysqlClient() { close(); }

void MysqlClient::close() {
    if (conn_) mysql_close(conn_);
    conn_ = nullptr;
}

DbOutcome MysqlClient::error(DbStatus (*classify)(unsigned)) {
    last_errno_ = conn_ ? mysql_errno(conn_) : CR_SERVER_GONE_ERROR;
    std::string text = conn_ ? mysql_error(conn_) : "not connected";
    DbStatus s = classify(last_errno_);
    return DbOutcome{s, std::to_string(last_errno_) + " " + text};
}

DbOutcome MysqlClient::connect(const MysqlUrl& url, const std::string& password_in) {
    close();
    conn_ = mysql_init(nullptr);
    if (!conn_) return DbOutcome{DbStatus::connection_lost, "out of memory"};
    unsigned connect_timeout = 3, io_timeout = 10;
    my_bool reconnect = 0;
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(conn_, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_options(conn_, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_options(conn_, MYSQL_OPT_RECONNECT, &reconnect);
    mysql_options(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char* password = nullptr;
    if (!password_in.empty())
        password = password_in.c_str();
    else if (!url.password.empty())
        password = url.password.c_str();
    else
        mysql_options(conn_, MYSQL_READ_DEFAULT_GROUP, "client");  // password from ~/.my.cnf etc.
    const char* host = url.socket.empty() ? url.host.c_str() : "localhost";
    const char* sock = url.socket.empty() ? nullptr : url.socket.c_str();
    if (!mysql_real_connect(conn_, host, url.user.c_str(), password, url.database.c_str(),
                            url.socket.empty() ? url.port : 0, sock, 0)) {
        DbOutcome r = error(mysql_connect_error_class);
        close();
        return r;
    }
    // An option file may name another character set; the data is utf8mb4.
    if (mysql_set_character_set(conn_, "utf8mb4") != 0 ||
        mysql_query(conn_, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
                           "SESSION autocommit = 1") != 0) {
        DbOutcome r = error(mysql_error_class);
        if (r.status != DbStatus::permanent) r.status = DbStatus::connection_lost;
        close();
        return r;
    }
    return {};
}

DbOutcome MysqlClient::exec(std::string_view sql) {
    if (!conn_) return error(mysql_error_class);
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return error(mysql_error_class);
    // A statement without rows has no result; draining keeps the connection in sync.
    if (MYSQL_RES* r = mysql_store_result(conn_)) mysql_free_result(r);
    return {};
}

DbOutcome MysqlClient::query(std::string_view sql, unsigned columns, std::vector<Row>& rows) {
    rows.clear();
    if (!conn_) return error(mysql_error_class);
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return error(mysql_error_class);
    MYSQL_RES* res = mysql_store_result(conn_);
    if (!res) return error(mysql_error_class);
    if (mysql_num_fields(res) < columns) {
        mysql_free_result(res);
        last_errno_ = 0;
        return DbOutcome{DbStatus::transient, "unexpected result shape"};
    }
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
        unsigned long* lengths = mysql_fetch_lengths(res);
        Row r(columns);
        for (unsigned i = 0; i < columns; ++i)
            if (row[i]) r[i].assign(row[i], lengths[i]);
        rows.push_back(std::move(r));
    }
    mysql_free_result(res);
    return {};
}

DbOutcome MysqlClient::ping() {
    if (!conn_) return error(mysql_error_class);
    if (mysql_ping(conn_) != 0) {
        DbOutcome r = error(mysql_error_class);
        r.status = DbStatus::connection_lost;
        return r;
    }
    return {};
}

std::uint64_t MysqlClient::insert_id() const { return conn_ ? mysql_insert_id(conn_) : 0; }

std::uint64_t MysqlClient::affected_rows() const {
    if (!conn_) return 0;
    my_ulonglong n = mysql_affected_rows(conn_);
    return n == static_cast<my_ulonglong>(-1) ? 0 : n;
}

}  // namespace chat::server
