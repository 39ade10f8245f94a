#include "server/config_reload.hpp"

#include <sstream>

namespace chat::server {

namespace {

std::string text(const std::string& v) { return v.empty() ? "\"\"" : v; }
std::string text(bool v) { return v ? "on" : "off"; }
std::string text(Millis v) {
    std::ostringstream o;
    o << static_cast<double>(v.count()) / 1000.0 << " s";
    return o.str();
}
template <class T>
std::string text(const T& v) {
    std::ostringstream o;
    o << v;
    return o.str();
}

struct Differ {
    ReloadPlan& plan;
    // A live option: taken from `fresh` into the plan.
    template <class T>
    void live(const char* name, T& running, const T& fresh) {
        if (running == fresh) return;
        plan.changed.push_back(std::string(name) + " " + text(running) + " -> " + text(fresh));
        running = fresh;
    }
    // A restart-only option: the running value stays.
    template <class T>
    void restart(const char* name, const T& running, const T& fresh) {
        if (running == fresh) return;
        plan.need_restart.push_back(std::string(name) + " " + text(running) + " -> " + text(fresh));
    }
};

}  // namespace

ReloadPlan plan_reload(const ServerConfig& running, const ServerConfig& fresh) {
    ReloadPlan plan{running, {}, {}};
    ServerConfig& n = plan.next;
    Differ d{plan};
    d.live("rate", n.limits.rate, fresh.limits.rate);
    d.live("burst", n.limits.burst, fresh.limits.burst);
    d.live("login-timeout", n.limits.login_timeout, fresh.limits.login_timeout);
    d.live("ping-interval", n.limits.ping_interval, fresh.limits.ping_interval);
    d.live("ping-timeout", n.limits.ping_timeout, fresh.limits.ping_timeout);
    // 0 at start means "as many as there are descriptors"; main resolves it before comparing.
    d.live("max-clients", n.limits.max_clients, fresh.limits.max_clients);
    d.live("max-per-ip", n.limits.max_per_ip, fresh.limits.max_per_ip);
    d.live("history", n.limits.recent_history, fresh.limits.recent_history);
    d.live("require-account", n.limits.require_account, fresh.limits.require_account);
    d.live("registration", n.limits.registration_open, fresh.limits.registration_open);
    d.live("max-outbuf", n.max_outbuf, fresh.max_outbuf);
    d.live("log-level", n.log_level, fresh.log_level);
    d.live("log-format", n.log_format, fresh.log_format);

    d.restart("bind", running.bind, fresh.bind);
    d.restart("port", running.port, fresh.port);
    d.restart("tls-port", running.tls_port, fresh.tls_port);
    d.restart("tls-cert", running.tls.cert_file, fresh.tls.cert_file);
    d.restart("tls-key", running.tls.key_file, fresh.tls.key_file);
    d.restart("tls-ciphers", running.tls.ciphers, fresh.tls.ciphers);
    d.restart("tls-min-version", running.tls.min_version, fresh.tls.min_version);
    d.restart("name", running.name, fresh.name);
    d.restart("max-line", running.limits.max_line, fresh.limits.max_line);
    d.restart("db", running.db, fresh.db);
    d.restart("journal", running.journal, fresh.journal);
    d.restart("db-flush-ms", running.db_flush_ms, fresh.db_flush_ms);
    d.restart("db-batch", running.db_batch, fresh.db_batch);
    d.restart("db-backlog", running.db_backlog, fresh.db_backlog);
    d.restart("pw-ops", running.auth.opslimit, fresh.auth.opslimit);
    d.restart("pw-mem", running.auth.memlimit >> 20, fresh.auth.memlimit >> 20);
    d.restart("auth-threads", running.auth.threads, fresh.auth.threads);
    d.restart("metrics-port", running.metrics_port, fresh.metrics_port);
    d.restart("metrics-bind", running.metrics_bind, fresh.metrics_bind);
    d.restart("cluster", running.cluster, fresh.cluster);
    d.restart("node-name", running.node_name, fresh.node_name);
    d.restart("cluster-ttl", running.cluster_ttl_s, fresh.cluster_ttl_s);
    return plan;
}

}  // namespace chat::server
