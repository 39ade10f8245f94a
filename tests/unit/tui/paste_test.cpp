// Bracketed paste: what a paste inserts, the lines it sends, and their pace.
#include "tui/paste.hpp"

#include <doctest/doctest.h>

#include <string>

#include "env.hpp"
#include "tui/editor.hpp"

using namespace chat::tui;

TEST_CASE("a paste's newlines, TABs and control characters") {
    CHECK(normalize_paste(U"a\r\nb\rc\nd") == U"a\nb\nc\nd");
    CHECK(normalize_paste(U"x\ty") == U"x    y");  // a TAB is text, never completion
    CHECK(normalize_paste(U"e\x1b[31m\u0085!\x7f") == U"e[31m!");
    CHECK(normalize_paste(U"\r\r") == U"\n\n");
}

TEST_CASE("the lines a multi-line input sends: blank ones left out") {
    CHECK(paste_lines("uno\ndos\n\n  \ntres\n") == std::vector<std::string>{"uno", "dos", "tres"});
    CHECK(paste_lines("sola") == std::vector<std::string>{"sola"});
    CHECK(paste_lines("\n\n").empty());
}

TEST_CASE("the editor keeps a paste's lines, drawn with ↵; Backspace takes a newline like a character") {
    test_env();
    LineEditor ed;
    ed.insert("> ");
    ed.insert_paste(normalize_paste(U"uno\r\ndos\tx\r"));
    CHECK(ed.multiline());
    CHECK(ed.text() == "> uno\ndos    x\n");
    CHECK(ed.view(80).text == "> uno\u21B5dos    x\u21B5");
    CHECK(ed.cursor_column() == 2 + 3 + 1 + 3 + 4 + 1 + 1);
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "> uno\ndos    x");
    ed.set("plain");
    CHECK_FALSE(ed.multiline());
}

TEST_CASE("the pacer: a burst, then the rate, on a fake clock") {
    Pacer p(10, 20);
    std::int64_t now = 1'000'000;
    int sent = 0;
    while (p.take(now)) ++sent;
    CHECK(sent == 20);
    CHECK(p.wait_ms(now) == 100);
    CHECK_FALSE(p.take(now + 99));
    CHECK(p.take(now + 100));
    // One second gives ten more lines, never more than the burst however long it waits.
    now += 1100;
    sent = 0;
    while (p.take(now)) ++sent;
    CHECK(sent == 10);
    now += 3'600'000;
    sent = 0;
    while (p.take(now)) ++sent;
    CHECK(sent == 20);
    // Half the server's default budget (20 lines/s, bursts of 40).
    CHECK(Pacer::kRate * 2 == 20);
    CHECK(Pacer::kBurst * 2 == 40);
}
