// Outgoing connections of chat-load: non-blocking connect() to the server
// from source addresses taken in turn from --src, --src-addrs (one per 200
// clients unless told), and with --tls the client TLS context they start
// their handshakes with; shared by every scenario's loop.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "load/engine.hpp"
#include "load/tls.hpp"
#include "net/fd.hpp"

namespace chat::load {

class Dialer {
public:
    // False (after a message on stderr) when --host or --src is no IPv4 address, or --tls-ca unusable.
    bool setup(const Options& opt);
    // The TLS context for every connection; null without --tls.
    const TlsClientContext* tls() const noexcept { return tls_.get(); }
    // A socket whose connect() is under way (or done), TCP_NODELAY set; invalid when any step failed.
    // With several ports (--ports), client i goes to port i modulo their number; without a
    // client, the ports are taken in turn.
    net::Fd dial(std::int64_t client = -1);

private:
    std::vector<sockaddr_in> servers_;
    std::uint32_t src_base_ = 0;  // host order
    std::uint32_t src_count_ = 1;
    std::uint64_t connects_ = 0;
    std::unique_ptr<TlsClientContext> tls_;
};

}  // namespace chat::load
