#include "tui/layout.hpp"

#include "proto/text.hpp"
#include "tui/width.hpp"

namespace chat::tui {

int row_width(const Row& r) {
    int w = 0;
    for (const Cell& c : r) w += c.width;
    return w;
}

std::vector<Row> wrap_spans(const std::vector<Span>& spans, int cols, int indent, bool utf8) {
    std::vector<Row> rows;
    if (cols <= 0) return rows;
    if (indent >= cols / 2) indent = 0;
    rows.emplace_back();
    int used = 0;
    const auto new_row = [&] {
        rows.emplace_back(static_cast<std::size_t>(indent), Cell{U' ', 1, 0});
        used = indent;
    };
    for (std::size_t si = 0; si < spans.size(); ++si) {
        const std::string& s = spans[si].text;
        std::size_t i = 0;
        while (i < s.size()) {
            char32_t cp = 0;
            Cell c;
            c.span = static_cast<unsigned short>(si);
            if (proto::decode_utf8(s, i, cp) && drawable(cp, utf8)) {
                c.cp = cp;
                c.width = cell_width(cp, utf8);
            } else {
                c.cp = U'?';
                c.width = 1;
            }
            if (c.width == 0) {
                // A combining mark with nothing to sit on would draw on its own: show it as '?'.
                if (rows.back().empty()) c = Cell{U'?', 1, c.span};
                else {
                    rows.back().push_back(c);
                    continue;
                }
            }
            if (used + c.width > cols) {
                Row& cur = rows.back();
                // Break after the last space of the row when the word can move to the next row.
                std::size_t brk = cur.size();
                for (std::size_t k = cur.size(); k-- > static_cast<std::size_t>(indent) + 1;) {
                    if (cur[k].cp == U' ') {
                        brk = k;
                        break;
                    }
                }
                Row carry;
                if (brk < cur.size()) {
                    carry.assign(cur.begin() + static_cast<std::ptrdiff_t>(brk) + 1, cur.end());
                    cur.erase(cur.begin() + static_cast<std::ptrdiff_t>(brk), cur.end());
                }
                new_row();
                for (const Cell& k : carry) {
                    rows.back().push_back(k);
                    used += k.width;
                }
                if (c.cp == U' ' && used == indent) continue;  // no row starts with the space it broke at
            }
            rows.back().push_back(c);
            used += c.width;
        }
    }
    return rows;
}

}  // namespace chat::tui
