// chatd: wires the chat core to the reactor, the TCP connections and storage.
// Everything here runs on one thread except the storage's own.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "net/http_endpoint.hpp"
#include "net/reactor.hpp"
#include "net/ring_buffer.hpp"
#include "net/tcp_server.hpp"
#include "net/tls_context.hpp"
#include "server/account_tool.hpp"
#include "server/auth_pool.hpp"
#include "server/cluster_redis.hpp"
#include "server/config.hpp"
#include "server/config_reload.hpp"
#include "server/core.hpp"
#include "server/log.hpp"
#include "server/memory_storage.hpp"
#include "server/server_metrics.hpp"
#include "server/service_notify.hpp"
#include "server/trim_policy.hpp"
#ifdef CHATD_HAVE_MYSQL
#include "server/mysql_storage.hpp"
#endif

namespace chat::server {
namespace {

// Resident bytes of this process, from /proc/self/statm (one small read).
std::size_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    return n == 2 ? static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))
                  : 0;
}

// An output ring grows by doubling to what a turn writes (hundreds of KiB at
// saturation) and is freed when it empties. With glibc's defaults a ring past
// 128 KiB is an mmap of its own, and a free at the top of the heap trims it,
// so every turn faulted in fresh zeroed pages: about 20,000 page faults a
// second at saturation, 8-10 % of chatd's CPU (docs/benchmarks.md). Fixed
// thresholds keep freed memory in the heap; MemoryTrimmer hands it back
// once a burst is over.
void keep_freed_heap() {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

// Trims the heap when TrimPolicy says so (trim_policy.hpp).
class MemoryTrimmer {
public:
    void tick() {
        const std::size_t rss = resident_bytes();
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
        if (!policy_.tick(net::RingBuffer::take_released(), rss, now)) return;
        auto t0 = std::chrono::steady_clock::now();
        ::malloc_trim(128 * 1024);
        auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
        const std::size_t after = resident_bytes();
        policy_.trimmed(after, now);
        LOG_DEBUG("malloc_trim: resident %zu KiB -> %zu KiB in %lld us", rss >> 10, after >> 10,
                  static_cast<long long>(us.count()));
    }

private:
    TrimPolicy policy_;
};

class Server final : public net::ConnectionHandler, public Transport, public Clock {
public:
    Server(const ServerConfig& cfg, Storage& storage, int argc, char** argv)
        : cfg_(cfg),
          argc_(argc),
          argv_(argv),
          tcp_(reactor_, *this, tcp_options(cfg)),
          storage_(storage),
          hasher_(cfg.auth),
          core_(*this, storage, *this, cfg.limits, cfg.name, &hasher_),
          metrics_(reactor_, [this](std::string_view path) { return scrape(path); }) {}

    static net::TcpServerOptions tcp_options(const ServerConfig& cfg) {
        net::TcpServerOptions o;
        o.max_outbuf = cfg.max_outbuf;
        // A whole line of --max-line bytes (a CR included) and its LF must fit, or a legal long line
        // would be neither taken nor refused.
        o.max_input = std::max<std::size_t>(64 * 1024, cfg.limits.max_line + 2);
        o.close_linger_ms = 5000;
        o.shed_message = ChatCore::server_full_lines(cfg.name);  // out of fds, a newcomer still hears why
        return o;
    }

    int run(const ServerConfig& cfg, const StartupInfo& info) {
        core_.load(info);
        if (!cfg.tls.cert_file.empty()) {
            std::string err, warning;
            tls_ = net::TlsContext::make(cfg.tls, err, warning);
            if (!tls_) {
                LOG_ERROR("TLS: %s", err.c_str());
                return 1;
            }
            if (!warning.empty()) LOG_WARN("TLS: %s", warning.c_str());
            LOG_INFO("TLS certificate: %s", tls_->describe().c_str());
        }
        if (!tls_ || cfg.port != 0) {
            if (std::string err = tcp_.listen(cfg.bind, cfg.port); !err.empty()) {
                LOG_ERROR("cannot listen on %s:%u: %s", cfg.bind.c_str(), cfg.port, err.c_str());
                return 1;
            }
            LOG_INFO("listening on %s:%u (max clients %zu, max per address %zu)", cfg.bind.c_str(), tcp_.port(),
                     core_.limits().max_clients, core_.limits().max_per_ip);
        }
        if (tls_) {
            if (std::string err = tcp_.listen_tls(cfg.bind, cfg.tls_port, *tls_); !err.empty()) {
                LOG_ERROR("cannot listen for TLS on %s:%u: %s", cfg.bind.c_str(), cfg.tls_port, err.c_str());
                return 1;
            }
            LOG_INFO("listening for TLS on %s:%u (TLS %s and newer)", cfg.bind.c_str(), tcp_.tls_port(),
                     cfg.tls.min_version.c_str());
        }
        if (!cfg.cluster.empty()) {
            if (int rc = join_cluster(cfg); rc != 0) return rc;
        }
        if (cfg.metrics_port != 0) {
            if (std::string err = metrics_.listen(cfg.metrics_bind, cfg.metrics_port); !err.empty()) {
                LOG_ERROR("cannot serve metrics on %s:%u: %s", cfg.metrics_bind.c_str(), cfg.metrics_port,
                          err.c_str());
                return 1;
            }
            LOG_INFO("metrics on http://%s:%u/metrics", cfg.metrics_bind.c_str(), metrics_.port());
        }
        storage_.set_notify([this] { reactor_.post([] {}); });
        hasher_.set_notify([this] { reactor_.post([] {}); });
        if (std::string e = hasher_.start(); !e.empty()) {
            LOG_ERROR("password hashing: %s", e.c_str());
            return 1;
        }
        LOG_INFO("accounts: registration %s%s; Argon2id %llu passes, %zu MiB, %u threads %s",
                 core_.limits().registration_open ? "open" : "closed",
                 core_.limits().require_account ? ", accounts only" : "", hasher_.options().opslimit,
                 hasher_.options().memlimit >> 20, hasher_.options().threads,
                 hasher_.idle_class() ? "in the idle class (nice +10 while the host is busy)"
                                      : "at nice +10 (no way back from the idle class: needs RLIMIT_NICE >= 10 "
                                        "or CAP_SYS_NICE)");
        reactor_.on_signals({SIGINT, SIGTERM, SIGHUP}, [this](int signo) {
            if (signo == SIGHUP)
                reload();
            else
                begin_shutdown(signo);
        });
        reactor_.set_before_sleep([this] { end_of_turn(); });
        schedule_trim();
        notifier_.ready(status_text());
        schedule_status();
        if (notifier_.watchdog_interval().count() > 0) schedule_watchdog();
        reactor_.run();
        // Storage stops while the reactor it notifies still exists: its thread may be answering a
        // request (or retrying a database) right now.
        storage_.stop();
        hasher_.stop();
        return 0;
    }

    // net::ConnectionHandler
    // The node's slot in message and session ids: its name hashed (FNV-1a) to 10 bits.
    static unsigned id_slot(const std::string& node) {
        std::uint32_t h = 2166136261u;
        for (unsigned char c : node) h = (h ^ c) * 16777619u;
        return h % 1024;
    }

    int join_cluster(const ServerConfig& cfg) {
        std::string err;
        auto endpoint = net::parse_redis_url(cfg.cluster, err);
        if (!endpoint || !net::resolve_redis_host(*endpoint, err)) {
            LOG_ERROR("--cluster: %s", err.c_str());
            return 2;
        }
        if (const char* pw = std::getenv("CHATD_CLUSTER_PASSWORD")) endpoint->password = pw;
        ClusterRedisOptions ro;
        ro.endpoint = *endpoint;
        ClusterOptions lo;
        lo.node = cfg.node_name;
        if (lo.node.empty()) lo.node = cfg.bind + ":" + std::to_string(tcp_.port() != 0 ? tcp_.port() : tcp_.tls_port());
        lo.ttl = std::chrono::milliseconds(static_cast<long long>(cfg.cluster_ttl_s * 1000));
        // A heartbeat that waits on a slow Redis longer than a third of the TTL is as good as lost.
        ro.reply_timeout = std::min(ro.reply_timeout, std::max(lo.ttl / 3, std::chrono::milliseconds(200)));
        ro.connect_timeout = std::min(ro.connect_timeout, std::max(lo.ttl / 3, std::chrono::milliseconds(200)));
        cluster_io_ = std::make_unique<ClusterRedis>(reactor_, ro);
        link_ = std::make_unique<ClusterLink>(*cluster_io_, core_, lo);
        cluster_io_->attach(*link_);
        const unsigned slot = id_slot(lo.node);
        core_.attach_cluster(link_.get(), slot);
        LOG_INFO("cluster: node %s (id slot %u) on %s, TTL %.1f s", lo.node.c_str(), slot,
                 net::redis_url_text(*endpoint).c_str(), cfg.cluster_ttl_s);
        link_->start(std::chrono::steady_clock::now());
        return 0;
    }

    void on_open(net::ConnId id, const net::PeerAddress& peer) override {
        core_.on_open(id, peer.ip, ConnTraits{peer.loopback || peer.tls, peer.accepted});
    }
    void on_handshake_failed(const net::PeerAddress& peer, std::string_view reason) override {
        LOG_INFO("TLS handshake from %s failed: %.*s", peer.ip.c_str(), static_cast<int>(reason.size()),
                 reason.data());
    }
    std::size_t on_data(net::ConnId id, std::string_view data) override { return core_.on_data(id, data); }
    void on_drained(net::ConnId id) override { core_.on_drained(id); }
    void on_close(net::ConnId id, net::CloseReason why) override {
        core_.on_gone(id, why == net::CloseReason::OutputFull ? Gone::SlowConsumer : Gone::Closed);
    }

    // Transport
    void send(ConnId id, std::string_view bytes) override { tcp_.send(id, bytes); }
    void close(ConnId id) override { tcp_.close_after_flush(id); }
    void pause(ConnId id) override { tcp_.pause_reading(id); }
    void resume(ConnId id) override {
        resumes_.push_back(id);
        // A paced reply that ends inside flush() resumes its reader after this turn's resumes
        // were taken: make sure there is a next turn, or the reader's kept lines wait for an
        // unrelated event.
        if (flushing_ && !wake_posted_) {
            wake_posted_ = true;
            reactor_.post([this] { wake_posted_ = false; });
        }
    }
    void begin_paced(ConnId id) override { tcp_.begin_paced(id); }
    void send_paced(ConnId id, std::string_view bytes) override { tcp_.send_paced(id, bytes); }
    void end_paced(ConnId id) override { tcp_.end_paced(id); }
    void abandon_paced(ConnId id) override { tcp_.abandon_paced(id); }

    // Clock
    Mono now() override { return std::chrono::steady_clock::now(); }
    std::int64_t wall_us() override {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

private:
    // Once per loop turn: storage answers, resumed readers, the core's next
    // timer, then one write per connection with new output.
    void end_of_turn() {
        for (int round = 0; round < 64; ++round) {
            auto replies = storage_.take_replies();
            for (auto& r : replies) core_.on_reply(std::move(r));
            for (auto& r : hasher_.take_replies()) core_.on_auth_reply(std::move(r));
            if (resumes_.empty()) break;
            std::vector<ConnId> ids;
            ids.swap(resumes_);
            for (ConnId id : ids) tcp_.resume_reading(id);
            if (round == 63) reactor_.post([] {});  // more next turn; others get their share first
        }
        Mono due = core_.next_deadline();
        if (due != armed_) {
            if (timer_) reactor_.cancel_timer(timer_);
            timer_ = 0;
            armed_ = due;
            if (due != Mono::max()) {
                timer_ = reactor_.add_timer(due, [this] {
                    timer_ = 0;
                    armed_ = Mono::max();
                    core_.on_tick();
                });
            }
        }
        if (link_) arm_link();
        flushing_ = true;
        tcp_.flush();
        flushing_ = false;
        loop_seconds_.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - reactor_.turn_began()).count());
        if (stopping_ && tcp_.connection_count() == 0 && (!link_ || link_->left())) reactor_.stop();
    }

    void arm_link() {
        const auto due = link_->next_deadline();
        if (due == link_armed_) return;
        if (link_timer_) reactor_.cancel_timer(link_timer_);
        link_timer_ = 0;
        link_armed_ = due;
        if (due == Mono::max()) return;
        link_timer_ = reactor_.add_timer(due, [this] {
            link_timer_ = 0;
            link_armed_ = Mono::max();
            link_->on_tick(std::chrono::steady_clock::now());
        });
    }

    // Output buffers are freed as they drain, but glibc keeps the freed pages
    // in its heap: after a burst the process would keep its peak RSS for
    // good. malloc_trim hands them back once the burst is over (TrimPolicy);
    // it walks every arena under its locks, so not every second.
    void schedule_trim() {
        reactor_.add_timer(std::chrono::steady_clock::now() + std::chrono::seconds(1), [this] {
            trim_.tick();
            if (!stopping_) schedule_trim();
        });
    }

    // What `systemctl status chatd` shows, refreshed every few seconds.
    std::string status_text() const {
        const CoreStats c = core_.stats();
        const StorageStats st = storage_.stats();
        std::string text = std::to_string(c.connections) + " connections, " + std::to_string(c.online) + " online; ";
        if (!st.database)
            text += "storage in memory";
        else if (st.database_up)
            text += "database up";
        else
            text += "database unreachable";
        if (st.waiting > 0) text += ", " + std::to_string(st.waiting) + " events waiting";
        if (st.journal_pending) text += ", journal in use";
        if (link_) text += link_->available() ? "; cluster up" : "; cluster unreachable";
        return text;
    }

    void schedule_status() {
        reactor_.add_timer(std::chrono::steady_clock::now() + std::chrono::seconds(5), [this] {
            if (stopping_) return;
            notifier_.status(status_text());
            schedule_status();
        });
    }

    // Pinged from a timer of the loop itself: a loop stuck anywhere stops the pings.
    void schedule_watchdog() {
        reactor_.add_timer(std::chrono::steady_clock::now() + notifier_.watchdog_interval(), [this] {
            notifier_.watchdog();
            schedule_watchdog();
        });
    }

    // SIGHUP: the command line and the --config file are read again and what can change live
    // is applied (config_reload.hpp); then the certificate and key are read again: new
    // handshakes use them, connections made with the old ones keep them. A configuration
    // that does not parse, or a certificate that does not load, leaves the running one.
    // Both read files on the loop thread: a few small local files, once per SIGHUP.
    void reload() {
        reload_config();
        if (!tls_) return;
        std::string warning;
        if (std::string err = tls_->reload(warning); !err.empty()) {
            LOG_ERROR("SIGHUP: TLS certificate not reloaded, the old one stays in use: %s", err.c_str());
            return;
        }
        if (!warning.empty()) LOG_WARN("TLS: %s", warning.c_str());
        LOG_INFO("SIGHUP: TLS certificate reloaded: %s", tls_->describe().c_str());
    }

    net::HttpResponse scrape(std::string_view path) {
        if (path != "/metrics") return {404, "text/plain; charset=utf-8", "try /metrics\n"};
        MetricsInputs in;
        in.core = core_.stats();
        in.tcp = tcp_.stats();
        in.storage = storage_.stats();
        in.auth = hasher_.stats();
        in.loop_seconds = loop_seconds_.snapshot();
        in.process = read_process_stats(started_);
        if (link_) {
            in.cluster = true;
            in.cluster_up = link_->available();
            in.cluster_users = link_->users().size();
            in.cluster_sequence = link_->last_seq();
        }
        return {200, std::string(PromText::kContentType), render_metrics(in)};
    }

    void reload_config() {
        ServerConfig fresh;
        std::string err;
        if (parse_config(argc_, argv_, fresh, &err) >= 0) {
            LOG_ERROR("SIGHUP: configuration not reloaded, the running one stays: %s", err.c_str());
            return;
        }
        if (fresh.limits.max_clients == 0) fresh.limits.max_clients = net::TcpServer::fd_capacity();
        ReloadPlan plan = plan_reload(cfg_, fresh);
        for (const auto& c : plan.changed) LOG_INFO("SIGHUP: %s", c.c_str());
        for (const auto& c : plan.need_restart) LOG_WARN("SIGHUP: %s needs a restart; not applied", c.c_str());
        if (plan.changed.empty() && plan.need_restart.empty()) LOG_INFO("SIGHUP: configuration unchanged");
        cfg_ = plan.next;
        core_.set_limits(cfg_.limits);
        tcp_.set_max_outbuf(cfg_.max_outbuf);
        LogLevel level = log_level();
        parse_log_level(cfg_.log_level, level);
        set_log_level(level);
        set_log_format(cfg_.log_format == "json" ? LogFormat::Json : LogFormat::Text);
    }

    void begin_shutdown(int signo) {
        if (stopping_) return;
        LOG_INFO("signal %d: shutting down", signo);
        stopping_ = true;
        notifier_.stopping();
        metrics_.stop();
        tcp_.stop_listening();
        core_.shutdown();
        // Clients that do not read get their BYE for a few seconds at most.
        reactor_.add_timer(std::chrono::steady_clock::now() + std::chrono::seconds(6),
                           [this] { reactor_.stop(); });
    }

    ServerConfig cfg_;  // as running: the start's, with every reload's live changes
    int argc_;
    char** argv_;
    MemoryTrimmer trim_;
    std::unique_ptr<net::TlsContext> tls_;  // outlives tcp_: its connections hold the context
    net::Reactor reactor_;
    net::TcpServer tcp_;
    Storage& storage_;
    AuthPool hasher_;
    ChatCore core_;
    net::HttpEndpoint metrics_;
    ServiceNotifier notifier_;
    Histogram loop_seconds_{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                            0.025, 0.05, 0.1, 0.25, 1};
    double started_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    // The cluster, when --cluster is given: the link's driver on this reactor, then the link.
    std::unique_ptr<ClusterRedis> cluster_io_;
    std::unique_ptr<ClusterLink> link_;
    net::Reactor::TimerId link_timer_ = 0;
    Mono link_armed_ = Mono::max();
    std::vector<ConnId> resumes_;
    net::Reactor::TimerId timer_ = 0;
    Mono armed_ = Mono::max();
    bool stopping_ = false;
    bool flushing_ = false;
    bool wake_posted_ = false;
};

int run_server(int argc, char** argv) {
    ServerConfig cfg;
    if (int rc = parse_config(argc, argv, cfg); rc >= 0) return rc;
    // OpenSSL writes to sockets with write(): a peer gone must be an EPIPE, not a SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    if (!cfg.account_action.empty()) return run_account_tool(cfg);
    keep_freed_heap();
    LogLevel level = LogLevel::Info;
    parse_log_level(cfg.log_level, level);
    set_log_level(level);
    set_log_format(cfg.log_format == "json" ? LogFormat::Json : LogFormat::Text);
    set_log_to_journal(stderr_is_journal());
    log_start();  // the logger thread exists (with every signal blocked) before anything else starts
    if (cfg.limits.max_clients == 0) cfg.limits.max_clients = net::TcpServer::fd_capacity();

    std::unique_ptr<Storage> storage;
    if (cfg.db.empty()) {
        storage = std::make_unique<MemoryStorage>();
    } else {
#ifdef CHATD_HAVE_MYSQL
        MysqlOptions opts;
        opts.url = cfg.db;
        if (const char* pw = std::getenv("CHATD_DB_PASSWORD")) opts.password = pw;
        opts.journal_path = cfg.journal;
        opts.flush_ms = cfg.db_flush_ms;
        opts.batch = cfg.db_batch;
        opts.queue_max = cfg.db_backlog;
        opts.exclusive = cfg.cluster.empty();
        storage = make_mysql_storage(std::move(opts));
#else
        LOG_ERROR("--db given, but this chatd was built without MySQL support");
        return 2;
#endif
    }
    LOG_INFO("chatd starting; storage: %s", storage->describe().c_str());
    StartupInfo info;
    std::string err = storage->start(cfg.limits.recent_history, info);
    if (!err.empty()) {
        LOG_ERROR("storage: %s", err.c_str());
        return 1;
    }
    int rc;
    {
        Server server(cfg, *storage, argc, argv);
        rc = server.run(cfg, info);
    }
    storage->stop();
    LOG_INFO("chatd stopped");
    log_stop(std::chrono::seconds(1));  // what is buffered, unless stderr is stuck
    return rc;
}

}  // namespace
}  // namespace chat::server

int main(int argc, char** argv) {
    try {
        return chat::server::run_server(argc, argv);
    } catch (const std::exception& e) {
        chat::server::log_write(chat::server::LogLevel::Error, "fatal: %s", e.what());
        return 1;
    }
}
