// chatd's options: command line, config file (--config, same keys), environment (CHATD_DB).
#pragma once

#include <cstdint>
#include <string>

#include "server/auth_pool.hpp"
#include "net/tls_context.hpp"
#include "server/core.hpp"

namespace chat::server {

struct ServerConfig {
    std::string bind = "127.0.0.1";
    std::uint16_t port = 5000;  // 0: a free port; with a certificate, no plain TCP (TLS only)
    std::uint16_t tls_port = 5001;  // served when tls.cert_file is set; 0: a free port
    net::TlsOptions tls;
    std::string name = "chatd";
    Limits limits;
    std::size_t max_outbuf = 1 << 20;
    std::string db;       // mysql://user@host:port/db; empty: in-memory storage
    std::string journal;  // append-only file for events the database could not take yet
    int db_flush_ms = 5;
    std::size_t db_batch = 500;
    std::size_t db_backlog = 100000;  // events waiting in memory before messages are refused
    std::string log_level = "info";
    std::string log_format = "text";  // text or json
    std::uint16_t metrics_port = 0;  // 0: no /metrics
    std::string metrics_bind = "127.0.0.1";
    std::string cluster;    // redis://HOST:PORT[/DB]; empty: a single server
    std::string node_name;  // unique in the cluster; default HOST:PORT of the plain (else TLS) listener
    double cluster_ttl_s = 15;  // claims and heartbeats; a dead node's users PART within this plus a third
    AuthPoolOptions auth;  // --pw-ops, --pw-mem, --auth-threads
    // `chatd account ACTION [NICK]`: manage accounts in the database and exit.
    std::string account_action;  // add, passwd, remove, list; empty: serve
    std::string account_nick;
};

// Parses argv (and the --config file). Returns -1 to go on; otherwise the
// process should exit with that code (after --help, or on a usage error,
// which CLI11 has already explained on stderr). With `error` (a reload),
// nothing is printed: a usage error returns 2 with its text there.
int parse_config(int argc, char** argv, ServerConfig& cfg, std::string* error = nullptr);

}  // namespace chat::server
