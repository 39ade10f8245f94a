#include "tui/view.hpp"

#include <curses.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <vector>

#include "proto/text.hpp"
#include "tui/dates.hpp"
#include "tui/layout.hpp"
#include "tui/search.hpp"
#include "tui/terminal.hpp"
#include "tui/strings.hpp"
#include "tui/width.hpp"

namespace chat::tui {

namespace {

constexpr int kNickColors[] = {COLOR_CYAN, COLOR_MAGENTA, COLOR_BLUE, COLOR_GREEN, COLOR_YELLOW, COLOR_RED};
constexpr unsigned kNickColorCount = sizeof kNickColors / sizeof kNickColors[0];
constexpr short kPairGreen = 20, kPairRed = 21, kPairYellow = 22, kPairMagenta = 23;
constexpr int kTimeCols = 6;  // "HH:MM "

bool g_colors = false;

attr_t pair(short p) { return g_colors ? COLOR_PAIR(p) : A_NORMAL; }
attr_t nick_attr(std::string_view nick) {
    return pair(static_cast<short>(1 + nick_color(nick, kNickColorCount)));
}

attr_t status_attr(std::string_view status) {
    if (status == "disponible") return pair(kPairGreen);
    if (status == "ocupado") return pair(kPairRed);
    if (status == "ausente") return pair(kPairYellow);
    return A_NORMAL;
}

attr_t span_attr(const Span& s) {
    switch (s.style) {
        case Style::Time: return A_DIM;
        case Style::Nick: return nick_attr(s.nick) | A_BOLD;
        case Style::OwnNick: return nick_attr(s.nick) | A_BOLD | A_UNDERLINE;
        case Style::Text: return A_NORMAL;
        case Style::OwnText: return A_BOLD;
        case Style::Private: return pair(kPairMagenta) | A_BOLD;
        case Style::Event: return A_DIM;
        case Style::Error: return pair(kPairRed) | A_DIM;
        case Style::Info: return A_DIM;
        case Style::Mention: return pair(kPairYellow) | A_BOLD | A_REVERSE;
        case Style::Found: return A_REVERSE | A_UNDERLINE;
    }
    return A_NORMAL;
}

// Clusters that ncurses cannot keep whole, written straight to the terminal
// after each refresh. ncurses gives a cell one spacing character and up to
// four zero-width ones, and counts its columns with wcwidth: a ZWJ family
// would become three cells of two columns, a flag two cells, and the
// terminal's cursor (which draws them as one) and ncurses' would part. So
// such a cluster takes placeholder cells of its measured width in ncurses'
// screen, and its bytes are written over them, whole, once ncurses is done.
struct Overlay {
    int y = 0, x = 0;
    std::string text;
    attr_t attr = A_NORMAL;
};
std::vector<Overlay> g_overlays;
std::string* g_sink = nullptr;

extern "C" int sink_putc(int c) {
    g_sink->push_back(static_cast<char>(c));
    return c;
}

attr_t without_color(attr_t a) {
    return a & ~A_COLOR;
}
short color_of(attr_t a) {
    return static_cast<short>(PAIR_NUMBER(a));
}

void put_wide(const wchar_t* wcs, attr_t a) {
    cchar_t cc{};
    if (setcchar(&cc, wcs, without_color(a), color_of(a), nullptr) == OK) add_wch(&cc);
}

// Draws one cluster of `width` columns at the cursor.
void put_cell(const std::string& text, int width, attr_t a) {
    attrset(a);
    if (text.size() == 1) {
        addch(static_cast<chtype>(static_cast<unsigned char>(text[0])) | a);
        return;
    }
    std::u32string cps;
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t cp = 0;
        if (proto::decode_utf8(text, i, cp)) cps.push_back(cp);
    }
    if (cps.empty()) return;
    // One spacing character and its zero-width ones, as wide as wcwidth says: ncurses draws it itself.
    bool simple = cps.size() < CCHARW_MAX && cell_width(cps[0], true) == width;
    for (std::size_t k = 1; k < cps.size() && simple; ++k)
        simple = ::wcwidth(static_cast<wchar_t>(cps[k])) == 0;
    if (simple) {
        wchar_t wcs[CCHARW_MAX + 1] = {};
        for (std::size_t k = 0; k < cps.size(); ++k) wcs[k] = static_cast<wchar_t>(cps[k]);
        put_wide(wcs, a);
        return;
    }
    int y = 0, x = 0;
    getyx(stdscr, y, x);
    g_overlays.push_back({y, x, text, a});
    // Placeholders ncurses can tell from spaces, so that whatever replaces them later is written out.
    for (int left = width; left > 0; left -= 2) {
        const wchar_t ph[2] = {left >= 2 ? L'\u3000' : L'\u2800', 0};
        put_wide(ph, a);
    }
}

void flush_overlays() {
    if (g_overlays.empty()) return;
    int cy = 0, cx = 0;
    getyx(stdscr, cy, cx);
    const char* cup = tigetstr("cup");
    if (cup == nullptr || cup == reinterpret_cast<char*>(-1)) {
        g_overlays.clear();
        return;
    }
    std::string out;
    g_sink = &out;
    for (const Overlay& o : g_overlays) {
        out += tiparm(cup, o.y, o.x);
        vid_puts(without_color(o.attr), color_of(o.attr), nullptr, sink_putc);
        out += o.text;
    }
    // ncurses left the terminal in normal attributes at the cursor: so does this.
    vid_puts(A_NORMAL, 0, nullptr, sink_putc);
    out += tiparm(cup, cy, cx);
    g_sink = nullptr;
    g_overlays.clear();
    std::fflush(stdout);
    write_terminal(out.data(), out.size());
}

// Draws UTF-8 text at (y, x) in at most `cols` columns; returns the columns used.
int put_text(int y, int x, std::string_view s, int cols, attr_t a, bool utf8) {
    if (cols <= 0) return 0;
    WidthModel m = text_widths();
    m.set_utf8(utf8);
    move(y, x);
    int used = 0;
    for (const Glyph& g : glyphs(s, m)) {
        if (used + g.width > cols) break;
        put_cell(g.text, g.width, a);
        used += g.width;
    }
    return used;
}

// The user list from row `top` of the roster (clamped); returns the top used.
int draw_sidebar(const Model& m, int x, int width, int height, int top, bool utf8) {
    attrset(A_DIM);
    mvvline(0, x, ACS_VLINE, height);
    const int cx = x + 2, cw = width - 2;
    const auto& users = m.users();
    const int rows = std::max(1, height - 1);
    const int max_top = std::max(0, static_cast<int>(users.size()) - rows);
    top = std::clamp(top, 0, max_top);
    // When more follow, the last row says how many.
    const bool more = static_cast<std::size_t>(top + rows) < users.size();
    const int shown = more ? rows - 1 : std::min(rows, static_cast<int>(users.size()) - top);
    std::string title = cat("users (", std::to_string(users.size()), ")");
    if (max_top > 0) title += cat(" ", std::to_string(top + 1), "-", std::to_string(top + shown));
    put_text(0, cx, title, cw, A_BOLD, utf8);
    int y = 1;
    for (std::size_t i = static_cast<std::size_t>(top); i < users.size() && y < height; ++i, ++y) {
        if (y == height - 1 && i + 1 < users.size()) {
            put_text(y, cx, cat("+", std::to_string(users.size() - i), " more (F12)"), cw, A_DIM, utf8);
            break;
        }
        const User& u = users[i];
        const bool me = !m.nick().empty() && u.nick == m.nick();
        const int status_cols = std::min(text_width(u.status, utf8), cw / 2);
        int used = put_text(y, cx, me ? "*" : " ", cw, A_BOLD, utf8);
        used += put_text(y, cx + used, u.nick, cw - used - status_cols - 1, nick_attr(u.nick) | (me ? A_BOLD : 0),
                         utf8);
        put_text(y, cx + cw - status_cols, u.status, status_cols, status_attr(u.status), utf8);
    }
    return top;
}

std::string state_text(const Model& m, const ViewInfo& info) {
    switch (m.state()) {
        case ConnState::Connecting: return "connecting";  // the name lookup included: it runs off this thread
        case ConnState::LoggingIn: return "logging in";
        case ConnState::AskingNick: return "choose a nickname";
        case ConnState::AskingPassword: return cat("password for ", m.auth_nick());
        case ConnState::Online: return "online";
        case ConnState::Reconnecting:
            switch (m.login_retry()) {
                case LoginRetry::NickHeld:
                    return cat(m.wanted_nick(), " still held by the old session: retrying in ",
                               std::to_string(info.reconnect_in), " s");
                case LoginRetry::ServerBusy:
                    return cat("server unavailable: retrying in ", std::to_string(info.reconnect_in), " s");
                case LoginRetry::None: break;
            }
            return cat("reconnecting in ", std::to_string(info.reconnect_in), " s");
        case ConnState::Closed: return "closed";
    }
    return {};
}

}  // namespace

void init_colors(bool use) {
    g_colors = use && has_colors();
    if (!g_colors) return;
    for (unsigned i = 0; i < kNickColorCount; ++i) {
        init_pair(static_cast<short>(1 + i), static_cast<short>(kNickColors[i]), -1);
    }
    init_pair(kPairGreen, COLOR_GREEN, -1);
    init_pair(kPairRed, COLOR_RED, -1);
    init_pair(kPairYellow, COLOR_YELLOW, -1);
    init_pair(kPairMagenta, COLOR_MAGENTA, -1);
}

int draw(const Model& m, LineEditor& ed, ViewInfo& info) {
    const int rows = LINES, cols = COLS;
    erase();
    if (rows < 4 || cols < 20) {
        attrset(A_BOLD);
        put_text(0, 0, "terminal too small", cols, A_BOLD, info.utf8);
        move(0, 0);
        refresh();
        flush_overlays();
        return 1;
    }
    const int sidebar = cols >= kSidebarMinCols ? std::clamp(cols / 4, 16, 28) : 0;
    const int log_cols = cols - sidebar;
    const int log_rows = rows - 2;

    // The log of the window shown, bottom-up from the entry `scroll` entries
    // above its newest; a marker row where I last left it, when newer lines follow.
    const auto& log = m.log();
    const std::uint64_t marker = m.windows().shown().marker;
    std::uint64_t newest = 0;
    for (std::size_t k = log.size(); k-- > 0;) {
        if (m.shown(log[k])) {
            newest = log[k].seq;
            break;
        }
    }
    bool marker_due = marker > 0 && newest > marker;
    int y = log_rows;
    std::size_t skip = m.scroll_offset();
    int newer_day = 0;  // the day of the entry drawn (or skipped) just below
    std::int64_t newer_time = 0;
    for (std::size_t k = log.size(); k-- > 0 && y > 0;) {
        if (!m.shown(log[k])) continue;
        const int day = local_day(log[k].time);
        if (skip > 0) {
            --skip;
            if (log[k].seq <= marker) marker_due = false;  // the marker is below the view
            newer_day = day;
            newer_time = log[k].time;
            continue;
        }
        if (newer_day != 0 && day != newer_day) {
            --y;
            put_text(y, 0, day_change_text(newer_time), log_cols, A_BOLD, info.utf8);
            if (y == 0) break;
        }
        newer_day = day;
        newer_time = log[k].time;
        if (marker_due && log[k].seq <= marker) {
            marker_due = false;
            --y;
            attrset(pair(kPairYellow));
            mvhline(y, 0, ACS_HLINE, log_cols);
            put_text(y, 2, " unread ", log_cols - 2, pair(kPairYellow) | A_BOLD, info.utf8);
            if (y == 0) break;
        }
        const Search& found = m.search_state();
        auto spans = format_entry(log[k], false, info.now);
        if (found.active() && std::find(found.hits.begin(), found.hits.end(), log[k].seq) != found.hits.end()) {
            spans = mark_found(spans, found.text);
        }
        const auto wrapped = wrap_spans(spans, log_cols, kTimeCols, info.utf8);
        for (std::size_t r = wrapped.size(); r-- > 0 && y > 0;) {
            --y;
            move(y, 0);
            for (const Cell& c : wrapped[r]) put_cell(c.text, c.width, span_attr(spans[c.span]));
        }
    }
    if (sidebar > 0) info.sidebar_top = draw_sidebar(m, log_cols, sidebar, log_rows, info.sidebar_top, info.utf8);

    // The status bar.
    const attr_t bar = A_REVERSE;
    attrset(bar);
    mvhline(rows - 2, 0, ' ', cols);
    StatusParts sp;
    sp.server = m.server_name().empty() ? info.where : cat(m.server_name(), " ", info.where);
    if (!info.security.empty()) sp.server += cat(" ", info.security);
    if (!m.nick().empty()) sp.nick = cat(m.nick(), " (", m.my_status(), ")");
    sp.state = state_text(m, info);
    sp.online = m.state() == ConnState::Online;
    const WindowList& w = m.windows();
    if (w.size() > 1) sp.window = cat("[", std::to_string(w.current() + 1), ":", w.shown().name, "]");
    if (const std::string hot = w.hotlist(); !hot.empty())
        sp.window += cat(sp.window.empty() ? "" : " ", "[", hot, "]");
    const Search& f = m.search_state();
    if (f.active()) {
        sp.extra = cat("search \"", f.text, "\" ", std::to_string(f.at + 1), "/", std::to_string(f.hits.size()),
                       " (^R older ^S newer Esc)");
    } else if (m.scroll_offset() > 0) {
        sp.extra = cat("scrolled, ", std::to_string(m.unread()), " new below");
    }
    if (!info.note.empty()) sp.extra += cat(sp.extra.empty() ? "" : " | ", info.note);
    put_text(rows - 2, 0, status_text(sp, cols, info.utf8), cols, bar, info.utf8);

    // The input line.
    if (!info.secret_prompt.empty() || !info.question.empty()) {
        const std::string& only = info.secret_prompt.empty() ? info.question : info.secret_prompt;
        const int pw = put_text(rows - 1, 0, only, cols, A_BOLD, info.utf8);
        attrset(A_NORMAL);
        move(rows - 1, std::min(pw, cols - 1));
        refresh();
        flush_overlays();
        return log_rows;
    }
    const std::string prompt = m.state() == ConnState::AskingNick ? "nick> " : "> ";
    const int pw = put_text(rows - 1, 0, prompt, cols, A_BOLD, info.utf8);
    const auto v = ed.view(cols - pw);
    put_text(rows - 1, pw, v.text, cols - pw, A_NORMAL, info.utf8);
    attrset(A_NORMAL);
    move(rows - 1, pw + v.cursor_col);
    refresh();
    flush_overlays();
    return log_rows;
}

}  // namespace chat::tui
