#include "net/reactor.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/eventfd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using chat::net::Clock;
using chat::net::Fd;
using chat::net::Reactor;
using namespace std::chrono_literals;

namespace {

// A failure guard only: a correct test stops the loop long before.
Reactor::TimerId guard(Reactor& r, bool& fired) {
    return r.add_timer(Clock::now() + 20s, [&] {
        fired = true;
        r.stop();
    });
}

Fd readable_eventfd() {
    Fd fd(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

}  // namespace

TEST_CASE("reactor: timers fire in deadline order, equal deadlines in creation order") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    std::string order;
    const auto t0 = Clock::now();
    r.add_timer(t0 + 30ms, [&] { order += 'c'; });
    r.add_timer(t0 + 10ms, [&] { order += 'a'; });
    r.add_timer(t0 + 20ms, [&] { order += 'b'; });
    r.add_timer(t0 + 20ms, [&] { order += 'B'; });
    r.add_timer(t0 - 1s, [&] { order += '0'; });  // already due
    r.add_timer(t0 + 40ms, [&] { r.stop(); });
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(order == "0abBc");
}

TEST_CASE("reactor: cancelled timers do not fire, also when cancelled by a timer of the same pass") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    std::string order;
    const auto at = Clock::now() + 5ms;
    Reactor::TimerId victim = 0;
    const auto gone = r.add_timer(at, [&] { order += 'x'; });
    r.add_timer(at, [&] {
        order += 'a';
        r.cancel_timer(victim);
    });
    victim = r.add_timer(at, [&] { order += 'y'; });
    r.add_timer(at + 10ms, [&] {
        order += 'z';
        r.stop();
    });
    r.cancel_timer(gone);
    r.cancel_timer(9999);  // unknown ids are harmless
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(order == "az");
}

TEST_CASE("reactor: a timer added by a timer callback fires later, not in the same pass") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    int depth = 0;
    std::function<void()> again = [&] {
        if (++depth < 5) {
            r.add_timer(Clock::now(), again);
        } else {
            r.stop();
        }
    };
    r.add_timer(Clock::now(), again);
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(depth == 5);
}

TEST_CASE("reactor: post() from other threads runs every callback on the loop thread") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    const auto loop_thread = std::this_thread::get_id();
    constexpr int kThreads = 4, kEach = 2000;
    int ran = 0;  // touched only on the loop thread
    bool wrong_thread = false;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                r.post([&] {
                    if (std::this_thread::get_id() != loop_thread) wrong_thread = true;
                    if (++ran == kThreads * kEach) r.stop();
                });
            }
        });
    }
    r.run();
    for (auto& t : threads) t.join();
    CHECK_FALSE(timed_out);
    CHECK(ran == kThreads * kEach);
    CHECK_FALSE(wrong_thread);
}

TEST_CASE("reactor: stop() from another thread ends run(); a stop before run() is kept") {
    Reactor r;
    bool timed_out = false;
    const auto g = guard(r, timed_out);
    std::thread t([&] { r.stop(); });
    r.run();
    t.join();
    CHECK_FALSE(timed_out);

    // run() can be entered again afterwards.
    r.post([&] { r.stop(); });
    r.run();
    CHECK_FALSE(timed_out);
    r.cancel_timer(g);
}

TEST_CASE("reactor: an fd removed during a turn gets no stale callback, even when its number is reused") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    Fd a = readable_eventfd();
    Fd b = readable_eventfd();
    Fd reused;
    int a_calls = 0, b_calls = 0, reused_calls = 0;
    int removed_number = -1;
    // Whichever of a and b runs first removes and closes the other, then registers a fresh fd that
    // gets the same number. Both were ready in the same batch: the stale event must be dropped.
    auto kill_other = [&](Fd& other) {
        removed_number = other.get();
        r.remove(other.get());
        other.reset();
        reused.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        REQUIRE(r.add(reused.get(), EPOLLIN, [&](std::uint32_t) { ++reused_calls; }));
        r.stop();
    };
    REQUIRE(r.add(a.get(), EPOLLIN, [&](std::uint32_t) {
        ++a_calls;
        kill_other(b);
    }));
    REQUIRE(r.add(b.get(), EPOLLIN, [&](std::uint32_t) {
        ++b_calls;
        kill_other(a);
    }));
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(a_calls + b_calls == 1);
    CHECK(reused.get() == removed_number);  // the scenario really reused the number
    CHECK(reused_calls == 0);
}

TEST_CASE("reactor: a callback may remove its own fd") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    Fd a = readable_eventfd();
    int calls = 0;
    std::string big(100, 'x');  // captured state that must outlive the call
    REQUIRE(r.add(a.get(), EPOLLIN, [&, big](std::uint32_t) {
        ++calls;
        r.remove(a.get());
        CHECK(big.size() == 100);  // still alive after removing itself
        r.post([&] { r.stop(); });
    }));
    CHECK_FALSE(r.add(a.get(), EPOLLIN, [](std::uint32_t) {}));  // already registered
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(calls == 1);
    CHECK_FALSE(r.modify(a.get(), EPOLLIN));  // no longer registered
    r.remove(a.get());                        // harmless
}

TEST_CASE("reactor: edge-triggered registration and modify()") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    Fd a = readable_eventfd();
    int calls = 0;
    REQUIRE(r.add(a.get(), EPOLLIN | EPOLLET, [&](std::uint32_t ev) {
        CHECK((ev & EPOLLIN) != 0);
        ++calls;
    }));
    // Three turns: the edge is reported once although the fd stays readable.
    int turns = 0;
    std::function<void()> tick = [&] {
        if (++turns < 3) {
            r.post(tick);
        } else {
            r.stop();
        }
    };
    r.post(tick);
    r.run();
    CHECK(calls == 1);
    // Re-arming with modify() reports the still-pending readiness again.
    REQUIRE(r.modify(a.get(), EPOLLIN | EPOLLET));
    turns = 0;
    r.post(tick);
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(calls == 2);
}

TEST_CASE("reactor: signals arrive through the signalfd") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    std::vector<int> got;
    REQUIRE(r.on_signals({SIGUSR1, SIGUSR2}, [&](int signo) {
        got.push_back(signo);
        if (got.size() == 2) r.stop();
    }));
    REQUIRE(::raise(SIGUSR1) == 0);  // blocked now: it waits in the signalfd instead of killing us
    r.post([] { ::raise(SIGUSR2); });
    r.run();
    CHECK_FALSE(timed_out);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == SIGUSR1);
    CHECK(got[1] == SIGUSR2);
}

TEST_CASE("reactor: before_sleep runs after each turn's callbacks") {
    Reactor r;
    bool timed_out = false;
    guard(r, timed_out);
    std::string log;
    r.set_before_sleep([&] {
        log += 'S';
        if (log.size() >= 4) r.stop();
    });
    r.post([&] {
        log += 'p';
        r.post([&] { log += 'q'; });
    });
    r.run();
    CHECK_FALSE(timed_out);
    CHECK(log.substr(0, 4) == "pSqS");
}
