#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "env.hpp"
#include "proto/text.hpp"
#include "tui/layout.hpp"
#include "tui/width.hpp"

using namespace chat::tui;

namespace {

std::string row_text(const Row& r) {
    std::string s;
    for (const Cell& c : r) s += c.text;
    return s;
}

}  // namespace

TEST_CASE("a short entry is one row; a long one wraps at a space with an indent") {
    test_env();
    const std::vector<Span> spans = {{"12:00 ", Style::Time, {}},
                                     {"<ana>", Style::Nick, "ana"},
                                     {" uno dos tres cuatro", Style::Text, {}}};
    auto rows = wrap_spans(spans, 40, 6, true);
    REQUIRE(rows.size() == 1);
    CHECK(row_text(rows[0]) == "12:00 <ana> uno dos tres cuatro");
    CHECK(rows[0][6].span == 1);

    rows = wrap_spans(spans, 20, 6, true);
    REQUIRE(rows.size() == 2);
    CHECK(row_text(rows[0]) == "12:00 <ana> uno dos");
    CHECK(row_text(rows[1]) == "      tres cuatro");
    for (const Row& r : rows) CHECK(row_width(r) <= 20);
}

TEST_CASE("wide characters never straddle the edge; every row fits") {
    test_env();
    const std::vector<Span> spans = {{"中中中中中中中中中中😀😀", Style::Text, {}}};
    const auto rows = wrap_spans(spans, 7, 0, true);
    REQUIRE(rows.size() == 4);
    for (const Row& r : rows) CHECK(row_width(r) <= 7);
    CHECK(row_text(rows[0]) == "中中中");
    CHECK(row_text(rows[3]) == "中😀😀");
}

TEST_CASE("what cannot be drawn becomes '?'") {
    test_env();
    const std::vector<Span> spans = {{std::string("a\x1b[31m\xff") + "ñ", Style::Text, {}}};
    auto rows = wrap_spans(spans, 80, 0, true);
    REQUIRE(rows.size() == 1);
    CHECK(row_text(rows[0]) == "a?[31m?ñ");
    rows = wrap_spans(spans, 80, 0, false);  // a terminal that is not UTF-8
    CHECK(row_text(rows[0]) == "a?[31m??");
}

TEST_CASE("combining marks stay on their base character") {
    test_env();
    const auto rows = wrap_spans({{"cafe\u0301", Style::Text, {}}}, 4, 0, true);
    REQUIRE(rows.size() == 1);
    CHECK(row_width(rows[0]) == 4);
    CHECK(row_text(rows[0]) == "cafe\u0301");
}

namespace {
StatusParts status(std::string server, std::string nick, std::string state, std::string window,
                   std::string extra = {}) {
    StatusParts p;
    p.server = std::move(server);
    p.nick = std::move(nick);
    p.online = state == "online";
    p.state = std::move(state);
    p.window = std::move(window);
    p.extra = std::move(extra);
    return p;
}
}  // namespace

TEST_CASE("status bar: everything when it fits; the server, then \"online\", go first when narrow") {
    const StatusParts p = status("chatd 127.0.0.1:26210 TLSv1.3", "ana (disponible)", "online", "[2:Begoña] [Act: 3!]");
    const std::string all = " chatd 127.0.0.1:26210 TLSv1.3 | ana (disponible) | online | [2:Begoña] [Act: 3!]";
    CHECK(status_text(p, 100, true) == all);
    CHECK(status_text(p, text_width(all, true), true) == all);
    CHECK(status_text(p, 60, true) == " ana (disponible) | online | [2:Begoña] [Act: 3!]");
    CHECK(status_text(p, 40, true) == " ana (disponible) | [2:Begoña] [Act: 3!]");
    // Narrower still: the rest is cut by whoever draws it, the nick first on the left.
    CHECK(status_text(p, 20, true) == " ana (disponible) | [2:Begoña] [Act: 3!]");
}

TEST_CASE("status bar: a state that says more than online stays, however narrow") {
    const StatusParts p = status("chatd 127.0.0.1:5000", "", "reconnecting in 3 s", "[Act: 2]");
    CHECK(status_text(p, 80, true) == " chatd 127.0.0.1:5000 | reconnecting in 3 s | [Act: 2]");
    CHECK(status_text(p, 30, true) == " reconnecting in 3 s | [Act: 2]");
    CHECK(status_text(p, 10, true) == " reconnecting in 3 s | [Act: 2]");
}

TEST_CASE("status bar: search and notes come last") {
    const StatusParts p = status("", "ana (ocupado)", "online", "", "scrolled, 4 new below");
    CHECK(status_text(p, 80, true) == " ana (ocupado) | online | scrolled, 4 new below");
}
