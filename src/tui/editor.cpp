#include "tui/editor.hpp"

#include <algorithm>

#include "proto/names.hpp"
#include "proto/text.hpp"
#include "tui/help.hpp"
#include "tui/secret.hpp"
#include "tui/width.hpp"

namespace chat::tui {

namespace {

bool typeable(char32_t cp) {
    return cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F) && cp <= 0x10FFFF &&
           !(cp >= 0xD800 && cp <= 0xDFFF);
}

std::string to_utf8(std::u32string_view cps) {
    std::string out;
    out.reserve(cps.size());
    for (char32_t cp : cps) proto::encode_utf8(cp, out);
    return out;
}

bool starts_with_folded(std::string_view s, std::string_view prefix) {
    return proto::fold_nick(s.substr(0, std::min(s.size(), prefix.size()))) == proto::fold_nick(prefix);
}

}  // namespace

std::size_t LineEditor::next_char(std::size_t i) const {
    return cluster_end(cps_, i, utf8_);
}

std::size_t LineEditor::prev_char(std::size_t i) const {
    std::size_t start = 0;
    for (std::size_t at = 0; at < i && at < cps_.size();) {
        start = at;
        at = next_char(at);
    }
    return std::min(start, i);
}

int LineEditor::cluster_width(std::size_t from, std::size_t to) const {
    WidthModel m = text_widths();
    m.set_utf8(utf8_);
    return m.width(std::u32string_view(cps_).substr(from, to - from));
}

int LineEditor::columns(std::size_t from, std::size_t to) const {
    int c = 0;
    to = std::min(to, cps_.size());
    for (std::size_t i = from; i < to;) {
        const std::size_t end = next_char(i);
        c += cluster_width(i, end);
        i = end;
    }
    return c;
}

// After an insertion that joined a cluster (a ZWJ typed before an emoji), the cursor moves to its end.
void LineEditor::snap_cursor() {
    std::size_t at = 0;
    while (at < cursor_) at = next_char(at);
    cursor_ = at;
}

void LineEditor::insert(char32_t cp) {
    if (!typeable(cp)) return;
    cps_.insert(cps_.begin() + static_cast<std::ptrdiff_t>(cursor_), cp);
    ++cursor_;
    snap_cursor();
}

void LineEditor::insert(std::string_view utf8) {
    std::size_t i = 0;
    while (i < utf8.size()) {
        char32_t cp = 0;
        if (proto::decode_utf8(utf8, i, cp)) insert(cp);
    }
}

void LineEditor::insert_paste(std::u32string_view text) {
    std::u32string keep;
    for (char32_t cp : text) {
        if (cp == U'\n' || typeable(cp)) keep.push_back(cp);
    }
    cps_.insert(cursor_, keep);
    cursor_ += keep.size();
    snap_cursor();
}

void LineEditor::press(EditKey k) {
    const auto at = [this](std::size_t i) { return cps_.begin() + static_cast<std::ptrdiff_t>(i); };
    switch (k) {
        case EditKey::Left:
            cursor_ = prev_char(cursor_);
            break;
        case EditKey::Right:
            cursor_ = next_char(cursor_);
            break;
        case EditKey::Home:
            cursor_ = 0;
            break;
        case EditKey::End:
            cursor_ = cps_.size();
            break;
        case EditKey::Backspace: {
            const std::size_t from = prev_char(cursor_);
            cps_.erase(at(from), at(cursor_));
            cursor_ = from;
            break;
        }
        case EditKey::Delete:
            cps_.erase(at(cursor_), at(next_char(cursor_)));
            break;
        case EditKey::KillStart:
            cps_.erase(at(0), at(cursor_));
            cursor_ = 0;
            break;
        case EditKey::KillEnd:
            cps_.erase(at(cursor_), cps_.end());
            break;
        case EditKey::KillWord: {
            std::size_t from = cursor_;
            while (from > 0 && cps_[from - 1] == U' ') --from;
            while (from > 0 && cps_[from - 1] != U' ') --from;
            cps_.erase(at(from), at(cursor_));
            cursor_ = from;
            break;
        }
    }
}

void LineEditor::set(std::string_view utf8, std::size_t cursor_byte) {
    cps_.clear();
    cursor_ = 0;
    first_ = 0;
    std::size_t i = 0;
    std::size_t cursor = std::string::npos;
    while (i < utf8.size()) {
        if (cursor == std::string::npos && i >= cursor_byte) cursor = cps_.size();
        char32_t cp = 0;
        if (proto::decode_utf8(utf8, i, cp) && typeable(cp)) cps_.push_back(cp);
    }
    cursor_ = cursor == std::string::npos ? cps_.size() : cursor;
    snap_cursor();
}

void LineEditor::wipe() {
    volatile char32_t* p = cps_.data();  // volatile: a store the compiler may not drop
    for (std::size_t i = 0; i < cps_.size(); ++i) p[i] = 0;
    clear();
}

std::string LineEditor::text() const { return to_utf8(cps_); }

std::size_t LineEditor::cursor_byte() const {
    return to_utf8(std::u32string_view(cps_).substr(0, cursor_)).size();
}

int LineEditor::cursor_column() const { return columns(0, cursor_); }
int LineEditor::width() const { return columns(0, cps_.size()); }

LineEditor::View LineEditor::view(int cols) {
    View v;
    if (cols <= 1) return v;
    if (first_ > cursor_) first_ = cursor_;
    first_ = prev_char(next_char(first_));  // a cluster's start, even after an edit joined clusters
    if (first_ > cursor_) first_ = prev_char(cursor_);
    // The last column stays free for the cursor at the end of the line.
    const auto fits = [&] { return columns(first_, cursor_) < cols; };
    if (!fits()) {
        // Jump so the cursor lands near the middle: fewer redraws than scrolling by one.
        first_ = cursor_;
        int c = 0;
        while (first_ > 0) {
            const std::size_t p = prev_char(first_);
            const int w = cluster_width(p, first_);
            if (c + w > cols / 2) break;
            c += w;
            first_ = p;
        }
    }
    while (!fits() && first_ < cursor_) first_ = next_char(first_);
    v.cursor_col = columns(first_, cursor_);
    int used = 0;
    std::u32string shown;
    for (std::size_t i = first_; i < cps_.size();) {
        const std::size_t end = next_char(i);
        const int w = cluster_width(i, end);
        if (used + w > cols) break;
        used += w;
        if (cps_[i] == U'\n') shown.push_back(U'\u21B5');  // ↵, as wide as the '?' an LF is measured as
        else shown.append(cps_, i, end - i);
        i = end;
    }
    v.text = to_utf8(shown);
    return v;
}

void History::add(std::string_view line) {
    if (!line.empty() && (entries_.empty() || entries_.back() != line)) {
        entries_.emplace_back(line);
        if (entries_.size() > max_) entries_.erase(entries_.begin());
    }
    pos_ = entries_.size();
    draft_.clear();
}

void History::reset() {
    pos_ = entries_.size();
    tui::wipe(draft_);
}

std::optional<std::string> History::up(std::string_view current) {
    if (pos_ == 0) return std::nullopt;
    if (pos_ == entries_.size()) draft_ = current;
    return entries_[--pos_];
}

std::optional<std::string> History::down() {
    if (pos_ >= entries_.size()) return std::nullopt;
    ++pos_;
    return pos_ == entries_.size() ? draft_ : entries_[pos_];
}

std::optional<Completer::Result> Completer::complete(std::string_view text, std::size_t cursor_byte,
                                                     const std::vector<std::string>& nicks) {
    if (active_ && !matches_.empty()) {
        index_ = (index_ + 1) % matches_.size();
    } else {
        cursor_byte = std::min(cursor_byte, text.size());
        const std::size_t space = text.substr(0, cursor_byte).rfind(' ');
        const std::size_t start = space == std::string_view::npos ? 0 : space + 1;
        const std::string_view word = text.substr(start, cursor_byte - start);
        head_ = text.substr(0, start);
        tail_ = text.substr(cursor_byte);
        matches_.clear();
        index_ = 0;
        const bool first_word = start == 0;
        if (first_word && word.starts_with('/')) {
            for (std::string_view c : command_names()) {
                if (starts_with_folded(c, word)) matches_.push_back(std::string(c) + " ");
            }
        } else if (first_word && word.starts_with('!')) {
            for (const std::string& n : nicks) {
                if (starts_with_folded(n, word.substr(1))) matches_.push_back("!" + n + " ");
            }
        } else if (!word.empty()) {
            // A nick opening the line is addressed, IRC style: "ana: ".
            for (const std::string& n : nicks) {
                if (starts_with_folded(n, word)) matches_.push_back(n + (first_word ? ": " : " "));
            }
        }
        if (matches_.empty()) {
            active_ = false;
            return std::nullopt;
        }
        active_ = true;
        // A tail that already starts with a space keeps it single.
        if (!tail_.empty() && tail_.front() == ' ') {
            for (std::string& m : matches_) {
                while (!m.empty() && m.back() == ' ') m.pop_back();
            }
        }
    }
    Result r;
    r.text = head_ + matches_[index_];
    r.cursor_byte = r.text.size();
    r.text += tail_;
    return r;
}

}  // namespace chat::tui
