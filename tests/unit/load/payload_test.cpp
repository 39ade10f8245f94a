#include "load/payload.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chat::load;

TEST_CASE("a payload round-trips sender, sequence and timestamp, padded to the size asked") {
    std::string s = "PRIVMSG #bench :";
    encode_payload(s, "Lab12", 4321, 987654321, 123456789012345678ULL, 64);
    const std::string text = s.substr(16);
    CHECK(text.size() == 64);
    const auto p = decode_payload(text);
    REQUIRE(p);
    CHECK(p->run == "Lab12");
    CHECK(p->sender == 4321);
    CHECK(p->seq == 987654321);
    CHECK(p->sent_ns == 123456789012345678ULL);
}

TEST_CASE("a size smaller than the header keeps the whole header") {
    std::string s;
    encode_payload(s, "r", 1, 2, 3, 1);
    CHECK(s == "@r:1:2:3;");
    CHECK(decode_payload(s));
}

TEST_CASE("payload text is clean one-line chat text that is not a command") {
    std::string s;
    encode_payload(s, "run_1", 7, 8, 9, 200);
    CHECK(s.find('\n') == std::string::npos);
    CHECK(s.find(' ') == std::string::npos);
    CHECK(s[0] != '/');
    CHECK(s[0] != '!');
}

TEST_CASE("ordinary chat and damaged payloads are not mistaken for load messages") {
    CHECK_FALSE(decode_payload("hola a todos"));
    CHECK_FALSE(decode_payload(""));
    CHECK_FALSE(decode_payload("@"));
    CHECK_FALSE(decode_payload("@run:1:2;"));
    CHECK_FALSE(decode_payload("@run:1:2:3"));   // no ';'
    CHECK_FALSE(decode_payload("@r n:1:2:3;"));  // bad run tag
    CHECK_FALSE(decode_payload("@run:x:2:3;"));
    CHECK_FALSE(decode_payload("@run:4294967296:2:3;"));  // sender above 32 bits
    CHECK(decode_payload("@run:4294967295:2:3;"));
}

TEST_CASE("run tags") {
    CHECK(is_valid_run_tag("Lk3f2a"));
    CHECK(is_valid_run_tag("p_0"));
    CHECK_FALSE(is_valid_run_tag(""));
    CHECK_FALSE(is_valid_run_tag("a-b"));
    CHECK_FALSE(is_valid_run_tag("12345678901234567"));
}
