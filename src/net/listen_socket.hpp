// A nonblocking TCP listening socket: the one way chatd's listeners (chat
// ports and the metrics port) bind, so they agree on addresses and options.
#pragma once

#include <cstdint>
#include <string>

#include "net/fd.hpp"

namespace chat::net {

struct ListenSocket {
    Fd fd;
    std::uint16_t port = 0;  // the bound port (the kernel's choice for port 0)
};

// Binds `bind_address` ("127.0.0.1", "::1", "*" or "" for every IPv4 address, "localhost")
// with SO_REUSEADDR and listens with `backlog` (0: /proc/sys/net/core/somaxconn). Returns an
// error text, empty on success.
std::string open_listen_socket(const std::string& bind_address, std::uint16_t port, ListenSocket& out,
                               int backlog = 0);

}  // namespace chat::net
