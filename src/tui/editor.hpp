// The input line: a pure UTF-8 line editor (keys in, text and cursor out).
// The cursor moves by grapheme cluster (UAX #29): "e" + U+0301, a flag, a
// ZWJ family are one step each, and Backspace and Delete erase them whole;
// columns come from text_widths(), the terminal's own widths.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tui {

enum class EditKey {
    Left,
    Right,
    Home,       // also Ctrl-A
    End,        // also Ctrl-E
    Backspace,
    Delete,
    KillStart,  // Ctrl-U: erase from the start of the line to the cursor
    KillEnd,    // Ctrl-K: erase from the cursor to the end of the line
    KillWord,   // Ctrl-W: erase the word before the cursor (and the spaces after it)
};

class LineEditor {
public:
    explicit LineEditor(bool utf8 = true) : utf8_(utf8) {}

    // Inserts a typed code point at the cursor; control characters are ignored.
    void insert(char32_t cp);
    // Inserts UTF-8 text; invalid bytes and control characters are skipped.
    void insert(std::string_view utf8);
    // Inserts a paste as normalize_paste left it: its LFs stay (drawn as ↵),
    // so one input line can hold several lines to send.
    void insert_paste(std::u32string_view text);
    bool multiline() const { return cps_.find(U'\n') != std::u32string::npos; }
    void press(EditKey k);

    // Replaces the whole line, cursor at `cursor_byte` (clamped; default: the end).
    void set(std::string_view utf8, std::size_t cursor_byte = std::string::npos);
    void clear() { set({}); }
    // Overwrites the line's characters before emptying it: the line sent may
    // have held a password ("/clave secret123").
    void wipe();

    std::string text() const;
    bool empty() const { return cps_.empty(); }
    std::size_t cursor() const { return cursor_; }  // in code points (always at a cluster boundary)
    std::size_t cursor_byte() const;
    int cursor_column() const;  // columns before the cursor
    int width() const;          // columns of the whole line

    // What to draw in a field of `cols` columns so that the cursor stays
    // visible: the text from the first shown code point (an LF as ↵), and the
    // cursor's column inside the field. Scrolls by half a field when the cursor leaves it.
    struct View {
        std::string text;
        int cursor_col = 0;
    };
    View view(int cols);

private:
    std::size_t prev_char(std::size_t i) const;  // the start of the cluster before i
    std::size_t next_char(std::size_t i) const;  // the end of the cluster from i
    int cluster_width(std::size_t from, std::size_t to) const;
    int columns(std::size_t from, std::size_t to) const;
    void snap_cursor();

    bool utf8_;
    std::u32string cps_;
    std::size_t cursor_ = 0;
    std::size_t first_ = 0;  // first code point shown by view()
};

// Lines sent before, walked with Up/Down. The line being typed is kept as a
// draft and comes back after the newest entry.
class History {
public:
    explicit History(std::size_t max = 1000) : max_(max) {}

    // Records a sent line (an empty one, or a repeat of the newest, is not recorded) and ends any walk.
    void add(std::string_view line);
    // The older line to show, or nothing at the oldest. `current` is the line on screen.
    std::optional<std::string> up(std::string_view current);
    // The newer line to show (the draft after the newest), or nothing when not walking.
    std::optional<std::string> down();
    // Ends a walk and wipes the draft (it may have been a line with a password, never recorded).
    void reset();
    std::size_t size() const { return entries_.size(); }

private:
    std::size_t max_;
    std::vector<std::string> entries_;
    std::size_t pos_ = 0;  // == entries_.size(): not walking
    std::string draft_;
};

// Tab completion: nicks (anywhere, and right after a leading '!') and
// command names (a leading '/'). Repeated Tabs cycle through the matches;
// any other key must call reset().
class Completer {
public:
    struct Result {
        std::string text;
        std::size_t cursor_byte = 0;
    };
    // `nicks` in the order to offer them; matching ignores ASCII case.
    std::optional<Result> complete(std::string_view text, std::size_t cursor_byte,
                                   const std::vector<std::string>& nicks);
    void reset() { active_ = false; }

private:
    bool active_ = false;
    std::vector<std::string> matches_;  // full replacements for the word
    std::size_t index_ = 0;
    std::string head_;  // text before the word
    std::string tail_;  // text after the cursor
};

}  // namespace chat::tui
