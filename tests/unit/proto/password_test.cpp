#include "proto/password.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "proto/command.hpp"

using namespace chat::proto;
using namespace std::string_view_literals;

TEST_CASE("password length: 8 to 128 bytes") {
    CHECK_FALSE(is_valid_password(""));
    CHECK_FALSE(is_valid_password(std::string(7, 'a')));
    CHECK(is_valid_password(std::string(8, 'a')));
    CHECK(is_valid_password(std::string(128, 'a')));
    CHECK_FALSE(is_valid_password(std::string(129, 'a')));
    CHECK_FALSE(is_valid_password(std::string(4096, 'a')));
}

TEST_CASE("password length counts bytes, not code points") {
    const std::string enye = "\xC3\xB1";            // ñ, 2 bytes
    const std::string emoji = "\xF0\x9F\x98\x80";  // 😀, 4 bytes
    CHECK_FALSE(is_valid_password(enye + enye + enye));  // 6 bytes
    CHECK(is_valid_password(enye + enye + enye + enye));  // 4 code points, 8 bytes
    CHECK(is_valid_password(emoji + emoji));              // 2 code points, 8 bytes
    CHECK_FALSE(is_valid_password("abc" + enye + "d"));   // 6 bytes
    CHECK_FALSE(is_valid_password("abcd" + enye));        // 6 bytes
    CHECK(is_valid_password("abcdef" + enye));            // 8 bytes

    // 128 bytes ending in a multibyte character; one byte more is too long.
    CHECK(is_valid_password(std::string(126, 'a') + enye));
    CHECK_FALSE(is_valid_password(std::string(127, 'a') + enye));
    CHECK(is_valid_password(std::string(124, 'a') + emoji));
    CHECK_FALSE(is_valid_password(std::string(125, 'a') + emoji));
    std::string emojis;
    for (int i = 0; i < 32; ++i) emojis += emoji;
    CHECK(emojis.size() == 128);
    CHECK(is_valid_password(emojis));
    CHECK_FALSE(is_valid_password(emojis + "a"));
    // 7 ASCII bytes and one multibyte character: 9 or 10 bytes, fine.
    CHECK(is_valid_password("1234567" + enye));
    CHECK(is_valid_password("1234567\xE2\x82\xAC"));  // €
}

TEST_CASE("a multibyte character cut at the byte limit is invalid UTF-8") {
    CHECK_FALSE(is_valid_password(std::string(127, 'a') + "\xC3"));      // 128 bytes, truncated ñ
    CHECK_FALSE(is_valid_password(std::string(126, 'a') + "\xF0\x9F"));  // 128 bytes, truncated 😀
    CHECK_FALSE(is_valid_password(std::string(7, 'a') + "\xE2"));        // 8 bytes, truncated €
}

TEST_CASE("password text: spaces") {
    CHECK(is_valid_password("correct horse battery staple"));
    CHECK(is_valid_password("a       "));         // trailing spaces are kept and count
    CHECK(is_valid_password("abcdefg "));         // 8 bytes with its trailing space
    CHECK_FALSE(is_valid_password("abcdef "));    // 7 bytes
    CHECK(is_valid_password("abc    defgh"));     // several spaces inside
    CHECK_FALSE(is_valid_password(" abcdefgh"));  // leading space
    CHECK_FALSE(is_valid_password("  abcdefgh"));
    CHECK_FALSE(is_valid_password(std::string(8, ' ')));
    CHECK_FALSE(is_valid_password(std::string(128, ' ')));
    CHECK(is_valid_password(std::string(1, 'x') + std::string(127, ' ')));
}

TEST_CASE("password text: TAB is allowed, even first") {
    CHECK(is_valid_password("abc\tdefgh"));
    CHECK(is_valid_password("\tabcdefg"));
    CHECK(is_valid_password("abcdefg\t"));
    CHECK(is_valid_password("\t\t\t\t\t\t\t\t"));  // only a space may not begin it
}

TEST_CASE("password text: control characters are refused") {
    CHECK_FALSE(is_valid_password("abc\x1B[31mdef"));                   // ESC
    CHECK_FALSE(is_valid_password("\x1B" "abcdefgh"));
    CHECK_FALSE(is_valid_password(std::string_view("abcd\0efgh", 9)));  // NUL
    CHECK_FALSE(is_valid_password("abcd\refgh"));                       // CR inside
    CHECK_FALSE(is_valid_password("abcd\nefgh"));                       // LF
    CHECK_FALSE(is_valid_password("abcd\x7F" "efgh"));                  // DEL
    CHECK_FALSE(is_valid_password("abcd\xC2\x80" "efgh"));              // U+0080, C1
    CHECK_FALSE(is_valid_password("abcd\xC2\x9B" "efgh"));              // U+009B, CSI
    CHECK(is_valid_password("abcd\xC2\xA0" "efgh"));                    // U+00A0, not a control
}

TEST_CASE("password text: invalid UTF-8 is refused") {
    CHECK_FALSE(is_valid_password("abcdefg\xFF"));
    CHECK_FALSE(is_valid_password("abcd\xC0\xAF" "efgh"));      // overlong '/'
    CHECK_FALSE(is_valid_password("abcd\xED\xA0\x80" "efgh"));  // surrogate
    CHECK_FALSE(is_valid_password("abcd\xF4\x90\x80\x80" "e"));  // past U+10FFFF
    CHECK_FALSE(is_valid_password("abcd\x80" "efgh"));          // lone continuation byte
}

TEST_CASE("password_argument: the rest of the line from the first non-space after the word") {
    CHECK(password_argument("/registrar secreto1") == "secreto1");
    CHECK(password_argument("/registrar    secreto1") == "secreto1");
    CHECK(password_argument("/registrar secreto1   ") == "secreto1   ");
    CHECK(password_argument("/clave mi  clave  larga ") == "mi  clave  larga ");
    CHECK(password_argument("/password \tpass\t") == "\tpass\t");  // TAB is not a separator
    CHECK(password_argument("/registrar") == ""sv);
    CHECK(password_argument("/registrar   ") == ""sv);
    CHECK(password_argument("/REGISTRAR x") == "x");
    CHECK(password_argument("/registrar\tsecreto1") == ""sv);  // "registrar\tsecreto1" is the word
}

TEST_CASE("password_argument views into the line") {
    const std::string line = "/clave  abcdefgh ";
    const std::string_view arg = password_argument(line);
    REQUIRE(arg.size() == 9);
    CHECK(arg.data() == line.data() + 8);
}

TEST_CASE("password_argument splits as parse_command splits a quit reason") {
    for (std::string_view rest : {"", " ", "   ", "x", " x", "x ", "  a b  c  ", "\t", " \t ", "a\tb "}) {
        CAPTURE(rest);
        const std::string quit = "/quit" + std::string(rest);
        const std::string reg = "/registrar" + std::string(rest);
        CHECK(password_argument(reg) == parse_command(quit).text);
    }
}
