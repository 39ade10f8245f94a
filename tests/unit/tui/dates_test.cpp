// Day-change lines and the dates of history lines (TZ=UTC, see env.hpp).
#include "tui/dates.hpp"

#include <doctest/doctest.h>

#include <clocale>
#include <string>

#include "env.hpp"
#include "proto/server_line.hpp"
#include "tui/model.hpp"

using namespace chat::tui;

namespace {

std::int64_t at(const char* iso) {
    std::int64_t t = 0;
    REQUIRE(chat::proto::parse_time(iso, t));
    return t;
}

}  // namespace

TEST_CASE("the day: local, and changing at midnight") {
    test_env();
    CHECK(local_day(at("2026-12-02T23:59:59Z")) == 20261202);
    CHECK(local_day(at("2026-12-03T00:00:00Z")) == 20261203);
    CHECK(local_day(at("2027-01-01T00:00:00Z")) > local_day(at("2026-12-31T23:59:59Z")));
}

TEST_CASE("the day-change line in C is English") {
    test_env();
    std::setlocale(LC_TIME, "C");
    CHECK(day_change_text(at("2026-12-02T10:00:00Z")) == "--- Wednesday, December 2, 2026 ---");
    CHECK(day_change_text(at("2027-01-01T00:00:00Z")) == "--- Friday, January 1, 2027 ---");
}

TEST_CASE("the day-change line in Spanish, where the locale is installed") {
    test_env();
    if (std::setlocale(LC_TIME, "es_ES.UTF-8") == nullptr) {
        MESSAGE(
            "es_ES.UTF-8 is not installed: the Spanish words are checked by tui-tmux with a locale it "
            "builds");
        return;
    }
    CHECK(day_change_text(at("2026-12-02T10:00:00Z")) == "--- miércoles 2 de diciembre de 2026 ---");
    std::setlocale(LC_TIME, "C");
}

TEST_CASE("history lines from before today carry their date; today's and live ones do not") {
    test_env();
    const std::int64_t now = at("2026-12-02T12:00:00Z");
    CHECK(date_prefix(at("2026-12-01T18:30:00Z"), now) == "2026-12-01 ");
    CHECK(date_prefix(at("2026-12-02T00:00:01Z"), now).empty());
    Model m;
    m.set_wanted_nick("ana");
    m.apply("HELLO chatd 2 :hi", now);
    m.apply("WELCOME ana 1 :hola", now);
    m.apply("HIST 2026-12-01T18:30:05Z bea * :ayer", now);
    CHECK(format_entry_plain(m.log().back(), now) == "2026-12-01 18:30:05 <bea> ayer");
    CHECK(format_entry(m.log().back(), false, now).front().text == "2026-12-01 18:30 ");
    m.apply("HIST 2026-12-02T09:00:00Z bea * :hoy", now);
    CHECK(format_entry_plain(m.log().back(), now) == "09:00:00 <bea> hoy");
    m.apply("MSG bea :en vivo", at("2026-12-03T00:00:05Z"));  // not history: the day line says it
    CHECK(format_entry_plain(m.log().back(), now) == "00:00:05 <bea> en vivo");
}
