// The logger never blocks its caller: lines go to a bounded ring, a thread writes
// them to stderr. Here stderr is a pipe the test reads only when it wants to.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/log.hpp"
#include "harness.hpp"

using namespace chat::server;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

// fd 2 is the write end of a fresh pipe while this lives; the read end is non-blocking.
struct StderrPipe {
    int rd = -1;
    int saved = -1;
    StderrPipe() {
        REQUIRE(log_flush(5s));  // what other tests logged goes to the real stderr
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        rd = p[0];
        ::fcntl(rd, F_SETFL, O_NONBLOCK);
        saved = ::dup(2);
        REQUIRE(saved >= 0);
        REQUIRE(::dup2(p[1], 2) == 2);
        ::close(p[1]);
    }
    ~StderrPipe() {
        log_flush(5s);
        ::dup2(saved, 2);
        ::close(saved);
        ::close(rd);
    }
    // Fills the pipe up to its capacity with `c` bytes, so that the logger's next write(2)
    // blocks at once, whatever the scheduling of its thread; returns the byte count. The
    // logger must be idle: fd 2 is non-blocking for the duration.
    std::size_t fill(char c) const {
        REQUIRE(log_flush(5s));
        const int flags = ::fcntl(2, F_GETFL);
        REQUIRE(flags >= 0);
        REQUIRE(::fcntl(2, F_SETFL, flags | O_NONBLOCK) == 0);
        std::size_t total = 0;
        // Whole pages first, then single bytes until the pipe takes no more at all.
        const std::string chunk(4096, c);
        for (std::size_t size : {chunk.size(), std::size_t{1}}) {
            for (;;) {
                const ssize_t n = ::write(2, chunk.data(), size);
                if (n <= 0) break;
                total += static_cast<std::size_t>(n);
            }
        }
        const int err = errno;
        ::fcntl(2, F_SETFL, flags);
        REQUIRE(err == EAGAIN);
        return total;
    }
    // Reads what is there now.
    void read_some(std::string& out) const {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(rd, buf, sizeof buf);
            if (n <= 0) return;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    // Reads until `marker` is in the text or `timeout` passed.
    std::string read_until(const std::string& marker, std::chrono::milliseconds timeout) const {
        std::string out;
        const auto deadline = SteadyClock::now() + timeout;
        while (out.find(marker) == std::string::npos && SteadyClock::now() < deadline) {
            pollfd p{rd, POLLIN, 0};
            ::poll(&p, 1, 50);
            read_some(out);
        }
        return out;
    }
};

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t lf = text.find('\n', at);
        if (lf == std::string::npos) {
            out.push_back(text.substr(at) + "<no LF>");
            break;
        }
        out.push_back(text.substr(at, lf - at));
        at = lf + 1;
    }
    return out;
}

// "2026-01-02T03:04:05.678Z info  text" -> "text" with the level checked; "" when malformed.
std::string body(const std::string& line, const char* level) {
    if (line.size() < 31 || line[4] != '-' || line[10] != 'T' || line[23] != 'Z' || line[24] != ' ') return {};
    char want[8];
    std::snprintf(want, sizeof want, "%-5s ", level);
    if (line.compare(25, 6, want) != 0) return {};
    return line.substr(31);
}

}  // namespace

TEST_CASE("a stuck stderr: log_write stays prompt, overflow is dropped, counted and reported") {
    StderrPipe pipe;
    constexpr int kLines = 20000;
    const std::string pad(200, 'x');
    // Stuck from the start: were the pipe empty, whether the writer thread gets to fill it
    // before the flood fills the ring would be up to the scheduler, and a write(2) that
    // completes in the middle of the flood frees ring space there, which correctly yields a
    // second "dropped" line and more flood lines after the first one.
    const std::size_t filler = pipe.fill('#');
    REQUIRE(filler > 0);
    // log_write runs on a thread of its own so that a blocking logger cannot hang the test.
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::atomic<long long> slowest_us{0};
    std::thread flood([&] {
        for (int i = 0; i < kLines; ++i) {
            const auto t0 = SteadyClock::now();
            log_write(LogLevel::Info, "flood %05d %s", i, pad.c_str());
            const long long us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0).count();
            if (us > slowest_us.load()) slowest_us.store(us);
        }
        std::lock_guard<std::mutex> g(mu);
        done = true;
        cv.notify_all();
    });
    bool finished;
    {
        std::unique_lock<std::mutex> lk(mu);
        finished = cv.wait_for(lk, 10s, [&] { return done; });
    }
    if (!finished) {
        // A blocking logger: unstick it so the thread can end, then fail.
        std::string sink;
        while (!done) {
            pipe.read_some(sink);
            std::this_thread::sleep_for(1ms);
            std::lock_guard<std::mutex> g(mu);
            if (done) break;
        }
    }
    flood.join();
    REQUIRE_MESSAGE(finished, "log_write blocked while stderr was not read");
    CHECK_MESSAGE(slowest_us.load() < 1'000'000, "slowest log_write took " << slowest_us.load() << " us");

    // Still stuck: a flush gives up within its timeout.
    const auto t0 = SteadyClock::now();
    CHECK_FALSE(log_flush(200ms));
    CHECK(SteadyClock::now() - t0 < 2s);

    // Reading again: the writer catches up and reports the loss before anything else.
    std::string text = pipe.read_until(" log lines dropped\n", 10s);
    // All read and nothing pending: the next line has room and must not be dropped.
    CHECK(log_flush(5s));
    log_write(LogLevel::Info, "flood end");
    text += pipe.read_until("flood end\n", 10s);
    REQUIRE(text.size() >= filler);
    CHECK(text.find_first_not_of('#') == filler);
    text.erase(0, filler);
    const auto lines = split_lines(text);
    // Every line arrives whole, in order: a prefix of the flood, one "dropped" line that
    // accounts for the rest, then the line logged after the reader caught up.
    int kept = 0;
    long long dropped = -1;
    bool end_seen = false;
    for (const std::string& ln : lines) {
        if (dropped < 0) {
            const std::string b = body(ln, "info");
            char want[32];
            std::snprintf(want, sizeof want, "flood %05d ", kept);
            if (b == std::string(want) + pad) {
                ++kept;
                continue;
            }
            const std::string w = body(ln, "warn");
            long long n = 0;
            char tail[32] = "";
            REQUIRE_MESSAGE(std::sscanf(w.c_str(), "%lld log lines droppe%31s", &n, tail) == 2,
                            "unexpected line after " << kept << " flood lines: " << ln);
            REQUIRE(w == std::to_string(n) + " log lines dropped");
            dropped = n;
            continue;
        }
        REQUIRE_MESSAGE(!end_seen, "a line after the end: " << ln);
        REQUIRE_MESSAGE(body(ln, "info") == "flood end", "unexpected line after the dropped line: " << ln);
        end_seen = true;
    }
    CHECK(end_seen);
    REQUIRE(dropped > 0);
    CHECK(kept + dropped == kLines);
    // What is kept: what the ring holds, the pipe took none of it. A line is dropped only
    // when it does not fit, so the ring is full but for less than one line.
    const long long line_bytes = 31 + 12 + static_cast<long long>(pad.size()) + 1;
    CHECK(kept * line_bytes <= static_cast<long long>(kLogRingBytes));
    CHECK(kept * line_bytes > static_cast<long long>(kLogRingBytes) - line_bytes);
    CHECK(log_flush(5s));
}

TEST_CASE("lines from many threads arrive whole and none is lost while stderr is read") {
    StderrPipe pipe;
    constexpr int kThreads = 4, kEach = 500;
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([t] {
            for (int i = 0; i < kEach; ++i) log_write(LogLevel::Warn, "thread %d line %d of %d", t, i, kEach);
        });
    }
    for (auto& t : ts) t.join();  // 2000 short lines fit in the ring: nothing is dropped
    log_write(LogLevel::Error, "threads done");
    const std::string text = pipe.read_until("threads done\n", 10s);
    std::vector<int> next(kThreads, 0);
    int total = 0;
    for (const std::string& ln : split_lines(text)) {
        const std::string b = body(ln, "warn");
        if (b.empty()) {
            CHECK_MESSAGE(body(ln, "error") == "threads done", "unexpected line: " << ln);
            continue;
        }
        int t = -1, i = -1, of = -1;
        REQUIRE_MESSAGE(std::sscanf(b.c_str(), "thread %d line %d of %d", &t, &i, &of) == 3, ln);
        REQUIRE(t >= 0);
        REQUIRE(t < kThreads);
        CHECK(i == next[static_cast<std::size_t>(t)]);  // in order per thread
        next[static_cast<std::size_t>(t)] = i + 1;
        ++total;
    }
    CHECK(total == kThreads * kEach);
}

TEST_CASE("a line longer than the limit is cut and still ends in LF") {
    StderrPipe pipe;
    const std::string big(10000, 'y');
    log_write(LogLevel::Debug, "big %s", big.c_str());
    log_write(LogLevel::Debug, "after big");
    const auto lines = split_lines(pipe.read_until("after big\n", 10s));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].size() == kLogMaxLine - 2);
    CHECK(body(lines[0], "debug").rfind("big yyy", 0) == 0);
    CHECK(body(lines[1], "debug") == "after big");
}

TEST_CASE("formats: JSON escapes what it must; under journald a priority and no time") {
    StderrPipe pipe;
    set_log_format(LogFormat::Json);
    log_write(LogLevel::Warn, "quote \" backslash \\ tab \t bell \a end");
    const std::string json = pipe.read_until("end\"}\n", 5s);
    CHECK(json.find("\"level\":\"warn\",\"msg\":\"quote \\\" backslash \\\\ tab \\u0009 bell \\u0007 end\"}\n") !=
          std::string::npos);
    CHECK(json.rfind("{\"time\":\"20", 0) == 0);
    set_log_format(LogFormat::Text);
    set_log_to_journal(true);
    log_write(LogLevel::Error, "trouble %d", 7);
    log_write(LogLevel::Info, "news");
    const std::string journal = pipe.read_until("<6>news\n", 5s);
    CHECK(journal == "<3>trouble 7\n<6>news\n");
    set_log_to_journal(false);
}

TEST_CASE("a full hasher is logged once a minute at most, with the count of refusals") {
    // A login storm's clients retry ERROR unavailable many times a second: a line each would
    // flood the log.
    StderrPipe pipe;
    set_log_level(LogLevel::Warn);
    struct Quiet {
        ~Quiet() { set_log_level(LogLevel::Error); }  // as main.cpp sets it for the other tests
    } quiet;
    chat::server::test::Harness h;
    h.hasher.full = true;
    const ConnId c = h.login("bob");
    for (int i = 0; i < 3; ++i) h.feed(c, "/registrar otraclave\n");
    h.advance(61s);
    h.feed(c, "/registrar otraclave\n");
    REQUIRE(log_flush(5s));
    std::string text;
    pipe.read_some(text);
    std::vector<std::string> refused;
    for (const std::string& line : split_lines(text))
        if (line.find("password work refused") != std::string::npos) refused.push_back(body(line, "warn"));
    REQUIRE(refused.size() == 2);
    CHECK(refused[0].rfind("password work refused 1 time since the last such line: the hasher is full", 0) == 0);
    CHECK(refused[1].rfind("password work refused 3 times since the last such line", 0) == 0);
}
