#include "proto/names.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/text.hpp"

using namespace chat::proto;

namespace {
std::string cp_string(char32_t cp, std::size_t n = 1) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) encode_utf8(cp, s);
    return s;
}
// Appends in place: `"literal" + std::string` trips a GCC 12 -Wrestrict false positive.
std::string cat(std::string a, std::string_view b) {
    a.append(b);
    return a;
}
}  // namespace

TEST_CASE("nicks: ASCII rules") {
    CHECK(is_valid_nick("ana"));
    CHECK(is_valid_nick("Ana_2"));
    CHECK(is_valid_nick("a"));
    CHECK(is_valid_nick("9lives"));
    CHECK(is_valid_nick("_x"));
    CHECK(is_valid_nick("a-b.c"));
    CHECK_FALSE(is_valid_nick(""));
    CHECK_FALSE(is_valid_nick("-ana"));
    CHECK_FALSE(is_valid_nick(".ana"));
    CHECK_FALSE(is_valid_nick("ana maria"));
    CHECK_FALSE(is_valid_nick("ana\t"));
    CHECK_FALSE(is_valid_nick(":ana"));
    CHECK_FALSE(is_valid_nick("ana!"));
    CHECK_FALSE(is_valid_nick("a@b"));
    CHECK_FALSE(is_valid_nick("a/b"));
    CHECK_FALSE(is_valid_nick("*"));
}

TEST_CASE("nicks: accented, CJK and emoji are fine") {
    CHECK(is_valid_nick("Begoña"));
    CHECK(is_valid_nick("José"));
    CHECK(is_valid_nick("Ørjan"));
    CHECK(is_valid_nick("李小龙"));
    CHECK(is_valid_nick("ゆき"));
    CHECK(is_valid_nick("😀"));
    CHECK(is_valid_nick("ana😀"));
    CHECK(is_valid_nick("Ñ"));
    CHECK(is_valid_nick("\xC3\x80"));  // U+00C0, the first allowed non-ASCII
}

TEST_CASE("nicks: excluded non-ASCII ranges") {
    CHECK_FALSE(is_valid_nick("\xC2\xBF"));  // U+00BF, just below U+00C0
    CHECK_FALSE(
        is_valid_nick("a\xC2\xA0"
                      "b"));                 // U+00A0 no-break space
    CHECK_FALSE(is_valid_nick("\xC2\xAB"));  // «
    CHECK_FALSE(is_valid_nick(cat("a", cp_string(0x2000))));
    CHECK_FALSE(is_valid_nick(cat("a", cp_string(0x200B))));  // zero-width space
    CHECK_FALSE(is_valid_nick(cat("a", cp_string(0x202E))));  // right-to-left override
    CHECK_FALSE(is_valid_nick(cat("a", cp_string(0x206F))));
    CHECK(is_valid_nick(cat("a", cp_string(0x1FFF))));
    CHECK(is_valid_nick(cat("a", cp_string(0x2070))));
    CHECK_FALSE(is_valid_nick(cat("a", cp_string(0x3000))));  // ideographic space
    CHECK(is_valid_nick(cat("a", cp_string(0x3001))));
    CHECK_FALSE(is_valid_nick(cat(cp_string(0xFEFF), "a")));  // BOM
    CHECK(is_valid_nick(cp_string(0x10FFFF)));
}

TEST_CASE("nicks: control characters and invalid UTF-8 are refused") {
    CHECK_FALSE(is_valid_nick("a\x1B"));
    CHECK_FALSE(is_valid_nick("a\x7F"));
    CHECK_FALSE(is_valid_nick("a\xC2\x85"));
    CHECK_FALSE(is_valid_nick(std::string("a\0b", 3)));
    CHECK_FALSE(is_valid_nick("a\xC3"));
    CHECK_FALSE(is_valid_nick("\xC3\xB1\xFF"));
    CHECK_FALSE(is_valid_nick("\xC0\xA1"));      // overlong '!'... refused however decoded
    CHECK_FALSE(is_valid_nick("\xED\xA0\x80"));  // a surrogate is >= U+00C0 but not UTF-8
}

TEST_CASE("nicks: 32 code points is the limit, whatever the bytes") {
    CHECK(is_valid_nick(std::string(32, 'a')));
    CHECK_FALSE(is_valid_nick(std::string(33, 'a')));
    CHECK(is_valid_nick(cp_string(U'ñ', 32)));  // 64 bytes
    CHECK_FALSE(is_valid_nick(cp_string(U'ñ', 33)));
    CHECK(is_valid_nick(cp_string(U'\U0001F600', 32)));  // 128 bytes
    CHECK_FALSE(is_valid_nick(cp_string(U'\U0001F600', 33)));
    CHECK(is_valid_nick(cat(cp_string(U'日', 31), "x")));
    CHECK_FALSE(is_valid_nick(cat(cp_string(U'日', 32), "x")));
}

TEST_CASE("statuses: the nick rules without the first-character rule") {
    CHECK(is_valid_status("disponible"));
    CHECK(is_valid_status("en-reunión"));
    CHECK(is_valid_status("-"));
    CHECK(is_valid_status(".away"));
    CHECK(is_valid_status("-ocupado-"));
    CHECK(is_valid_status("🍕"));
    CHECK(is_valid_status(std::string(32, 'z')));
    CHECK_FALSE(is_valid_status(std::string(33, 'z')));
    CHECK_FALSE(is_valid_status(""));
    CHECK_FALSE(is_valid_status("a b"));
    CHECK_FALSE(is_valid_status(":x"));
    CHECK_FALSE(is_valid_status("busy!"));
    CHECK_FALSE(is_valid_status(cat("a", cp_string(0x3000))));
    CHECK_FALSE(is_valid_status("\xFF"));
}

TEST_CASE("fold_nick lowers ASCII letters only") {
    CHECK(fold_nick("Ana") == "ana");
    CHECK(fold_nick("ANA") == fold_nick("ana"));
    CHECK(fold_nick("A-Z_09.") == "a-z_09.");
    CHECK(fold_nick("BEGOÑA") == "begoÑa");
    CHECK(fold_nick("Begoña") != fold_nick("BEGOÑA"));
    CHECK(fold_nick("ÉMILE") == "Émile");
}

TEST_CASE("nick_less: bytes with ASCII letters lowered, a strict order") {
    CHECK(nick_less("ana", "Bob"));
    CHECK_FALSE(nick_less("Bob", "ana"));
    CHECK(nick_less("Ana", "anabel"));
    CHECK(nick_less("zoe", "Ñu"));  // non-ASCII bytes sort after ASCII letters
    CHECK(nick_less("_x", "a"));    // '_' (0x5F) is below 'a' (0x61) but above 'A' (0x41)
    CHECK(nick_less("_", "Z"));     // 'Z' sorts as 'z' (0x7A), after '_'
    CHECK_FALSE(nick_less("ana", "ana"));
    CHECK_FALSE(nick_less("", ""));
    CHECK(nick_less("", "a"));
    // Irreflexive and asymmetric even for names equal once folded.
    CHECK_FALSE(nick_less("Ana", "Ana"));
    CHECK(nick_less("Ana", "ana") != nick_less("ana", "Ana"));

    std::vector<std::string> roster{"zoe", "Ana", "_root", "bob", "Ñu", "Carlos", "9lives", "ana-b"};
    std::sort(roster.begin(), roster.end(), nick_less);
    CHECK(roster ==
          std::vector<std::string>{"9lives", "_root", "Ana", "ana-b", "bob", "Carlos", "zoe", "Ñu"});
}

TEST_CASE("tokens") {
    CHECK(is_valid_token("abc"));
    CHECK(is_valid_token("A.b_c-9"));
    CHECK(is_valid_token(std::string(32, 'x')));
    CHECK_FALSE(is_valid_token(std::string(33, 'x')));
    CHECK_FALSE(is_valid_token(""));
    CHECK_FALSE(is_valid_token("a b"));
    CHECK_FALSE(is_valid_token("a:b"));
    CHECK_FALSE(is_valid_token("ñ"));
    CHECK_FALSE(is_valid_token("a\t"));
    CHECK_FALSE(is_valid_token("a+b"));
}

TEST_CASE("is_param") {
    CHECK(is_param("ana"));
    CHECK(is_param("a:b"));
    CHECK(is_param("x\ty"));
    CHECK_FALSE(is_param(""));
    CHECK_FALSE(is_param(":x"));
    CHECK_FALSE(is_param("a b"));
    CHECK_FALSE(is_param(" "));
}
