#include "tui/view.hpp"

#include <curses.h>

#include <algorithm>
#include <string_view>

#include "tui/layout.hpp"
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
    }
    return A_NORMAL;
}

void put_cell(char32_t cp, attr_t a) {
    attrset(a);
    if (cp < 0x80) {
        addch(static_cast<chtype>(cp) | a);
    } else {
        const wchar_t wc = static_cast<wchar_t>(cp);
        addnwstr(&wc, 1);
    }
}

// Draws UTF-8 text at (y, x) in at most `cols` columns; returns the columns used.
int put_text(int y, int x, std::string_view s, int cols, attr_t a, bool utf8) {
    if (cols <= 0) return 0;
    const auto rows = wrap_spans({Span{std::string(s), Style::Text, {}}}, 1 << 20, 0, utf8);
    move(y, x);
    int used = 0;
    for (const Cell& c : rows.front()) {
        if (used + c.width > cols) break;
        put_cell(c.cp, a);
        used += c.width;
    }
    return used;
}

void draw_sidebar(const Model& m, int x, int width, int height, bool utf8) {
    attrset(A_DIM);
    mvvline(0, x, ACS_VLINE, height);
    const int cx = x + 2, cw = width - 2;
    const std::string title = cat("users (", std::to_string(m.users().size()), ")");
    put_text(0, cx, title, cw, A_BOLD, utf8);
    int y = 1;
    const auto& users = m.users();
    for (std::size_t i = 0; i < users.size() && y < height; ++i, ++y) {
        if (y == height - 1 && i + 1 < users.size()) {
            put_text(y, cx, cat("+", std::to_string(users.size() - i), " more"), cw, A_DIM, utf8);
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
}

std::string state_text(const Model& m, const ViewInfo& info) {
    switch (m.state()) {
        case ConnState::Connecting: return "connecting";
        case ConnState::LoggingIn: return "logging in";
        case ConnState::AskingNick: return "choose a nickname";
        case ConnState::AskingPassword: return cat("password for ", m.auth_nick());
        case ConnState::Online: return "online";
        case ConnState::Reconnecting: return cat("reconnecting in ", std::to_string(info.reconnect_in), " s");
        case ConnState::Closed: return "closed";
    }
    return {};
}

}  // namespace

void init_colors() {
    g_colors = has_colors();
    if (!g_colors) return;
    for (unsigned i = 0; i < kNickColorCount; ++i) {
        init_pair(static_cast<short>(1 + i), static_cast<short>(kNickColors[i]), -1);
    }
    init_pair(kPairGreen, COLOR_GREEN, -1);
    init_pair(kPairRed, COLOR_RED, -1);
    init_pair(kPairYellow, COLOR_YELLOW, -1);
    init_pair(kPairMagenta, COLOR_MAGENTA, -1);
}

int draw(const Model& m, LineEditor& ed, const ViewInfo& info) {
    const int rows = LINES, cols = COLS;
    erase();
    if (rows < 4 || cols < 20) {
        attrset(A_BOLD);
        put_text(0, 0, "terminal too small", cols, A_BOLD, info.utf8);
        move(0, 0);
        refresh();
        return 1;
    }
    const int sidebar = cols >= kSidebarMinCols ? std::clamp(cols / 4, 16, 28) : 0;
    const int log_cols = cols - sidebar;
    const int log_rows = rows - 2;

    // The log, bottom-up from the entry `scroll` entries above the newest.
    const auto& log = m.log();
    int y = log_rows;
    for (std::size_t k = log.size() - std::min(m.scroll_offset(), log.size()); k-- > 0 && y > 0;) {
        const auto spans = format_entry(log[k], false);
        const auto wrapped = wrap_spans(spans, log_cols, kTimeCols, info.utf8);
        for (std::size_t r = wrapped.size(); r-- > 0 && y > 0;) {
            --y;
            move(y, 0);
            for (const Cell& c : wrapped[r]) put_cell(c.cp, span_attr(spans[c.span]));
        }
    }
    if (sidebar > 0) draw_sidebar(m, log_cols, sidebar, log_rows, info.utf8);

    // The status bar.
    const attr_t bar = A_REVERSE;
    attrset(bar);
    mvhline(rows - 2, 0, ' ', cols);
    std::string s = m.server_name().empty() ? cat(" ", info.where) : cat(" ", m.server_name(), " ", info.where);
    if (!info.security.empty()) s += cat(" ", info.security);
    if (!m.nick().empty()) s += cat(" | ", m.nick(), " (", m.my_status(), ")");
    s += cat(" | ", state_text(m, info));
    if (m.scroll_offset() > 0) s += cat(" | scrolled, ", std::to_string(m.unread()), " new below");
    put_text(rows - 2, 0, s, cols, bar, info.utf8);

    // The input line.
    if (!info.secret_prompt.empty()) {
        const int pw = put_text(rows - 1, 0, info.secret_prompt, cols, A_BOLD, info.utf8);
        attrset(A_NORMAL);
        move(rows - 1, std::min(pw, cols - 1));
        refresh();
        return log_rows;
    }
    const std::string prompt = m.state() == ConnState::AskingNick ? "nick> " : "> ";
    const int pw = put_text(rows - 1, 0, prompt, cols, A_BOLD, info.utf8);
    const auto v = ed.view(cols - pw);
    put_text(rows - 1, pw, v.text, cols - pw, A_NORMAL, info.utf8);
    attrset(A_NORMAL);
    move(rows - 1, pw + v.cursor_col);
    refresh();
    return log_rows;
}

}  // namespace chat::tui
