#include "proto/server_line.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chat::proto;

namespace {
std::vector<std::string> params_of(const ServerLine& l) {
    return {l.params.begin(), l.params.end()};
}
using Params = std::vector<std::string>;
}  // namespace

TEST_CASE("parse_server_line: verb, params and trailing") {
    ServerLine l;
    REQUIRE(parse_server_line("HELLO chatd 1 :Bienvenido a chatd", l));
    CHECK(l.verb == "HELLO");
    CHECK(params_of(l) == Params{"chatd", "1"});
    CHECK(l.has_trailing);
    CHECK(l.trailing == "Bienvenido a chatd");

    REQUIRE(parse_server_line("USER ana disponible", l));
    CHECK(l.verb == "USER");
    CHECK(params_of(l) == Params{"ana", "disponible"});
    CHECK_FALSE(l.has_trailing);
    CHECK(l.trailing.empty());

    REQUIRE(parse_server_line("END USERS 3", l));
    CHECK(params_of(l) == Params{"USERS", "3"});

    REQUIRE(parse_server_line("MSG ana :hola: que tal  :x ", l));
    CHECK(params_of(l) == Params{"ana"});
    CHECK(l.trailing == "hola: que tal  :x ");

    REQUIRE(parse_server_line("PART ana :", l));
    CHECK(l.has_trailing);
    CHECK(l.trailing.empty());

    REQUIRE(parse_server_line("BYE ::)", l));
    CHECK(l.trailing == ":)");

    REQUIRE(parse_server_line("PROFILE ana id=7 status=a:b online=yes", l));
    CHECK(params_of(l) == Params{"ana", "id=7", "status=a:b", "online=yes"});

    REQUIRE(parse_server_line("PING", l));
    CHECK(l.verb == "PING");
    CHECK(l.params.empty());
    CHECK_FALSE(l.has_trailing);
}

TEST_CASE("parse_server_line: tolerance") {
    ServerLine l;
    CHECK_FALSE(parse_server_line("", l));
    CHECK_FALSE(parse_server_line("\r", l));
    CHECK_FALSE(parse_server_line("   ", l));

    REQUIRE(parse_server_line("JOIN  ana   ocupado  ", l));
    CHECK(l.verb == "JOIN");
    CHECK(params_of(l) == Params{"ana", "ocupado"});

    REQUIRE(parse_server_line("MSG ana :hi\r", l));
    CHECK(l.trailing == "hi");

    REQUIRE(parse_server_line("ERROR usage  :  spaced ", l));
    CHECK(params_of(l) == Params{"usage"});
    CHECK(l.trailing == "  spaced ");

    // A previous result is not carried over.
    REQUIRE(parse_server_line("A b :c", l));
    REQUIRE(parse_server_line("D e", l));
    CHECK(params_of(l) == Params{"e"});
    CHECK_FALSE(l.has_trailing);
}

TEST_CASE("append_line writes the exact wire form") {
    std::string out;
    append_line(out, "USER", {"ana", "disponible"});
    CHECK(out == "USER ana disponible\n");
    append_line(out, "PING", {});
    CHECK(out == "USER ana disponible\nPING\n");

    out.clear();
    append_line(out, "ERROR", {"usage", "msg"}, "uso: /msg <nick> <texto>");
    CHECK(out == "ERROR usage msg :uso: /msg <nick> <texto>\n");

    out.clear();
    append_line(out, "PART", {"ana"}, "");
    CHECK(out == "PART ana :\n");

    out.clear();
    append_line(out, "BYE", {}, "adiós");
    CHECK(out == "BYE :adiós\n");
}

TEST_CASE("append_line and parse_server_line round-trip") {
    struct Case {
        std::string verb;
        Params params;
        std::string trailing;
        bool has_trailing;
    };
    const std::vector<Case> cases{
        {"HELLO", {"chatd", "1"}, "hola", true},
        {"PRIV", {"ana", "Begoña"}, " two  spaces :and colons: ", true},
        {"HIST", {"2026-11-20T09:00:00Z", "ana", "*"}, "", true},
        {"END", {"HIST", "0"}, "", false},
        {"MSG", {"😀"}, "\t tab", true},
        {"PING", {}, "", false},
    };
    for (const auto& c : cases) {
        std::string out;
        if (c.has_trailing) {
            if (c.params.size() == 3) {
                append_line(out, c.verb, {c.params[0], c.params[1], c.params[2]}, c.trailing);
            } else if (c.params.size() == 2) {
                append_line(out, c.verb, {c.params[0], c.params[1]}, c.trailing);
            } else {
                append_line(out, c.verb, {c.params[0]}, c.trailing);
            }
        } else if (c.params.size() == 2) {
            append_line(out, c.verb, {c.params[0], c.params[1]});
        } else {
            append_line(out, c.verb, {});
        }
        INFO(out);
        REQUIRE(!out.empty());
        REQUIRE(out.back() == '\n');
        ServerLine l;
        REQUIRE(parse_server_line(std::string_view(out).substr(0, out.size() - 1), l));
        CHECK(l.verb == c.verb);
        CHECK(params_of(l) == c.params);
        CHECK(l.has_trailing == c.has_trailing);
        CHECK(l.trailing == c.trailing);
    }
}

TEST_CASE("format_time") {
    CHECK(format_time(0) == "-");
    CHECK(format_time(-5) == "-");
    CHECK(format_time(1) == "1970-01-01T00:00:01Z");
    CHECK(format_time(86399) == "1970-01-01T23:59:59Z");
    CHECK(format_time(951782400) == "2000-02-29T00:00:00Z");  // leap day of a /400 year
    CHECK(format_time(1234567890) == "2009-02-13T23:31:30Z");
    CHECK(format_time(1709164800) == "2024-02-29T00:00:00Z");
    CHECK(format_time(1795597200) == "2026-11-25T09:00:00Z");
    CHECK(format_time(4107542399) == "2100-02-28T23:59:59Z");  // 2100 is not a leap year
    CHECK(format_time(4107542400) == "2100-03-01T00:00:00Z");
    CHECK(format_time(253402300799) == "9999-12-31T23:59:59Z");
}

TEST_CASE("parse_time is the inverse of format_time") {
    std::int64_t t = -1;
    REQUIRE(parse_time("-", t));
    CHECK(t == 0);
    REQUIRE(parse_time("2009-02-13T23:31:30Z", t));
    CHECK(t == 1234567890);
    // Every day of several years, at varying times of day, round-trips.
    for (std::int64_t s = 1; s < 4200000000; s += 86400 * 7 + 3607) {
        const std::string f = format_time(s);
        std::int64_t back = 0;
        INFO(f);
        REQUIRE(parse_time(f, back));
        REQUIRE(back == s);
    }
    for (const char* bad :
         {"", "x", "2009-02-13 23:31:30Z", "2009-02-13T23:31:30", "2009-2-13T23:31:30Z",
          "2009-02-30T00:00:00Z", "2009-02-29T00:00:00Z", "2009-13-01T00:00:00Z", "2009-00-01T00:00:00Z",
          "2009-01-00T00:00:00Z", "2009-01-01T24:00:00Z", "2009-01-01T00:60:00Z", "2009-01-01T00:00:60Z",
          "2009-01-01T00:00:0xZ", "2009-01-01T00:00:00Z ", "--"}) {
        INFO(bad);
        CHECK_FALSE(parse_time(bad, t));
    }
    REQUIRE(parse_time("2024-02-29T12:00:00Z", t));
    CHECK(format_time(t) == "2024-02-29T12:00:00Z");
}
