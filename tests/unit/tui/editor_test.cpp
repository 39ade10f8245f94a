#include <doctest/doctest.h>

#include <string>

#include "env.hpp"
#include "tui/editor.hpp"
#include "tui/width.hpp"

using namespace chat::tui;

namespace {

LineEditor typed(std::string_view s) {
    test_env();
    LineEditor ed;
    ed.insert(s);
    return ed;
}

}  // namespace

TEST_CASE("columns: ASCII and Latin 1, CJK and emoji 2, combining marks 0") {
    test_env();
    CHECK(cell_width(U'a', true) == 1);
    CHECK(cell_width(U'ñ', true) == 1);
    CHECK(cell_width(U'中', true) == 2);
    CHECK(cell_width(U'😀', true) == 2);
    CHECK(cell_width(U'\u0301', true) == 0);
    CHECK(cell_width(U'\x1b', true) == 1);  // drawn as '?'
    CHECK_FALSE(drawable(U'\x1b', true));
    CHECK_FALSE(drawable(U'\u0085', true));
    // A terminal that is not UTF-8 gets '?' for every non-ASCII character.
    CHECK_FALSE(drawable(U'ñ', false));
    CHECK(cell_width(U'中', false) == 1);
    CHECK(text_width("ñandú 😀", true) == 8);
    CHECK(text_width("ñandú 😀", false) == 7);
}

TEST_CASE("typing inserts at the cursor; control characters are not inserted") {
    LineEditor ed = typed("hola");
    CHECK(ed.text() == "hola");
    CHECK(ed.cursor() == 4);
    ed.press(EditKey::Home);
    ed.insert(U'¡');
    CHECK(ed.text() == "¡hola");
    CHECK(ed.cursor_byte() == 2);
    ed.insert(U'\x1b');
    ed.insert(U'\x7f');
    ed.insert(U'\u0090');
    ed.insert("\x07\xff");
    CHECK(ed.text() == "¡hola");
}

TEST_CASE("Left, Right, Home, End stop at the ends") {
    LineEditor ed = typed("ab");
    ed.press(EditKey::Right);
    CHECK(ed.cursor() == 2);
    ed.press(EditKey::Left);
    ed.press(EditKey::Left);
    ed.press(EditKey::Left);
    CHECK(ed.cursor() == 0);
    ed.press(EditKey::End);
    CHECK(ed.cursor() == 2);
    ed.press(EditKey::Home);
    CHECK(ed.cursor() == 0);
}

TEST_CASE("Backspace and Delete erase one character, at the ends nothing") {
    LineEditor ed = typed("ñandú");
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "ñand");
    ed.press(EditKey::Home);
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "ñand");
    ed.press(EditKey::Delete);
    CHECK(ed.text() == "and");
    ed.press(EditKey::End);
    ed.press(EditKey::Delete);
    CHECK(ed.text() == "and");
}

TEST_CASE("Ctrl-U, Ctrl-K and Ctrl-W") {
    LineEditor ed = typed("hola Begoña qué tal");
    ed.press(EditKey::KillWord);
    CHECK(ed.text() == "hola Begoña qué ");
    ed.press(EditKey::KillWord);  // the spaces before the cursor go with the word
    CHECK(ed.text() == "hola Begoña ");
    ed.press(EditKey::Left);
    ed.press(EditKey::Left);
    ed.press(EditKey::KillEnd);
    CHECK(ed.text() == "hola Begoñ");
    ed.press(EditKey::Left);
    ed.press(EditKey::KillStart);
    CHECK(ed.text() == "ñ");
    CHECK(ed.cursor() == 0);
    ed.press(EditKey::KillWord);
    CHECK(ed.text() == "ñ");
}

TEST_CASE("wide characters and emoji take two columns and move as one") {
    LineEditor ed = typed("a中😀b");
    CHECK(ed.width() == 6);
    CHECK(ed.cursor_column() == 6);
    ed.press(EditKey::Left);
    CHECK(ed.cursor_column() == 5);
    ed.press(EditKey::Left);
    CHECK(ed.cursor_column() == 3);
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "a😀b");
    CHECK(ed.cursor_column() == 1);
    ed.press(EditKey::Delete);
    CHECK(ed.text() == "ab");
}

TEST_CASE("a combining mark moves and erases with its base character") {
    LineEditor ed = typed("cafe\u0301!");  // "café" with a combining acute accent
    CHECK(ed.width() == 5);
    ed.press(EditKey::Left);
    ed.press(EditKey::Left);
    CHECK(ed.cursor_byte() == 3);  // before the "e", not between it and its accent
    ed.press(EditKey::Right);
    CHECK(ed.cursor_byte() == 6);
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "caf!");
    ed.set("cafe\u0301", 3);
    ed.press(EditKey::Delete);
    CHECK(ed.text() == "caf");
}

TEST_CASE("set puts the cursor at a byte offset, clamped") {
    test_env();
    LineEditor ed;
    ed.set("ñandú", 2);
    CHECK(ed.cursor() == 1);
    ed.set("ñandú");
    CHECK(ed.cursor() == 5);
    ed.set("ab", 99);
    CHECK(ed.cursor() == 2);
    ed.set({});
    CHECK(ed.empty());
}

TEST_CASE("the view keeps the cursor inside the field and never splits a wide character") {
    LineEditor ed = typed("0123456789abcdefghij");
    auto v = ed.view(10);
    CHECK(v.cursor_col <= 9);
    CHECK(v.text.back() == 'j');
    ed.press(EditKey::Home);
    v = ed.view(10);
    CHECK(v.cursor_col == 0);
    CHECK(v.text == "0123456789");

    LineEditor wide = typed("中中中中中中中中");  // 16 columns
    for (int cols : {5, 6, 7}) {
        v = wide.view(cols);
        CHECK(v.cursor_col < cols);
        CHECK(text_width(v.text, true) <= cols);
    }
    wide.press(EditKey::Home);
    v = wide.view(5);
    CHECK(v.text == "中中");
}

TEST_CASE("history walks back and forth and keeps the line being typed") {
    History h;
    h.add("uno");
    h.add("dos");
    h.add("dos");  // a repeat is kept once
    h.add("");
    CHECK(h.size() == 2);
    CHECK(h.up("borrador") == "dos");
    CHECK(h.up("dos") == "uno");
    CHECK_FALSE(h.up("uno").has_value());
    CHECK(h.down() == "dos");
    CHECK(h.down() == "borrador");
    CHECK_FALSE(h.down().has_value());
    h.add("tres");
    CHECK(h.up("") == "tres");
    h.reset();
    CHECK(h.up("") == "tres");
}

TEST_CASE("the history keeps at most its limit, dropping the oldest") {
    History h(2);
    h.add("a");
    h.add("b");
    h.add("c");
    CHECK(h.up("") == "c");
    CHECK(h.up("") == "b");
    CHECK_FALSE(h.up("").has_value());
}

TEST_CASE("Tab completes nicks, ignoring ASCII case") {
    const std::vector<std::string> nicks = {"ana", "Begoña", "bob", "ñandú"};
    Completer c;
    auto r = c.complete("beg", 3, nicks);
    REQUIRE(r);
    CHECK(r->text == "Begoña: ");  // addressed at the start of a line
    CHECK(r->cursor_byte == r->text.size());
    c.reset();
    r = c.complete("hola ña", 8, nicks);
    REQUIRE(r);
    CHECK(r->text == "hola ñandú ");
    c.reset();
    CHECK_FALSE(c.complete("hola zz", 7, nicks));
    CHECK_FALSE(c.complete("hola ", 5, nicks));
}

TEST_CASE("Tab after '!' completes the private message's nick") {
    const std::vector<std::string> nicks = {"ana", "Begoña"};
    Completer c;
    auto r = c.complete("!b", 2, nicks);
    REQUIRE(r);
    CHECK(r->text == "!Begoña ");
    c.reset();
    r = c.complete("/msg a", 6, nicks);
    REQUIRE(r);
    CHECK(r->text == "/msg ana ");
}

TEST_CASE("Tab completes command names, and repeated Tabs cycle through the matches") {
    Completer c;
    auto r = c.complete("/es", 3, {});
    REQUIRE(r);
    CHECK(r->text == "/estado ");
    c.reset();
    r = c.complete("/HIS", 4, {});
    REQUIRE(r);
    CHECK(r->text == "/historial ");
    r = c.complete(r->text, r->cursor_byte, {});
    REQUIRE(r);
    CHECK(r->text == "/history ");
    r = c.complete(r->text, r->cursor_byte, {});
    CHECK(r->text == "/historial ");
    c.reset();
    r = c.complete("/cl", 3, {});
    REQUIRE(r);
    CHECK(r->text == "/clave ");  // protocol 2's password change comes first
    r = c.complete(r->text, r->cursor_byte, {});
    REQUIRE(r);
    CHECK(r->text == "/clear ");  // the client's own command too
    c.reset();
    r = c.complete("/regi", 5, {});
    REQUIRE(r);
    CHECK(r->text == "/register ");
    r = c.complete(r->text, r->cursor_byte, {});
    CHECK(r->text == "/registrar ");
    c.reset();
    CHECK_FALSE(c.complete("/zz", 3, {}));
}

TEST_CASE("completion keeps the text after the cursor") {
    Completer c;
    auto r = c.complete("hola an que tal", 7, {"ana"});
    REQUIRE(r);
    CHECK(r->text == "hola ana que tal");
    CHECK(r->cursor_byte == 8);
}

TEST_CASE("wipe empties the line; reset forgets the draft of a walk") {
    LineEditor ed = typed("/clave secreto-largo");
    ed.wipe();
    CHECK(ed.empty());
    CHECK(ed.text().empty());
    CHECK(ed.cursor() == 0);

    History h;
    h.add("hola");
    CHECK(h.up("/clave secreto-largo") == "hola");
    h.reset();  // Enter: the line on screen was sent (and, holding a password, not recorded)
    CHECK_FALSE(h.down());
    CHECK(h.up("") == "hola");
    CHECK(h.down() == "");  // the draft is the new, empty line, not the old one
}
