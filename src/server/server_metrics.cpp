#include "server/server_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "chatd_version.hpp"

namespace chat::server {

ProcessStats read_process_stats(double start_time) {
    ProcessStats p;
    p.start_time = start_time;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long long size = 0, resident = 0;
        if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
            const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
            p.virtual_bytes = size * page;
            p.resident_bytes = resident * page;
        }
        std::fclose(f);
    }
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++p.open_fds;
        ::closedir(d);
        if (p.open_fds > 0) --p.open_fds;  // the directory's own descriptor
    }
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = rl.rlim_cur;
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0)
        p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return p;
}

namespace {
double d(std::uint64_t v) { return static_cast<double>(v); }
}  // namespace

std::string render_metrics(const MetricsInputs& in) {
    PromText t;
    t.family("chatd_build_info", "gauge", "Always 1; the version in a label.");
    t.sample("chatd_build_info", "version=\"" + PromText::label_value(CHATD_VERSION) + "\"", 1);

    t.family("chatd_connections", "gauge", "Client connections now, by state.");
    t.sample("chatd_connections", "state=\"handshake\"", d(in.tcp.handshaking));
    t.sample("chatd_connections", "state=\"open\"", d(in.tcp.open));
    t.sample("chatd_connections", "state=\"closing\"", d(in.tcp.closing));
    t.sample("chatd_connections", "state=\"draining\"", d(in.tcp.draining));
    t.gauge("chatd_users_online", "Users logged in now.", d(in.core.online));
    t.counter("chatd_connections_accepted_total", "Client connections accepted (plain and TLS).",
              d(in.tcp.accepted));
    t.counter("chatd_connections_shed_total", "Connections closed at accept because chatd was out of descriptors.",
              d(in.tcp.shed));
    t.family("chatd_tls_handshakes_total", "counter", "TLS handshakes, by result (failed includes timed out).");
    t.sample("chatd_tls_handshakes_total", "result=\"ok\"", d(in.tcp.tls_handshakes));
    t.sample("chatd_tls_handshakes_total", "result=\"failed\"", d(in.tcp.tls_failures));

    t.family("chatd_logins_total", "counter", "Logins, by kind.");
    t.sample("chatd_logins_total", "kind=\"guest\"", d(in.core.logins_guest));
    t.sample("chatd_logins_total", "kind=\"account\"", d(in.core.logins_account));
    t.family("chatd_refusals_total", "counter",
             "ERROR lines sent, by code: refused logins, connections, commands and messages.");
    for (const auto& [code, n] : in.core.errors)
        t.sample("chatd_refusals_total", "reason=\"" + PromText::label_value(code) + "\"", d(n));

    t.family("chatd_messages_total", "counter", "Messages accepted, by kind.");
    t.sample("chatd_messages_total", "kind=\"public\"", d(in.core.messages_public));
    t.sample("chatd_messages_total", "kind=\"private\"", d(in.core.messages_private));
    t.counter("chatd_deliveries_total", "MSG and PRIV lines queued to recipients (the sender's echo included).",
              d(in.core.deliveries));
    t.counter("chatd_received_bytes_total", "Bytes read from clients (after TLS).", d(in.tcp.bytes_in));
    t.counter("chatd_sent_bytes_total", "Bytes written to clients (before TLS).", d(in.tcp.bytes_out));
    t.counter("chatd_slow_consumer_disconnects_total",
              "Clients disconnected because their unsent output passed --max-outbuf.", d(in.tcp.output_full));
    t.counter("chatd_flow_control_pauses_total", "Times a client's reading was paused (flow control).",
              d(in.tcp.pauses));

    t.gauge("chatd_storage_database_up", "1 when the database is connected and loaded (0 also for in-memory storage).",
            in.storage.database_up ? 1 : 0);
    t.gauge("chatd_storage_queue_events", "Events accepted and not yet in the database or the journal.",
            d(in.storage.waiting));
    t.gauge("chatd_storage_journal_bytes", "Size of the journal of events waiting for the database.",
            d(in.storage.journal_bytes));
    t.gauge("chatd_storage_journal_pending", "1 while the journal holds events the database has not taken.",
            in.storage.journal_pending ? 1 : 0);
    if (in.storage.database) {
        t.histogram("chatd_storage_batch_events", "Events per database transaction.", in.storage.batch_events);
        t.histogram("chatd_storage_commit_duration_seconds", "Time to write one database transaction.",
                    in.storage.commit_seconds);
    }

    t.family("chatd_password_operations_total", "counter", "Argon2id operations done by the password workers.");
    t.sample("chatd_password_operations_total", "operation=\"check\"", d(in.auth.checks));
    t.sample("chatd_password_operations_total", "operation=\"hash\"", d(in.auth.hashes));
    t.counter("chatd_password_refused_total", "Password requests refused because the queue was full.",
              d(in.auth.refused));
    t.counter("chatd_password_busy_seconds_total", "Worker time spent hashing and checking passwords.",
              in.auth.busy_seconds);
    t.gauge("chatd_password_queue", "Password requests queued or under way.", d(in.auth.pending));

    if (in.cluster) {
        t.gauge("chatd_cluster_up", "1 while the node is in the cluster's order (Redis reachable, presence reconciled).",
                in.cluster_up ? 1 : 0);
        t.gauge("chatd_cluster_users", "Users online on every node of the cluster.", d(in.cluster_users));
        t.counter("chatd_cluster_sequence_total", "Sequence number of the last entry of the cluster's order seen here.",
                  d(in.cluster_sequence));
    }

    t.histogram("chatd_loop_iteration_duration_seconds",
                "Time of one event-loop turn, from the wake-up to the end of the output flush.", in.loop_seconds);

    t.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", d(in.process.resident_bytes));
    t.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", d(in.process.virtual_bytes));
    t.gauge("process_open_fds", "Number of open file descriptors.", d(in.process.open_fds));
    t.gauge("process_max_fds", "Maximum number of open file descriptors.", d(in.process.max_fds));
    t.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
              in.process.cpu_seconds);
    t.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            in.process.start_time);
    return t.take();
}

}  // namespace chat::server
