// Outgoing connections of chat-load: non-blocking connect() to the server
// from source addresses taken in turn from --src, --src-addrs (one per 200
// clients unless told), shared by every scenario's loop.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <vector>

#include "load/engine.hpp"
#include "net/fd.hpp"

namespace chat::load {

class Dialer {
public:
    // False (after a message on stderr) when --host or --src is no IPv4 address.
    bool setup(const Options& opt);
    // A socket whose connect() is under way (or done), TCP_NODELAY set; invalid when any step failed.
    // With several ports (--ports), client i goes to port i modulo their number; without a
    // client, the ports are taken in turn.
    net::Fd dial(std::int64_t client = -1);

private:
    std::vector<sockaddr_in> servers_;
    std::uint32_t src_base_ = 0;  // host order
    std::uint32_t src_count_ = 1;
    std::uint64_t connects_ = 0;
};

}  // namespace chat::load
