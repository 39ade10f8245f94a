// Logging to stderr: one line per event with UTC time and level. Thread-safe
// (each line is one write(2)). Cheap when the level is filtered out.
#pragma once

#include <string_view>

namespace chat::server {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

void log_write(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

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
