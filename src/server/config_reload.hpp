// What a SIGHUP may change: the options re-read from the command line and
// the --config file are compared with the running ones. Rates, timeouts,
// connection limits, history length, the account rules, --max-outbuf and the
// log level and format apply at once; addresses, ports, storage, password
// cost, TLS files' names and the line length need a restart. Pure: main.cpp
// applies the plan and logs it.
#pragma once

#include <string>
#include <vector>

#include "server/config.hpp"

namespace chat::server {

struct ReloadPlan {
    ServerConfig next;                      // the running config with every live change applied
    std::vector<std::string> changed;       // "rate 20 -> 5", applied
    std::vector<std::string> need_restart;  // "port 5000 -> 6000", not applied
};

ReloadPlan plan_reload(const ServerConfig& running, const ServerConfig& fresh);

}  // namespace chat::server
