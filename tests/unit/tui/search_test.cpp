// /buscar: hits in the window shown, newest first, stepping, the scroll that
// shows a hit, and the highlighted pieces.
#include "tui/search.hpp"

#include <doctest/doctest.h>

#include <string>

#include "online.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;

Model with_lines() {
    Model m = logged_in_model("ana", kNow);
    m.apply("MSG bea :una MANZANA roja", kNow);
    for (int i = 0; i < 10; ++i) m.apply("MSG bea :relleno " + std::to_string(i), kNow);
    m.apply("MSG carlos :manzana verde y manzana amarilla", kNow);
    m.apply("PRIV bea ana :manzana en privado", kNow);  // another window
    for (int i = 0; i < 3; ++i) m.apply("MSG bea :más " + std::to_string(i), kNow);
    return m;
}

}  // namespace

TEST_CASE("find_all ignores ASCII case and does not overlap") {
    CHECK(find_all("Manzana manzana MANZANA", "manzana") == std::vector<std::size_t>{0, 8, 16});
    CHECK(find_all("aaaa", "aa") == std::vector<std::size_t>{0, 2});
    CHECK(find_all("nada", "x").empty());
    CHECK(find_all("algo", "").empty());
}

TEST_CASE("a search: hits of the window shown, newest first, each shown at the bottom") {
    Model m = with_lines();
    REQUIRE(m.search("manzana"));
    const Search& s = m.search_state();
    CHECK(s.hits.size() == 2);  // not the private one: it is in Begoña's window
    CHECK(s.at == 0);
    CHECK(m.scroll_offset() == 3);  // the three "más" lines below the newest hit
    m.search_step(1);
    CHECK(m.search_state().at == 1);
    CHECK(m.scroll_offset() == 3 + 1 + 10);
    m.search_step(1);  // stays at the oldest
    CHECK(m.search_state().at == 1);
    m.search_step(-1);
    CHECK(m.scroll_offset() == 3);
    CHECK_FALSE(m.search("pera"));
    CHECK_FALSE(m.search_state().hits.size());
    // In the conversation's window, only its lines.
    m.select_window(1);
    CHECK_FALSE(m.search_state().active());
    REQUIRE(m.search("MANZANA"));
    CHECK(m.search_state().hits.size() == 1);
    m.end_search();
    CHECK_FALSE(m.search_state().active());
}

TEST_CASE("the highlighted pieces: every occurrence, never in the time") {
    const std::vector<Span> spans = {{"12:00 ", Style::Time, {}},
                                     {"<carlos>", Style::Nick, "carlos"},
                                     {" Manzana verde y manzana", Style::Text, {}}};
    const auto out = mark_found(spans, "manzana");
    std::string joined;
    int found = 0;
    for (const Span& s : out) {
        joined += s.text;
        if (s.style == Style::Found) {
            ++found;
            CHECK(find_all(s.text, "manzana") == std::vector<std::size_t>{0});
        }
    }
    CHECK(found == 2);
    CHECK(joined == "12:00 <carlos> Manzana verde y manzana");
    CHECK(mark_found({{"12:00 ", Style::Time, {}}}, "12").front().style == Style::Time);
}
