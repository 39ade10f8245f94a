// Telling systemd how chatd is doing (Type=notify units): READY=1 once it
// serves, STATUS= lines, STOPPING=1, and WATCHDOG=1 pings from the reactor's
// own timer, so a loop that is stuck stops pinging and systemd restarts it.
// Through libsystemd's sd_notify: outside systemd (no NOTIFY_SOCKET) every
// call does nothing. Each call is one datagram on a local socket that systemd
// reads at once; it is sent only on state changes and every few seconds.
#pragma once

#include <chrono>
#include <string>

namespace chat::server {

class ServiceNotifier {
public:
    ServiceNotifier();
    bool under_systemd() const noexcept { return enabled_; }
    // The interval for WATCHDOG=1 pings (half of WatchdogSec), or zero when no watchdog is set.
    std::chrono::microseconds watchdog_interval() const noexcept { return watchdog_; }

    void ready(const std::string& status);
    void status(const std::string& status);  // sent only when it differs from the last one
    void stopping();
    void watchdog();

private:
    bool enabled_ = false;
    std::chrono::microseconds watchdog_{0};
    std::string last_status_;
};

}  // namespace chat::server
