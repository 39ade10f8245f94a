// Windows: private conversations routed to their own window, the hotlist
// (unread vs for me), the marker, switching, and what typing in a query sends.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "online.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;

Model online() {
    Model m = logged_in_model("ana", kNow);
    m.apply("USER ana disponible", kNow);
    m.apply("USER Begoña disponible", kNow);
    m.apply("END USERS 2", kNow);
    m.apply("END HIST 0", kNow);
    return m;
}

std::vector<std::string> shown_texts(const Model& m) {
    std::vector<std::string> out;
    for (const LogEntry& e : m.log()) {
        if (m.shown(e)) out.push_back(e.text);
    }
    return out;
}

}  // namespace

TEST_CASE("a private message opens its window; public lines stay in the room") {
    Model m = online();
    CHECK(m.windows().size() == 1);
    m.apply("MSG Begoña :hola a todos", kNow);
    m.apply("PRIV Begoña ana :¿comemos?", kNow);
    REQUIRE(m.windows().size() == 2);
    CHECK(m.windows().at(1).name == "Begoña");
    CHECK(m.windows().current() == 0);
    const auto room = shown_texts(m);
    CHECK(std::find(room.begin(), room.end(), "hola a todos") != room.end());
    CHECK(std::find(room.begin(), room.end(), "¿comemos?") == room.end());
    // What I send to Begoña goes to the same window, whatever the case of the nick.
    m.apply("PRIV ana BEGOña :vale", kNow);
    CHECK(m.windows().size() == 2);
    m.select_window(1);
    CHECK(shown_texts(m) == std::vector<std::string>{"¿comemos?", "vale"});
    // A /historial answer is a listing: it stays where it was asked for, in the room.
    m.select_window(0);
    m.apply("HIST 2025-11-24T10:00:00Z Begoña ana :viejo", kNow);
    CHECK(m.log().back().window.empty());
}

TEST_CASE("the hotlist: unread windows, and ! for what is for me") {
    Model m = online();
    m.open_query("carlos", kNow);
    CHECK(m.windows().current() == 1);
    CHECK(m.windows().hotlist().empty());
    m.apply("MSG Begoña :nada especial", kNow);
    CHECK(m.windows().hotlist() == "Act: 1");
    m.apply("MSG Begoña :ana: mira esto", kNow);
    CHECK(m.windows().hotlist() == "Act: 1!");
    m.apply("PRIV Begoña ana :psst", kNow);  // a third window
    CHECK(m.windows().hotlist() == "Act: 1!,3!");
    // Joins, status changes and my own lines are no activity.
    m.apply("JOIN dani disponible", kNow);
    m.apply("PRIV ana carlos :hola carlos", kNow);  // shown: no count
    CHECK(m.windows().hotlist() == "Act: 1!,3!");
    m.select_window(0);
    CHECK(m.windows().hotlist() == "Act: 3!");
    m.next_window(-1);  // wraps around to the last
    CHECK(m.windows().current() == 2);
    CHECK(m.windows().hotlist().empty());
    m.next_window(1);
    CHECK(m.windows().current() == 0);
}

TEST_CASE("the marker stays where I left a window") {
    Model m = online();
    m.apply("MSG Begoña :uno", kNow);
    const std::uint64_t seen = m.log().back().seq;
    m.open_query("Begoña", kNow);
    CHECK(m.windows().at(0).marker == seen);
    m.apply("MSG Begoña :dos", kNow);
    m.select_window(0);
    // The room's marker is after "uno": "dos" is below it.
    CHECK(m.windows().shown().marker == seen);
    CHECK(m.log().back().seq > seen);
}

TEST_CASE("typing in a query window sends to that person; commands go as typed") {
    Model m = online();
    CHECK(m.outgoing("hola") == "hola");
    m.open_query("Begoña", kNow);
    CHECK(m.outgoing("hola") == "/msg Begoña hola");
    CHECK(m.outgoing("/estado ocupado") == "/estado ocupado");
    m.apply("PRIV BEGOña ana :hi", kNow);  // the server's spelling from now on
    CHECK(m.outgoing("x") == "/msg BEGOña x");
    CHECK(m.close_window());
    CHECK(m.windows().size() == 1);
    CHECK_FALSE(m.close_window());
    CHECK(m.outgoing("hola") == "hola");
}

TEST_CASE("no-such-user for a line typed in a query window is shown in that window") {
    Model m = online();
    m.open_query("Begoña", kNow);
    m.apply("ERROR no-such-user Begoña :no such user online", kNow);
    const auto here = shown_texts(m);
    CHECK(std::any_of(here.begin(), here.end(),
                      [](const std::string& t) { return t.find("no-such-user Begoña") != std::string::npos; }));
    m.apply("ERROR no-such-user zoe :no such user online", kNow);  // no window for zoe: the room
    m.select_window(0);
    const auto room = shown_texts(m);
    CHECK(std::any_of(room.begin(), room.end(),
                      [](const std::string& t) { return t.find("no-such-user zoe") != std::string::npos; }));
    CHECK(std::none_of(room.begin(), room.end(),
                       [](const std::string& t) { return t.find("no-such-user Begoña") != std::string::npos; }));
}

TEST_CASE("scrolling counts only the window shown; lines elsewhere do not move it") {
    Model m = online();
    for (int i = 0; i < 30; ++i) m.apply("MSG Begoña :línea " + std::to_string(i), kNow);
    m.scroll_up(5);
    CHECK(m.scroll_offset() == 5);
    m.apply("PRIV Begoña ana :psst", kNow);  // another window
    CHECK(m.scroll_offset() == 5);
    CHECK(m.unread() == 0);
    m.apply("MSG Begoña :nueva", kNow);
    CHECK(m.scroll_offset() == 6);
    CHECK(m.unread() == 1);
    m.select_window(1);
    CHECK(m.scroll_offset() == 0);
    m.clear_log();  // only this window's lines
    CHECK(shown_texts(m).empty());
    m.select_window(0);
    CHECK(shown_texts(m).size() > 30);
}

TEST_CASE("/query to someone offline says so in the new window; not for someone online") {
    Model m = online();
    m.open_query("zoe", kNow);
    auto here = shown_texts(m);
    REQUIRE(here.size() == 1);
    CHECK(here[0] == "zoe is not online: what you type here is refused until zoe logs in");
    m.open_query("Begoña", kNow);
    CHECK(shown_texts(m).empty());
    m.open_query("zoe", kNow);  // open already: no second warning
    CHECK(shown_texts(m).size() == 1);
    m.select_window(0);
    for (const std::string& t : shown_texts(m)) CHECK(t.find("not online") == std::string::npos);
}

TEST_CASE("a private message typed in the room shows that conversation's window") {
    Model m = online();
    m.follow_private(m.outgoing("!Begoña ¿comemos?"), kNow);
    CHECK(m.windows().shown().name == "Begoña");
    m.apply("PRIV ana Begoña :¿comemos?", kNow);
    CHECK(shown_texts(m) == std::vector<std::string>{"¿comemos?"});
    // In her window, "!dani hola" is text for Begoña, not a message to dani.
    const std::string out = m.outgoing("!dani hola");
    CHECK(out == "/msg Begoña !dani hola");
    m.follow_private(out, kNow);
    CHECK(m.windows().shown().name == "Begoña");
    m.select_window(0);
    m.follow_private(m.outgoing("/msg BEGOña otra"), kNow);  // any case: the same window
    CHECK(m.windows().current() == 1);
    CHECK(m.windows().size() == 2);
    // Not a private message, or an incomplete one: nothing moves.
    m.select_window(0);
    for (const char* line : {"hola", "!Begoña", "/msg", "!!Begoña hi", "/estado ocupado", "!bad,nick hi"}) {
        m.follow_private(m.outgoing(line), kNow);
        CHECK(m.windows().current() == 0);
    }
}

TEST_CASE("a conversation's window tells when the other person leaves and comes back") {
    Model m = online();
    m.open_query("Begoña", kNow);
    m.apply("PART Begoña :quit se fue a comer", kNow);
    REQUIRE(m.log().back().kind == EntryKind::Part);
    CHECK(m.shown(m.log().back()));
    CHECK(shown_texts(m) == std::vector<std::string>{"quit se fue a comer"});
    m.apply("JOIN Begoña disponible", kNow);
    CHECK(m.log().back().kind == EntryKind::Join);
    CHECK(shown_texts(m).back() == "disponible");
    m.select_window(0);  // the room has both as well
    CHECK(shown_texts(m).size() >= 2);
    m.select_window(1);
    CHECK(m.windows().hotlist().empty());  // joins and parts in the room are no activity
    // No window for dani: his part is in the room only.
    m.apply("JOIN dani disponible", kNow);
    m.apply("PART dani", kNow);
    CHECK(m.windows().size() == 2);
}

TEST_CASE("a window keeps the server's spelling of the nick, not the one typed") {
    Model m = online();
    m.apply("PRIV Begoña ana :hola", kNow);
    m.select_window(1);
    m.apply("ERROR no-such-user BEGOña :no such user online", kNow);  // as typed, in her window
    CHECK(m.windows().shown().name == "Begoña");
    m.open_query("BEGOña", kNow);  // typed: the window is hers, the name stays
    CHECK(m.windows().size() == 2);
    CHECK(m.windows().shown().name == "Begoña");
    m.apply("PART Begoña :quit", kNow);
    m.apply("JOIN BEGOña disponible", kNow);  // the server's new spelling: the window follows it
    CHECK(m.windows().size() == 2);
    CHECK(m.windows().shown().name == "BEGOña");
}
