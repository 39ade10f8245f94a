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

}  // namespace chat::tui
