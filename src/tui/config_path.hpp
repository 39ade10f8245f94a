// Where chat's configuration file is: $XDG_CONFIG_HOME/chat/chat.ini, or
// ~/.config/chat/chat.ini when XDG_CONFIG_HOME is unset, empty or not an
// absolute path (the XDG Base Directory rules). Pure: the caller passes the
// environment.
#pragma once

#include <string>

namespace chat::tui {

// Empty when neither variable gives a place.
std::string default_config_path(const char* xdg_config_home, const char* home);

}  // namespace chat::tui
