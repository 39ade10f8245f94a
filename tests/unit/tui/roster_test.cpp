// The roster of a big room: the server's order, updates in place, and what a
// /listar of thousands puts in the log.
#include "tui/roster.hpp"

#include <doctest/doctest.h>

#include <string>

#include "online.hpp"
#include "proto/names.hpp"

using namespace chat::tui;

TEST_CASE("the roster keeps the server's order through joins, parts and renamed spellings") {
    Roster r;
    for (const char* n : {"zoe", "Ana", "begoña", "Carlos", "ana_2", "ñandú", "Bea"})
        r.upsert(n, "disponible");
    const auto& l = r.list();
    REQUIRE(l.size() == 7);
    for (std::size_t i = 1; i < l.size(); ++i) CHECK(chat::proto::nick_less(l[i - 1].nick, l[i].nick));
    r.upsert("ZOE", "ocupado");  // the same user, ASCII case folded: updated, not added
    CHECK(r.size() == 7);
    REQUIRE(r.find("zoe") != nullptr);
    CHECK(r.find("zoe")->nick == "ZOE");
    CHECK(r.find("Zoe")->status == "ocupado");
    r.remove("ANA");
    CHECK(r.size() == 6);
    CHECK(r.find("ana") == nullptr);
    r.remove("nobody");
    CHECK(r.list().size() == 6);
    r.upsert("", "x");
    CHECK(r.size() == 6);
}

TEST_CASE("20,000 users: every one there once, in order") {
    Roster r;
    for (int i = 0; i < 20000; ++i) r.upsert("u" + std::to_string(i * 7919 % 20011), "disponible");
    const auto& l = r.list();
    CHECK(l.size() == 20000);
    bool ordered = true;
    for (std::size_t i = 1; i < l.size(); ++i)
        ordered = ordered && chat::proto::nick_less(l[i - 1].nick, l[i].nick);
    CHECK(ordered);
}

TEST_CASE("a /listar of thousands names the first ones in the log; the roster has them all") {
    Model m = logged_in_model("ana", 1'764'000'000);
    m.apply("END USERS 0", 1'764'000'000);
    for (int i = 0; i < 5000; ++i) m.apply("USER n" + std::to_string(i) + " disponible", 1'764'000'000);
    m.apply("END USERS 5000", 1'764'000'000);
    CHECK(m.users().size() == 5000);
    const std::string& text = m.log().back().text;
    CHECK(text.starts_with("5000 online: "));
    CHECK(text.find("and " + std::to_string(5000 - Model::kListedUsers) + " more (all in the user list)") !=
          std::string::npos);
    CHECK(text.size() < 3000);
}
