#include "proto/server_line.hpp"

#include <array>
#include <charconv>

namespace chat::proto {

bool parse_server_line(std::string_view line, ServerLine& out) {
    out = ServerLine{};
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t i = line.find_first_not_of(' ');
    if (i == std::string_view::npos) return false;
    std::size_t end = line.find(' ', i);
    out.verb = line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    i = end;
    while (i != std::string_view::npos) {
        i = line.find_first_not_of(' ', i);
        if (i == std::string_view::npos) break;
        if (line[i] == ':') {
            out.trailing = line.substr(i + 1);
            out.has_trailing = true;
            break;
        }
        end = line.find(' ', i);
        out.params.push_back(
            line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
        i = end;
    }
    return true;
}

namespace {
// "VERB p1 p2", with room reserved for `extra` more bytes.
void append_head(std::string& out, std::string_view verb, std::initializer_list<std::string_view> params,
                 std::size_t extra) {
    std::size_t size = verb.size() + extra;
    for (std::string_view p : params) size += p.size() + 1;
    out.reserve(out.size() + size);
    out.append(verb);
    for (std::string_view p : params) {
        out.push_back(' ');
        out.append(p);
    }
}
}  // namespace

void append_line(std::string& out, std::string_view verb, std::initializer_list<std::string_view> params) {
    append_head(out, verb, params, 1);
    out.push_back('\n');
}

void append_line(std::string& out, std::string_view verb, std::initializer_list<std::string_view> params,
                 std::string_view trailing) {
    append_head(out, verb, params, trailing.size() + 3);
    out.append(" :");
    out.append(trailing);
    out.push_back('\n');
}

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, 1970-01-01 = day 0).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
    std::int64_t y;
    unsigned m, d;
};

constexpr Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

void put2(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

// Reads exactly `n` ASCII digits at s[pos].
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& v) noexcept {
    v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const char c = s[pos + k];
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
}

}  // namespace

std::string format_time(std::int64_t unix_seconds) {
    if (unix_seconds <= 0) return "-";
    const std::int64_t days = unix_seconds / 86400;
    const auto secs = static_cast<unsigned>(unix_seconds % 86400);
    const Civil c = civil_from_days(days);
    std::string out;
    out.reserve(24);
    std::array<char, 24> year{};
    const auto [end, ec] = std::to_chars(year.data(), year.data() + year.size(), c.y);
    (void)ec;  // 24 bytes hold any int64
    for (auto len = end - year.data(); len < 4; ++len) out.push_back('0');
    out.append(year.data(), end);
    out.push_back('-');
    put2(out, c.m);
    out.push_back('-');
    put2(out, c.d);
    out.push_back('T');
    put2(out, secs / 3600);
    out.push_back(':');
    put2(out, secs / 60 % 60);
    out.push_back(':');
    put2(out, secs % 60);
    out.push_back('Z');
    return out;
}

bool parse_time(std::string_view s, std::int64_t& unix_seconds) {
    if (s == "-") {
        unix_seconds = 0;
        return true;
    }
    // Only the fixed four-digit-year form: what format_time writes for every date it will meet.
    if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != 'Z') {
        return false;
    }
    unsigned y, mo, d, h, mi, se;
    if (!read_digits(s, 0, 4, y) || !read_digits(s, 5, 2, mo) || !read_digits(s, 8, 2, d) ||
        !read_digits(s, 11, 2, h) || !read_digits(s, 14, 2, mi) || !read_digits(s, 17, 2, se)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59) return false;
    unix_seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

}  // namespace chat::proto
