#include "tui/config_path.hpp"

namespace chat::tui {

std::string default_config_path(const char* xdg_config_home, const char* home) {
    if (xdg_config_home != nullptr && xdg_config_home[0] == '/')
        return std::string(xdg_config_home) + "/chat/chat.ini";
    if (home != nullptr && home[0] == '/') return std::string(home) + "/.config/chat/chat.ini";
    return {};
}

}  // namespace chat::tui
