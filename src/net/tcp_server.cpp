#include "net/tcp_server.hpp"

#include "net/tls_context.hpp"
#include "net/tls_stream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace chat::net {

namespace {

constexpr std::size_t kScratch = 64 * 1024;
// One fast sender may not starve the others: this much per connection per turn, then the next.
constexpr std::size_t kReadBudget = 256 * 1024;
constexpr int kAcceptBudget = 1024;
constexpr std::size_t kFdReserve = 32;
constexpr std::chrono::seconds kHandshakeTimeout{10};  // PROTOCOL.md, "TLS"
constexpr std::uint32_t kConnEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

int listen_backlog() {
    std::ifstream in("/proc/sys/net/core/somaxconn");
    int n = 0;
    if (in >> n && n > 0) return n;
    return SOMAXCONN;
}

PeerAddress peer_of(const sockaddr_storage& ss) {
    PeerAddress p;
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        if (::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf)) p.ip = buf;
        p.port = ntohs(a.sin_port);
        p.loopback = (ntohl(a.sin_addr.s_addr) >> 24) == 127;
    } else if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
        if (::inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf)) p.ip = buf;
        p.port = ntohs(a.sin6_port);
        p.loopback = IN6_IS_ADDR_LOOPBACK(&a.sin6_addr) ||
                     (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && a.sin6_addr.s6_addr[12] == 127);
    }
    return p;
}

std::size_t held_bound(const TcpServerOptions& o) {
    return std::max<std::size_t>(4 * o.max_outbuf, std::size_t{4} << 20);
}

std::string errtext(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

// A connection's life. Readiness (readable, writable, the peer's FIN) is kept beside it as bits.
enum class Phase : std::uint8_t {
    Handshake,  // TLS: the handshake is under way; the handler has not heard of the connection
    Open,       // serving: read, offer to the handler, write
    Closing,    // close_after_flush: writing what is queued, then close_notify (TLS) and FIN
    Draining,   // FIN sent: discarding input until the peer's FIN or the linger timer
    Doomed,     // on_close(reason) due at the end of the turn
};

struct TcpServer::Impl {
    struct Conn {
        Fd fd;
        ConnId id = 0;  // 0: free slot
        RingBuffer out;
        RingBuffer held;  // while paced: send()'s bytes, behind the paced reply in `out`
        std::string in;   // input the handler did not take yet; empty (no storage) most of the time
        Reactor::TimerId linger_timer = 0;
        CloseReason reason = CloseReason::Error;
        Phase phase = Phase::Open;
        bool readable = false;  // the socket may have input (edge seen, EAGAIN not yet)
        bool writable = true;   // the socket may take output
        bool rdhup = false;     // the peer's FIN is known to be queued: read on to the 0
        bool eof = false;       // read returned 0
        bool paused = false;
        bool stuck = false;      // the handler took nothing of `in` and nothing arrived since
        bool reoffer = false;    // resume asked to offer `in` again
        bool dirty = false;      // on dirty_
        bool queued = false;     // on ready_
        bool paced = false;      // a paced reply is being produced into `out`
        bool drain_due = false;  // on drained_
        // Bytes of `out` that belong to paced replies: they never count towards max_outbuf, even
        // after the reply ended and what send() held behind it joined them.
        std::size_t exempt = 0;
        // TLS: the stream, and which readiness a read or a write waits for across directions.
        std::unique_ptr<TlsStream> tls;
        bool read_wants_write = false;  // SSL_read answered WANT_WRITE
        bool write_wants_read = false;  // SSL_write answered WANT_READ
        bool notify_sent = false;       // close_notify written
        Reactor::TimerId handshake_timer = 0;
        PeerAddress peer;  // kept for a TLS handshake: the handler hears of the peer after it

        bool doomed() const noexcept { return phase == Phase::Doomed; }
        bool closing() const noexcept { return phase == Phase::Closing || phase == Phase::Draining; }
        bool draining() const noexcept { return phase == Phase::Draining; }
    };

    Impl(Reactor& r, ConnectionHandler& h, TcpServerOptions o)
        : reactor(r), handler(h), opts(o), scratch(std::make_unique_for_overwrite<char[]>(kScratch)) {
        reserve.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    Reactor& reactor;
    ConnectionHandler& handler;
    TcpServerOptions opts;
    std::unique_ptr<char[]> scratch;
    std::vector<Conn> conns;  // indexed by fd
    std::size_t count = 0;
    std::uint32_t next_gen = 0;
    struct Listener {
        Fd fd;
        std::uint16_t port = 0;
        TlsContext* tls = nullptr;  // a TLS port: connections start with the handshake
        bool pending = false;       // connections may wait in its queue
        bool posted = false;
    };
    std::vector<std::unique_ptr<Listener>> listeners;  // plain and TLS; nodes never move
    Fd reserve;  // spent to shed one connection when the process is out of fds
    bool ready_posted = false;
    std::uint64_t shed = 0;  // connections closed unserved for lack of fds
    std::vector<ConnId> dirty, dirty_work;
    std::vector<ConnId> ready, ready_work;
    std::vector<ConnId> closes, closes_work;
    std::vector<ConnId> drained, drained_work;
    std::shared_ptr<int> alive = std::make_shared<int>(0);  // posted callbacks outliving us do nothing

    Conn* find(ConnId id) noexcept {
        const std::size_t fd = id & 0xffffffffu;
        if (id == 0 || fd >= conns.size() || conns[fd].id != id) return nullptr;
        return &conns[fd];
    }

    // Runs fn on the loop soon, unless the server is gone by then.
    template <class F>
    void defer(F fn) {
        reactor.post([weak = std::weak_ptr<int>(alive), this, fn] {
            if (weak.lock()) fn(*this);
        });
    }

    // ---- accept -----------------------------------------------------------------------------

    void on_listener(Listener& l) {
        l.pending = true;
        accept_some(l);
    }

    void accept_some(Listener& l) {
        for (int i = 0; i < kAcceptBudget && l.fd; ++i) {
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            const int fd = ::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                open_conn(Fd(fd), ss, l);
                continue;
            }
            switch (errno) {
                case EAGAIN:
                    l.pending = false;
                    return;
                case EMFILE:
                case ENFILE:
                    if (!shed_one(l)) {
                        // No reserve to spend; the next incoming connection brings a new edge.
                        l.pending = false;
                        return;
                    }
                    continue;
                case ENOBUFS:
                case ENOMEM:
                    l.pending = false;
                    return;
                default:  // ECONNABORTED, EPROTO, EINTR, network errors: that one connection only
                    continue;
            }
        }
        // Budget spent with connections still queued: the edge will not come again, so come back.
        if (l.pending && l.fd && !l.posted) {
            l.posted = true;
            Listener* lp = &l;
            defer([lp](Impl& s) {
                lp->posted = false;
                if (lp->pending) s.accept_some(*lp);
            });
        }
    }

    // Out of fds: accept the oldest pending connection with the reserve fd and close it at once,
    // so the listener's queue drains instead of spinning on EMFILE.
    bool shed_one(Listener& l) {
        if (!reserve) return false;
        reserve.reset();
        const int fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            // Best effort: a fresh socket's buffer takes these few bytes, and the close sends FIN.
            // Not on a TLS port: there the bytes would be no TLS record.
            if (!opts.shed_message.empty() && !l.tls)
                (void)::send(fd, opts.shed_message.data(), opts.shed_message.size(), MSG_NOSIGNAL);
            ::close(fd);
            ++shed;
        }
        reserve.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        return fd >= 0;
    }

    void open_conn(Fd fd, const sockaddr_storage& ss, Listener& l) {
        const int one = 1;
        (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
        const auto slot = static_cast<std::size_t>(fd.get());
        if (slot >= conns.size()) conns.resize(std::max(slot + 1, conns.size() * 2));
        if (++next_gen == 0) ++next_gen;
        const ConnId id = (ConnId{next_gen} << 32) | static_cast<std::uint32_t>(fd.get());
        const int raw = fd.get();
        if (!reactor.add(raw, kConnEvents, [this, raw](std::uint32_t ev) { on_conn_event(raw, ev); }))
            return;  // fd closes here; the client sees a reset
        Conn& c = conns[slot];
        c = Conn{};
        c.fd = std::move(fd);
        c.id = id;
        ++count;
        c.peer = peer_of(ss);
        c.peer.accepted = Clock::now();
        if (!l.tls) {
            handler.on_open(id, c.peer);
            return;
        }
        c.peer.tls = true;
        c.phase = Phase::Handshake;
        c.tls = std::make_unique<TlsStream>(l.tls->get(), raw);
        if (!c.tls->ok()) {
            handler.on_handshake_failed(c.peer, "cannot start TLS: " + tls_error_text());
            close_conn(c);
            return;
        }
        c.handshake_timer = reactor.add_timer(c.peer.accepted + kHandshakeTimeout, [this, id] {
            Conn* conn = find(id);
            if (!conn || conn->phase != Phase::Handshake) return;
            conn->handshake_timer = 0;
            handler.on_handshake_failed(conn->peer, "handshake not finished in 10 s");
            close_conn(*conn);
        });
        c.readable = true;  // the ClientHello may be there already
        step_handshake(c);
    }

    // Moves a TLS handshake on as far as the socket allows; the handler hears of the connection
    // once it is done (HELLO is its first line), or never, if it fails.
    void step_handshake(Conn& c) {
        const IoResult r = c.tls->handshake();
        switch (r.status) {
            case IoStatus::Ok: {
                reactor.cancel_timer(c.handshake_timer);
                c.handshake_timer = 0;
                c.phase = Phase::Open;
                // Application data may have come with the last handshake record, inside OpenSSL
                // where no epoll event will report it.
                c.readable = true;
                const ConnId id = c.id;
                handler.on_open(id, c.peer);
                if (find(id)) serve(id);
                return;
            }
            case IoStatus::WantRead:
                c.readable = false;
                return;
            case IoStatus::WantWrite:
                c.writable = false;
                return;
            case IoStatus::Eof:
            case IoStatus::Error:
                handler.on_handshake_failed(c.peer, c.tls->error());
                close_conn(c);  // OpenSSL has written its alert, if it had one to send
                return;
        }
    }

    // ---- events -----------------------------------------------------------------------------

    void on_conn_event(int fd, std::uint32_t ev) {
        Conn& c = conns[static_cast<std::size_t>(fd)];
        if (c.id == 0 || c.doomed()) return;
        const ConnId id = c.id;
        // Errors and hang-ups show up as a read or write result; let those paths see them.
        if (ev & (EPOLLERR | EPOLLHUP)) c.readable = c.writable = c.rdhup = true;
        if (ev & EPOLLRDHUP) c.readable = c.rdhup = true;
        if (ev & EPOLLIN) c.readable = true;
        if (ev & EPOLLOUT) c.writable = true;
        if (c.phase == Phase::Handshake) {
            if (c.readable || c.writable) step_handshake(c);
            return;
        }
        // TLS crosses directions: a write may wait for input, a read for the socket to drain.
        if (c.write_wants_read && c.readable) {
            c.write_wants_read = false;
            c.writable = true;
        }
        if (c.read_wants_write && c.writable) {
            c.read_wants_write = false;
            c.readable = true;
        }
        if (c.writable && (!c.out.empty() || c.closing())) {
            write_out(c);
            if (!find(id)) return;
        }
        if (c.readable) serve(id);
    }

    void schedule_ready(Conn& c) {
        if (!c.queued) {
            c.queued = true;
            ready.push_back(c.id);
        }
        if (!ready_posted) {
            ready_posted = true;
            defer([](Impl& s) { s.run_ready(); });
        }
    }

    void run_ready() {
        ready_posted = false;
        ready_work.swap(ready);
        for (ConnId id : ready_work) {
            if (Conn* c = find(id)) {
                c->queued = false;
                serve(id);
            }
        }
        ready_work.clear();
    }

    // Offers `in` (plus fresh bytes) to the handler. False if the connection is gone afterwards.
    // The handler may close, doom or drain this very connection while it still walks the bytes, so
    // the bytes it sees are owned here for the call: a local string, or the scratch buffer, which
    // nothing reads into while a handler runs.
    bool offer(ConnId id, std::string_view fresh) {
        Conn* c = find(id);
        std::string held;
        std::string_view data = fresh;  // the common case: whole lines straight from scratch, no copy
        if (!c->in.empty()) {
            held.swap(c->in);
            held.append(fresh);
            data = held;
        }
        if (data.empty()) return true;
        std::size_t taken = handler.on_data(id, data);
        c = find(id);
        if (!c) return false;
        if (c->closing() || c->doomed()) return true;  // the rest will never be offered: keep nothing
        taken = std::min(taken, data.size());
        if (taken < data.size()) {
            if (held.empty()) {
                c->in.assign(data.substr(taken));
            } else {
                held.erase(0, taken);
                c->in.swap(held);
            }
        }
        c->stuck = taken == 0 && !c->in.empty();
        return true;
    }

    // Reads and offers input until EAGAIN, pause, throttle or the per-turn budget.
    void serve(ConnId id) {
        Conn* c = find(id);
        if (!c || c->doomed()) return;
        if (c->closing()) {
            if (c->draining()) discard_input(*c);
            return;
        }
        if (c->paused) return;
        if (c->reoffer) {
            c->reoffer = false;
            if (!c->in.empty() && !offer(id, {})) return;
        }
        std::size_t budget = kReadBudget;
        for (;;) {
            c = find(id);
            if (!c || c->doomed() || c->closing() || c->paused) return;
            if (c->eof) {
                finish_eof(id);
                return;
            }
            if (!c->readable) return;
            if (c->in.size() >= opts.max_input) return;  // the handler is throttling; stay readable
            if (budget == 0) {
                schedule_ready(*c);
                return;
            }
            const std::size_t want = std::min(kScratch, budget);
            const IoResult r = read_some(*c, want);
            switch (r.status) {
                case IoStatus::Ok:
                    budget -= r.n;
                    // A short read drained the socket; new bytes bring a new edge. Unless the FIN
                    // is already queued: that brings no edge, so read on to see the 0. Not with
                    // TLS: OpenSSL may hold more records, so read until it wants to read.
                    if (r.n < want && !c->rdhup && !c->tls) c->readable = false;
                    if (!offer(id, {scratch.get(), r.n})) return;
                    break;
                case IoStatus::Eof:
                    c->eof = true;
                    c->readable = false;
                    break;
                case IoStatus::WantRead:
                    c->readable = false;
                    return;
                case IoStatus::WantWrite:
                    c->read_wants_write = true;
                    c->readable = false;
                    return;
                case IoStatus::Error:
                    doom(*c, CloseReason::Error);
                    return;
            }
        }
    }

    IoResult read_some(Conn& c, std::size_t want) {
        if (c.tls) return c.tls->read(scratch.get(), want);
        for (;;) {
            const ssize_t n = ::read(c.fd.get(), scratch.get(), want);
            if (n > 0) return {IoStatus::Ok, static_cast<std::size_t>(n)};
            if (n == 0) return {IoStatus::Eof};
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::WantRead};
            return {IoStatus::Error};
        }
    }

    // The peer finished sending. Let the handler take what it can (it may be paused and come back
    // through resume), then close; a partial last line is dropped.
    void finish_eof(ConnId id) {
        for (;;) {
            Conn* c = find(id);
            if (!c || c->doomed() || c->closing() || c->paused) return;
            if (c->in.empty() || c->stuck) {
                doom(*c, CloseReason::PeerClosed);
                return;
            }
            if (!offer(id, {})) return;
        }
    }

    void discard_input(Conn& c) {
        for (;;) {
            const ssize_t n = ::read(c.fd.get(), scratch.get(), kScratch);
            if (n > 0) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c.readable = false;
                return;
            }
            close_conn(c);  // the peer's FIN (or an error): done
            return;
        }
    }

    // ---- output -----------------------------------------------------------------------------

    void mark_dirty(Conn& c) {
        if (!c.dirty) {
            c.dirty = true;
            dirty.push_back(c.id);
        }
    }

    void write_out(Conn& c) {
        write_some(c);
        if (c.id != 0 && c.paced && !c.drain_due && !c.doomed() && !c.closing() &&
            c.out.size() < opts.paced_low_water) {
            c.drain_due = true;
            drained.push_back(c.id);
        }
    }

    void write_some(Conn& c) {
        if (c.tls) {
            write_tls(c);
            return;
        }
        while (!c.out.empty()) {
            const std::size_t before = c.out.size();
            const ssize_t n = c.out.write_to(c.fd.get());
            if (n == 0) {
                c.writable = false;
                return;
            }
            if (n > 0) {
                c.exempt -= std::min(c.exempt, static_cast<std::size_t>(n));
                // A partial write filled the socket buffer; its draining brings an EPOLLOUT edge.
                if (static_cast<std::size_t>(n) < before && !c.out.empty()) {
                    c.writable = false;
                    return;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c.writable = false;
                return;
            }
            if (c.closing()) {
                close_conn(c);
            } else {
                doom(c, CloseReason::Error);
            }
            return;
        }
        if (c.closing() && !c.draining()) start_drain(c);
    }

    // The ring's contiguous run goes to SSL_write whole, so records are full (16 KiB) however
    // small the lines that made it; nothing is written per line.
    void write_tls(Conn& c) {
        while (!c.out.empty()) {
            const std::string_view chunk = c.out.first();
            const IoResult r = c.tls->write(chunk);
            switch (r.status) {
                case IoStatus::Ok:
                    // With partial writes OpenSSL returns after each record: a short count is no
                    // sign of a full socket, so go on until it says WANT_WRITE.
                    c.out.consume(r.n);
                    c.exempt -= std::min(c.exempt, r.n);
                    continue;
                case IoStatus::WantWrite:
                    c.writable = false;
                    return;
                case IoStatus::WantRead:
                    c.write_wants_read = true;
                    c.writable = false;
                    return;
                case IoStatus::Eof:
                case IoStatus::Error:
                    if (c.closing())
                        close_conn(c);
                    else
                        doom(c, CloseReason::Error);
                    return;
            }
        }
        if (c.closing() && !c.draining()) start_drain(c);
    }

    // Output is out: send our FIN, then read until the peer's, so unread input cannot turn the
    // close into a reset that destroys the bytes just written.
    void start_drain(Conn& c) {
        if (c.tls && !c.notify_sent) {  // close_notify first, then the FIN
            const IoResult r = c.tls->shutdown();
            if (r.status == IoStatus::WantWrite) {
                c.writable = false;
                return;
            }
            if (r.status != IoStatus::Ok) {
                close_conn(c);
                return;
            }
            c.notify_sent = true;
        }
        if (c.eof || ::shutdown(c.fd.get(), SHUT_WR) != 0) {
            close_conn(c);
            return;
        }
        c.phase = Phase::Draining;
        c.readable = true;
        discard_input(c);
    }

    void doom(Conn& c, CloseReason why) {
        if (c.doomed()) return;
        c.phase = Phase::Doomed;
        c.reason = why;
        // A peer that only half-closed may still read the replies to what it sent last.
        if (why != CloseReason::PeerClosed) {
            c.out.clear();
            c.exempt = 0;
            c.held.clear();
            c.paced = false;
        }
        unpace(c);
        std::string().swap(c.in);
        closes.push_back(c.id);
    }

    // Ends pacing: what send() queued meanwhile follows the paced bytes.
    void unpace(Conn& c) {
        if (!c.paced) return;
        c.paced = false;
        c.out.append(c.held.first());
        c.out.append(c.held.second());
        c.held.clear();
    }

    void begin_close_after_flush(Conn& c) {
        unpace(c);
        c.phase = Phase::Closing;
        std::string().swap(c.in);
        const ConnId id = c.id;
        const auto linger = std::chrono::milliseconds(std::max(0, opts.close_linger_ms));
        c.linger_timer = reactor.add_timer(Clock::now() + linger, [this, id] {
            if (Conn* conn = find(id)) {
                conn->linger_timer = 0;
                close_conn(*conn);
            }
        });
        // Even with nothing to write, the FIN waits for flush(): draining reads into the scratch
        // buffer, which the caller (a handler inside on_data) may still be looking at.
        mark_dirty(c);
    }

    std::string open_listener(const std::string& bind_address, std::uint16_t port, TlsContext* tls);

    void close_conn(Conn& c) {
        if (c.id == 0) return;
        if (c.linger_timer != 0) reactor.cancel_timer(c.linger_timer);
        if (c.handshake_timer != 0) reactor.cancel_timer(c.handshake_timer);
        // Every close of a TLS session says so (a slow consumer cut, a linger that ran out), best
        // effort: one nonblocking try, into whatever room the socket has.
        if (c.tls && c.tls->handshake_done() && !c.notify_sent) (void)c.tls->shutdown();
        reactor.remove(c.fd.get());
        c = Conn{};  // closes the fd, frees the buffers
        --count;
    }

    void flush() {
        // on_close may send to others (and that may doom more), on_drained produces more: repeat
        // until quiet.
        while (!dirty.empty() || !closes.empty() || !drained.empty()) {
            dirty_work.swap(dirty);
            for (ConnId id : dirty_work) {
                Conn* c = find(id);
                if (!c) continue;
                c->dirty = false;
                if ((c->doomed() && c->reason != CloseReason::PeerClosed) || !c->writable) continue;
                write_out(*c);
            }
            dirty_work.clear();
            closes_work.swap(closes);
            for (ConnId id : closes_work) {
                Conn* c = find(id);
                if (!c || !c->doomed()) continue;  // closed by the handler meanwhile
                const CloseReason why = c->reason;
                if (why == CloseReason::PeerClosed && !c->out.empty()) {
                    // The handler is done with it; the socket lives on until the replies are out.
                    begin_close_after_flush(*c);
                } else {
                    close_conn(*c);
                }
                handler.on_close(id, why);
            }
            closes_work.clear();
            drained_work.swap(drained);
            for (ConnId id : drained_work) {
                Conn* c = find(id);
                if (!c) continue;
                c->drain_due = false;
                if (c->paced && !c->doomed() && !c->closing()) handler.on_drained(id);
            }
            drained_work.clear();
        }
    }
};

TcpServer::TcpServer(Reactor& reactor, ConnectionHandler& handler, TcpServerOptions opts)
    : impl_(std::make_unique<Impl>(reactor, handler, opts)) {}

TcpServer::~TcpServer() {
    stop_listening();
    for (auto& c : impl_->conns) impl_->close_conn(c);
}

std::string TcpServer::listen(const std::string& bind_address, std::uint16_t port) {
    return impl_->open_listener(bind_address, port, nullptr);
}

std::string TcpServer::listen_tls(const std::string& bind_address, std::uint16_t port, TlsContext& tls) {
    return impl_->open_listener(bind_address, port, &tls);
}

std::string TcpServer::Impl::open_listener(const std::string& bind_address, std::uint16_t port, TlsContext* tls) {
    Impl& s = *this;
    for (const auto& l : s.listeners)  // one plain port and one TLS port at most
        if ((l->tls != nullptr) == (tls != nullptr)) return "already listening";
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
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        return errtext("SO_REUSEADDR");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return errtext(("bind " + addr + ":" + std::to_string(port)).c_str());
    if (::listen(fd.get(), listen_backlog()) != 0) return errtext("listen");
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0)
        return errtext("getsockname");
    auto l = std::make_unique<Listener>();
    l->port = peer_of(bound).port;
    l->tls = tls;
    Listener* lp = l.get();
    if (!s.reactor.add(fd.get(), EPOLLIN | EPOLLET, [&s, lp](std::uint32_t) { s.on_listener(*lp); }))
        return errtext("epoll_ctl");
    l->fd = std::move(fd);
    s.listeners.push_back(std::move(l));
    return {};
}

std::uint16_t TcpServer::port() const noexcept {
    for (const auto& l : impl_->listeners)
        if (!l->tls) return l->port;
    return 0;
}

std::uint16_t TcpServer::tls_port() const noexcept {
    for (const auto& l : impl_->listeners)
        if (l->tls) return l->port;
    return 0;
}

void TcpServer::send(ConnId id, std::string_view bytes) {
    Impl& s = *impl_;
    Impl::Conn* c = s.find(id);
    if (!c || c->doomed() || c->closing() || bytes.empty()) return;
    if (c->paced) {
        // Lines held behind a client's own reply wait for the reply, not for the client: while it
        // keeps reading (its socket took everything so far) they may pass max_outbuf, up to a
        // hard bound; a reader that stopped is judged by max_outbuf as always.
        const std::size_t after = c->held.size() + bytes.size();
        if ((after > s.opts.max_outbuf && !c->writable) || after > held_bound(s.opts))
            s.doom(*c, CloseReason::OutputFull);
        else
            c->held.append(bytes);
        return;
    }
    if (c->out.size() - c->exempt + bytes.size() > s.opts.max_outbuf) {
        // The limit is on what the kernel cannot take: a turn's fan-out may queue more than
        // max_outbuf for a reader that keeps up, so write what is queued before judging.
        if (c->writable) s.write_out(*c);
        if (c->doomed()) return;
        if (c->out.size() - c->exempt + bytes.size() > s.opts.max_outbuf) {
            s.doom(*c, CloseReason::OutputFull);  // on_close comes from flush(), never from here
            return;
        }
    }
    c->out.append(bytes);
    s.mark_dirty(*c);
}

void TcpServer::begin_paced(ConnId id) {
    Impl& s = *impl_;
    Impl::Conn* c = s.find(id);
    if (!c || c->doomed() || c->closing() || c->paced) return;
    c->paced = true;
    if (!c->drain_due) {
        c->drain_due = true;
        s.drained.push_back(id);
    }
}

void TcpServer::send_paced(ConnId id, std::string_view bytes) {
    Impl& s = *impl_;
    Impl::Conn* c = s.find(id);
    if (!c || !c->paced || c->doomed() || c->closing() || bytes.empty()) return;
    c->out.append(bytes);
    c->exempt += bytes.size();
    s.mark_dirty(*c);
}

void TcpServer::end_paced(ConnId id) {
    Impl& s = *impl_;
    Impl::Conn* c = s.find(id);
    if (!c || !c->paced) return;
    s.unpace(*c);
    if (!c->out.empty()) s.mark_dirty(*c);
}

void TcpServer::abandon_paced(ConnId id) {
    Impl::Conn* c = impl_->find(id);
    if (!c || !c->paced) return;
    c->paced = false;
    c->held.clear();
}

void TcpServer::close_after_flush(ConnId id) {
    Impl::Conn* c = impl_->find(id);
    if (!c || c->doomed() || c->closing()) return;
    impl_->begin_close_after_flush(*c);
}

void TcpServer::close_now(ConnId id) {
    if (Impl::Conn* c = impl_->find(id)) impl_->close_conn(*c);
}

void TcpServer::pause_reading(ConnId id) {
    if (Impl::Conn* c = impl_->find(id)) c->paused = true;
}

void TcpServer::resume_reading(ConnId id) {
    Impl& s = *impl_;
    Impl::Conn* c = s.find(id);
    if (!c || (!c->paused && c->in.empty())) return;
    c->paused = false;
    // Never offer from inside the caller (it may be the handler itself): next turn.
    c->reoffer = true;
    c->stuck = false;
    s.schedule_ready(*c);
}

std::size_t TcpServer::pending_output(ConnId id) const noexcept {
    const Impl::Conn* c = impl_->find(id);
    return c ? c->out.size() + c->held.size() : 0;
}

std::size_t TcpServer::connection_count() const noexcept {
    return impl_->count;
}

std::uint64_t TcpServer::shed_count() const noexcept {
    return impl_->shed;
}

void TcpServer::flush() {
    impl_->flush();
}

void TcpServer::stop_listening() {
    Impl& s = *impl_;
    for (auto& l : s.listeners) {
        if (!l->fd) continue;
        s.reactor.remove(l->fd.get());
        l->fd.reset();
        l->pending = false;
    }
    // Handshakes under way end with the listeners: their handler never heard of them.
    for (auto& c : s.conns)
        if (c.id != 0 && c.phase == Phase::Handshake) s.close_conn(c);
}

std::size_t TcpServer::fd_capacity() noexcept {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024 - kFdReserve;
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
    const auto limit = static_cast<std::size_t>(rl.rlim_cur);
    return limit > kFdReserve ? limit - kFdReserve : 0;
}

}  // namespace chat::net
