// Logging to stderr: one line per event with UTC time and level (or as JSON,
// or with syslog priorities for journald: set_log_format, set_log_to_journal). Cheap when
// the level is filtered out, and it never blocks its caller: log_write formats
// the line into a bounded in-memory ring (kLogRingBytes) and a dedicated
// logger thread writes the ring to stderr. When the ring is full (stderr is a
// pipe nobody reads, a stuck journald, a paused terminal) the line is dropped
// and counted; once the writer has room again it writes one warn line
// "N log lines dropped" before the next ones. Thread-safe for any thread.
//
// Nothing has to be called: the logger thread starts on the first log_write,
// and at exit (atexit) what is buffered is written within about a second;
// after that the process exits without waiting for a stuck stderr.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace chat::server {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

enum class LogFormat { Text, Json };
void set_log_format(LogFormat format) noexcept;
// Under systemd: lines start with a syslog priority ("<6>", "<4>", ...) so that
// journalctl -p works, and carry no time of their own (the journal has it).
void set_log_to_journal(bool journal) noexcept;
// True when stderr is the journal's stream (JOURNAL_STREAM names its device and inode).
bool stderr_is_journal() noexcept;

void log_write(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

// Bytes of formatted lines the ring holds (memory is bounded by this whatever happens),
// and the longest line (longer text is cut, the line still ends in LF).
inline constexpr std::size_t kLogRingBytes = std::size_t{1} << 20;
inline constexpr std::size_t kLogMaxLine = 2048;

// Starts the logger thread now (idempotent; log_write does it on first use). The thread
// blocks every signal, whatever the caller's mask. Call early in main to pay the thread
// creation before serving.
void log_start() noexcept;
// Waits until every line logged before the call (and a pending "dropped" line) is
// written, at most `timeout`; true when it was.
bool log_flush(std::chrono::milliseconds timeout) noexcept;
// log_flush(timeout), then ends the logger thread if it is idle by then; never waits
// longer than `timeout` in all, even when stderr is stuck. Lines logged afterwards are
// dropped. Idempotent; atexit calls log_stop(1 s).
void log_stop(std::chrono::milliseconds timeout) noexcept;

}  // namespace chat::server

#define CHATD_LOG(level, ...)                                                             \
    do {                                                                                  \
        if (static_cast<int>(level) >= static_cast<int>(::chat::server::log_level()))     \
            ::chat::server::log_write(level, __VA_ARGS__);                                \
    } while (0)
#define LOG_DEBUG(...) CHATD_LOG(::chat::server::LogLevel::Debug, __VA_ARGS__)
#define LOG_INFO(...) CHATD_LOG(::chat::server::LogLevel::Info, __VA_ARGS__)
#define LOG_WARN(...) CHATD_LOG(::chat::server::LogLevel::Warn, __VA_ARGS__)
#define LOG_ERROR(...) CHATD_LOG(::chat::server::LogLevel::Error, __VA_ARGS__)
