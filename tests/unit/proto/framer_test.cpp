#include "proto/framer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace chat::proto;
using Kind = LineFramer::Kind;

namespace {

// What a reader sees: lines as strings, "<TOOLONG>" and "<END>" markers.
struct Feeder {
    explicit Feeder(std::size_t max) : framer(max) {}

    void feed(std::string_view bytes) {
        buf.append(bytes);
        for (;;) {
            const auto ev = framer.next(buf);
            REQUIRE(ev.consumed <= buf.size());
            if (ev.kind == Kind::Line) out.emplace_back(ev.line);
            if (ev.kind == Kind::TooLong) out.emplace_back("<TOOLONG>");
            if (ev.kind == Kind::EndOfLong) out.emplace_back("<END>");
            buf.erase(0, ev.consumed);
            if (ev.kind == Kind::NeedMore) break;
            REQUIRE(ev.consumed > 0);
        }
    }

    LineFramer framer;
    std::string buf;
    std::vector<std::string> out;
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("framer: simple lines, CRLF, lone CR, empty lines") {
    Feeder f(4096);
    f.feed("hola\nadios\r\n\n\r\nuno\rdos\n");
    CHECK(f.out == Lines{"hola", "adios", "", "", "uno\rdos"});
    CHECK(f.buf.empty());
}

TEST_CASE("framer: only one CR before the LF is dropped") {
    Feeder f(4096);
    f.feed("a\r\r\nb\r");
    CHECK(f.out == Lines{"a\r"});
    f.feed("\n");
    CHECK(f.out == Lines{"a\r", "b"});
}

TEST_CASE("framer: a line split across many reads") {
    Feeder f(4096);
    f.feed("ho");
    CHECK(f.out.empty());
    CHECK(f.buf == "ho");  // a partial line is kept, not consumed
    f.feed("la mun");
    f.feed("do");
    CHECK(f.out.empty());
    f.feed("\nsegunda\r");
    CHECK(f.out == Lines{"hola mundo"});
    f.feed("\ntercera\n");
    CHECK(f.out == Lines{"hola mundo", "segunda", "tercera"});
}

TEST_CASE("framer: one byte at a time") {
    Feeder f(16);
    const std::string input = "abc\r\nexactly-16-bytes\n0123456789abcdefX\nok\n";
    for (char c : input) f.feed(std::string_view(&c, 1));
    CHECK(f.out == Lines{"abc", "exactly-16-bytes", "<TOOLONG>", "<END>", "ok"});
}

TEST_CASE("framer: exactly max_line bytes is a line, one more is too long") {
    const std::string exact(4096, 'x');
    {
        Feeder f(4096);
        f.feed(exact + "\n");
        REQUIRE(f.out.size() == 1);
        CHECK(f.out[0] == exact);
    }
    {
        Feeder f(4096);
        f.feed(exact + "y\nnext\n");
        CHECK(f.out == Lines{"<TOOLONG>", "<END>", "next"});
    }
    {
        // The CR counts: 4095 bytes + CR is 4096 and fits, 4096 + CR does not.
        Feeder f(4096);
        f.feed(std::string(4095, 'x') + "\r\n");
        REQUIRE(f.out.size() == 1);
        CHECK(f.out[0] == std::string(4095, 'x'));
        Feeder g(4096);
        g.feed(exact + "\r\n");
        CHECK(g.out == Lines{"<TOOLONG>", "<END>"});
    }
    {
        // 4096 bytes without LF yet: still waiting, not too long.
        Feeder f(4096);
        f.feed(exact);
        CHECK(f.out.empty());
        CHECK_FALSE(f.framer.discarding());
        f.feed("\n");
        CHECK(f.out == Lines{exact});
    }
}

TEST_CASE("framer: too-long is reported as soon as the limit is passed, once, then resyncs") {
    Feeder f(8);
    f.feed("123456789");  // 9 bytes, no LF yet
    CHECK(f.out == Lines{"<TOOLONG>"});
    CHECK(f.framer.discarding());
    CHECK(f.buf.empty());  // discarded bytes are consumed, memory stays bounded
    for (int i = 0; i < 1000; ++i) f.feed("more bytes without an end ");
    CHECK(f.out == Lines{"<TOOLONG>"});
    CHECK(f.buf.empty());
    f.feed("still\r\nafter\n");
    CHECK(f.out == Lines{"<TOOLONG>", "<END>", "after"});
    CHECK_FALSE(f.framer.discarding());
}

TEST_CASE("framer: a too-long line followed by more in the same buffer") {
    Feeder f(4);
    f.feed("ok\n123456789\nfine\n12345\n1234\n");
    CHECK(f.out == Lines{"ok", "<TOOLONG>", "<END>", "fine", "<TOOLONG>", "<END>", "1234"});
}

TEST_CASE("framer: many lines in one buffer") {
    std::string input;
    Lines expect;
    for (int i = 0; i < 5000; ++i) {
        std::string line = "line " + std::to_string(i);
        input += line + (i % 2 ? "\r\n" : "\n");
        expect.push_back(line);
    }
    Feeder f(4096);
    f.feed(input);
    CHECK(f.out == expect);
    CHECK(f.buf.empty());
}

TEST_CASE("framer: a long partial line fed in pieces is found once its LF arrives") {
    // Exercises the resume-search state: the LF must be found after many NeedMore calls.
    Feeder f(4096);
    std::string piece(100, 'z');
    for (int i = 0; i < 40; ++i) f.feed(piece);
    CHECK(f.out.empty());
    f.feed("tail\nnext\n");
    REQUIRE(f.out.size() == 2);
    CHECK(f.out[0] == std::string(4000, 'z') + "tail");
    CHECK(f.out[1] == "next");
}

TEST_CASE("framer: empty input needs more") {
    LineFramer fr(10);
    const auto ev = fr.next("");
    CHECK(ev.kind == Kind::NeedMore);
    CHECK(ev.consumed == 0);
    CHECK(fr.max_line() == 10);
}

TEST_CASE("framer: reset starts a new stream") {
    LineFramer fr(8);
    // Half a line, then the stream is dropped (a reconnect with an emptied buffer).
    CHECK(fr.next("abcdef").kind == Kind::NeedMore);
    fr.reset();
    const auto ev = fr.next("a\nb");
    REQUIRE(ev.kind == Kind::Line);
    CHECK(ev.line == "a");

    CHECK(fr.next("123456789").kind == Kind::TooLong);
    CHECK(fr.discarding());
    fr.reset();
    CHECK_FALSE(fr.discarding());
    const auto ev2 = fr.next("ok\n");
    REQUIRE(ev2.kind == Kind::Line);
    CHECK(ev2.line == "ok");
}

TEST_CASE("framer: an unlimited max_line does not overflow") {
    Feeder f(static_cast<std::size_t>(-1));
    f.feed(std::string(10000, 'x'));
    CHECK(f.out.empty());
    f.feed("\n");
    REQUIRE(f.out.size() == 1);
    CHECK(f.out[0].size() == 10000);
}
