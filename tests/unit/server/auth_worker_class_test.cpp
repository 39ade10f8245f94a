#include "server/auth_worker_class.hpp"

#include "server/auth_pool.hpp"

#include <doctest/doctest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace chat::server;
using namespace std::chrono_literals;

namespace {
using Clock = WorkerClassPolicy::Clock;
const Clock::time_point t0 = Clock::time_point{} + 1000s;
}  // namespace

TEST_CASE("worker class: idle while hashes get their CPU") {
    WorkerClassPolicy p(true);
    CHECK(p.start_job(t0, 5s) == WorkerClass::Idle);
    CHECK_FALSE(p.starved(t0 + 99ms, 5s));  // under a window: nothing judged yet
    CHECK_FALSE(p.starved(t0 + 100ms, 5s + 90ms));
    CHECK_FALSE(p.starved(t0 + 200ms, 5s + 90ms + 26ms));  // just over a quarter of a core
    CHECK(p.current() == WorkerClass::Idle);
    CHECK(p.start_job(t0 + 250ms, 6s) == WorkerClass::Idle);
}

TEST_CASE("worker class: a starved hash moves to nice +10 at once, and its worker stays there 10 s") {
    WorkerClassPolicy p(true);
    REQUIRE(p.start_job(t0, 0ms) == WorkerClass::Idle);
    CHECK_FALSE(p.starved(t0 + 100ms, 80ms));
    CHECK(p.starved(t0 + 200ms, 80ms + 24ms));  // under a quarter in the last window
    CHECK(p.current() == WorkerClass::Niced);
    CHECK_FALSE(p.starved(t0 + 5s, 90ms));  // already moved: nothing more to do
    CHECK(p.start_job(t0 + 3s, 1s) == WorkerClass::Niced);
    CHECK(p.start_job(t0 + 200ms + 10s - 1ms, 2s) == WorkerClass::Niced);
    CHECK(p.start_job(t0 + 200ms + 10s, 2s) == WorkerClass::Idle);
    CHECK(p.starved(t0 + 200ms + 10s + 100ms, 2s));  // still busy: another 10 s
    CHECK(p.start_job(t0 + 11s, 3s) == WorkerClass::Niced);
    CHECK(p.start_job(t0 + 21s, 3s) == WorkerClass::Idle);
}

TEST_CASE("worker class: each job is judged on its own time") {
    WorkerClassPolicy p(true);
    p.start_job(t0, 0ms);
    // The worker slept between jobs: a new job starts a new window.
    CHECK(p.start_job(t0 + 60s, 100ms) == WorkerClass::Idle);
    CHECK_FALSE(p.starved(t0 + 60s + 100ms, 200ms));
}

TEST_CASE("worker class: never idle when the class could not be left again") {
    WorkerClassPolicy p(false);
    CHECK(p.start_job(t0, 0ms) == WorkerClass::Niced);
    CHECK_FALSE(p.starved(t0 + 1s, 0ms));
    CHECK(p.start_job(t0 + 1h, 0ms) == WorkerClass::Niced);
}

TEST_CASE("worker class: the kernel puts the calling thread where it is told") {
    // Root, CAP_SYS_NICE or RLIMIT_NICE >= 10 can come back; others are refused, and the
    // probe must say so without leaving any thread behind in the idle class.
    rlimit nice_limit{};
    ::getrlimit(RLIMIT_NICE, &nice_limit);
    const bool may = can_leave_idle_class();
    if (::geteuid() != 0 && nice_limit.rlim_cur < 10) CHECK_FALSE(may);
    int idle_policy = -1, niced_policy = -1, niced_nice = 0;
    bool entered = false;
    std::thread t([&] {
        entered = enter_worker_class(WorkerClass::Idle);
        idle_policy = ::sched_getscheduler(0);
        if (may) {
            CHECK(enter_worker_class(WorkerClass::Niced));
            niced_policy = ::sched_getscheduler(0);
            niced_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
        }
    });
    t.join();
    if (entered) CHECK(idle_policy == SCHED_IDLE);
    if (may) {
        CHECK(entered);
        CHECK(niced_policy == SCHED_OTHER);
        CHECK(niced_nice == 10);
    }
    // The caller's own thread was not touched.
    CHECK(::sched_getscheduler(0) == SCHED_OTHER);
}

TEST_CASE("worker class: the pool says which classes its workers use") {
    AuthPoolOptions o;
    o.testing_minimum = true;
    o.opslimit = kArgon2OpsMin;
    o.memlimit = kArgon2MemMin;
    AuthPool pool(o);
    REQUIRE(pool.start().empty());
    CHECK(pool.idle_class() == can_leave_idle_class());
}
