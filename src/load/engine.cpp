// chat-load keeps its own small epoll loop instead of net::Reactor: the
// client side needs non-blocking connect() from chosen source addresses, a
// per-connection generation tag in epoll data (a churn slot reuses its index
// with a new socket within one turn), and a 1 ms open-loop send clock, while
// holding tens of thousands of sockets with a few dozen bytes of state each
// and no std::function per fd.
#include "load/engine.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string_view>
#include <vector>

#include "load/auth_storm.hpp"
#include "load/dial.hpp"
#include "load/irc_line.hpp"
#include "load/order_segments.hpp"
#include "load/payload.hpp"
#include "load/tls.hpp"
#include "net/fd.hpp"
#include "proto/framer.hpp"
#include "proto/server_line.hpp"

namespace chat::load {
namespace {

// Server lines can be long (history, rosters); nothing the load tester reads comes near this.
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::uint64_t kSec = 1'000'000'000ULL;
// Beyond this many (receiver, sender) pairs per-sender order is not tracked (memory).
constexpr std::uint64_t kMaxOrderSlots = 64ULL << 20;

std::uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * kSec + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Handshaking: TLS under way. Greeted: handshake scenario, waiting for HELLO, then closing.
enum class St : std::uint8_t { Off, Connecting, Handshaking, Greeted, LoggingIn, Joining, Ready, Quitting };
enum class Phase : std::uint8_t { Login, Run, Drain, Done };

struct Client {
    net::Fd fd;
    Stream io;  // the socket itself, or TLS over it
    St st = St::Off;
    bool writable = false;
    bool dirty = false;
    bool read_wants_write = false;  // TLS: a read stopped until the socket is writable
    bool write_wants_read = false;  // TLS: a write stopped until the socket is readable
    std::uint32_t idx = 0;
    std::uint32_t gen = 0;
    std::uint32_t echoes_owed = 0;  // churn: own messages whose echo has not come back
    std::string out;
    std::size_t out_off = 0;
    std::string in;
    proto::LineFramer framer{kMaxLine};
    std::uint64_t started_ns = 0;
    std::uint64_t next_seq = 0;  // sequence number of the next own message
    std::uint64_t oldest = 0;    // closed loop: oldest own message not yet received by everyone
    std::uint64_t retry_at = 0;  // churn: when to reconnect
    // Every MSG line received, in order, folded into one number: receivers that saw the
    // same sequence have the same (count, hash), whatever node they are on.
    std::uint64_t order_hash = 14695981039346656037ull;
    std::uint64_t order_count = 0;
    OrderSegments::Reader segments;  // fanout: every process's MSG lines, read while logged in
};

class Engine {
public:
    explicit Engine(const Options& opt) : opt_(opt) {}
    Result run();

private:
    bool setup();
    void start(Client& c, std::uint64_t now);
    void on_event(Client& c, std::uint32_t events);
    void on_connected(Client& c, std::uint64_t now);
    void on_transport_ready(Client& c, std::uint64_t now);
    void on_readable(Client& c);
    void tls_failed(const std::string& why);
    void take_bytes(Client& c, std::string_view data, std::uint64_t now);
    void on_line(Client& c, std::string_view line, std::uint64_t now);
    void check_one_order();
    void chat_line(Client& c, std::string_view line, std::uint64_t now);
    void irc_line(Client& c, std::string_view line, std::uint64_t now);
    void login_refused(Client& c, std::uint64_t now);
    void logged_in(Client& c, std::uint64_t now);
    void deliver(Client& rcv, std::string_view text, std::uint64_t now);
    void complete(std::uint32_t sender, std::uint64_t seq);
    void fill_window(Client& c);
    void send_message(Client& c);
    void queue(Client& c, std::string_view bytes);
    void flush(Client& c);
    void close_client(Client& c, bool unasked, std::uint64_t now);
    void tick(std::uint64_t now);
    void live_line(std::uint64_t now);
    std::uint32_t receivers_of_public() const noexcept;
    std::string nick_of(std::uint32_t idx) const { return opt_.run + "_" + std::to_string(idx); }
    bool closed_loop() const noexcept { return opt_.rate <= 0; }
    bool is_sender(const Client& c) const noexcept { return c.idx < senders_; }
    // Churn and handshake: slots close and reconnect for the whole measured time.
    bool cycling() const noexcept {
        return opt_.scenario == Scenario::Churn || opt_.scenario == Scenario::Handshake;
    }

    const Options& opt_;
    Result res_;
    net::Fd ep_;
    std::vector<Client> clients_;
    std::vector<std::uint32_t> dirty_;
    std::vector<std::uint32_t> reconnect_;
    Dialer dialer_;
    std::uint32_t senders_ = 0;
    std::uint32_t order_width_ = 0;         // order slots per receiver (0: not tracked)
    std::vector<std::uint32_t> order_;      // next expected seq per (receiver, sender)
    std::vector<std::uint32_t> remaining_;  // closed loop: receivers still owed, per (sender, seq % W)
    std::uint32_t ready_ = 0;
    std::uint32_t settled_ = 0;  // login phase: clients logged in or given up
    Phase phase_ = Phase::Login;
    std::uint64_t t0_ = 0, run_start_ = 0, measure_start_ = 0, measure_end_ = 0, drain_end_ = 0;
    std::uint32_t started_ = 0;    // login phase: clients whose connect() has been issued
    std::uint64_t scheduled_ = 0;  // open loop: messages the clock has released
    std::uint64_t unique_ = 0;     // own deliveries that were not duplicates
    std::string line_buf_;
    proto::ServerLine sl_;
    IrcLine il_;
    // Live line.
    std::uint64_t next_live_ = 0, last_live_ = 0, live_sent_ = 0, live_deliv_ = 0;
    Histogram live_hist_;
};

bool raise_fd_limit(std::uint64_t wanted) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
    if (rl.rlim_max < wanted) {
        // Root may lift the hard limit up to fs.nr_open; others keep what they have.
        std::uint64_t nr_open = 0;
        std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
        rlimit up = rl;
        up.rlim_max = std::min<std::uint64_t>(std::max<std::uint64_t>(wanted, rl.rlim_max), nr_open);
        up.rlim_cur = up.rlim_max;
        if (up.rlim_max > rl.rlim_max && setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
    }
    return rl.rlim_cur >= wanted;
}

bool Engine::setup() {
    if (!raise_fd_limit(std::uint64_t{opt_.clients} + 32)) {
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        std::fprintf(
            stderr,
            "chat-load: warning: fd limit %llu is below %u clients; run scripts/tune.sh or lower -c\n",
            (unsigned long long)rl.rlim_cur, opt_.clients);
    }
    if (!dialer_.setup(opt_)) return false;
    ep_ = net::Fd(epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) {
        std::perror("chat-load: epoll_create1");
        return false;
    }
    clients_.resize(opt_.clients);
    for (std::uint32_t i = 0; i < opt_.clients; ++i) clients_[i].idx = i;

    switch (opt_.scenario) {
        case Scenario::Fanout:
            senders_ = opt_.senders ? std::min(opt_.senders, opt_.clients) : opt_.clients;
            order_width_ = senders_;
            break;
        case Scenario::Private:
            senders_ = opt_.clients;
            order_width_ = 2;  // from the partner, and one's own echo
            break;
        case Scenario::Idle:
            senders_ = 0;
            order_width_ = 1;  // the closing message from client 0
            break;
        case Scenario::Storm:
        case Scenario::Churn:
        case Scenario::Handshake:
        case Scenario::Auth:  // run by auth_storm.cpp, never here
            senders_ = 0;
            order_width_ = 0;
            break;
    }
    const std::uint64_t slots = std::uint64_t{opt_.clients} * order_width_;
    if (slots > kMaxOrderSlots) {
        std::fprintf(stderr, "chat-load: note: %llu (receiver, sender) pairs: per-sender order not checked\n",
                     (unsigned long long)slots);
        order_width_ = 0;
    } else {
        order_.assign(slots, 0);
    }
    if (closed_loop() && senders_) remaining_.assign(std::uint64_t{senders_} * opt_.window, 0);
    return true;
}

void Engine::start(Client& c, std::uint64_t now) {
    c.io.reset();
    c.fd.reset();
    c.out.clear();
    c.out_off = 0;
    c.in.clear();
    c.framer = proto::LineFramer(kMaxLine);
    c.writable = false;
    c.read_wants_write = c.write_wants_read = false;
    c.echoes_owed = 0;
    c.segments = {};  // a new connection reads from its own first marker on
    ++c.gen;
    c.started_ns = now;
    net::Fd fd = dialer_.dial(c.idx);
    if (!fd) {
        close_client(c, true, now);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (std::uint64_t{c.gen} << 32) | c.idx;
    if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
        close_client(c, true, now);
        return;
    }
    c.fd = std::move(fd);
    c.st = St::Connecting;
}

void Engine::close_client(Client& c, bool unasked, std::uint64_t now) {
    const St was = c.st;
    if (was == St::Ready) --ready_;
    c.io.reset();
    c.fd.reset();  // close() also takes it out of the epoll set
    c.st = St::Off;
    c.out.clear();
    c.out_off = 0;
    const bool in_login = was == St::Off || was == St::Connecting || was == St::Handshaking ||
                          was == St::Greeted || was == St::LoggingIn || was == St::Joining;
    if (unasked) {
        if (in_login) {
            ++res_.login_failures;
            if (phase_ == Phase::Login) ++settled_;
        } else if (was != St::Quitting) {
            ++res_.disconnects;
        }
    }
    if (cycling() && phase_ == Phase::Run) {
        if (was == St::Quitting) ++res_.sessions;
        // A refused or failed attempt backs off a little so a full server is not hammered in a tight loop.
        c.retry_at = now + (was == St::Quitting ? 0 : kSec / 10);
        reconnect_.push_back(c.idx);
    }
}

void Engine::queue(Client& c, std::string_view bytes) {
    c.out.append(bytes);
    if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(c.idx);
    }
}

void Engine::flush(Client& c) {
    c.write_wants_read = false;
    while (c.out_off < c.out.size()) {
        const IoResult r = c.io.write(c.fd.get(), std::string_view(c.out).substr(c.out_off));
        if (r.status == Io::Ok) {
            c.out_off += r.n;
            continue;
        }
        if (r.status == Io::WantWrite || r.status == Io::WantRead) {
            c.writable = false;
            c.write_wants_read = r.status == Io::WantRead;
            return;
        }
        close_client(c, true, now_ns());
        return;
    }
    c.out.clear();
    c.out_off = 0;
}

void Engine::on_event(Client& c, std::uint32_t events) {
    const std::uint64_t now = now_ns();
    if (c.st == St::Connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close_client(c, true, now);
            return;
        }
        on_connected(c, now);
        // TLS: the handshake has read what there was. Plain: HELLO may have come with this very
        // edge, and no other will report it.
        if (c.st == St::Off || c.io.tls()) return;
    } else if (c.st == St::Handshaking) {
        const IoResult r = c.io.handshake();
        if (r.status == Io::Ok) {
            ++res_.tls_handshakes;
            on_transport_ready(c, now);
            // Application data may have come in the same segments as the handshake's last flight.
            if (c.st != St::Off) on_readable(c);
        } else if (r.status == Io::Error) {
            tls_failed(Stream::last_error());
            close_client(c, true, now);
        }
        return;
    }
    const bool in = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    const bool out = events & EPOLLOUT;
    // TLS may need the other direction: a write can wait for a read and a read for a write.
    if (out || (in && c.write_wants_read)) {
        c.writable = true;
        if (!c.out.empty()) flush(c);
        if (c.st == St::Off) return;
    }
    if (in || (out && c.read_wants_write)) on_readable(c);
}

void Engine::on_connected(Client& c, std::uint64_t now) {
    ++res_.connected;
    if (!dialer_.tls()) {
        on_transport_ready(c, now);
        return;
    }
    if (!c.io.start_tls(*dialer_.tls(), c.fd.get())) {
        tls_failed(Stream::last_error());
        close_client(c, true, now);
        return;
    }
    c.st = St::Handshaking;
    c.writable = true;
    const IoResult r = c.io.handshake();  // the ClientHello goes out now
    if (r.status == Io::Error) {
        tls_failed(Stream::last_error());
        close_client(c, true, now);
    }
}

// TCP connected (and the TLS handshake done): log in, or, in the handshake scenario, wait for HELLO.
void Engine::on_transport_ready(Client& c, std::uint64_t now) {
    (void)now;
    c.writable = true;
    if (opt_.scenario == Scenario::Handshake) {
        c.st = St::Greeted;
        return;
    }
    c.st = St::LoggingIn;
    const std::string nick = nick_of(c.idx);
    if (opt_.proto == Proto::Chat) {
        queue(c, nick + "\n");
    } else {
        queue(c, "NICK " + nick + "\r\nUSER " + nick + " 0 * :" + nick + "\r\n");
    }
}

void Engine::on_readable(Client& c) {
    static char buf[256 * 1024];
    const std::uint32_t gen = c.gen;
    c.read_wants_write = false;
    for (;;) {
        const IoResult r = c.io.read(c.fd.get(), buf, sizeof buf);
        if (r.status == Io::Ok) {
            take_bytes(c, std::string_view(buf, r.n), now_ns());
            if (c.st == St::Off || c.gen != gen) return;
            continue;
        }
        if (r.status == Io::WantRead) return;
        if (r.status == Io::WantWrite) {
            c.read_wants_write = true;
            return;
        }
        close_client(c, c.st != St::Quitting, now_ns());  // EOF or a reset
        return;
    }
}

void Engine::tls_failed(const std::string& why) {
    // Once: a refused certificate fails every connection the same way.
    if (res_.tls_failures++ == 0) std::fprintf(stderr, "chat-load: TLS handshake failed: %s\n", why.c_str());
}

void Engine::take_bytes(Client& c, std::string_view data, std::uint64_t now) {
    // Lines are handled straight from the read buffer; only a partial last line is copied.
    std::string_view rest = data;
    if (!c.in.empty()) {
        c.in.append(data);
        rest = c.in;
    }
    std::size_t used = 0;
    const std::uint32_t gen = c.gen;
    for (;;) {
        const auto ev = c.framer.next(rest.substr(used));
        used += ev.consumed;
        if (ev.kind == proto::LineFramer::Kind::NeedMore) break;
        if (ev.kind == proto::LineFramer::Kind::Line) {
            on_line(c, ev.line, now);
            if (c.st == St::Off || c.gen != gen) return;
        }
    }
    if (!c.in.empty()) {
        c.in.erase(0, used);
    } else if (used < rest.size()) {
        c.in.assign(rest.substr(used));
    }
}

void Engine::on_line(Client& c, std::string_view line, std::uint64_t now) {
    if (c.st == St::Greeted) {  // handshake scenario: HELLO (or whatever came first) ends the session
        c.st = St::Quitting;
        close_client(c, false, now);
        return;
    }
    if (opt_.proto == Proto::Chat)
        chat_line(c, line, now);
    else
        irc_line(c, line, now);
}

void Engine::chat_line(Client& c, std::string_view line, std::uint64_t now) {
    const std::string_view verb = line.substr(0, line.find(' '));
    // Rosters and presence lines (most of a storm's traffic) are skipped on their verb alone.
    if (verb == "MSG") {
        // This run's own messages only: they are sent once every client of this process is
        // logged in, so each receiver is owed all of them; other processes' are not.
        const auto p = decode_payload(line.substr(line.find(" :") == std::string_view::npos ? line.size()
                                                                                            : line.find(" :") + 2));
        if (p) {
            const std::uint64_t h = line_hash(line);
            if (p->run == opt_.run) {
                c.order_hash = (c.order_hash ^ h) * 1099511628211ull;  // chained
                ++c.order_count;
            }
            // Every process's lines, but not the history replayed before END HIST: other
            // processes' messages may be sent while this receiver logs in.
            if (opt_.scenario == Scenario::Fanout && c.st == St::Ready)
                c.segments.read(h, res_.order_segments);
        }
    }
    if (verb == "MSG" || verb == "PRIV") {
        if (proto::parse_server_line(line, sl_) && sl_.has_trailing) deliver(c, sl_.trailing, now);
    } else if (verb == "END") {
        if (c.st == St::LoggingIn && proto::parse_server_line(line, sl_) && !sl_.params.empty() &&
            sl_.params[0] == "HIST")
            logged_in(c, now);
    } else if (verb == "PING") {
        if (proto::parse_server_line(line, sl_) && !sl_.params.empty()) {
            line_buf_.assign("/pong ").append(sl_.params[0]).append("\n");
            queue(c, line_buf_);
        }
    } else if (verb == "ERROR") {
        ++res_.server_errors;
        if (c.st == St::LoggingIn) login_refused(c, now);
    }
}

void Engine::irc_line(Client& c, std::string_view line, std::uint64_t now) {
    if (!parse_irc_line(line, il_)) return;
    const std::string_view verb = il_.line.verb;
    if (verb == "PRIVMSG") {
        if (il_.line.has_trailing) deliver(c, il_.line.trailing, now);
    } else if (verb == "PING") {
        const std::string_view token =
            il_.line.has_trailing ? il_.line.trailing
                                  : (il_.line.params.empty() ? std::string_view{} : il_.line.params[0]);
        line_buf_.assign("PONG :").append(token).append("\r\n");
        queue(c, line_buf_);
    } else if (verb == "001") {
        if (c.st == St::LoggingIn) {
            c.st = St::Joining;
            line_buf_.assign("JOIN ").append(opt_.channel).append("\r\n");
            queue(c, line_buf_);
        }
    } else if (verb == "366") {  // end of NAMES: the join is complete
        if (c.st == St::Joining) logged_in(c, now);
    } else if (verb.size() == 3 && (verb[0] == '4' || verb[0] == '5') && verb != "422") {
        // 422 (no MOTD) is informational; every other 4xx/5xx is a refusal or an error.
        ++res_.server_errors;
        if (c.st == St::LoggingIn || c.st == St::Joining) login_refused(c, now);
    }
}

void Engine::login_refused(Client& c, std::uint64_t now) {
    // A refused login is a failure; a churn slot retries after a pause (close_client).
    close_client(c, true, now);
}

std::uint32_t Engine::receivers_of_public() const noexcept {
    // IRC servers do not echo a channel message to its sender; chatd does.
    if (opt_.proto == Proto::Chat) return ready_;
    return ready_ > 0 ? ready_ - 1 : 0;
}

void Engine::logged_in(Client& c, std::uint64_t now) {
    c.st = St::Ready;
    ++ready_;
    if (ready_ > res_.logged_in) res_.logged_in = ready_;
    res_.login_latency.record(now - c.started_ns);
    if (phase_ == Phase::Login) ++settled_;
    if (opt_.scenario == Scenario::Churn) {
        for (std::uint32_t i = 0; i < opt_.churn_msgs; ++i) send_message(c);
        if (opt_.proto == Proto::Chat && opt_.churn_msgs > 0) {
            c.echoes_owed = opt_.churn_msgs;
        } else {
            queue(c, opt_.proto == Proto::Chat ? "/salir\n" : "QUIT :done\r\n");
            --ready_;
            c.st = St::Quitting;
        }
    }
}

void Engine::send_message(Client& c) {
    const std::uint64_t seq = c.next_seq++;
    const std::uint64_t ts = now_ns();
    std::uint32_t receivers = 0;
    line_buf_.clear();
    if (opt_.scenario == Scenario::Private) {
        const std::uint32_t to = (c.idx ^ 1u) < clients_.size() ? (c.idx ^ 1u) : c.idx;
        const bool self = to == c.idx;
        const std::uint32_t recipient = clients_[to].st == St::Ready ? 1 : 0;
        if (opt_.proto == Proto::Chat) {
            line_buf_.append("!").append(nick_of(to)).append(" ");
            receivers =
                self ? 1 : 1 + recipient;  // the recipient and the sender's echo (once when to oneself)
        } else {
            line_buf_.append("PRIVMSG ").append(nick_of(to)).append(" :");
            receivers = recipient;  // no echo on IRC; a message to oneself arrives once
        }
    } else if (opt_.scenario == Scenario::Churn) {
        if (opt_.proto == Proto::Irc) line_buf_.append("PRIVMSG ").append(opt_.channel).append(" :");
        receivers =
            opt_.proto == Proto::Chat ? 1 : 0;  // only one's own echo is checked while people come and go
    } else {
        if (opt_.proto == Proto::Irc) line_buf_.append("PRIVMSG ").append(opt_.channel).append(" :");
        receivers = receivers_of_public();
    }
    encode_payload(line_buf_, opt_.run, c.idx, seq, ts, opt_.size);
    line_buf_.append(opt_.proto == Proto::Chat ? "\n" : "\r\n");
    queue(c, line_buf_);
    ++res_.sent;
    res_.expected += receivers;
    if (!remaining_.empty() && is_sender(c)) {
        remaining_[std::uint64_t{c.idx} * opt_.window + seq % opt_.window] = receivers;
        if (receivers == 0) complete(c.idx, seq);
    }
}

void Engine::complete(std::uint32_t sender, std::uint64_t seq) {
    Client& s = clients_[sender];
    (void)seq;
    const std::uint64_t base = std::uint64_t{sender} * opt_.window;
    while (s.oldest < s.next_seq && remaining_[base + s.oldest % opt_.window] == 0) ++s.oldest;
    if (phase_ == Phase::Run && s.st == St::Ready) fill_window(s);
}

void Engine::fill_window(Client& c) {
    while (c.st == St::Ready && c.next_seq < c.oldest + opt_.window) send_message(c);
}

void Engine::deliver(Client& rcv, std::string_view text, std::uint64_t now) {
    const auto p = decode_payload(text);
    if (!p) return;
    const std::uint64_t lat = now >= p->sent_ns ? now - p->sent_ns : 0;
    const bool measured = p->sent_ns >= measure_start_ && p->sent_ns < measure_end_;
    if (p->run != opt_.run) {
        ++res_.foreign;
        if (measured) {
            ++res_.foreign_measured;
            res_.latency.record(lat);
        }
        live_hist_.record(lat);
        ++live_deliv_;
        return;
    }
    if (p->sender >= clients_.size()) return;
    if (opt_.scenario == Scenario::Churn) {
        if (p->sender != rcv.idx || rcv.echoes_owed == 0) return;  // others' chatter is not checked
        ++res_.delivered;
        ++unique_;
        live_hist_.record(lat);
        ++live_deliv_;
        if (measured) {
            ++res_.measured_deliveries;
            res_.latency.record(lat);
        }
        if (--rcv.echoes_owed == 0 && rcv.st == St::Ready) {
            queue(rcv, "/salir\n");
            --ready_;
            rcv.st = St::Quitting;
        }
        return;
    }
    ++res_.delivered;
    ++live_deliv_;
    live_hist_.record(lat);
    if (order_width_) {
        std::uint64_t slot = std::uint64_t{rcv.idx} * order_width_;
        if (opt_.scenario == Scenario::Private)
            slot += p->sender == rcv.idx ? 0 : 1;
        else if (p->sender < order_width_)
            slot += p->sender;
        else
            slot = UINT64_MAX;
        if (slot != UINT64_MAX) {
            std::uint32_t& next = order_[slot];
            if (p->seq < next) {
                ++res_.duplicates;
                return;
            }
            if (p->seq > next) ++res_.reordered;
            next = static_cast<std::uint32_t>(p->seq + 1);
        }
    }
    ++unique_;
    if (measured) {
        ++res_.measured_deliveries;
        res_.latency.record(lat);
    }
    if (!remaining_.empty() && p->sender < senders_) {
        std::uint32_t& left = remaining_[std::uint64_t{p->sender} * opt_.window + p->seq % opt_.window];
        if (left > 0 && --left == 0) complete(p->sender, p->seq);
    }
}

void Engine::live_line(std::uint64_t now) {
    const double dt = static_cast<double>(now - last_live_) / 1e9;
    const char* phase = phase_ == Phase::Login ? "login" : phase_ == Phase::Run ? "run" : "drain";
    std::fprintf(
        stderr,
        "[%6.1fs] %-5s conn %llu  in %u  sent %.0f/s  deliv %.0f/s  p99 %.2f ms  err %llu  disc %llu  "
        "fail %llu\n",
        static_cast<double>(now - t0_) / 1e9, phase, (unsigned long long)res_.connected, ready_,
        static_cast<double>(res_.sent - live_sent_) / dt, static_cast<double>(live_deliv_) / dt,
        static_cast<double>(live_hist_.percentile(99)) / 1e6, (unsigned long long)res_.server_errors,
        (unsigned long long)res_.disconnects, (unsigned long long)res_.login_failures);
    live_sent_ = res_.sent;
    live_deliv_ = 0;
    live_hist_.reset();
    last_live_ = now;
}

void Engine::tick(std::uint64_t now) {
    if (opt_.live && now >= next_live_) {
        live_line(now);
        next_live_ = now + kSec;
    }
    switch (phase_) {
        case Phase::Login:
            if (started_ < clients_.size()) {
                const auto due = std::min<std::uint64_t>(
                    clients_.size(),
                    1 + static_cast<std::uint64_t>(opt_.connect_rate * static_cast<double>(now - t0_) / 1e9));
                while (started_ < due) start(clients_[started_++], now);
            }
            if (settled_ >= opt_.clients || now >= t0_ + static_cast<std::uint64_t>(opt_.login_wait * 1e9)) {
                res_.login_s = static_cast<double>(now - t0_) / 1e9;
                for (Client& c : clients_)
                    if (c.st != St::Ready && c.st != St::Off) close_client(c, true, now);
                if (opt_.scenario == Scenario::Storm) {
                    phase_ = Phase::Done;
                    return;
                }
                phase_ = Phase::Run;
                run_start_ = now;
                const double warm = opt_.scenario == Scenario::Idle ? 0 : opt_.warmup;
                measure_start_ = now + static_cast<std::uint64_t>(warm * 1e9);
                measure_end_ = measure_start_ + static_cast<std::uint64_t>(opt_.duration * 1e9);
                if (closed_loop())
                    for (std::uint32_t i = 0; i < senders_; ++i) fill_window(clients_[i]);
            }
            break;
        case Phase::Run:
            if (cycling()) {
                for (std::size_t i = 0; i < reconnect_.size();) {
                    Client& c = clients_[reconnect_[i]];
                    if (c.retry_at <= now && now < measure_end_) {
                        reconnect_[i] = reconnect_.back();
                        reconnect_.pop_back();
                        start(c, now);
                    } else {
                        ++i;
                    }
                }
            } else if (!closed_loop() && senders_) {
                const std::uint64_t until = std::min(now, measure_end_);
                const auto due =
                    static_cast<std::uint64_t>(opt_.rate * static_cast<double>(until - run_start_) / 1e9);
                while (scheduled_ < due) {
                    Client& c = clients_[scheduled_++ % senders_];
                    if (c.st == St::Ready) send_message(c);
                }
            }
            if (now >= measure_end_) {
                phase_ = Phase::Drain;
                drain_end_ = now + static_cast<std::uint64_t>(opt_.drain * 1e9);
                res_.measured_s = static_cast<double>(measure_end_ - measure_start_) / 1e9;
                if (opt_.scenario == Scenario::Idle && !clients_.empty() && clients_[0].st == St::Ready)
                    send_message(clients_[0]);
            }
            break;
        case Phase::Drain: {
            bool done = unique_ >= res_.expected && res_.foreign >= opt_.expect_foreign;
            if (cycling()) {
                done = std::all_of(clients_.begin(), clients_.end(),
                                   [](const Client& c) { return c.st == St::Off; });
            }
            if (done || now >= drain_end_) phase_ = Phase::Done;
            break;
        }
        case Phase::Done:
            break;
    }
}

// One order (a cluster's promise as much as one server's): every receiver saw the same
// sequence of public messages. The most common sequence is the reference; every other
// receiver is a mismatch.
void Engine::check_one_order() {
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> views;
    for (const Client& c : clients_)
        if (c.order_count > 0) ++views[{c.order_count, c.order_hash}];
    std::uint64_t total = 0, most = 0;
    for (const auto& [view, n] : views) {
        total += n;
        most = std::max(most, n);
    }
    res_.order_mismatches = total - most;
}

Result Engine::run() {
    res_.scenario = opt_.scenario == Scenario::Fanout    ? "fanout"
                    : opt_.scenario == Scenario::Private ? "private"
                    : opt_.scenario == Scenario::Storm   ? "storm"
                    : opt_.scenario == Scenario::Idle    ? "idle"
                    : opt_.scenario == Scenario::Churn   ? "churn"
                                                         : "handshake";
    res_.proto = opt_.proto == Proto::Chat ? "chat" : "irc";
    res_.clients = opt_.clients;
    if (!setup()) {
        res_.login_failures = opt_.clients;
        return res_;
    }
    res_.senders = senders_;
    res_.offered_rate = senders_ ? std::max(0.0, opt_.rate) : 0;
    res_.window = senders_ && closed_loop() ? opt_.window : 0;

    t0_ = now_ns();
    last_live_ = t0_;
    next_live_ = t0_ + kSec;
    if (cycling()) {
        // Churn and handshake have no separate login phase: slots cycle for the whole measured time.
        phase_ = Phase::Run;
        run_start_ = measure_start_ = t0_;
        measure_end_ = t0_ + static_cast<std::uint64_t>(opt_.duration * 1e9);
    }
    // Paced connects keep a server with a short accept backlog from dropping SYNs (which the
    // kernel retries only after a second or more) in scenarios that measure messages, not storms.
    if (opt_.connect_rate <= 0 || cycling()) {
        for (Client& c : clients_) start(c, t0_);
        started_ = opt_.clients;
    }

    std::vector<epoll_event> events(1024);
    // Output queued during a turn goes out in one send() per connection at the end of the turn.
    auto flush_dirty = [this] {
        for (std::uint32_t idx : dirty_) {
            Client& c = clients_[idx];
            c.dirty = false;
            if (c.st != St::Off && c.writable) flush(c);
        }
        dirty_.clear();
    };
    while (phase_ != Phase::Done) {
        flush_dirty();
        const bool pacing = (phase_ == Phase::Run && !closed_loop()) || started_ < clients_.size();
        const int timeout = pacing ? 1 : 20;
        const int n = epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR) {
            std::perror("chat-load: epoll_wait");
            break;
        }
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = events[i].data.u64;
            Client& c = clients_[static_cast<std::uint32_t>(tag)];
            // Events of a socket closed earlier in this turn (its slot may hold a new one).
            if (c.gen != static_cast<std::uint32_t>(tag >> 32) || c.st == St::Off) continue;
            on_event(c, events[i].events);
        }
        tick(now_ns());
    }
    flush_dirty();
    if (opt_.live) live_line(now_ns());
    if (opt_.scenario == Scenario::Fanout) check_one_order();
    if (res_.measured_s == 0 && phase_ == Phase::Done && opt_.scenario != Scenario::Storm)
        res_.measured_s = static_cast<double>(std::min(now_ns(), measure_end_) - measure_start_) / 1e9;
    return res_;
}

}  // namespace

Result run_load(const Options& opt) {
    if (opt.scenario == Scenario::Auth) return run_auth(opt);
    Engine e(opt);
    return e.run();
}

}  // namespace chat::load
