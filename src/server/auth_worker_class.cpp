#include "server/auth_worker_class.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <thread>

namespace chat::server {

namespace {
constexpr int kWorkerNice = 10;
}

bool enter_worker_class(WorkerClass c) noexcept {
    // Linux schedules threads one by one: the tid (0 for sched_setscheduler) names the calling thread.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kWorkerNice);
    const sched_param none{};
    return ::sched_setscheduler(0, c == WorkerClass::Idle ? SCHED_IDLE : SCHED_OTHER, &none) == 0;
}

bool can_leave_idle_class() {
    bool ok = false;
    std::thread probe([&ok] {
        ok = enter_worker_class(WorkerClass::Idle) && enter_worker_class(WorkerClass::Niced);
    });
    probe.join();
    return ok;
}

std::chrono::nanoseconds thread_cpu_time() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace chat::server
