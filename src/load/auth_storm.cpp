// The auth scenario keeps its own loop beside engine.cpp's: its clients live
// through a short script of lines (nickname, AUTH, password, END HIST,
// /salir) with retries on a timer, and carry none of the delivery and order
// bookkeeping of the message scenarios. A few hundred connections, so plain
// per-client strings are fine here.
#include "load/auth_storm.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <vector>

#include "load/dial.hpp"
#include "load/tls.hpp"
#include "net/fd.hpp"
#include "proto/framer.hpp"
#include "proto/server_line.hpp"

namespace chat::load {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::uint64_t kSec = 1'000'000'000ULL;

std::uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * kSec + static_cast<std::uint64_t>(ts.tv_nsec);
}

enum class St : std::uint8_t {
    Idle,         // not started, or finished
    Connecting,   // connect() issued
    Handshaking,  // --tls: the handshake is under way
    Nick,         // nickname sent: waiting for END HIST (register) or AUTH (login)
    Registering,  // /registrar sent: waiting for OK register
    Password,     // password sent: waiting for END HIST
    Backoff,      // ERROR unavailable: waiting for retry_at to ask again
    Quitting,     // /salir sent: waiting for the server to close
};
enum class Phase : std::uint8_t { Register, Login };

struct Client {
    net::Fd fd;
    Stream io;  // the socket itself, or TLS over it
    St st = St::Idle;
    bool writable = false;
    bool read_wants_write = false;  // TLS: a read stopped until the socket is writable
    bool write_wants_read = false;  // TLS: a write stopped until the socket is readable
    bool ok = false;          // reached its goal (registered, or logged in)
    bool retry_nick = false;  // Backoff: the server waits for a nickname again
    bool broken = false;      // a send() failed: closed by the loop, not under its caller's feet
    std::uint32_t idx = 0;
    std::uint32_t gen = 0;
    std::string out;
    std::string in;
    proto::LineFramer framer{kMaxLine};
    std::uint64_t started_ns = 0;
    std::uint64_t retry_at = 0;
};

class AuthStorm {
public:
    explicit AuthStorm(const Options& opt) : opt_(opt), rng_(std::random_device{}()) {}
    Result run();

private:
    bool setup();
    bool run_phase(Phase p);
    void start(Client& c, std::uint64_t now);
    void on_event(Client& c, std::uint32_t events, std::uint64_t now);
    void greet(Client& c);
    void tls_failed();
    void read_lines(Client& c, std::uint64_t now);
    void on_line(Client& c, std::string_view line, std::uint64_t now);
    void on_error(Client& c, std::string_view code, std::uint64_t now);
    void succeeded(Client& c);
    void finish(Client& c, bool failed);
    void send(Client& c, std::string_view bytes);
    void flush(Client& c);
    std::string nick_of(std::uint32_t idx) const { return opt_.run + "_" + std::to_string(idx); }

    const Options& opt_;
    Result res_;
    net::Fd ep_;
    std::vector<Client> clients_;
    Dialer dialer_;
    std::uint32_t connects_ = 0;  // a new generation tag for every connection
    Phase phase_ = Phase::Register;
    std::uint32_t started_ = 0;  // clients of this phase whose connect() was issued
    std::uint32_t active_ = 0;   // clients of this phase started and not finished
    std::uint32_t settled_ = 0;  // clients of this phase finished, either way
    proto::ServerLine sl_;
    std::mt19937 rng_;
};

bool AuthStorm::setup() {
    if (!dialer_.setup(opt_)) return false;
    ep_ = net::Fd(epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) {
        std::perror("chat-load: epoll_create1");
        return false;
    }
    clients_.resize(opt_.clients);
    for (std::uint32_t i = 0; i < opt_.clients; ++i) clients_[i].idx = i;
    return true;
}

void AuthStorm::start(Client& c, std::uint64_t now) {
    c = Client{};
    c.idx = static_cast<std::uint32_t>(&c - clients_.data());
    c.gen = ++connects_;
    c.started_ns = now;
    ++active_;
    net::Fd fd = dialer_.dial();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (std::uint64_t{c.gen} << 32) | c.idx;
    if (!fd || epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
        finish(c, true);
        return;
    }
    c.fd = std::move(fd);
    c.st = St::Connecting;
}

// The client is done with this phase: its socket is closed, the next one may start.
void AuthStorm::finish(Client& c, bool failed) {
    if (failed) ++res_.login_failures;
    c.io.reset();
    c.fd.reset();
    c.st = St::Idle;
    --active_;
    ++settled_;
}

void AuthStorm::succeeded(Client& c) {
    c.ok = true;
    send(c, "/salir\n");
    c.st = St::Quitting;
}

void AuthStorm::send(Client& c, std::string_view bytes) {
    if (c.broken) return;
    c.out.append(bytes);
    if (c.writable) flush(c);
}

void AuthStorm::flush(Client& c) {
    std::size_t off = 0;
    c.write_wants_read = false;
    while (off < c.out.size()) {
        const IoResult r = c.io.write(c.fd.get(), std::string_view(c.out).substr(off));
        if (r.status == Io::Ok) {
            off += r.n;
        } else if (r.status == Io::WantWrite || r.status == Io::WantRead) {
            c.writable = false;
            c.write_wants_read = r.status == Io::WantRead;
            break;
        } else {
            c.broken = true;
            c.out.clear();
            return;
        }
    }
    c.out.erase(0, off);
}

void AuthStorm::on_event(Client& c, std::uint32_t events, std::uint64_t now) {
    if (c.st == St::Connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            finish(c, true);
            return;
        }
        ++res_.connected;
        if (dialer_.tls()) {
            if (!c.io.start_tls(*dialer_.tls(), c.fd.get())) {
                tls_failed();
                finish(c, true);
                return;
            }
            c.st = St::Handshaking;
        } else {
            greet(c);  // and read below: HELLO may have come with this very edge
        }
    }
    if (c.st == St::Handshaking) {
        const IoResult r = c.io.handshake();
        if (r.status == Io::Error) {
            tls_failed();
            finish(c, true);
            return;
        }
        if (r.status != Io::Ok) return;
        ++res_.tls_handshakes;
        greet(c);
        read_lines(c, now);  // application data may have come with the handshake's last flight
        return;
    }
    const bool in = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    const bool out = events & EPOLLOUT;
    // TLS may need the other direction: a write can wait for a read and a read for a write.
    if (out || (in && c.write_wants_read)) {
        c.writable = true;
        if (!c.out.empty()) flush(c);
    }
    if (c.st != St::Idle && (in || (out && c.read_wants_write))) read_lines(c, now);
}

void AuthStorm::tls_failed() {
    if (res_.tls_failures++ == 0)
        std::fprintf(stderr, "chat-load: TLS handshake failed: %s\n", Stream::last_error().c_str());
}

// Connected (and the TLS handshake done): the nickname goes first.
void AuthStorm::greet(Client& c) {
    c.st = St::Nick;
    c.writable = true;
    send(c, nick_of(c.idx) + "\n");
}

void AuthStorm::read_lines(Client& c, std::uint64_t now) {
    static char buf[64 * 1024];
    const std::uint32_t gen = c.gen;
    c.read_wants_write = false;
    for (;;) {
        const IoResult r = c.io.read(c.fd.get(), buf, sizeof buf);
        if (r.status == Io::WantRead) return;
        if (r.status == Io::WantWrite) {
            c.read_wants_write = true;
            return;
        }
        if (r.status != Io::Ok) {  // EOF or reset: expected after /salir, a failure before
            if (c.st != St::Quitting) ++res_.disconnects;
            finish(c, !c.ok);
            return;
        }
        c.in.append(buf, r.n);
        std::size_t used = 0;
        for (;;) {
            const auto ev = c.framer.next(std::string_view(c.in).substr(used));
            used += ev.consumed;
            if (ev.kind == proto::LineFramer::Kind::NeedMore) break;
            if (ev.kind != proto::LineFramer::Kind::Line) continue;
            on_line(c, ev.line, now);
            if (c.st == St::Idle || c.gen != gen) return;
        }
        c.in.erase(0, used);
    }
}

void AuthStorm::on_line(Client& c, std::string_view line, std::uint64_t now) {
    const std::string_view verb = line.substr(0, line.find(' '));
    // The room's traffic (MSG, JOIN, USER, HIST ...) is skipped on its verb alone.
    if (verb == "AUTH") {
        if (c.st != St::Nick) return;
        if (phase_ == Phase::Register) {  // already an account: this run tag was used before
            std::fprintf(stderr, "chat-load: %s is an account already; use a new --run\n",
                         nick_of(c.idx).c_str());
            finish(c, true);
            return;
        }
        send(c, account_password(opt_.run, c.idx) + "\n");
        c.st = St::Password;
    } else if (verb == "END") {
        if (!proto::parse_server_line(line, sl_) || sl_.params.empty() || sl_.params[0] != "HIST") return;
        if (c.st == St::Nick && phase_ == Phase::Register) {
            send(c, "/registrar " + account_password(opt_.run, c.idx) + "\n");
            c.st = St::Registering;
        } else if (c.st == St::Password) {
            ++res_.account_logins;
            ++res_.logged_in;
            res_.login_latency.record(now - c.started_ns);
            succeeded(c);
        } else if (c.st == St::Nick) {  // logged in as a guest: the account is missing
            std::fprintf(stderr, "chat-load: %s is no account; run --auth-phase register first\n",
                         nick_of(c.idx).c_str());
            finish(c, true);
        }
    } else if (verb == "OK") {
        if (c.st == St::Registering && proto::parse_server_line(line, sl_) && !sl_.params.empty() &&
            sl_.params[0] == "register") {
            ++res_.registered;
            succeeded(c);
        }
    } else if (verb == "PING") {
        if (proto::parse_server_line(line, sl_) && !sl_.params.empty())
            send(c, "/pong " + std::string(sl_.params[0]) + "\n");
    } else if (verb == "ERROR") {
        ++res_.server_errors;
        if (proto::parse_server_line(line, sl_) && !sl_.params.empty()) on_error(c, sl_.params[0], now);
    }
}

void AuthStorm::on_error(Client& c, std::string_view code, std::uint64_t now) {
    if (c.st == St::Quitting || c.st == St::Backoff) return;
    if (code == "unavailable") {
        // The hashing queue is full. After a password the server waits for a nickname again;
        // after /registrar the session stays logged in as a guest and may ask again.
        ++res_.auth_busy;
        c.retry_nick = c.st != St::Registering;
        c.st = St::Backoff;
        std::uniform_real_distribution<double> jitter(0.5, 1.5);
        c.retry_at = now + static_cast<std::uint64_t>(opt_.auth_retry * jitter(rng_) * 1e9);
        return;
    }
    std::fprintf(stderr, "chat-load: %s: ERROR %.*s\n", nick_of(c.idx).c_str(), int(code.size()),
                 code.data());
    finish(c, true);
}

bool AuthStorm::run_phase(Phase p) {
    phase_ = p;
    started_ = active_ = settled_ = 0;
    const std::uint32_t n = opt_.clients;
    // Registrations are paced by a bound on those under way (chatd refuses hashes beyond its
    // queue); logins all start at once, or at --connect-rate.
    const bool paced = p == Phase::Login && opt_.connect_rate > 0;
    const std::uint32_t inflight = p == Phase::Register ? std::max<std::uint32_t>(1, opt_.auth_inflight) : n;
    const std::uint64_t t0 = now_ns();
    const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(opt_.login_wait * 1e9);
    std::uint64_t next_live = t0 + kSec;
    std::vector<epoll_event> events(1024);
    for (;;) {
        const std::uint64_t now = now_ns();
        std::uint64_t due = n;
        if (paced)
            due = std::min<std::uint64_t>(
                n, 1 + static_cast<std::uint64_t>(opt_.connect_rate * (now - t0) / 1e9));
        while (started_ < due && active_ < inflight) start(clients_[started_++], now);
        for (Client& c : clients_) {
            if (c.broken && c.st != St::Idle) {
                if (c.st != St::Quitting) ++res_.disconnects;
                finish(c, !c.ok);
                continue;
            }
            if (c.st != St::Backoff || c.retry_at > now) continue;
            if (c.retry_nick) {
                send(c, nick_of(c.idx) + "\n");
                c.st = St::Nick;
            } else {
                send(c, "/registrar " + account_password(opt_.run, c.idx) + "\n");
                c.st = St::Registering;
            }
        }
        if (settled_ >= n || now >= deadline) break;
        if (opt_.live && now >= next_live) {
            std::fprintf(
                stderr,
                "[%6.1fs] %-8s started %u  done %u  registered %llu  logins %llu  busy %llu  fail %llu\n",
                (now - t0) / 1e9, p == Phase::Register ? "register" : "login", started_, settled_,
                (unsigned long long)res_.registered, (unsigned long long)res_.account_logins,
                (unsigned long long)res_.auth_busy, (unsigned long long)res_.login_failures);
            next_live = now + kSec;
        }
        const int k = epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), 5);
        if (k < 0 && errno != EINTR) {
            std::perror("chat-load: epoll_wait");
            return false;
        }
        const std::uint64_t t = now_ns();
        for (int i = 0; i < k; ++i) {
            const std::uint64_t tag = events[i].data.u64;
            Client& c = clients_[static_cast<std::uint32_t>(tag)];
            if (c.gen != static_cast<std::uint32_t>(tag >> 32) || c.st == St::Idle) continue;
            on_event(c, events[i].events, t);
        }
    }
    const double secs = (now_ns() - t0) / 1e9;
    (p == Phase::Register ? res_.register_s : res_.login_s) = secs;
    // Whoever is still under way at the deadline failed; clients that never started did too.
    for (Client& c : clients_)
        if (c.st != St::Idle) finish(c, !c.ok);
    res_.login_failures += n - started_;
    return true;
}

Result AuthStorm::run() {
    res_.scenario = "auth";
    res_.proto = "chat";
    res_.clients = opt_.clients;
    if (opt_.proto != Proto::Chat) {
        std::fprintf(stderr, "chat-load: -s auth speaks chatd's protocol only\n");
        res_.login_failures = opt_.clients;
        return res_;
    }
    if (!setup()) {
        res_.login_failures = opt_.clients;
        return res_;
    }
    if (opt_.auth_phase != AuthPhase::Login) run_phase(Phase::Register);
    if (opt_.auth_phase != AuthPhase::Register) run_phase(Phase::Login);
    return res_;
}

}  // namespace

std::string account_password(std::string_view run, std::uint32_t idx) {
    return "load-" + std::string(run) + "-" + std::to_string(idx);
}

Result run_auth(const Options& opt) {
    AuthStorm a(opt);
    return a.run();
}

}  // namespace chat::load
