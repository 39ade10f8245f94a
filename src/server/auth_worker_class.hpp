// The scheduling class a password worker hashes in (auth_pool.cpp).
//
// SCHED_IDLE by default: when the reactor wakes up, the kernel takes the core
// from an idle-class thread at once, where a thread at nice +10 may first
// finish its slice, a few milliseconds of chat latency during a login storm.
// But an idle-class thread gets no CPU while the host is busy (a database or a
// build beside chatd: 40 checks once took 172 s), so a worker whose last hash
// got less than a quarter of a core over its wall time hashes at nice +10 for
// the next 10 s, then tries the idle class again.
//
// Leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE of at least 10 (the
// systemd unit's LimitNICE=+10); where it is refused, a worker that entered
// the idle class could never leave it, so the pool checks first
// (can_leave_idle_class) and its workers then stay at nice +10 throughout.
#pragma once

#include <chrono>

namespace chat::server {

enum class WorkerClass : unsigned char { Idle, Niced };

class WorkerClassPolicy {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kNicedFor{10};
    static constexpr std::chrono::milliseconds kMinWall{20};  // shorter hashes say nothing of the host

    explicit WorkerClassPolicy(bool idle_allowed) noexcept
        : idle_allowed_(idle_allowed), current_(idle_allowed ? WorkerClass::Idle : WorkerClass::Niced) {}

    // The class for the job about to start.
    WorkerClass next(Clock::time_point now) noexcept {
        if (idle_allowed_ && current_ == WorkerClass::Niced && now >= niced_until_) current_ = WorkerClass::Idle;
        return current_;
    }
    // A job done: the CPU time its thread got, and how long it took.
    void finished(Clock::time_point now, std::chrono::nanoseconds cpu, std::chrono::nanoseconds wall) noexcept {
        if (current_ != WorkerClass::Idle || wall < kMinWall) return;
        if (cpu * 4 < wall) {
            current_ = WorkerClass::Niced;
            niced_until_ = now + kNicedFor;
        }
    }

private:
    bool idle_allowed_;
    WorkerClass current_;
    Clock::time_point niced_until_{};
};

// The calling thread into that class (nice +10 in both, so that the nice value is right
// whichever class it is in). False when the kernel refused.
bool enter_worker_class(WorkerClass c) noexcept;

// Whether a thread of this process may go back from SCHED_IDLE to SCHED_OTHER at nice +10:
// tried on a short-lived thread of its own, since a refusal would leave the thread idle.
bool can_leave_idle_class();

// CPU time of the calling thread.
std::chrono::nanoseconds thread_cpu_time() noexcept;

}  // namespace chat::server
