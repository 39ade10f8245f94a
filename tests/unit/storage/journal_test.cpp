#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>

#include "server/journal.hpp"

using namespace chat::server;

namespace {

std::vector<StorageEvent> sample_events() {
    return {
        MessageEvent{1, 1700000000, 7, 0, "hola 👋 '; DROP TABLE users; --"},
        MessageEvent{2, 1700000001, 7, 9, std::string("bin\0ary\n\xff", 10)},
        SessionStartEvent{3, 7, 1700000002, "127.0.0.1:5555"},
        SessionEndEvent{3, 7, 1700000003, "quit hasta luego"},
        StatusEvent{7, "en-reunión"},
        MessageEvent{-5, -1, INT64_MAX, INT64_MIN, ""},
    };
}

auto fields(const MessageEvent& e) { return std::tie(e.id, e.time, e.from, e.to, e.body); }
auto fields(const SessionStartEvent& e) { return std::tie(e.session, e.user, e.time, e.address); }
auto fields(const SessionEndEvent& e) { return std::tie(e.session, e.user, e.time, e.reason); }
auto fields(const StatusEvent& e) { return std::tie(e.user, e.status); }

bool same(const StorageEvent& a, const StorageEvent& b) {
    if (a.index() != b.index()) return false;
    return std::visit(
        [&b](const auto& x) { return fields(x) == fields(std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

std::string encode_all(const std::vector<StorageEvent>& events) {
    std::string out;
    for (const auto& e : events) journal_encode(e, out);
    return out;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/chatd-journal-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("crc32 matches the standard check value") {
    CHECK(crc32("123456789") == 0xCBF43926u);
    CHECK(crc32("") == 0u);
}

TEST_CASE("journal records round-trip every event kind byte-exact") {
    auto events = sample_events();
    std::string data = encode_all(events);
    JournalDecoded d = journal_decode(data);
    CHECK_FALSE(d.damaged);
    CHECK(d.consumed == data.size());
    REQUIRE(d.events.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(same(d.events[i], events[i]));
}

TEST_CASE("a record cut short by a crash ends the readable part, the records before it are kept") {
    auto events = sample_events();
    std::string data = encode_all(events);
    std::string one, two;
    journal_encode(events[0], one);
    journal_encode(events[1], two);
    for (std::size_t cut = one.size() + 1; cut < one.size() + two.size(); ++cut) {
        CAPTURE(cut);
        JournalDecoded d = journal_decode(std::string_view(data).substr(0, cut));
        CHECK(d.damaged);
        CHECK(d.consumed == one.size());
        REQUIRE(d.events.size() == 1);
        CHECK(same(d.events[0], events[0]));
    }
}

TEST_CASE("a flipped byte is caught by the checksum") {
    std::string data = encode_all(sample_events());
    std::string one;
    journal_encode(sample_events()[0], one);
    data[one.size() + 12] ^= 0x20;  // inside the second record's payload
    JournalDecoded d = journal_decode(data);
    CHECK(d.damaged);
    CHECK(d.events.size() == 1);
}

TEST_CASE("a garbage length does not make the decoder read past the data") {
    std::string data = "\xff\xff\xff\x7f\0\0\0\0abc";
    JournalDecoded d = journal_decode(data);
    CHECK(d.events.empty());
    CHECK(d.damaged);
}

TEST_CASE("journal file: appends accumulate in order, clear empties, a missing file reads as empty") {
    TempDir dir;
    Journal j((dir.path / "sub" / "chatd.journal").string());
    CHECK_FALSE(j.has_data());
    JournalDecoded d;
    std::string err;
    REQUIRE(j.read_all(d, err));
    CHECK(d.events.empty());

    auto events = sample_events();
    REQUIRE(j.append(std::span(events).subspan(0, 2), err));
    REQUIRE(j.append(std::span(events).subspan(2), err));
    CHECK(j.has_data());
    REQUIRE(j.read_all(d, err));
    CHECK_FALSE(d.damaged);
    REQUIRE(d.events.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(same(d.events[i], events[i]));
    CHECK((std::filesystem::status(j.path()).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);

    REQUIRE(j.clear(err));
    CHECK_FALSE(j.has_data());
    REQUIRE(j.read_all(d, err));
    CHECK(d.events.empty());
}

TEST_CASE("journal file: a torn tail from a crash keeps the whole records before it") {
    TempDir dir;
    Journal j((dir.path / "chatd.journal").string());
    auto events = sample_events();
    std::string err;
    REQUIRE(j.append(events, err));
    {
        std::ofstream f(j.path(), std::ios::app | std::ios::binary);
        f << std::string("\x40\0\0\0\1\2", 6);
    }
    JournalDecoded d;
    REQUIRE(j.read_all(d, err));
    CHECK(d.damaged);
    CHECK(d.events.size() == events.size());
}

TEST_CASE("journal file: an unwritable place is reported, not ignored") {
    Journal j("/proc/chatd-cannot-be-here/chatd.journal");
    auto events = sample_events();
    std::string err;
    CHECK_FALSE(j.append(events, err));
    CHECK_FALSE(err.empty());
}

TEST_CASE("dead-letter records: the journal framing with the error text and time, every event kind") {
    auto events = sample_events();
    std::string data;
    for (std::size_t i = 0; i < events.size(); ++i)
        dead_letter_encode(events[i], "1406 Data too long #" + std::to_string(i), 1700000000 + i, data);
    DeadLetterDecoded d = dead_letter_decode(data);
    CHECK_FALSE(d.damaged);
    REQUIRE(d.letters.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(same(d.letters[i].event, events[i]));
        CHECK(d.letters[i].error == "1406 Data too long #" + std::to_string(i));
        CHECK(d.letters[i].time == static_cast<UnixTime>(1700000000 + i));
    }
    // Not a journal: a journal reader stops at once, and the other way round.
    CHECK(journal_decode(data).events.empty());
    CHECK(dead_letter_decode(encode_all(events)).letters.empty());
}

TEST_CASE("dead-letter file: appended next to the journal, readable back") {
    TempDir dir;
    Journal dead((dir.path / "chatd.journal.dead").string());
    std::string err;
    auto events = sample_events();
    REQUIRE(dead.append_dead_letter(events[0], "1062 Duplicate entry", 5, err));
    REQUIRE(dead.append_dead_letter(events[2], "1452 Cannot add or update a child row", 6, err));
    std::ifstream f(dead.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    DeadLetterDecoded d = dead_letter_decode(bytes);
    REQUIRE(d.letters.size() == 2);
    CHECK(d.letters[1].error.find("1452") == 0);
    CHECK(same(d.letters[1].event, events[2]));
}

TEST_CASE("journal file: the first append after a crash cuts a torn tail, so the new records stay readable") {
    TempDir dir;
    auto events = sample_events();
    std::string path = (dir.path / "chatd.journal").string();
    std::string err;
    {
        Journal j(path);
        REQUIRE(j.append(std::span(events).subspan(0, 2), err));
    }
    {
        std::ofstream f(path, std::ios::app | std::ios::binary);
        f << std::string("\x40\0\0\0\1\2", 6);  // a record cut short by a crash
    }
    Journal j(path);  // the next process
    REQUIRE(j.append(std::span(events).subspan(2), err));
    JournalDecoded d;
    REQUIRE(j.read_all(d, err));
    CHECK_FALSE(d.damaged);
    REQUIRE(d.events.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(same(d.events[i], events[i]));
}
