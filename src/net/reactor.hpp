// One small event loop: edge-triggered epoll over file descriptors, timers
// on one timerfd, signals on a signalfd, cross-thread wake-ups on an eventfd.
// Knows nothing about chat.
#pragma once

#include <signal.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_set>
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
    // When this turn's events came back from epoll_wait: before_sleep measures the turn with it.
    Clock::time_point turn_began() const noexcept { return turn_began_; }

    void run();   // until stop()
    void stop();  // thread-safe
    bool stopping() const noexcept { return stop_; }

private:
    struct Entry {
        IoCallback cb;
        std::uint32_t gen = 0;
    };
    struct Timer {
        Clock::time_point when;
        TimerId id;
        Callback cb;
    };
    void arm_timerfd();
    void run_timers();
    void run_posted();
    void run_signals();
    void drop_cancelled_timers();
    void wake() noexcept;

    Fd epoll_, timerfd_, eventfd_, signalfd_;
    // Indexed by fd. Entries are heap objects so a callback stays alive while it
    // removes its own fd: removed entries wait in graveyard_ until the turn ends.
    std::vector<std::unique_ptr<Entry>> entries_;
    std::vector<std::unique_ptr<Entry>> graveyard_;
    std::uint32_t next_gen_ = 0;
    std::vector<Timer> timers_;         // min-heap on (when, id)
    std::unordered_set<TimerId> live_;  // pending timers; cancel = erase (lazy)
    std::vector<Timer> due_;
    TimerId next_timer_ = 1;
    Clock::time_point armed_{};
    sigset_t sigmask_{};
    std::function<void(int)> signal_cb_;
    Callback before_sleep_;
    Clock::time_point turn_began_{};
    std::mutex posted_mu_;
    std::vector<Callback> posted_;
    std::vector<Callback> posted_run_;
    std::atomic<bool> stop_{false};
};

}  // namespace chat::net
