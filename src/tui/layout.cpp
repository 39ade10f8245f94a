#include "tui/layout.hpp"

#include "tui/width.hpp"

#include <utility>

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
    WidthModel widths = text_widths();
    widths.set_utf8(utf8);
    rows.emplace_back();
    int used = 0;
    const auto new_row = [&] {
        rows.emplace_back(static_cast<std::size_t>(indent), Cell{" ", 1, 0});
        used = indent;
    };
    for (std::size_t si = 0; si < spans.size(); ++si) {
        for (Glyph& g : glyphs(spans[si].text, widths)) {
            Cell c{std::move(g.text), g.width, static_cast<unsigned short>(si)};
            if (used + c.width > cols) {
                Row& cur = rows.back();
                // Break after the last space of the row when the word can move to the next row.
                std::size_t brk = cur.size();
                for (std::size_t k = cur.size(); k-- > static_cast<std::size_t>(indent) + 1;) {
                    if (cur[k].text == " ") {
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
                for (Cell& k : carry) {
                    used += k.width;
                    rows.back().push_back(std::move(k));
                }
                if (c.text == " " && used == indent) continue;  // no row starts with the space it broke at
                if (used + c.width > cols)
                    continue;  // wider than a whole row (a 4-column cluster in 3): dropped
            }
            used += c.width;
            rows.back().push_back(std::move(c));
        }
    }
    return rows;
}

}  // namespace chat::tui

namespace chat::tui {

std::string status_text(const StatusParts& p, int cols, bool utf8) {
    auto join = [&p](bool server, bool state) {
        std::string s;
        auto add = [&s](const std::string& part) {
            if (part.empty()) return;
            s += s.empty() ? " " : " | ";
            s += part;
        };
        if (server) add(p.server);
        add(p.nick);
        if (state) add(p.state);
        add(p.window);
        add(p.extra);
        return s;
    };
    for (const auto& [server, state] : {std::pair{true, true}, std::pair{false, true}}) {
        std::string s = join(server, state);
        if (text_width(s, utf8) <= cols) return s;
    }
    return join(false, !p.online);  // cut at the edge by whoever draws it
}

}  // namespace chat::tui
