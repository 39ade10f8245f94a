#include "server/config.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "chatd_version.hpp"
#include "server/log.hpp"

namespace chat::server {

int parse_config(int argc, char** argv, ServerConfig& cfg, std::string* error) {
    auto usage_error = [error](const std::string& text) {
        if (error)
            *error = text;
        else
            std::fprintf(stderr, "chatd: %s\n", text.c_str());
        return 2;
    };
    CLI::App app{
        "chatd: a chat server for many clients on one machine.\n"
        "Speaks the line protocol of docs/protocol.md; try it with `nc localhost 5000`.\n"
        "Every option can also be set in the --config file (INI: key = value, same names without --)."};
    app.set_version_flag("--version", "chatd " CHATD_VERSION);
    app.set_config("--config", "", "read options from this INI file");
    // A misspelt key (max-per-ipp) is refused, at start and at a reload, rather than
    // leaving the default in force without a word.
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.option_defaults()->always_capture_default();

    double login_s = 30, ping_s = 120, pong_s = 60;
    app.add_option("--bind", cfg.bind, "address to listen on (IPv4 or IPv6; 0.0.0.0 for every interface)");
    app.add_option("--port", cfg.port,
                   "plain TCP port to listen on (0: a free port; with --tls-cert, 0 serves TLS only)");
    app.add_option("--tls-port", cfg.tls_port, "TLS port, served when --tls-cert is given (0: a free port)");
    app.add_option("--tls-cert", cfg.tls.cert_file,
                   "PEM file with the server certificate and its chain; SIGHUP reloads it");
    app.add_option("--tls-key", cfg.tls.key_file, "PEM file with the certificate's private key (default: --tls-cert)");
    app.add_option("--tls-ciphers", cfg.tls.ciphers,
                   "TLS 1.2 cipher list in OpenSSL's syntax (default: OpenSSL's; TLS 1.3 suites are OpenSSL's)");
    app.add_option("--tls-min-version", cfg.tls.min_version, "oldest TLS version offered: 1.2 or 1.3")
        ->check(CLI::IsMember({"1.2", "1.3"}));
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
    app.add_option("--journal", cfg.journal, "file where events wait while the database is unreachable (default var/chatd.journal)");
    app.add_option("--db-flush-ms", cfg.db_flush_ms, "write batches to the database at least this often (ms)")
        ->check(CLI::Range(1, 10000));
    app.add_option("--db-batch", cfg.db_batch, "write a batch once it holds this many events")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    app.add_option("--db-backlog", cfg.db_backlog,
                   "events that may wait in memory for the database (a slow one, or one that is away while the "
                   "journal cannot be written) before messages are refused with ERROR unavailable")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    app.add_option("--cluster", cfg.cluster,
                   "join a cluster coordinated by this Redis: redis://HOST:PORT[/DB] (password from "
                   "CHATD_CLUSTER_PASSWORD); without it, a single server")
        ->envname("CHATD_CLUSTER");
    app.add_option("--node-name", cfg.node_name,
                   "this node's name in the cluster, unique among its nodes (default: HOST:PORT it listens on)");
    app.add_option("--cluster-ttl", cfg.cluster_ttl_s,
                   "seconds a node's nickname claims and heartbeat live unrefreshed: a dead node's users PART "
                   "within this plus a third (default 15; shorter for tests)")
        ->check(CLI::Range(0.3, 3600.0));
    app.add_option("--log-level", cfg.log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
    app.add_option("--log-format", cfg.log_format,
                   "text (time, level, message) or json (one object per line); under systemd lines carry syslog "
                   "priorities for journalctl -p and no time of their own")
        ->check(CLI::IsMember({"text", "json"}));

    app.add_option("--metrics-port", cfg.metrics_port,
                   "serve GET /metrics (Prometheus text format) on this port (0: off)");
    app.add_option("--metrics-bind", cfg.metrics_bind, "address for --metrics-port (keep it private)");

    std::string registration = "open";
    std::size_t pw_mem_mib = cfg.auth.memlimit >> 20;
    bool pw_test_cost = false;
    app.add_flag("--require-account", cfg.limits.require_account,
                 "accept accounts only: a guest nickname is refused with ERROR account-required");
    app.add_option("--registration", registration,
                   "open: clients may turn their nickname into an account with /registrar; closed: only the "
                   "operator makes accounts (chatd account add)")
        ->check(CLI::IsMember({"open", "closed"}));
    app.add_option("--pw-ops", cfg.auth.opslimit, "Argon2id passes per password hash (at least 2)")
        ->check(CLI::Range(1ULL, 1000ULL));
    app.add_option("--pw-mem", pw_mem_mib, "Argon2id memory per password hash, MiB (at least 19)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    app.add_option("--auth-threads", cfg.auth.threads,
                   "threads hashing and checking passwords (memory: this many times --pw-mem)")
        ->check(CLI::Range(1u, 64u));
    app.add_flag("--pw-test-cost", pw_test_cost,
                 "for tests only: hash passwords at libsodium's minimum cost (such hashes are cheap to crack)");

    auto* account = app.add_subcommand("account", "manage accounts in the --db database, then exit");
    account->require_subcommand(1);
    auto* add = account->add_subcommand("add", "make NICK an account; the password is read from standard input");
    auto* passwd = account->add_subcommand("passwd", "set NICK's password, read from standard input");
    auto* remove = account->add_subcommand("remove", "NICK becomes a guest nickname again (its history stays)");
    auto* list = account->add_subcommand("list", "list the accounts");
    for (auto* sub : {add, passwd, remove})
        sub->add_option("NICK", cfg.account_nick, "the nickname")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (error) {  // a reload: nothing printed, the caller logs it
            *error = e.what();
            return 2;
        }
        return app.exit(e) == 0 ? 0 : 2;  // --help, or a usage error (explained on stderr): exit 2 as usual
    }
    for (auto* sub : {add, passwd, remove, list})
        if (sub->parsed()) cfg.account_action = sub->get_name();
    cfg.limits.registration_open = registration == "open";
    if (!cfg.tls.cert_file.empty() && cfg.tls.key_file.empty()) cfg.tls.key_file = cfg.tls.cert_file;
    if (cfg.tls.cert_file.empty() && !cfg.tls.key_file.empty()) {
        return usage_error("--tls-key needs --tls-cert");
    }
    if (!cfg.node_name.empty()) {
        for (char c : cfg.node_name)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) {
                std::fprintf(stderr, "chatd: --node-name: letters, digits and . - _ : only\n");
                return 2;
            }
        if (cfg.node_name.size() > 64) {
            std::fprintf(stderr, "chatd: --node-name: at most 64 characters\n");
            return 2;
        }
    }
    cfg.auth.memlimit = pw_mem_mib << 20;
    if (pw_test_cost) {
        cfg.auth.testing_minimum = true;
        cfg.auth.opslimit = kArgon2OpsMin;
        cfg.auth.memlimit = kArgon2MemMin;
    }
    if (std::string err = validate_auth_pool_options(cfg.auth); !err.empty()) return usage_error(err);
    cfg.limits.login_timeout = Millis(static_cast<long long>(login_s * 1000));
    cfg.limits.ping_interval = Millis(static_cast<long long>(ping_s * 1000));
    cfg.limits.ping_timeout = Millis(static_cast<long long>(pong_s * 1000));
    return -1;
}

}  // namespace chat::server
