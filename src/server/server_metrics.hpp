// chatd's /metrics: the figures of the core, the connections, storage, the
// password workers, the loop and the process, in the Prometheus text format.
// Names follow Prometheus conventions (chatd_*_total for counters, base
// units: bytes, seconds); docs/operations.md lists them.
#pragma once

#include <cstdint>
#include <string>

#include "net/tcp_server.hpp"
#include "server/auth_pool.hpp"
#include "server/core.hpp"
#include "server/prometheus.hpp"
#include "server/storage.hpp"

namespace chat::server {

struct ProcessStats {
    std::uint64_t resident_bytes = 0;
    std::uint64_t virtual_bytes = 0;
    std::uint64_t open_fds = 0;
    std::uint64_t max_fds = 0;
    double cpu_seconds = 0;
    double start_time = 0;  // seconds since the epoch
};

// Reads /proc/self (statm, fd), getrusage and getrlimit: a handful of cheap
// calls on procfs, for a scrape.
ProcessStats read_process_stats(double start_time);

struct MetricsInputs {
    CoreStats core;
    net::TcpStats tcp;
    StorageStats storage;
    AuthPoolStats auth;
    Histogram::Snapshot loop_seconds;  // one reactor turn, from epoll_wait's return to the flush's end
    ProcessStats process;
    // With --cluster: the link to Redis.
    bool cluster = false;
    bool cluster_up = false;            // in the one order: messages are accepted
    std::uint64_t cluster_users = 0;    // users online on every node
    std::uint64_t cluster_sequence = 0; // the last entry of the order delivered here
};

std::string render_metrics(const MetricsInputs& in);

}  // namespace chat::server
