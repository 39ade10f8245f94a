#include "net/listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace chat::net {

namespace {

int somaxconn() {
    std::ifstream in("/proc/sys/net/core/somaxconn");
    int n = 0;
    if (in >> n && n > 0) return n;
    return SOMAXCONN;
}

std::string errtext(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string open_listen_socket(const std::string& bind_address, std::uint16_t port, ListenSocket& out,
                               int backlog) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const std::string addr = bind_address.empty() || bind_address == "*" ? "0.0.0.0"
                             : bind_address == "localhost"               ? "127.0.0.1"
                                                                         : bind_address;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        return "invalid bind address: " + bind_address;
    }
    Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errtext("socket");
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return errtext("SO_REUSEADDR");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return errtext("bind " + addr + ":" + std::to_string(port));
    if (::listen(fd.get(), backlog > 0 ? backlog : somaxconn()) != 0) return errtext("listen");
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0) return errtext("getsockname");
    out.port = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port)
                                          : ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port);
    out.fd = std::move(fd);
    return {};
}

}  // namespace chat::net
