#include "tui/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tui/secret.hpp"

namespace chat::tui {

namespace {

struct AddrInfo {
    addrinfo* p = nullptr;
    ~AddrInfo() {
        if (p != nullptr) ::freeaddrinfo(p);
    }
};

}  // namespace

bool Connection::open(const std::string& host, const std::string& port) {
    close();
    error_.clear();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    AddrInfo res;
    // A blocking lookup: the client has nothing else to do until it knows where to go.
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res.p);
    if (rc != 0) {
        error_ = ::gai_strerror(rc);
        return false;
    }
    for (addrinfo* ai = res.p; ai != nullptr; ai = ai->ai_next) {
        net::Fd s(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
        if (!s) {
            error_ = std::strerror(errno);
            continue;
        }
        const int one = 1;
        ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort: typing latency
        int r;
        do {
            r = ::connect(s.get(), ai->ai_addr, ai->ai_addrlen);
        } while (r < 0 && errno == EINTR);
        if (r == 0 || errno == EINPROGRESS) {
            connecting_ = r != 0;
            fd_ = std::move(s);
            return true;
        }
        error_ = std::strerror(errno);
    }
    return false;
}

void Connection::close() {
    fd_.reset();
    connecting_ = false;
    wipe(out_);
    secret_out_ = false;
    reader_.reset();
}

short Connection::poll_events() const {
    if (!fd_) return 0;
    if (connecting_) return POLLOUT;
    return static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT));
}

void Connection::send(std::string_view line) {
    if (secret_out_) reserve_wiping(out_.size() + line.size() + 1);
    out_.append(line);
    out_.push_back('\n');
}

void Connection::send_secret(std::string_view prefix, std::string_view secret) {
    reserve_wiping(out_.size() + prefix.size() + secret.size() + 1);
    secret_out_ = true;
    out_.append(prefix);
    out_.append(secret);
    out_.push_back('\n');
}

// Grows out_ by hand, so the buffer it leaves is wiped before it is freed.
void Connection::reserve_wiping(std::size_t bytes) {
    if (out_.capacity() >= bytes) return;
    std::string bigger;
    bigger.reserve(bytes * 2);
    bigger.append(out_);
    wipe(out_);
    out_.swap(bigger);
}

Connection::Result Connection::fail(std::string why) {
    error_ = std::move(why);
    fd_.reset();
    connecting_ = false;
    return Result::Closed;
}

Connection::Result Connection::flush() {
    while (!out_.empty()) {
        const ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return fail(std::strerror(errno));
        }
        if (secret_out_) {
            // erase() would leave the moved bytes' old copies past the new end.
            std::string rest;
            rest.reserve(out_.capacity());
            rest.append(out_, static_cast<std::size_t>(n));
            wipe(out_);
            out_.swap(rest);
            secret_out_ = !out_.empty();
        } else {
            out_.erase(0, static_cast<std::size_t>(n));
        }
    }
    return Result::Ok;
}

Connection::Result Connection::on_ready(short revents, std::vector<ServerInput>& in) {
    if (!fd_) return Result::Closed;
    Result result = Result::Ok;
    if (connecting_) {
        if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return Result::Ok;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err != 0) return fail(std::strerror(err));
        connecting_ = false;
        result = Result::Connected;
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                return fail(std::strerror(errno));
            }
            if (n == 0) {
                // Complete lines of this call (a BYE) are already in `in`.
                return fail("the server closed the connection");
            }
            reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)), in);
            if (static_cast<std::size_t>(n) < sizeof buf) break;
        }
    }
    if (!out_.empty()) {
        if (flush() == Result::Closed) return Result::Closed;
    }
    return result;
}

}  // namespace chat::tui
