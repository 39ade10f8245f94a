#include "net/reactor.hpp"

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace chat::net {

namespace {

constexpr int kBatch = 256;

// Heap order: the earliest timer on top; ties by id so equal deadlines fire in creation order.
template <class T>
bool later(const T& a, const T& b) {
    return a.when != b.when ? a.when > b.when : a.id > b.id;
}

Fd checked(int fd, const char* what) {
    if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
    return Fd(fd);
}

}  // namespace

Reactor::Reactor()
    : epoll_(checked(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
      timerfd_(checked(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create")),
      eventfd_(checked(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")) {
    sigemptyset(&sigmask_);
    if (!add(timerfd_.get(), EPOLLIN, [this](std::uint32_t) { run_timers(); }) ||
        !add(eventfd_.get(), EPOLLIN, [this](std::uint32_t) { run_posted(); }))
        throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

Reactor::~Reactor() = default;

bool Reactor::add(int fd, std::uint32_t events, IoCallback cb) {
    if (fd < 0) return false;
    const auto slot = static_cast<std::size_t>(fd);
    if (slot >= entries_.size()) entries_.resize(std::max(slot + 1, entries_.size() * 2));
    if (entries_[slot]) {
        errno = EEXIST;
        return false;
    }
    if (++next_gen_ == 0) ++next_gen_;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (std::uint64_t{next_gen_} << 32) | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
    auto e = std::make_unique<Entry>();
    e->cb = std::move(cb);
    e->gen = next_gen_;
    entries_[slot] = std::move(e);
    return true;
}

bool Reactor::modify(int fd, std::uint32_t events) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size() || !entries_[fd]) return false;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (std::uint64_t{entries_[fd]->gen} << 32) | static_cast<std::uint32_t>(fd);
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Reactor::remove(int fd) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size() || !entries_[fd]) return;
    // Failure (the fd was already closed) is harmless: the kernel dropped it from the set.
    (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    graveyard_.push_back(std::move(entries_[fd]));
}

Reactor::TimerId Reactor::add_timer(Clock::time_point when, Callback cb) {
    const TimerId id = next_timer_++;
    timers_.push_back(Timer{when, id, std::move(cb)});
    std::push_heap(timers_.begin(), timers_.end(), later<Timer>);
    live_.insert(id);
    return id;
}

void Reactor::cancel_timer(TimerId id) {
    live_.erase(id);
    drop_cancelled_timers();
}

void Reactor::drop_cancelled_timers() {
    while (!timers_.empty() && !live_.contains(timers_.front().id)) {
        std::pop_heap(timers_.begin(), timers_.end(), later<Timer>);
        timers_.pop_back();
    }
}

void Reactor::arm_timerfd() {
    drop_cancelled_timers();
    if (timers_.empty() || timers_.front().when == armed_) return;
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(timers_.front().when.time_since_epoch()).count();
    itimerspec spec{};
    // A zero it_value would disarm; a deadline in the past fires at once.
    const long long at = std::max<long long>(ns, 1);
    spec.it_value.tv_sec = static_cast<time_t>(at / 1000000000LL);
    spec.it_value.tv_nsec = static_cast<long>(at % 1000000000LL);
    if (::timerfd_settime(timerfd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) == 0)
        armed_ = timers_.front().when;
}

void Reactor::run_timers() {
    std::uint64_t ticks;
    while (::read(timerfd_.get(), &ticks, sizeof ticks) < 0 && errno == EINTR) {
    }
    armed_ = {};
    // Collect first: a callback that adds a timer due now must not run in this same pass.
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.front().when <= now) {
        std::pop_heap(timers_.begin(), timers_.end(), later<Timer>);
        due_.push_back(std::move(timers_.back()));
        timers_.pop_back();
    }
    std::vector<Timer> due;
    due.swap(due_);
    for (auto& t : due) {
        // A timer cancelled by an earlier callback of this pass does not run.
        if (live_.erase(t.id) != 0) t.cb();
    }
    due.clear();
    if (due_.empty()) due_.swap(due);  // keep the capacity
}

bool Reactor::on_signals(std::initializer_list<int> signals, std::function<void(int signo)> cb) {
    sigset_t mask = sigmask_;
    for (int s : signals) sigaddset(&mask, s);
    if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return false;
    if (signalfd_) {
        if (::signalfd(signalfd_.get(), &mask, 0) < 0) return false;
    } else {
        Fd fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
        if (!fd) return false;
        if (!add(fd.get(), EPOLLIN, [this](std::uint32_t) { run_signals(); })) return false;
        signalfd_ = std::move(fd);
    }
    sigmask_ = mask;
    signal_cb_ = std::move(cb);
    return true;
}

void Reactor::run_signals() {
    signalfd_siginfo info;
    for (;;) {
        const ssize_t n = ::read(signalfd_.get(), &info, sizeof info);
        if (n < 0 && errno == EINTR) continue;
        if (n != static_cast<ssize_t>(sizeof info)) return;  // EAGAIN: drained
        if (signal_cb_) signal_cb_(static_cast<int>(info.ssi_signo));
    }
}

void Reactor::wake() noexcept {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop is woken anyway.
    while (::write(eventfd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void Reactor::post(Callback cb) {
    bool was_empty;
    {
        std::lock_guard lock(posted_mu_);
        was_empty = posted_.empty();
        posted_.push_back(std::move(cb));
    }
    // A non-empty queue already has a wake-up on its way (the loop drains the
    // eventfd before it takes the queue).
    if (was_empty) wake();
}

void Reactor::run_posted() {
    std::uint64_t count;
    while (::read(eventfd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
    }
    {
        std::lock_guard lock(posted_mu_);
        posted_run_.swap(posted_);
    }
    for (auto& cb : posted_run_) cb();
    posted_run_.clear();
}

void Reactor::stop() {
    stop_ = true;
    wake();
}

void Reactor::run() {
    std::array<epoll_event, kBatch> events;
    while (!stop_) {
        arm_timerfd();
        const int n = ::epoll_wait(epoll_.get(), events.data(), kBatch, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // EBADF/EINVAL: the loop cannot work at all
        }
        turn_began_ = Clock::now();
        for (int i = 0; i < n; ++i) {
            const auto fd = static_cast<std::size_t>(events[i].data.u64 & 0xffffffffu);
            const auto gen = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
            // A stale generation means the fd was removed (and perhaps reused) earlier in this turn.
            if (fd >= entries_.size() || !entries_[fd] || entries_[fd]->gen != gen) continue;
            Entry* e = entries_[fd].get();
            e->cb(events[i].events);
        }
        graveyard_.clear();
        if (before_sleep_) before_sleep_();
        graveyard_.clear();
    }
    // Leave the loop runnable again; a stop() that arrives before run() still stops it.
    stop_ = false;
}

}  // namespace chat::net
