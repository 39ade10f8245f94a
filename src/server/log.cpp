#include "server/log.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

namespace chat::server {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};

// The writer hands at most this much to one write(2), ending at a line's end: a
// write of up to PIPE_BUF bytes to a pipe is atomic, so a reader never finds half
// a line, not even when the process exits while the writer waits on a stuck pipe.
// (A bigger write fills whatever room the pipe has and blocks for the rest.)
constexpr std::size_t kMaxBatch = PIPE_BUF;
static_assert(kLogMaxLine <= kMaxBatch, "a whole line fits in one atomic write");
constexpr auto kExitFlush = std::chrono::seconds(1);

std::atomic<int> g_format{static_cast<int>(LogFormat::Text)};
std::atomic<bool> g_journal{false};
constexpr int kSyslogPriority[] = {7, 6, 4, 3};  // debug, info, warning, err (sd-daemon.h's SD_*)

// JSON string contents: quotes, backslashes and control bytes escaped.
std::size_t json_escape(char* out, std::size_t cap, const char* in, std::size_t n) noexcept {
    std::size_t o = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        char esc[8];
        std::size_t k = 0;
        if (c == '"' || c == '\\') {
            esc[k++] = '\\';
            esc[k++] = static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            k = static_cast<std::size_t>(std::snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            esc[k++] = static_cast<char>(c);
        }
        if (o + k >= cap) break;
        std::memcpy(out + o, esc, k);
        o += k;
    }
    return o;
}

// One line into buf (kLogMaxLine bytes); returns the length. Text:
// "2025-11-24T16:00:00.000Z info  text\n"; JSON: {"time":...,"level":...,"msg":...}.
// Under journald ("<6>" first, the journal keeps its own time): "<6>text\n".
std::size_t format_line(char* buf, LogLevel level, const char* fmt, va_list ap) noexcept {
    const auto format = static_cast<LogFormat>(g_format.load(std::memory_order_relaxed));
    const bool journal = g_journal.load(std::memory_order_relaxed);
    int n = 0;
    if (journal) n = std::snprintf(buf, kLogMaxLine, "<%d>", kSyslogPriority[static_cast<int>(level)]);
    char stamp[96] = "";
    if (!journal || format == LogFormat::Json) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm t{};
        gmtime_r(&ts.tv_sec, &t);
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1,
                      t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
    }
    std::size_t len = static_cast<std::size_t>(n);
    if (format == LogFormat::Json) {
        char msg[kLogMaxLine];
        int m = std::vsnprintf(msg, sizeof msg, fmt, ap);
        if (m < 0) return 0;
        const std::size_t mlen = std::min<std::size_t>(static_cast<std::size_t>(m), sizeof msg - 1);
        int h = std::snprintf(buf + len, kLogMaxLine - len, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", stamp,
                              kNames[static_cast<int>(level)]);
        if (h < 0) return 0;
        len += static_cast<std::size_t>(h);
        len += json_escape(buf + len, kLogMaxLine - len - 3, msg, mlen);  // room for "}\n
        buf[len++] = '"';
        buf[len++] = '}';
        buf[len++] = '\n';
        return len;
    }
    if (!journal) {
        int h = std::snprintf(buf + len, kLogMaxLine - len, "%s %-5s ", stamp, kNames[static_cast<int>(level)]);
        if (h < 0) return 0;
        len += static_cast<std::size_t>(h);
    }
    int m = std::vsnprintf(buf + len, kLogMaxLine - len - 1, fmt, ap);
    if (m < 0) return 0;
    len += static_cast<std::size_t>(m);
    if (len > kLogMaxLine - 2) len = kLogMaxLine - 2;
    buf[len++] = '\n';
    return len;
}

}  // namespace

void set_log_format(LogFormat format) noexcept { g_format.store(static_cast<int>(format)); }
void set_log_to_journal(bool journal) noexcept { g_journal.store(journal); }

bool stderr_is_journal() noexcept {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st{};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

namespace {

std::size_t format_to(char* buf, LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
std::size_t format_to(char* buf, LogLevel level, const char* fmt, ...) noexcept {
    va_list ap;
    va_start(ap, fmt);
    std::size_t len = format_line(buf, level, fmt, ap);
    va_end(ap);
    return len;
}

// The ring and its writer. Allocated once and never destroyed: at exit the writer
// may still be blocked in write(2) on a stuck stderr while static destructors run.
struct Logger {
    std::mutex mu;
    std::condition_variable wake;  // the writer waits here for lines
    std::condition_variable idle;  // log_flush / log_stop wait here for the writer
    // Bytes [begin, end) of the ring are queued; both only grow (positions modulo the size).
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint64_t notice_end = 0;  // end of the last "dropped" line queued
    std::uint64_t dropped = 0;     // lines dropped since the last "dropped" line
    bool writer_waiting = false;   // the writer sleeps on `wake`: a producer must notify
    int flushers = 0;              // threads waiting on `idle`
    bool running = false;          // the writer thread exists and has not exited
    bool stopping = false;         // log_stop was called: no more lines, the writer ends when idle
    std::thread thread;
    char ring[kLogRingBytes];

    std::size_t free_space() const { return kLogRingBytes - static_cast<std::size_t>(end - begin); }

    void put(const char* p, std::size_t n) {
        const std::size_t at = static_cast<std::size_t>(end % kLogRingBytes);
        const std::size_t first = std::min(n, kLogRingBytes - at);
        std::memcpy(ring + at, p, first);
        std::memcpy(ring, p + first, n - first);
        end += n;
    }

    // Queues "N log lines dropped" if lines were dropped and it fits with `extra` more bytes.
    void put_notice(std::size_t extra) {
        if (dropped == 0) return;
        char buf[128];
        const std::size_t n = format_to(buf, LogLevel::Warn, "%llu log lines dropped",
                                        static_cast<unsigned long long>(dropped));
        if (n == 0 || n + extra > free_space()) return;
        put(buf, n);
        dropped = 0;
        notice_end = end;
    }

    void run();
};

Logger& logger() {
    static Logger* l = new Logger;
    return *l;
}

std::once_flag g_start_once;

void write_all_direct(const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void Logger::run() {
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
        if (begin == end) put_notice(0);  // caught up: say what was lost before anything else
        if (begin == end) {
            if (stopping) break;
            writer_waiting = true;
            wake.wait(lk);
            writer_waiting = false;
            continue;
        }
        const std::size_t at = static_cast<std::size_t>(begin % kLogRingBytes);
        std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(end - begin), kMaxBatch);
        std::size_t whole = n;  // back to the last line's end in [begin, begin + n)
        while (whole > 0 && ring[(at + whole - 1) % kLogRingBytes] != '\n') --whole;
        if (whole > 0) n = whole;
        iovec iov[2];
        int cnt = 1;
        iov[0].iov_base = ring + at;
        iov[0].iov_len = std::min(n, kLogRingBytes - at);
        if (iov[0].iov_len < n) {
            iov[1].iov_base = ring;
            iov[1].iov_len = n - iov[0].iov_len;
            cnt = 2;
        }
        // Only this thread moves `begin`, so [begin, begin + n) stays put while unlocked.
        lk.unlock();
        ssize_t w = ::writev(STDERR_FILENO, iov, cnt);
        int err = w < 0 ? errno : 0;
        if (w < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
            // Someone made stderr non-blocking: wait here, not in the producers.
            pollfd p{STDERR_FILENO, POLLOUT, 0};
            ::poll(&p, 1, -1);
        }
        lk.lock();
        if (w > 0) {
            begin += static_cast<std::uint64_t>(w);
        } else if (err != EINTR && err != EAGAIN && err != EWOULDBLOCK) {
            // stderr is closed or broken: what is queued cannot be written anywhere, not
            // even a "dropped" line. Discard it rather than retry in a loop.
            begin = end;
            dropped = 0;
        }
        if (flushers > 0) idle.notify_all();
    }
    running = false;
    idle.notify_all();
}

void exit_flush() { log_stop(std::chrono::duration_cast<std::chrono::milliseconds>(kExitFlush)); }

void start_thread() noexcept {
    Logger& l = logger();
    // The thread inherits the creator's mask: block everything so SIGTERM/SIGINT stay
    // with the signalfd of the reactor (and SIGPIPE on a broken stderr turns into EPIPE).
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        std::lock_guard<std::mutex> g(l.mu);
        l.thread = std::thread([&l] { l.run(); });
        l.running = true;
    } catch (...) {
        // No thread: log_write falls back to writing on the caller's thread.
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    std::atexit(exit_flush);
}

}  // namespace

void set_log_level(LogLevel level) noexcept { g_level.store(static_cast<int>(level)); }
LogLevel log_level() noexcept { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

bool parse_log_level(std::string_view text, LogLevel& out) noexcept {
    for (int i = 0; i < 4; ++i) {
        if (text == kNames[i]) {
            out = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void log_start() noexcept {
    try {
        std::call_once(g_start_once, start_thread);
    } catch (...) {
    }
}

void log_write(LogLevel level, const char* fmt, ...) noexcept {
    log_start();
    char line[kLogMaxLine];
    va_list ap;
    va_start(ap, fmt);
    const std::size_t len = format_line(line, level, fmt, ap);
    va_end(ap);
    if (len == 0) return;

    Logger& l = logger();
    bool notify = false;
    {
        std::lock_guard<std::mutex> g(l.mu);
        if (!l.running) {
            if (!l.stopping) write_all_direct(line, len);  // the thread could not be created
            return;
        }
        if (l.stopping) {
            ++l.dropped;
            return;
        }
        l.put_notice(len);
        if (l.dropped == 0 && len <= l.free_space()) {
            l.put(line, len);
        } else {
            ++l.dropped;
            return;
        }
        // One wake-up per sleep of the writer; while it is awake, no system call here.
        if (l.writer_waiting) {
            l.writer_waiting = false;
            notify = true;
        }
    }
    if (notify) l.wake.notify_one();
}

bool log_flush(std::chrono::milliseconds timeout) noexcept {
    Logger& l = logger();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lk(l.mu);
    const std::uint64_t target = l.end;
    auto done = [&] { return !l.running || (l.begin >= target && l.dropped == 0 && l.begin >= l.notice_end); };
    if (done()) return l.begin >= target;
    ++l.flushers;
    if (l.writer_waiting) {
        l.writer_waiting = false;
        l.wake.notify_one();  // a pending "dropped" line is queued when the writer looks
    }
    const bool ok = l.idle.wait_until(lk, deadline, done);
    --l.flushers;
    return ok && l.begin >= target;
}

void log_stop(std::chrono::milliseconds timeout) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Logger& l = logger();
    {
        std::lock_guard<std::mutex> g(l.mu);
        if (l.stopping) return;
    }
    log_flush(timeout);
    std::unique_lock<std::mutex> lk(l.mu);
    if (l.stopping) return;
    l.stopping = true;
    if (!l.thread.joinable()) return;
    if (l.writer_waiting) {
        l.writer_waiting = false;
        l.wake.notify_one();
    }
    ++l.flushers;
    const bool ended = l.idle.wait_until(lk, deadline, [&] { return !l.running; });
    --l.flushers;
    lk.unlock();
    if (ended) {
        l.thread.join();
    } else {
        l.thread.detach();  // stuck in write(2): the process may exit under it
    }
}

}  // namespace chat::server
