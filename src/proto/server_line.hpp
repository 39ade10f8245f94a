// Server lines: formatting (server) and parsing (client, load tester).
// line = VERB *( SP param ) [ SP ":" trailing ] LF
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace chat::proto {

struct ServerLine {
    std::string_view verb;
    std::vector<std::string_view> params;
    std::string_view trailing;
    bool has_trailing = false;
};

// Parses a server line without its LF (a trailing CR, if any, is dropped).
// Returns false for an empty line. Views point into `line`.
bool parse_server_line(std::string_view line, ServerLine& out);

// Appends "VERB p1 p2 ...\n" to `out`.
void append_line(std::string& out, std::string_view verb, std::initializer_list<std::string_view> params);
// Appends "VERB p1 p2 ... :trailing\n" to `out`.
void append_line(std::string& out, std::string_view verb, std::initializer_list<std::string_view> params,
                 std::string_view trailing);

// Unix seconds -> "YYYY-MM-DDTHH:MM:SSZ" (UTC); a value <= 0 means "has not happened yet" -> "-".
std::string format_time(std::int64_t unix_seconds);
// Inverse of format_time; "-" gives 0. Returns false on a malformed time.
bool parse_time(std::string_view s, std::int64_t& unix_seconds);

inline constexpr std::string_view kProtocolVersion = "2";

}  // namespace chat::proto
