// The curses views: they only draw the model and the editor.
#pragma once

#include <cstdint>
#include <string>

#include "tui/editor.hpp"
#include "tui/model.hpp"

namespace chat::tui {

inline constexpr int kSidebarMinCols = 60;  // narrower terminals hide the user list

struct ViewInfo {
    bool utf8 = true;
    std::string where;     // host:port
    int reconnect_in = 0;  // seconds left, while reconnecting
    // A password is being typed: this prompt is drawn, and nothing of the
    // editor (the typed characters live elsewhere and are never drawn).
    std::string secret_prompt;
    std::string security;  // "TLSv1.3" (or "TLS" while connecting) after the address; empty for plain TCP
    // A question the input line asks instead of showing the editor ("send 5 lines? ...").
    std::string question;
    std::string note;  // more for the status bar ("sending pasted lines: 3 left")
    std::int64_t now = 0;  // for the dates of history lines from before today
    int sidebar_top = 0;   // the first user shown (F11/F12 page); draw clamps it
};

// Sets up the color pairs (none with `use` false: attributes only); call once after the screen exists.
void init_colors(bool use = true);

// Redraws the whole screen from the model. Returns the number of log rows
// shown (the page size for PgUp/PgDn); info.sidebar_top comes back clamped.
int draw(const Model& m, LineEditor& ed, ViewInfo& info);

}  // namespace chat::tui
