// The scheduling class a password worker hashes in (auth_pool.cpp).
//
// SCHED_IDLE by default: when the reactor wakes up, the kernel takes the core
// from an idle-class thread at once, where a thread at nice +10 may first
// finish its slice, a few milliseconds of chat latency during a login storm.
// But an idle-class thread gets next to no CPU while the host is busy (a
// database or a build beside chatd), and a hash begun there would take half
// a minute. So the pool's supervisor looks at each hash under way in the idle
// class every 50 ms: one that got less than a quarter of a core over the last
// 100 ms moves to nice +10 on the spot, and its worker hashes there for 10 s
// before it tries the idle class again.
//
// Leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE of at least 10 (the
// systemd unit's LimitNICE=+10); where it is refused, a thread that entered
// the idle class could never leave it, so the pool checks first
// (can_leave_idle_class) and its workers then stay at nice +10 throughout.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace chat::server {

enum class WorkerClass : unsigned char { Idle, Niced };

// One worker's class, I/O-free: the pool calls it and moves the thread.
class WorkerClassPolicy {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kNicedFor{10};
    static constexpr std::chrono::milliseconds kWindow{100};  // how much of a hash one look judges
    static constexpr std::chrono::milliseconds kLookEvery{50};

    explicit WorkerClassPolicy(bool idle_allowed) noexcept
        : idle_allowed_(idle_allowed), current_(idle_allowed ? WorkerClass::Idle : WorkerClass::Niced) {}

    // A job starts: the class to run it in. cpu: the thread's CPU time so far.
    WorkerClass start_job(Clock::time_point now, std::chrono::nanoseconds cpu) noexcept {
        if (idle_allowed_ && current_ == WorkerClass::Niced && now >= niced_until_) current_ = WorkerClass::Idle;
        window_start_ = now;
        window_cpu_ = cpu;
        return current_;
    }
    // A look at the job under way (cpu as above): true when it has to move to nice +10 now.
    bool starved(Clock::time_point now, std::chrono::nanoseconds cpu) noexcept {
        if (current_ != WorkerClass::Idle || now - window_start_ < kWindow) return false;
        if ((cpu - window_cpu_) * 4 < now - window_start_) {
            current_ = WorkerClass::Niced;
            niced_until_ = now + kNicedFor;
            return true;
        }
        window_start_ = now;
        window_cpu_ = cpu;
        return false;
    }
    WorkerClass current() const noexcept { return current_; }

private:
    bool idle_allowed_;
    WorkerClass current_;
    Clock::time_point niced_until_{};
    Clock::time_point window_start_{};
    std::chrono::nanoseconds window_cpu_{};
};

// Thread `tid` (0: the calling thread) into that class, at nice +10 in both so that the
// nice value is right whichever class it is in. False when the kernel refused.
bool enter_worker_class(WorkerClass c, pid_t tid = 0) noexcept;

// Whether a thread of this process may go back from SCHED_IDLE to SCHED_OTHER at nice +10:
// tried on a short-lived thread of its own, since a refusal would leave the thread idle.
bool can_leave_idle_class();

}  // namespace chat::server
