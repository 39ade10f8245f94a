// A model logged in (protocol 2), for the tests of what happens once online.
#pragma once

#include <cstdint>
#include <string>

#include "env.hpp"
#include "tui/model.hpp"

inline chat::tui::Model logged_in_model(const std::string& nick, std::int64_t now) {
    test_env();
    chat::tui::Model m;
    m.set_wanted_nick(nick);
    m.apply("HELLO chatd 2 :welcome", now);
    m.apply("WELCOME " + nick + " 7 :hola " + nick, now);
    return m;
}
