#include "tui/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "tui/secret.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

struct Connection::Lookup {
    std::string host, port;
    net::Fd done;  // the thread's end of the socket pair: one byte when the answer is in
    int rc = 0;
    addrinfo* res = nullptr;
    std::atomic<bool> finished{false};
    ~Lookup() {
        if (res != nullptr) ::freeaddrinfo(res);
    }
};

bool Connection::open(const std::string& host, const std::string& port) {
    close();
    error_.clear();
    refused_ = false;
    host_ = host;
    port_ = port;
    int sv[2];
    // A socket pair rather than a pipe: send() with MSG_NOSIGNAL cannot raise SIGPIPE after close().
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        error_ = std::strerror(errno);
        return false;
    }
    auto lookup = std::make_shared<Lookup>();
    lookup->host = host;
    lookup->port = port;
    lookup->done.reset(sv[1]);
    lookup_fd_.reset(sv[0]);
    lookup_ = lookup;
    try {
        std::thread([lookup] {
            addrinfo hints{};
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            lookup->rc = ::getaddrinfo(lookup->host.c_str(), lookup->port.c_str(), &hints, &lookup->res);
            lookup->finished.store(true, std::memory_order_release);
            const char b = 1;
            [[maybe_unused]] const ssize_t n = ::send(lookup->done.get(), &b, 1, MSG_NOSIGNAL);
        }).detach();
    } catch (const std::system_error& e) {
        lookup_.reset();
        lookup_fd_.reset();
        error_ = e.what();
        return false;
    }
    return true;
}

// The lookup's answer is in: start the nonblocking connect.
Connection::Result Connection::lookup_done() {
    std::shared_ptr<Lookup> lookup = std::move(lookup_);
    lookup_fd_.reset();
    if (!lookup || !lookup->finished.load(std::memory_order_acquire)) return fail("the name lookup failed");
    if (lookup->rc != 0) return fail(::gai_strerror(lookup->rc));
    for (addrinfo* ai = lookup->res; ai != nullptr; ai = ai->ai_next) {
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
            return Result::Ok;
        }
        error_ = std::strerror(errno);
    }
    return fail(error_.empty() ? std::string("no address to connect to") : error_);
}

void Connection::close() {
    lookup_.reset();  // its thread finishes alone and frees it
    lookup_fd_.reset();
    if (tls_) tls_->shutdown();
    tls_.reset();
    fd_.reset();
    connecting_ = false;
    handshaking_ = handshake_wants_write_ = read_wants_write_ = write_wants_read_ = false;
    wipe(out_);
    secret_out_ = false;
    reader_.reset();
}

short Connection::poll_events() const {
    if (resolving()) return POLLIN;
    if (!fd_) return 0;
    if (connecting_) return POLLOUT;
    if (handshaking_) return handshake_wants_write_ ? POLLOUT : POLLIN;
    // POLLIN always: the server may speak (or close) at any time. A TLS write
    // that waits for the socket to be readable must not also poll for POLLOUT,
    // which would be ready at once and spin.
    const bool want_out = read_wants_write_ || (!out_.empty() && !write_wants_read_);
    return static_cast<short>(POLLIN | (want_out ? POLLOUT : 0));
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
    lookup_.reset();
    lookup_fd_.reset();
    tls_.reset();  // no close_notify: the connection is already broken or refused
    fd_.reset();
    connecting_ = handshaking_ = false;
    return Result::Closed;
}

// Drops the first n bytes of out_, which were sent.
void Connection::consume(std::size_t n) {
    if (secret_out_) {
        // erase() would leave the moved bytes' old copies past the new end.
        std::string rest;
        rest.reserve(out_.capacity());
        rest.append(out_, n);
        wipe(out_);
        out_.swap(rest);
        secret_out_ = !out_.empty();
    } else {
        out_.erase(0, n);
    }
}

Connection::Result Connection::flush() {
    while (!out_.empty()) {
        const ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return fail(std::strerror(errno));
        }
        consume(static_cast<std::size_t>(n));
    }
    return Result::Ok;
}

Connection::Result Connection::handshake() {
    const TlsResult r = tls_->handshake();
    switch (r.status) {
        case TlsIo::Ok: handshaking_ = false; return Result::Connected;
        case TlsIo::WantRead: handshake_wants_write_ = false; return Result::Ok;
        case TlsIo::WantWrite: handshake_wants_write_ = true; return Result::Ok;
        case TlsIo::Eof:
        case TlsIo::Error: break;
    }
    refused_ = tls_->certificate_refused();
    return fail(tls_->error());
}

// Reads until OpenSSL wants the socket again: records it has already taken
// from the socket (several lines in one, or the rest of a big one) raise no
// poll event, so stopping earlier could leave a line unseen until the server speaks again.
Connection::Result Connection::read_tls(std::vector<ServerInput>& in) {
    read_wants_write_ = false;
    char buf[16384];  // one TLS record at most
    for (;;) {
        const TlsResult r = tls_->read(buf, sizeof buf);
        switch (r.status) {
            case TlsIo::Ok: reader_.feed(std::string_view(buf, r.n), in); continue;
            case TlsIo::WantRead: return Result::Ok;
            case TlsIo::WantWrite: read_wants_write_ = true; return Result::Ok;
            case TlsIo::Eof:
                // chatd always sends close_notify: without it the end may have been cut by someone else.
                return fail(tls_->clean_close() ? "the server closed the connection"
                                                : "the server closed the connection without a TLS close_notify "
                                                  "(the last lines may be missing)");
            case TlsIo::Error: return fail(cat("TLS: ", tls_->error()));
        }
    }
}

Connection::Result Connection::flush_tls() {
    write_wants_read_ = false;
    while (!out_.empty()) {
        const TlsResult r = tls_->write(out_);
        switch (r.status) {
            case TlsIo::Ok: consume(r.n); continue;
            case TlsIo::WantWrite: return Result::Ok;
            case TlsIo::WantRead: write_wants_read_ = true; return Result::Ok;
            case TlsIo::Eof: return fail("the server closed the connection");
            case TlsIo::Error: return fail(cat("TLS: ", tls_->error()));
        }
    }
    return Result::Ok;
}

Connection::Result Connection::on_ready(short revents, std::vector<ServerInput>& in) {
    if (resolving()) {
        if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0) return Result::Ok;
        const Result r = lookup_done();
        if (r == Result::Closed || connecting_) return r;
        // Connected at once (a local address): go on as after a finished connect.
        revents = POLLOUT;
        connecting_ = true;
    }
    if (!fd_) return Result::Closed;
    Result result = Result::Ok;
    if (connecting_) {
        if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return Result::Ok;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err != 0) return fail(std::strerror(err));
        connecting_ = false;
        if (tls_ctx_ == nullptr) {
            result = Result::Connected;
        } else {
            tls_ = std::make_unique<TlsClientStream>(*tls_ctx_, fd_.get(), host_);
            if (!tls_->ok()) return fail(tls_->error());
            handshaking_ = true;
        }
    }
    if (handshaking_) {
        // The ClientHello goes out right after the connect; afterwards each readiness moves it on.
        result = handshake();
        if (result != Result::Connected) return result;
        // Lines sent with the handshake's last flight (HELLO) are already inside OpenSSL: read on.
    }
    if (tls_) {
        // Always read: a read that wanted a write retries on POLLOUT, and a
        // read with nothing there costs one WANT_READ.
        if (read_tls(in) == Result::Closed) return Result::Closed;
        if (!out_.empty() && flush_tls() == Result::Closed) return Result::Closed;
        return result;
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
