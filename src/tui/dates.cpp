#include "tui/dates.hpp"

#include <langinfo.h>
#include <locale.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

#include "proto/server_line.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

namespace {

bool local_tm(std::int64_t t, std::tm& tm) {
    const std::time_t tt = static_cast<std::time_t>(t);
    return localtime_r(&tt, &tm) != nullptr;
}

// The long date's shape for the LC_TIME language; the names come from strftime.
const char* long_date_format() {
    const char* name = ::setlocale(LC_TIME, nullptr);
    const std::string_view lang = name != nullptr ? std::string_view(name).substr(0, 2) : std::string_view();
    if (lang == "es" || lang == "pt" || lang == "gl") return "%A %-d de %B de %Y";
    if (lang == "ca") return "%A %-d de %B de %Y";
    if (lang == "fr" || lang == "it") return "%A %-d %B %Y";
    if (lang == "de") return "%A, %-d. %B %Y";
    return "%A, %B %-d, %Y";  // C, POSIX, English
}

}  // namespace

int local_day(std::int64_t t) {
    std::tm tm{};
    if (!local_tm(t, tm)) return 0;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

std::string day_change_text(std::int64_t t) {
    std::tm tm{};
    char buf[128] = "";
    if (local_tm(t, tm)) std::strftime(buf, sizeof buf, long_date_format(), &tm);
    return cat("--- ", buf, " ---");
}

std::string date_prefix(std::int64_t t, std::int64_t now) {
    if (local_day(t) == local_day(now)) return {};
    std::tm tm{};
    char buf[32] = "";
    if (local_tm(t, tm)) std::strftime(buf, sizeof buf, "%Y-%m-%d ", &tm);
    return buf;
}

std::int64_t client_now() {
    using namespace std::chrono;
    static const std::int64_t offset = [] {
        const char* fake = std::getenv("CHAT_FAKE_TIME");
        std::int64_t t = 0;
        if (fake == nullptr || !proto::parse_time(fake, t)) return std::int64_t{0};
        return t - duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    }();
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count() + offset;
}

}  // namespace chat::tui
