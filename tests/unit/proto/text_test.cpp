#include "proto/text.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace chat::proto;
using namespace std::string_view_literals;

TEST_CASE("valid UTF-8 of every length is accepted") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("hola"));
    CHECK(is_valid_utf8("\x7F"));              // highest 1-byte (valid UTF-8, though a control)
    CHECK(is_valid_utf8("\xC2\x80"));          // U+0080, lowest 2-byte
    CHECK(is_valid_utf8("\xDF\xBF"));          // U+07FF
    CHECK(is_valid_utf8("\xE0\xA0\x80"));      // U+0800, lowest 3-byte
    CHECK(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xEE\x80\x80"));      // U+E000, just above them
    CHECK(is_valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
    CHECK(is_valid_utf8("\xF0\x90\x80\x80"));  // U+10000, lowest 4-byte
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the highest code point
    CHECK(is_valid_utf8("Begoña 日本語 😀"));
    CHECK(is_valid_utf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8 (but not clean text)
}

TEST_CASE("overlong forms are rejected") {
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));  // NUL as 2 bytes
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));  // '/' as 2 bytes
    CHECK_FALSE(is_valid_utf8("\xC1\xBF"));
    CHECK_FALSE(is_valid_utf8("\xE0\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));
    CHECK_FALSE(is_valid_utf8("\xE0\x9F\xBF"));  // U+07FF as 3 bytes
    CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));
    CHECK_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF as 4 bytes
}

TEST_CASE("surrogates and code points past U+10FFFF are rejected") {
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));              // U+D800
    CHECK_FALSE(is_valid_utf8("\xED\xAD\xBF"));              // U+DB7F
    CHECK_FALSE(is_valid_utf8("\xED\xB0\x80"));              // U+DC00
    CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));              // U+DFFF
    CHECK_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 style surrogate pair
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));          // U+110000
    CHECK_FALSE(is_valid_utf8("\xF4\xBF\xBF\xBF"));
    for (int b = 0xF5; b <= 0xFF; ++b) {
        std::string s(1, static_cast<char>(b));
        s += "\x80\x80\x80";
        CHECK_FALSE(is_valid_utf8(s));
    }
}

TEST_CASE("truncated sequences and stray continuation bytes are rejected") {
    CHECK_FALSE(is_valid_utf8("\xC3"));
    CHECK_FALSE(is_valid_utf8("ok\xC3"));  // truncated at the very end
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));
    CHECK_FALSE(is_valid_utf8("ok\xF0\x9F\x98"));
    CHECK_FALSE(is_valid_utf8("\xF0\x9F"));
    CHECK_FALSE(is_valid_utf8("\xE2\x82x"));  // continuation replaced by ASCII
    CHECK_FALSE(is_valid_utf8("\xC3\xC3\xB1"));
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8("a\xBF"));
    CHECK_FALSE(is_valid_utf8("\xC3\xB1\x80"));  // one continuation too many
    CHECK_FALSE(is_valid_utf8("\xFE"));
    CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("every 2-byte lead and every E0/ED/F0/F4 second byte follows the table") {
    for (int b0 = 0x80; b0 <= 0xFF; ++b0) {
        for (int b1 = 0x00; b1 <= 0xFF; ++b1) {
            std::string s{static_cast<char>(b0), static_cast<char>(b1), '\x80', '\x80'};
            bool expect;
            int lo = 0x80, hi = 0xBF;
            if (b0 == 0xE0) lo = 0xA0;
            if (b0 == 0xED) hi = 0x9F;
            if (b0 == 0xF0) lo = 0x90;
            if (b0 == 0xF4) hi = 0x8F;
            const bool second_ok = b1 >= lo && b1 <= hi;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                s.resize(2);
                expect = second_ok;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                s.resize(3);
                expect = second_ok;
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                expect = second_ok;
            } else {
                expect = false;
            }
            INFO("b0=" << b0 << " b1=" << b1);
            CHECK(is_valid_utf8(s) == expect);
        }
    }
}

TEST_CASE("decode_utf8 yields code points and advances one byte on an error") {
    std::string_view s = "a\xC3\xB1\xE2\x82\xAC\xF0\x9F\x98\x80";
    std::size_t i = 0;
    char32_t cp = 0;
    REQUIRE(decode_utf8(s, i, cp));
    CHECK(cp == U'a');
    CHECK(i == 1);
    REQUIRE(decode_utf8(s, i, cp));
    CHECK(cp == U'ñ');
    CHECK(i == 3);
    REQUIRE(decode_utf8(s, i, cp));
    CHECK(cp == U'€');
    CHECK(i == 6);
    REQUIRE(decode_utf8(s, i, cp));
    CHECK(cp == U'\U0001F600');
    CHECK(i == 10);
    CHECK_FALSE(decode_utf8(s, i, cp));  // at the end
    CHECK(i == 10);

    std::string_view bad = "\xE2\x82x";
    i = 0;
    CHECK_FALSE(decode_utf8(bad, i, cp));
    CHECK(i == 1);
    CHECK_FALSE(decode_utf8(bad, i, cp));
    CHECK(i == 2);
    REQUIRE(decode_utf8(bad, i, cp));
    CHECK(cp == U'x');
}

TEST_CASE("encode_utf8 round-trips through decode_utf8") {
    for (char32_t cp : {U'\0', U'A', U'\x7F', U'\x80', U'\x7FF', U'\x800', U'\xD7FF', U'\xE000', U'\xFFFD',
                        U'\xFFFF', U'\U00010000', U'\U0001F600', U'\U0010FFFF'}) {
        std::string s;
        encode_utf8(cp, s);
        std::size_t i = 0;
        char32_t back = 0;
        INFO("cp=" << static_cast<unsigned>(cp));
        REQUIRE(decode_utf8(s, i, back));
        CHECK(back == cp);
        CHECK(i == s.size());
        CHECK(is_valid_utf8(s));
    }
    std::string e;
    encode_utf8(U'\U0001F600', e);
    CHECK(e == "😀");
}

TEST_CASE("control characters make text unclean; TAB does not") {
    CHECK(is_clean_text(""));
    CHECK(is_clean_text("hola\tmundo"));
    CHECK(is_clean_text("ñ € 😀 \xC2\xA0"));  // U+00A0 is the first code point after C1
    CHECK_FALSE(is_clean_text(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_clean_text("\x1B[31mred"));
    CHECK_FALSE(is_clean_text("a\rb"));
    CHECK_FALSE(is_clean_text("a\nb"));
    CHECK_FALSE(is_clean_text("\x01"));
    CHECK_FALSE(is_clean_text("\x08"));
    CHECK_FALSE(is_clean_text("\x0B"));
    CHECK_FALSE(is_clean_text("\x1F"));
    CHECK_FALSE(is_clean_text("del\x7F"));
    CHECK_FALSE(is_clean_text("\xC2\x80"));   // U+0080
    CHECK_FALSE(is_clean_text("x\xC2\x85"));  // U+0085 NEL
    CHECK_FALSE(
        is_clean_text("\xC2\x9B"
                      "31m"));               // U+009B CSI
    CHECK_FALSE(is_clean_text("\xC2\x9F"));  // U+009F
    CHECK_FALSE(is_clean_text("\xC3"));      // invalid UTF-8 is never clean
    CHECK_FALSE(is_clean_text("\xC0\x80"));
    for (int c = 0; c < 0x20; ++c) {
        std::string s(1, static_cast<char>(c));
        CHECK(is_clean_text(s) == (c == '\t'));
    }
}

TEST_CASE("count_code_points") {
    CHECK(count_code_points("") == 0);
    CHECK(count_code_points("abc") == 3);
    CHECK(count_code_points("ñandú") == 5);
    CHECK(count_code_points("日本😀") == 3);
    CHECK(count_code_points("a\xFF\xFE"
                            "b") == 4);  // invalid bytes count one each
}

TEST_CASE("sanitize_text replaces invalid bytes and control characters with U+FFFD") {
    const std::string r = "\xEF\xBF\xBD";
    CHECK(sanitize_text("hola ñ 😀") == "hola ñ 😀");
    CHECK(sanitize_text("") == "");
    CHECK(sanitize_text("a\tb") == "a" + r + "b");
    CHECK(sanitize_text("\x1B[2J") == r + "[2J");
    CHECK(sanitize_text("x\xC2\x9B"
                        "1m") == "x" + r + "1m");
    CHECK(sanitize_text("\x7F") == r);
    CHECK(sanitize_text(std::string_view("\0", 1)) == r);
    CHECK(sanitize_text("a\xFF"
                        "b") == "a" + r + "b");
    CHECK(sanitize_text("\xC3") == r);
    CHECK(sanitize_text("\xE2\x82") == r + r);  // each invalid byte
    CHECK(sanitize_text("\xED\xA0\x80") == r + r + r);
    CHECK(sanitize_text("\xEF\xBF\xBD") == r);  // U+FFFD itself is kept
    // Whatever it gets, the result is clean text.
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    const std::string clean = sanitize_text(all);
    CHECK(is_clean_text(clean));
    CHECK(clean.find('\t') == std::string::npos);
}

TEST_CASE("is_blank") {
    CHECK(is_blank(""));
    CHECK(is_blank("   "));
    CHECK(is_blank(" \t \t"));
    CHECK_FALSE(is_blank(" x "));
    CHECK_FALSE(is_blank("\xC2\xA0"));  // a no-break space is not blank
    CHECK_FALSE(is_blank("\xE3\x80\x80"));
}
