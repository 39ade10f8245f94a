#include "net/tcp_server.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace chat::net;
using namespace std::chrono_literals;

namespace {

// Echoes every complete line back and records what happened. Hooks let a test act on a line.
struct TestHandler : ConnectionHandler {
    TcpServer* server = nullptr;
    std::vector<ConnId> opened;
    std::vector<PeerAddress> peers;
    std::map<ConnId, std::vector<std::string>> lines;
    std::vector<std::pair<ConnId, CloseReason>> closed;
    std::set<ConnId> hold;  // connections whose input is left unconsumed (throttling)
    std::size_t on_data_calls = 0;
    std::size_t largest_offer = 0;
    std::string last_offer;
    bool echo = true;
    bool in_send = false;
    bool close_inside_send = false;
    bool close_of_unknown = false;
    std::function<void(ConnId, const std::string&)> on_line;
    // Sequence mode: lines are the numbers 0, 1, 2, ... (see numbered_lines); only checked and counted.
    bool sequence = false;
    int next_number = 0;
    bool out_of_order = false;

    void on_open(ConnId id, const PeerAddress& peer) override {
        opened.push_back(id);
        peers.push_back(peer);
    }
    std::size_t on_data(ConnId id, std::string_view data) override {
        ++on_data_calls;
        largest_offer = std::max(largest_offer, data.size());
        last_offer.assign(data.substr(0, 64));
        std::size_t taken = 0;
        while (!hold.contains(id)) {
            const auto nl = data.find('\n', taken);
            if (nl == std::string_view::npos) break;
            std::string line(data.substr(taken, nl - taken));
            taken = nl + 1;
            if (sequence) {
                if (std::atoi(line.c_str()) != next_number++) out_of_order = true;
                continue;
            }
            lines[id].push_back(line);
            if (echo) send(id, line + "\n");
            if (on_line) on_line(id, line);
        }
        return taken;
    }
    std::function<void(ConnId)> drained;  // on_drained hook
    std::size_t drained_calls = 0;
    void on_drained(ConnId id) override {
        if (in_send) close_inside_send = true;
        ++drained_calls;
        if (drained) drained(id);
    }
    void on_close(ConnId id, CloseReason why) override {
        if (in_send) close_inside_send = true;
        if (std::find(opened.begin(), opened.end(), id) == opened.end()) close_of_unknown = true;
        closed.emplace_back(id, why);
    }
    void send(ConnId id, std::string_view bytes) {
        in_send = true;
        server->send(id, bytes);
        in_send = false;
    }
    std::size_t total_lines() const {
        std::size_t n = static_cast<std::size_t>(next_number);
        for (auto& [id, v] : lines) n += v.size();
        return n;
    }
};

struct Harness {
    Reactor reactor;
    TestHandler handler;
    TcpServer server;
    std::function<bool()> until;

    explicit Harness(TcpServerOptions opts = {}) : server(reactor, handler, opts) {
        handler.server = &server;
        REQUIRE(server.listen("127.0.0.1", 0).empty());
        REQUIRE(server.port() != 0);
        reactor.set_before_sleep([this] {
            server.flush();
            if (until && until()) reactor.stop();
        });
    }

    // Runs the loop until pred holds after a turn; false if the failure guard expired first.
    bool run_until(std::function<bool()> pred, std::chrono::seconds limit = 20s) {
        bool expired = false;
        const auto guard = reactor.add_timer(Clock::now() + limit, [&] {
            expired = true;
            reactor.stop();
        });
        until = std::move(pred);
        reactor.post([] {});  // at least one turn, so `until` is looked at even without traffic
        reactor.run();
        reactor.cancel_timer(guard);
        const bool ok = until();
        until = nullptr;
        return ok && !expired;
    }

    // Lets the loop take n turns (each turn sees whatever the kernel has ready by then).
    void turns(int n) {
        int k = 0;
        std::function<void()> tick = [&] {
            if (++k < n) reactor.post(tick);
        };
        reactor.post(tick);
        REQUIRE(run_until([&] { return k >= n; }));
    }

    ConnId only_conn() const {
        REQUIRE(handler.opened.size() == 1);
        return handler.opened.front();
    }
};

struct Client {
    Fd fd;
    explicit Client(std::uint16_t port, int rcvbuf = 0) {
        fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(fd);
        if (rcvbuf > 0) REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
        timeval tv{20, 0};  // failure guard for blocking calls
        REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
        REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    bool write_all(std::string_view s) const {
        while (!s.empty()) {
            const ssize_t n = ::send(fd.get(), s.data(), s.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // Reads until `n` bytes arrived, EOF, or an error; `eof`/`error` tell which ended it.
    std::string read_n(std::size_t n, bool* eof = nullptr, int* error = nullptr) const {
        std::string out;
        char buf[65536];
        if (eof) *eof = false;
        if (error) *error = 0;
        while (out.size() < n) {
            const ssize_t r = ::recv(fd.get(), buf, std::min(sizeof buf, n - out.size()), 0);
            if (r < 0 && errno == EINTR) continue;
            if (r == 0 && eof) *eof = true;
            if (r < 0 && error) *error = errno;
            if (r <= 0) break;
            out.append(buf, static_cast<std::size_t>(r));
        }
        return out;
    }
    std::string read_to_eof(bool* eof, int* error) const { return read_n(SIZE_MAX, eof, error); }
    // What is available right now, without waiting.
    std::string available() const {
        std::string out;
        char buf[65536];
        for (;;) {
            const ssize_t r = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
            if (r <= 0) break;
            out.append(buf, static_cast<std::size_t>(r));
        }
        return out;
    }
    void shutdown_write() const { REQUIRE(::shutdown(fd.get(), SHUT_WR) == 0); }
    void reset() {
        linger l{1, 0};  // close with RST
        REQUIRE(::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
        fd.reset();
    }
};

std::string numbered_lines(int from, int to) {
    std::string s;
    char buf[32];
    for (int i = from; i < to; ++i) {
        std::snprintf(buf, sizeof buf, "%07d\n", i);
        s += buf;
    }
    return s;
}

bool consecutive(const std::vector<std::string>& v, int count) {
    if (static_cast<int>(v.size()) != count) return false;
    char buf[32];
    for (int i = 0; i < count; ++i) {
        std::snprintf(buf, sizeof buf, "%07d", i);
        if (v[static_cast<std::size_t>(i)] != buf) return false;
    }
    return true;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + i % 23);
    return s;
}

}  // namespace

TEST_CASE("tcp server: listen validates the address and reports the bound port") {
    Reactor reactor;
    TestHandler handler;
    TcpServer server(reactor, handler, {});
    CHECK_FALSE(server.listen("not-an-ip", 0).empty());
    CHECK_FALSE(server.listen("256.1.1.1", 0).empty());
    CHECK(server.listen("127.0.0.1", 0).empty());
    CHECK(server.port() != 0);
    CHECK_FALSE(server.listen("127.0.0.1", 0).empty());  // already listening

    // The same port cannot be taken twice while in use.
    TcpServer other(reactor, handler, {});
    CHECK_FALSE(other.listen("127.0.0.1", server.port()).empty());

    TcpServer v6(reactor, handler, {});
    const std::string err = v6.listen("::1", 0);
    if (err.empty()) {
        CHECK(v6.port() != 0);
    } else {
        MESSAGE("no IPv6 loopback here: " << err);
    }
    CHECK(TcpServer::fd_capacity() > 0);
}

TEST_CASE("tcp server: echoes lines split across reads and reports the peer") {
    Harness h;
    Client c(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    const ConnId id = h.only_conn();
    CHECK(h.handler.peers[0].ip == "127.0.0.1");
    CHECK(h.handler.peers[0].port != 0);
    CHECK(h.server.connection_count() == 1);

    REQUIRE(c.write_all("hel"));
    REQUIRE(h.run_until([&] { return h.handler.on_data_calls >= 1; }));
    CHECK(h.handler.lines[id].empty());
    REQUIRE(c.write_all("lo\nwor"));
    REQUIRE(h.run_until([&] { return h.handler.lines[id].size() == 1; }));
    CHECK(h.handler.last_offer == "hello\nwor");  // the kept partial line is offered with the new bytes
    REQUIRE(c.write_all("ld\n\n"));
    REQUIRE(h.run_until([&] { return h.handler.lines[id].size() == 3; }));
    CHECK(h.handler.lines[id] == std::vector<std::string>{"hello", "world", ""});
    CHECK(c.read_n(13) == "hello\nworld\n\n");
    CHECK(h.handler.closed.empty());
}

TEST_CASE("tcp server: a burst far larger than one read arrives whole and in order") {
    Harness h;
    Client c(h.server.port());
    h.handler.echo = false;
    constexpr int kLines = 300000;  // 2.4 MB: several read budgets
    std::thread writer([&] { CHECK(c.write_all(numbered_lines(0, kLines))); });
    REQUIRE(h.run_until([&] { return h.handler.total_lines() == kLines; }));
    writer.join();
    CHECK(consecutive(h.handler.lines[h.only_conn()], kLines));
}

TEST_CASE("tcp server: a paused connection keeps its input and gets it offered after resume") {
    Harness h;
    Client c(h.server.port());
    h.handler.on_line = [&](ConnId id, const std::string& line) {
        if (line == "a") {
            h.handler.hold.insert(id);
            h.server.pause_reading(id);
        }
    };
    REQUIRE(c.write_all("a\nb\nc\n"));
    REQUIRE(h.run_until([&] { return h.handler.total_lines() == 1; }));
    const ConnId id = h.only_conn();
    REQUIRE(c.write_all("d\n"));
    const auto calls = h.handler.on_data_calls;
    h.turns(5);
    CHECK(h.handler.on_data_calls == calls);  // nothing offered while paused
    CHECK(h.handler.lines[id] == std::vector<std::string>{"a"});

    h.handler.hold.erase(id);
    h.server.resume_reading(id);
    CHECK(h.handler.on_data_calls == calls);  // never from inside resume_reading()
    REQUIRE(h.run_until([&] { return h.handler.lines[id].size() == 4; }));
    CHECK(h.handler.lines[id] == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(c.read_n(8) == "a\nb\nc\nd\n");
}

TEST_CASE("tcp server: unconsumed input stops reading at max_input and nothing is lost") {
    TcpServerOptions opts;
    opts.max_input = 200 * 1024;
    Harness h(opts);
    h.handler.echo = false;
    Client c(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    const ConnId id = h.only_conn();
    h.handler.hold.insert(id);  // throttling: takes nothing, does not pause
    h.handler.sequence = true;

    constexpr int kLines = 1 << 22;  // 32 MiB, far more than max_input + socket buffers
    std::atomic<bool> written{false};
    std::thread writer([&] {
        CHECK(c.write_all(numbered_lines(0, kLines)));
        written = true;
    });
    REQUIRE(h.run_until([&] { return h.handler.largest_offer >= opts.max_input; }));
    h.turns(5);
    const auto calls = h.handler.on_data_calls;
    h.turns(5);
    CHECK(h.handler.on_data_calls == calls);  // stopped reading: no busy loop of offers
    CHECK(h.handler.largest_offer < opts.max_input + 64 * 1024);
    CHECK_FALSE(written.load());  // the sender is held back by TCP flow control

    h.handler.hold.erase(id);
    h.server.resume_reading(id);
    REQUIRE(h.run_until([&] { return h.handler.total_lines() == kLines; }));
    writer.join();
    CHECK_FALSE(h.handler.out_of_order);
}

TEST_CASE("tcp server: output beyond max_outbuf closes with OutputFull at flush, never inside send") {
    TcpServerOptions opts;
    opts.max_outbuf = 64 * 1024;
    Harness h(opts);
    Client c(h.server.port());
    const std::string chunk(1024, 'z');
    ConnId flooded = 0;
    std::size_t pending_after = 1;
    h.handler.on_line = [&](ConnId id, const std::string& line) {
        if (line != "flood") return;
        flooded = id;
        // More than the kernel's socket buffers take (they do not count against max_outbuf).
        for (int i = 0; i < 32 * 1024; ++i) h.handler.send(id, chunk);
        pending_after = h.server.pending_output(id);
        CHECK(h.handler.closed.empty());
    };
    REQUIRE(c.write_all("flood\n"));
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    REQUIRE(h.handler.closed.size() == 1);
    CHECK(h.handler.closed[0].first == flooded);
    CHECK(h.handler.closed[0].second == CloseReason::OutputFull);
    CHECK_FALSE(h.handler.close_inside_send);
    CHECK(pending_after == 0);  // further sends were dropped
    CHECK(h.server.connection_count() == 0);
    bool eof = false;
    int err = 0;
    (void)c.read_to_eof(&eof, &err);
    CHECK((eof || err != 0));
}

TEST_CASE("tcp server: a peer that never reads is cut off with OutputFull") {
    TcpServerOptions opts;
    opts.max_outbuf = 128 * 1024;
    Harness h(opts);
    h.handler.echo = false;
    Client c(h.server.port(), 4096);
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    const ConnId id = h.only_conn();
    const std::string chunk(16 * 1024, 'q');
    std::size_t sent = 0;
    std::function<void()> feed = [&] {
        if (!h.handler.closed.empty()) return;
        h.handler.send(id, chunk);
        sent += chunk.size();
        h.reactor.post(feed);
    };
    h.reactor.post(feed);
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    CHECK(h.handler.closed[0] == std::pair{id, CloseReason::OutputFull});
    CHECK(sent > opts.max_outbuf);  // some went out through the kernel first
    CHECK(h.server.connection_count() == 0);
    h.server.send(id, "ignored");  // unknown id: nothing happens
    CHECK(h.server.pending_output(id) == 0);
}

TEST_CASE("tcp server: close_after_flush delivers every pending byte, then a clean FIN") {
    TcpServerOptions opts;
    opts.max_outbuf = 8 << 20;
    Harness h(opts);
    Client c(h.server.port());
    const std::string body = pattern(3 << 20);
    h.handler.on_line = [&](ConnId id, const std::string& line) {
        if (line != "bye") return;
        for (std::size_t off = 0; off < body.size(); off += 64 * 1024)
            h.handler.send(id, body.substr(off, 64 * 1024));
        h.server.close_after_flush(id);
        h.handler.hold.insert(id);
    };
    h.handler.echo = false;
    // Input after the request, and more while the reply streams, stays unread by the server: a careless
    // close would answer it with a reset and destroy the reply.
    REQUIRE(c.write_all("bye\nafter\nafter\n"));
    std::string got;
    bool eof = false;
    int err = 0;
    std::atomic<bool> done{false};
    std::thread reader([&] {
        got = c.read_n(64 * 1024);
        c.write_all("late junk\n");
        got += c.read_to_eof(&eof, &err);
        done = true;
        ::shutdown(c.fd.get(), SHUT_WR);
    });
    REQUIRE(h.run_until([&] { return h.server.connection_count() == 0; }));
    reader.join();
    CHECK(done.load());
    CHECK(eof);
    CHECK(err == 0);
    CHECK(got.size() == body.size());
    CHECK(got == body);
    CHECK(h.handler.closed.empty());  // asked for: no on_close
}

TEST_CASE("tcp server: close_after_flush with nothing pending closes right away") {
    Harness h;
    Client c(h.server.port());
    h.handler.echo = false;
    h.handler.on_line = [&](ConnId id, const std::string&) { h.server.close_after_flush(id); };
    REQUIRE(c.write_all("quit\n"));
    bool eof = false;
    int err = 0;
    std::thread reader([&] {
        (void)c.read_to_eof(&eof, &err);
        ::shutdown(c.fd.get(), SHUT_WR);
    });
    REQUIRE(h.run_until([&] { return h.server.connection_count() == 0; }));
    reader.join();
    CHECK(eof);
    CHECK(h.handler.closed.empty());
}

TEST_CASE("tcp server: close_after_flush gives up after close_linger_ms on a peer that never reads") {
    TcpServerOptions opts;
    opts.max_outbuf = 8 << 20;
    opts.close_linger_ms = 100;
    Harness h(opts);
    Client c(h.server.port(), 4096);
    h.handler.echo = false;
    h.handler.on_line = [&](ConnId id, const std::string&) {
        h.handler.send(id, pattern(4 << 20));
        h.server.close_after_flush(id);
    };
    REQUIRE(c.write_all("go\n"));
    REQUIRE(h.run_until([&] { return h.server.connection_count() == 0; }));
    CHECK(h.handler.closed.empty());
}

TEST_CASE("tcp server: EOF after data offers every complete line, drops the partial one, then PeerClosed") {
    Harness h;
    Client c(h.server.port());
    REQUIRE(c.write_all("x\ny\npartial"));
    c.shutdown_write();
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    const ConnId id = h.only_conn();
    CHECK(h.handler.lines[id] == std::vector<std::string>{"x", "y"});
    CHECK(h.handler.closed[0] == std::pair{id, CloseReason::PeerClosed});
    CHECK(h.server.connection_count() == 0);
    CHECK_FALSE(h.handler.close_of_unknown);
}

TEST_CASE("tcp server: EOF while paused waits for resume before closing") {
    Harness h;
    Client c(h.server.port());
    h.handler.on_line = [&](ConnId id, const std::string& line) {
        if (line == "a") {
            h.handler.hold.insert(id);
            h.server.pause_reading(id);
        }
    };
    REQUIRE(c.write_all("a\nb\nc\n"));
    c.shutdown_write();
    REQUIRE(h.run_until([&] { return h.handler.total_lines() == 1; }));
    const ConnId id = h.only_conn();
    h.turns(5);
    CHECK(h.handler.closed.empty());
    CHECK(h.server.connection_count() == 1);

    h.handler.hold.erase(id);
    h.server.resume_reading(id);
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    CHECK(h.handler.lines[id] == std::vector<std::string>{"a", "b", "c"});
    CHECK(h.handler.closed[0] == std::pair{id, CloseReason::PeerClosed});
    // The replies written before the close still reach the peer.
    CHECK(c.read_n(6) == "a\nb\nc\n");
}

TEST_CASE("tcp server: a reset from the peer closes with Error") {
    Harness h;
    Client c(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    c.reset();
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    CHECK(h.handler.closed[0] == std::pair{h.only_conn(), CloseReason::Error});
    CHECK(h.server.connection_count() == 0);
}

TEST_CASE("tcp server: handlers may close their own and other connections from on_data") {
    Harness h;
    Client a(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    Client b(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 2; }));
    const ConnId ida = h.handler.opened[0], idb = h.handler.opened[1];
    h.handler.on_line = [&](ConnId id, const std::string& line) {
        if (line == "kill-other") h.server.close_now(id == ida ? idb : ida);
        if (line == "kill-self") {
            h.server.close_now(id);
            h.handler.send(id, "dropped\n");  // unknown id now: ignored
            h.server.pause_reading(id);       // likewise
            h.server.close_after_flush(id);   // likewise
        }
    };
    // b's input must never be offered once a closed it, even if it is already in b's socket.
    REQUIRE(b.write_all("from-b\n"));
    REQUIRE(a.write_all("kill-other\nkill-self\nnever\n"));
    REQUIRE(h.run_until([&] { return h.server.connection_count() == 0; }));
    h.turns(3);
    // The handler may walk the rest of its data after closing itself (the bytes stay valid).
    CHECK(h.handler.lines[ida] == std::vector<std::string>{"kill-other", "kill-self", "never"});
    CHECK(h.handler.closed.empty());
    // b may or may not have been served before a's event in that turn, but nothing after its close.
    CHECK(h.handler.lines[idb].size() <= 1);
    bool eof = false;
    int err = 0;
    (void)a.read_to_eof(&eof, &err);
    CHECK((eof || err != 0));
}

TEST_CASE("tcp server: many connections are served and closed independently") {
    Harness h;
    constexpr int kClients = 300;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(h.server.port()));
    for (int i = 0; i < kClients; ++i) REQUIRE(clients[i]->write_all("hi " + std::to_string(i) + "\n"));
    REQUIRE(h.run_until([&] { return h.handler.total_lines() == kClients; }));
    CHECK(h.server.connection_count() == kClients);
    std::set<ConnId> ids(h.handler.opened.begin(), h.handler.opened.end());
    CHECK(ids.size() == kClients);
    for (int i = 0; i < kClients; ++i) {
        const std::string want = "hi " + std::to_string(i) + "\n";
        CHECK(clients[i]->read_n(want.size()) == want);
    }
    for (int i = 0; i < kClients; i += 2) clients[i].reset();
    REQUIRE(h.run_until([&] { return h.handler.closed.size() == kClients / 2; }));
    CHECK(h.server.connection_count() == kClients / 2);
    for (auto& [id, why] : h.handler.closed) CHECK(why == CloseReason::PeerClosed);
    // Survivors still work, and fds reused by new connections get fresh ids.
    for (int i = 1; i < kClients; i += 2) REQUIRE(clients[i]->write_all("again\n"));
    for (int i = 0; i < kClients; i += 2) clients[i] = std::make_unique<Client>(h.server.port());
    REQUIRE(h.run_until([&] {
        return h.handler.total_lines() == kClients + kClients / 2 && h.server.connection_count() == kClients;
    }));
    for (int i = 1; i < kClients; i += 2) CHECK(clients[i]->read_n(6) == "again\n");
    std::set<ConnId> all(h.handler.opened.begin(), h.handler.opened.end());
    CHECK(all.size() == h.handler.opened.size());
}

TEST_CASE("tcp server: out of fds, queued connections are shed and existing clients keep being served") {
    Harness h;
    Client first(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    constexpr int kExtra = 20;
    std::vector<std::unique_ptr<Client>> queued;
    for (int i = 0; i < kExtra; ++i) queued.push_back(std::make_unique<Client>(h.server.port()));

    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    // Allow exactly two more fds: the lowest free numbers tell how many are open.
    int probe[3];
    for (int& p : probe) p = ::dup(0);
    const int limit = probe[2];  // fds below probe[2] are taken or freed below
    for (int p : probe) ::close(p);
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(limit);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    const bool served =
        h.run_until([&] { return h.handler.opened.size() + h.server.shed_count() == kExtra + 1; });
    // The server keeps serving the first client while shedding.
    REQUIRE(first.write_all("still here\n"));
    const bool echoed = h.run_until([&] { return h.handler.total_lines() == 1; });
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    REQUIRE(served);
    REQUIRE(echoed);
    CHECK(h.server.shed_count() >= kExtra - 2);
    CHECK(h.handler.opened.size() >= 2);
    CHECK(first.read_n(11) == "still here\n");
}

TEST_CASE("tcp server: more queued connections than one accept pass takes are all accepted") {
    constexpr int kClients = 1100;  // beyond the per-turn accept budget
    if (TcpServer::fd_capacity() < 2 * kClients + 64) {
        MESSAGE("fd limit too low for this test; skipped");
        return;
    }
    Harness h;
    h.handler.echo = false;
    std::vector<std::unique_ptr<Client>> clients;
    // All of them wait in the listen queue before the loop runs: one edge for the lot.
    for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(h.server.port()));
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == kClients; }));
    CHECK(h.server.connection_count() == kClients);
    clients.clear();
    REQUIRE(h.run_until([&] { return h.server.connection_count() == 0; }));
    CHECK(h.handler.closed.size() == kClients);
}

TEST_CASE("tcp server: one fast sender does not starve the others") {
    Harness h;
    h.handler.echo = false;
    Client flood(h.server.port());
    Client quiet(h.server.port());
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 2; }));
    const ConnId flood_id = h.handler.opened[0], quiet_id = h.handler.opened[1];
    // Everything the kernel will hold is queued before the loop looks: without a per-turn read budget
    // the whole backlog would be read before the other connection gets a turn.
    const int on = 1;
    REQUIRE(::ioctl(flood.fd.get(), FIONBIO, &on) == 0);
    std::size_t queued = 0;
    const std::string block = numbered_lines(0, 8192);  // 64 KiB
    for (;;) {
        const ssize_t n = ::send(flood.fd.get(), block.data(), block.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        queued += static_cast<std::size_t>(n);
        if (static_cast<std::size_t>(n) < block.size()) break;
    }
    REQUIRE(quiet.write_all("hello\n"));
    std::size_t flood_lines_before_quiet = SIZE_MAX;
    h.handler.on_line = [&](ConnId id, const std::string&) {
        if (id == quiet_id) flood_lines_before_quiet = h.handler.lines[flood_id].size();
    };
    const std::size_t flood_lines = queued / 8;
    REQUIRE(h.run_until([&] {
        return h.handler.lines[flood_id].size() >= flood_lines && !h.handler.lines[quiet_id].empty();
    }));
    if (queued < 4 * 256 * 1024) {
        MESSAGE("only " << queued << " bytes queued; fairness not observable here");
    } else {
        CHECK(flood_lines_before_quiet < flood_lines);
    }
}

TEST_CASE(
    "tcp server: a paced reply far past max_outbuf reaches a slow reader whole, what was sent meanwhile "
    "after it") {
    TcpServerOptions opts;
    opts.max_outbuf = 8 * 1024;
    Harness h(opts);
    h.handler.echo = false;
    Client c(h.server.port(), 4096);  // a small window: the reply must wait in the server
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    const ConnId id = h.only_conn();
    const std::string reply = pattern(2 * 1024 * 1024);  // 256 times max_outbuf
    std::size_t produced = 0;
    h.handler.drained = [&](ConnId cid) {
        CHECK(cid == id);
        if (produced == reply.size()) return;
        const std::size_t n = std::min<std::size_t>(16 * 1024, reply.size() - produced);
        h.server.send_paced(id, std::string_view(reply).substr(produced, n));
        produced += n;
        if (produced == reply.size()) h.server.end_paced(id);
    };
    h.server.send(id, "before\n");
    h.server.begin_paced(id);
    h.server.send(id, "after\n");  // waits behind the reply
    std::string got;
    std::thread reader([&] { got = c.read_n(7 + reply.size() + 6); });
    REQUIRE(h.run_until([&] { return produced == reply.size() && h.server.pending_output(id) == 0; }, 60s));
    reader.join();
    CHECK(h.handler.closed.empty());
    CHECK_FALSE(h.handler.close_inside_send);
    CHECK(h.handler.drained_calls > 10);  // produced as the reader read, not at once
    REQUIRE(got.size() == 7 + reply.size() + 6);
    CHECK(got.substr(0, 7) == "before\n");
    CHECK(got.substr(7, reply.size()) == reply);
    CHECK(got.substr(7 + reply.size()) == "after\n");
}

TEST_CASE("tcp server: lines held behind a paced reply to a reader that stopped are cut at max_outbuf") {
    TcpServerOptions opts;
    opts.max_outbuf = 8 * 1024;
    Harness h(opts);
    h.handler.echo = false;
    Client c(h.server.port(), 4096);
    REQUIRE(h.run_until([&] { return h.handler.opened.size() == 1; }));
    const ConnId id = h.only_conn();
    const std::string chunk(16 * 1024, 'r');
    h.handler.drained = [&](ConnId) { h.server.send_paced(id, chunk); };  // a reply that never ends
    h.server.begin_paced(id);
    // The reader reads nothing: once its socket is full, what is sent behind the reply counts.
    h.turns(200);
    REQUIRE(h.server.pending_output(id) >= 16 * 1024);  // the kernel is full: the reply waits here
    const std::string line(1024, 'x');
    for (int i = 0; i < 16 && h.handler.closed.empty(); ++i) {
        h.handler.send(id, line + "\n");
        h.turns(1);
    }
    REQUIRE(h.run_until([&] { return !h.handler.closed.empty(); }));
    CHECK(h.handler.closed[0] == std::pair{id, CloseReason::OutputFull});
}
