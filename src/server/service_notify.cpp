#include "server/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>

namespace chat::server {

ServiceNotifier::ServiceNotifier() {
    enabled_ = std::getenv("NOTIFY_SOCKET") != nullptr;
    std::uint64_t usec = 0;
    if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec / 2);
}

void ServiceNotifier::ready(const std::string& status) {
    if (!enabled_) return;
    last_status_ = status;
    (void)sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceNotifier::status(const std::string& status) {
    if (!enabled_ || status == last_status_) return;
    last_status_ = status;
    (void)sd_notify(0, ("STATUS=" + status).c_str());
}

void ServiceNotifier::stopping() {
    if (enabled_) (void)sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

void ServiceNotifier::watchdog() {
    if (enabled_) (void)sd_notify(0, "WATCHDOG=1");
}

}  // namespace chat::server
