// Formatted log entries broken into screen rows (pure; the view draws them).
#pragma once

#include <string>
#include <vector>

#include "tui/model.hpp"

namespace chat::tui {

// One grapheme cluster on screen (a letter with its marks, a whole ZWJ
// family): drawn as one piece, never split across rows.
struct Cell {
    std::string text = " ";   // UTF-8; already '?' for anything not drawable
    int width = 1;            // columns, as the terminal draws it (text_widths())
    unsigned short span = 0;  // index of the Span it came from (its look)
};
using Row = std::vector<Cell>;

// Breaks `spans` into rows of at most `cols` columns, at the last space when
// a row overflows (or anywhere when a word is longer than a row). Rows after
// the first begin with `indent` blank columns (those cells have span 0).
// Widths come from text_widths(), with `utf8` for its locale flag.
std::vector<Row> wrap_spans(const std::vector<Span>& spans, int cols, int indent, bool utf8);

// Columns of a row.
int row_width(const Row& r);

// The status bar's parts, each "" when there is none. When the terminal is too narrow for
// all of them, the server goes first, then the state if it is only "online", so that who you
// are, the window you are in and the unread ones stay in sight; what is left is cut at the
// right edge.
struct StatusParts {
    std::string server;  // "chatd 127.0.0.1:5000 TLSv1.3"
    std::string nick;    // "ana (disponible)"
    std::string state;   // "online", "reconnecting in 3 s"
    bool online = false;  // state says nothing more than that
    std::string window;  // "[2:Begoña] [Act: 3!]"
    std::string extra;   // search, scrolling, a note
};
std::string status_text(const StatusParts& p, int cols, bool utf8);

}  // namespace chat::tui
