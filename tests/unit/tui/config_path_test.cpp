// Where the configuration file is (XDG Base Directory rules).
#include "tui/config_path.hpp"

#include <doctest/doctest.h>

using chat::tui::default_config_path;

TEST_CASE("the configuration file: XDG_CONFIG_HOME when absolute, else ~/.config") {
    CHECK(default_config_path("/x/cfg", "/home/ana") == "/x/cfg/chat/chat.ini");
    CHECK(default_config_path(nullptr, "/home/ana") == "/home/ana/.config/chat/chat.ini");
    CHECK(default_config_path("", "/home/ana") == "/home/ana/.config/chat/chat.ini");
    CHECK(default_config_path("relative/dir", "/home/ana") == "/home/ana/.config/chat/chat.ini");
    CHECK(default_config_path(nullptr, nullptr).empty());
    CHECK(default_config_path(nullptr, "").empty());
}
