#include "server/config.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "server/log.hpp"

namespace chat::server {

int parse_config(int argc, char** argv, ServerConfig& cfg) {
    CLI::App app{
        "chatd: a chat server for many clients on one machine.\n"
        "Speaks the line protocol of docs/protocol.md; try it with `nc localhost 5000`.\n"
        "Every option can also be set in the --config file (INI: key = value, same names without --)."};
    app.set_config("--config", "", "read options from this INI file");
    app.option_defaults()->always_capture_default();

    double login_s = 30, ping_s = 120, pong_s = 60;
    app.add_option("--bind", cfg.bind, "address to listen on (IPv4 or IPv6; 0.0.0.0 for every interface)");
    app.add_option("--port", cfg.port, "TCP port to listen on");
    app.add_option("--name", cfg.name, "server name sent in HELLO");
    app.add_option("--max-line", cfg.limits.max_line, "longest client line in bytes before its LF")
        ->check(CLI::Range(16, 1 << 20));
    app.add_option("--rate", cfg.limits.rate, "lines per second a client may send (0: no flow control)")
        ->check(CLI::Range(0.0, 1e9));
    app.add_option("--burst", cfg.limits.burst, "lines a client may send at once")->check(CLI::Range(1.0, 1e9));
    app.add_option("--max-outbuf", cfg.max_outbuf, "unsent bytes per client before it is cut as a slow consumer")
        ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 32));
    app.add_option("--login-timeout", login_s, "seconds a connection may take to log in")
        ->check(CLI::Range(0.05, 86400.0));
    app.add_option("--ping-interval", ping_s, "idle seconds before the server sends PING")
        ->check(CLI::Range(0.05, 86400.0));
    app.add_option("--ping-timeout", pong_s, "further idle seconds before an idle client is cut")
        ->check(CLI::Range(0.05, 86400.0));
    app.add_option("--max-clients", cfg.limits.max_clients,
                   "most connections at once (0: what the file-descriptor limit allows)");
    app.add_option("--max-per-ip", cfg.limits.max_per_ip, "most connections from one address (0: no limit)");
    app.add_option("--history", cfg.limits.recent_history, "public messages replayed after login")
        ->check(CLI::Range(0, 200));
    app.add_option("--db", cfg.db,
                   "MySQL/MariaDB: mysql://user@host:port/dbname or mysql://user@localhost/dbname?socket=PATH; "
                   "password from CHATD_DB_PASSWORD or the MySQL option files; without it, storage is in memory")
        ->envname("CHATD_DB");
    app.add_option("--journal", cfg.journal, "file where events wait while the database is unreachable");
    app.add_option("--db-flush-ms", cfg.db_flush_ms, "write batches to the database at least this often (ms)")
        ->check(CLI::Range(1, 10000));
    app.add_option("--db-batch", cfg.db_batch, "write a batch once it holds this many events")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    app.add_option("--db-backlog", cfg.db_backlog,
                   "events that may wait in memory for the database (a slow one, or one that is away while the "
                   "journal cannot be written) before messages are refused with ERROR unavailable")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    app.add_option("--log-level", cfg.log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    cfg.limits.login_timeout = Millis(static_cast<long long>(login_s * 1000));
    cfg.limits.ping_interval = Millis(static_cast<long long>(ping_s * 1000));
    cfg.limits.ping_timeout = Millis(static_cast<long long>(pong_s * 1000));
    return -1;
}

}  // namespace chat::server
