// One small event loop: edge-triggered epoll over file descriptors, timers
// on one timerfd, signals on a signalfd, cross-thread wake-ups on an eventfd.
// Knows nothing about chat.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "net/fd.hpp"

namespace chat::net {

using Clock = std::chrono::steady_clock;

class Reactor {
public:
    using IoCallback = std::function<void(std::uint32_t events)>;
    using Callback = std::function<void()>;
    using TimerId = std::uint64_t;

    Reactor();  // throws std::system_error if epoll/timerfd/eventfd cannot be created
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    // Registers fd with the given epoll events (EPOLLET is the caller's choice).
    // The callback may remove its own fd or others; an fd removed during a
    // turn gets no further callbacks in that turn, even if events were pending.
    bool add(int fd, std::uint32_t events, IoCallback cb);
    bool modify(int fd, std::uint32_t events);
    void remove(int fd);

    // One-shot timer. Timers may be added or cancelled from callbacks.
    TimerId add_timer(Clock::time_point when, Callback cb);
    void cancel_timer(TimerId id);

    // Blocks the given signals for the process and delivers them through a signalfd.
    bool on_signals(std::initializer_list<int> signals, std::function<void(int signo)> cb);

    // Thread-safe: queues cb to run on the loop thread and wakes the loop.
    void post(Callback cb);

    // Runs after each turn's callbacks, just before the loop sleeps again
    // (flush dirty output once per turn here).
    void set_before_sleep(Callback cb) { before_sleep_ = std::move(cb); }

    void run();   // until stop()
    void stop();  // thread-safe
    bool stopping() const noexcept { return stop_; }

private:
    struct Entry;
    struct Timer;
    void arm_timerfd();
    void run_timers();
    void run_posted();

    Fd epoll_, timerfd_, eventfd_, signalfd_;
    std::vector<Entry> entries_;  // indexed by fd
    std::vector<Timer> timers_;   // min-heap on (when, id)
    std::vector<TimerId> cancelled_;
    TimerId next_timer_ = 1;
    Clock::time_point armed_{};
    std::function<void(int)> signal_cb_;
    Callback before_sleep_;
    std::mutex posted_mu_;
    std::vector<Callback> posted_;
    volatile bool stop_ = false;
};

}  // namespace chat::net
