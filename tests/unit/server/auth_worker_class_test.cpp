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
    CHECK(p.next(t0) == WorkerClass::Idle);
    p.finished(t0 + 100ms, 90ms, 100ms);
    CHECK(p.next(t0 + 100ms) == WorkerClass::Idle);
    p.finished(t0 + 200ms, 26ms, 100ms);  // just over a quarter of a core
    CHECK(p.next(t0 + 200ms) == WorkerClass::Idle);
}

TEST_CASE("worker class: a starved hash sends the worker to nice +10 for 10 s, then back") {
    WorkerClassPolicy p(true);
    REQUIRE(p.next(t0) == WorkerClass::Idle);
    p.finished(t0 + 400ms, 99ms, 400ms);  // under a quarter
    CHECK(p.next(t0 + 400ms) == WorkerClass::Niced);
    // Hashes at nice +10, however slow, do not extend the 10 s.
    p.finished(t0 + 5s, 10ms, 4s);
    CHECK(p.next(t0 + 400ms + 10s - 1ms) == WorkerClass::Niced);
    CHECK(p.next(t0 + 400ms + 10s) == WorkerClass::Idle);
    p.finished(t0 + 11s, 50ms, 300ms);  // still starved in the idle class: another 10 s
    CHECK(p.next(t0 + 11s) == WorkerClass::Niced);
    CHECK(p.next(t0 + 21s) == WorkerClass::Idle);
}

TEST_CASE("worker class: a short job says nothing of the host") {
    WorkerClassPolicy p(true);
    p.finished(t0 + 19ms, 0ms, 19ms);  // minimum-cost hashes, tests
    CHECK(p.next(t0 + 19ms) == WorkerClass::Idle);
    p.finished(t0 + 40ms, 0ms, 20ms);
    CHECK(p.next(t0 + 40ms) == WorkerClass::Niced);
}

TEST_CASE("worker class: never idle when the class could not be left again") {
    WorkerClassPolicy p(false);
    CHECK(p.next(t0) == WorkerClass::Niced);
    p.finished(t0 + 1s, 1s, 1s);
    CHECK(p.next(t0 + 1h) == WorkerClass::Niced);
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

TEST_CASE("worker class: thread CPU time leaves out the thread's sleep") {
    const auto c0 = thread_cpu_time();
    std::this_thread::sleep_for(30ms);
    CHECK(thread_cpu_time() - c0 < 15ms);
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
