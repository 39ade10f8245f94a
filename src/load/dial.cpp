#include "load/dial.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

namespace chat::load {

bool Dialer::setup(const Options& opt) {
    sockaddr_in server{};
    server.sin_family = AF_INET;
    if (inet_pton(AF_INET, opt.host.c_str(), &server.sin_addr) != 1) {
        std::fprintf(stderr, "chat-load: --host must be an IPv4 address: %s\n", opt.host.c_str());
        return false;
    }
    servers_.clear();
    for (std::uint16_t p : opt.ports.empty() ? std::vector<std::uint16_t>{opt.port} : opt.ports) {
        server.sin_port = htons(p);
        servers_.push_back(server);
    }
    in_addr src{};
    if (inet_pton(AF_INET, opt.src_first.c_str(), &src) != 1) {
        std::fprintf(stderr, "chat-load: --src must be an IPv4 address: %s\n", opt.src_first.c_str());
        return false;
    }
    src_base_ = ntohl(src.s_addr);
    src_count_ = opt.src_addrs ? opt.src_addrs : std::max<std::uint32_t>(1, (opt.clients + 199) / 200);
    if (opt.tls) {
        std::string error;
        tls_ = TlsClientContext::make(opt, error);
        if (!tls_) {
            std::fprintf(stderr, "chat-load: %s\n", error.c_str());
            return false;
        }
    }
    return true;
}

net::Fd Dialer::dial(std::int64_t client) {
    net::Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    const int one = 1;
    // Source ports are then chosen per (source, destination) at connect(), so every source address
    // brings its own ephemeral port range.
    setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    // The same small-message latency for every server under test, whatever it does on its side.
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    const std::uint64_t n = client >= 0 ? static_cast<std::uint64_t>(client) : connects_;
    const sockaddr_in& server = servers_[n % servers_.size()];
    src.sin_addr.s_addr = htonl(src_base_ + static_cast<std::uint32_t>(connects_++ % src_count_));
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return net::Fd{};
    int r;
    do {
        r = connect(fd.get(), reinterpret_cast<const sockaddr*>(&server), sizeof server);
    } while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS) return net::Fd{};
    return fd;
}

}  // namespace chat::load
