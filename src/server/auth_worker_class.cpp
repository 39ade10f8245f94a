#include "server/auth_worker_class.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace chat::server {

namespace {
constexpr int kWorkerNice = 10;
}

bool enter_worker_class(WorkerClass c, pid_t tid) noexcept {
    // Linux schedules threads one by one: a tid names one thread of the process.
    const pid_t who = tid != 0 ? tid : ::gettid();
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(who), kWorkerNice);
    const sched_param none{};
    return ::sched_setscheduler(who, c == WorkerClass::Idle ? SCHED_IDLE : SCHED_OTHER, &none) == 0;
}

bool can_leave_idle_class() {
    bool ok = false;
    std::thread probe([&ok] {
        ok = enter_worker_class(WorkerClass::Idle) && enter_worker_class(WorkerClass::Niced);
    });
    probe.join();
    return ok;
}

}  // namespace chat::server
