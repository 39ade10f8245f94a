// Server lines from the byte stream into the model: long lines (the server's --max-line
// goes up to 1 MiB) arrive whole, and a line over the client's limit is reported, not lost silently.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "env.hpp"
#include "tui/model.hpp"
#include "tui/server_lines.hpp"

using namespace chat::tui;

namespace {

constexpr std::int64_t kNow = 1'764'000'000;

// Feeds `data` in recv()-sized pieces, as Connection does.
std::vector<ServerInput> feed_chunks(ServerLineReader& r, const std::string& data, std::size_t chunk = 65536) {
    std::vector<ServerInput> out;
    for (std::size_t at = 0; at < data.size(); at += chunk) r.feed(std::string_view(data).substr(at, chunk), out);
    return out;
}

Model online() {
    test_env();
    Model m;
    m.set_wanted_nick("ana");
    m.apply("HELLO chatd 1 :welcome", kNow);
    m.apply("WELCOME ana 7 :hola ana", kNow);
    m.apply("USER ana disponible", kNow);
    m.apply("END USERS 1", kNow);
    m.apply("END HIST 0", kNow);
    return m;
}

}  // namespace

TEST_CASE("the limit covers a --max-line text of 1 MiB plus the longest framing") {
    const std::string nick32 = [] {
        std::string s;
        for (int i = 0; i < 32; ++i) s += "\xF0\x90\x8D\x88";  // U+10348, 4 bytes
        return s;
    }();
    const std::string head = "HIST 2026-12-02T03:00:00Z " + nick32 + " " + nick32 + " :";
    CHECK(head.size() < kServerFramingAllowance);
    CHECK(kMaxServerLine >= std::size_t{1048576} + head.size());

    ServerLineReader r;
    const std::string line = head + std::string(kMaxServerText, 'm');
    auto in = feed_chunks(r, line + "\nPING t1\n");
    REQUIRE(in.size() == 2);
    CHECK_FALSE(in[0].too_long);
    CHECK(in[0].line == line);
    CHECK(in[1].line == "PING t1");
}

TEST_CASE("a 100 KiB PRIV line reaches the model intact") {
    Model m = online();
    std::string text;
    for (int i = 0; text.size() < 100 * 1024; ++i) text += "palabra" + std::to_string(i) + " ñ ";
    ServerLineReader r;
    auto in = feed_chunks(r, "PRIV bob ana :" + text + "\nMSG bob :después\n", 4000);
    REQUIRE(in.size() == 2);
    for (const ServerInput& x : in) {
        REQUIRE_FALSE(x.too_long);
        m.apply(x.line, kNow);
    }
    REQUIRE(m.log().size() >= 2);
    const LogEntry& priv = m.log()[m.log().size() - 2];
    CHECK(priv.kind == EntryKind::PrivIn);
    CHECK(priv.nick == "bob");
    CHECK(priv.text.size() == text.size());
    CHECK(priv.text == text);
    CHECK(m.log().back().text == "después");
}

TEST_CASE("a line over the limit is dropped with a notice; the next lines still arrive") {
    Model m = online();
    ServerLineReader r;
    const std::string huge = "MSG bob :" + std::string(kMaxServerLine, 'z');
    auto in = feed_chunks(r, "MSG bob :antes\n" + huge + "\nMSG bob :luego\n");
    REQUIRE(in.size() == 3);
    CHECK(in[0].line == "MSG bob :antes");
    CHECK(in[1].too_long);
    CHECK(in[1].line.empty());
    CHECK(in[2].line == "MSG bob :luego");
    for (const ServerInput& x : in) {
        if (x.too_long) {
            m.on_line_too_long(kNow, r.max_line());
        } else {
            m.apply(x.line, kNow);
        }
    }
    REQUIRE(m.log().size() >= 3);
    const LogEntry& notice = m.log()[m.log().size() - 2];
    CHECK(notice.kind == EntryKind::Info);
    CHECK(notice.text == "a server line longer than " + std::to_string(kMaxServerLine) + " bytes was dropped");
    CHECK(format_entry_plain(notice).find("--- a server line longer than ") != std::string::npos);
    CHECK(m.log().back().text == "luego");

    // One notice per overlong line, however it is cut into pieces; a line exactly at the limit passes.
    ServerLineReader small(100);
    std::vector<ServerInput> out;
    small.feed(std::string(150, 'a'), out);
    small.feed(std::string(150, 'a') + "\n" + std::string(100, 'b') + "\n", out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].too_long);
    CHECK(out[1].line == std::string(100, 'b'));
}
