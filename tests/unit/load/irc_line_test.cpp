#include "load/irc_line.hpp"

#include <doctest/doctest.h>

using chat::load::IrcLine;
using chat::load::parse_irc_line;

TEST_CASE("a channel message gives the sender's nick, the target and the text") {
    IrcLine l;
    REQUIRE(parse_irc_line(":Lab_3!~Lab_3@localhost PRIVMSG #bench :@Lab:3:7:99;xx yy\r", l));
    CHECK(l.nick == "Lab_3");
    CHECK(l.line.verb == "PRIVMSG");
    REQUIRE(l.line.params.size() == 1);
    CHECK(l.line.params[0] == "#bench");
    CHECK(l.line.trailing == "@Lab:3:7:99;xx yy");
}

TEST_CASE("numerics and lines without a prefix") {
    IrcLine l;
    REQUIRE(parse_irc_line(":irc.example 366 Lab_1 #bench :End of NAMES list", l));
    CHECK(l.nick == "irc.example");
    CHECK(l.line.verb == "366");
    REQUIRE(parse_irc_line("PING :irc.example", l));
    CHECK(l.nick.empty());
    CHECK(l.line.verb == "PING");
    CHECK(l.line.trailing == "irc.example");
    CHECK_FALSE(parse_irc_line("", l));
}
