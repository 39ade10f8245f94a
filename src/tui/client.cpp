#include "tui/client.hpp"

#include <curses.h>
#include <poll.h>
#include <string.h>  // explicit_bzero
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "proto/names.hpp"
#include "proto/text.hpp"
#include "tui/client_loop.hpp"
#include "tui/help.hpp"
#include "tui/password_source.hpp"
#include "tui/strings.hpp"
#include "tui/tls_policy.hpp"
#include "tui/view.hpp"
#include "tui/width.hpp"
#include "tui/width_probe.hpp"

namespace chat::tui {

namespace {

constexpr std::int64_t kQuitWaitMs = 2000;
constexpr int kProbeTimeoutMs = 300;  // a terminal that answers CPR does so within a few ms, even over ssh

// The first word of a line, ASCII-lowered: enough to spot the client's own commands.
std::string command_word(std::string_view line) {
    std::string w(line.substr(0, line.find(' ')));
    for (char& c : w) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return w;
}

bool is_quit(std::string_view word) { return word == "/salir" || word == "/quit" || word == "/desconectar"; }

std::string trim_spaces(std::string_view s) {
    const auto b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(' ');
    return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string Client::where() const { return opt_.host + ":" + opt_.port; }

// For the status bar: "TLSv1.3" once the handshake is done, "TLS" before; nothing for plain TCP.
std::string Client::security() const {
    if (!opt_.tls.enabled) return {};
    const TlsClientStream* t = conn_.tls();
    std::string s = t != nullptr ? t->version() : std::string("TLS");
    if (opt_.tls.insecure) s += " UNVERIFIED";
    return s;
}

// Before the first draw: how this terminal draws each kind of cluster.
void Client::setup_widths() {
    std::string error;
    const char* name = std::getenv("CHAT_WIDTHS");
    std::optional<WidthModel> forced = widths_from_name(name != nullptr ? name : "", utf8_, error);
    if (!error.empty()) model_.add_info(wall_now(), error, EntryKind::Error);
    WidthModel m = WidthModel::per_code_point(utf8_);
    if (forced) {
        m = *forced;
        model_.add_info(wall_now(), cat("text widths from CHAT_WIDTHS=", name, ": ", m.describe()));
    } else if (screen_ && utf8_) {
        const std::size_t n = probe_samples().size();
        const std::vector<int> w = screen_->probe(probe_request(), n, kProbeTimeoutMs);
        m = model_from_probe(w, utf8_);
        if (w.size() == n) {
            model_.add_info(wall_now(), cat("text widths measured on this terminal: ", m.describe()));
        } else {
            model_.add_info(wall_now(),
                            cat("the terminal answered ", std::to_string(w.size()), " of ", std::to_string(n),
                                " width probes: the others per code point (wcwidth)"));
        }
    }
    set_text_widths(m);
}

void Client::connect() {
    model_.on_connecting(wall_now(), opt_.tls.enabled ? where() + " over TLS" : where());
    // Said at every attempt, so a long session's log never loses it.
    if (opt_.tls.insecure) model_.add_info(wall_now(), insecure_warning(), EntryKind::Error);
    if (!conn_.open(opt_.host, opt_.port)) lost(conn_.error());
}

void Client::lost(std::string_view why) {
    const bool refused = conn_.certificate_refused();
    conn_.close();
    // A prompt for a new password belongs to the session that is gone; an
    // unconfirmed password (typed at login, or new) is not known to be right.
    if (passwords_.prompt() != Passwords::Prompt::None) passwords_.cancel_new();
    hidden_.clear();
    passwords_.login_refused();
    passwords_.new_refused();
    if (quitting_) {
        model_.set_state(ConnState::Closed);
        finish(0);
        return;
    }
    if (refused) {
        // A refused certificate is no network hiccup: trying again would ask
        // the user to accept the same answer, so the client stops here.
        refusal_ = why;
        model_.on_disconnected(wall_now(), why, 0);
        if (opt_.plain) {
            finish(1);
        } else {
            model_.add_info(wall_now(), "the certificate was refused, so the client does not retry: /salir or Ctrl-C quits",
                            EntryKind::Error);
        }
        return;
    }
    if (opt_.plain) {
        // Scripts want to know at once; there is nobody to watch a retry.
        model_.on_disconnected(wall_now(), why, 0);
        finish(1);
        return;
    }
    reconnect_.schedule(mono_ms(), Reconnect::Why::Lost);
    model_.on_disconnected(wall_now(), why, reconnect_.last_delay());
}

// The old session still holds the nick, or the server is too busy to check the password:
// this connection is dropped and a new one tried later.
void Client::retry_login(LoginRetry why) {
    conn_.close();
    passwords_.login_refused();
    hidden_.clear();
    reconnect_.schedule(mono_ms(), why == LoginRetry::ServerBusy ? Reconnect::Why::Busy : Reconnect::Why::NickHeld);
    model_.on_login_retry(why, wall_now(), reconnect_.last_delay());
}

void Client::on_socket(short revents) {
    std::vector<ServerInput> lines;
    const auto r = conn_.on_ready(revents, lines);
    if (r == Connection::Result::Connected) {
        model_.on_connected(wall_now());
        if (const TlsClientStream* t = conn_.tls()) model_.add_info(wall_now(), cat("TLS: ", t->describe()));
        dirty_ = true;
    }
    for (const ServerInput& in : lines) {
        if (in.too_long) {
            model_.on_line_too_long(wall_now(), Connection::kMaxServerLine);
            continue;
        }
        const ConnState before = model_.state();
        const Effects fx = model_.apply(in.line, wall_now());
        if (fx.retry != LoginRetry::None) {
            retry_login(fx.retry);
            dirty_ = true;
            return;
        }
        on_effects(fx, before);
        if (done_) break;
    }
    if (!lines.empty()) dirty_ = true;
    if (r == Connection::Result::Closed) {
        lost(conn_.error());
        dirty_ = true;  // a refused certificate leaves no countdown to redraw the screen
    }
    if (opt_.plain) pump_plain();
}

void Client::on_signals() {
    for (int sig : signals_.drain()) {
        if (sig == SIGWINCH) {
            if (screen_) screen_->resize();
            dirty_ = true;
        } else if (quitting_) {
            finish(0);  // asked twice: stop waiting for the server
        } else {
            begin_quit("/salir");
        }
    }
}

void Client::begin_quit(std::string_view line) {
    if (conn_.connected() && model_.state() == ConnState::Online) {
        conn_.send(line);
        quitting_ = true;
        quit_deadline_ms_ = mono_ms() + kQuitWaitMs;
        if (screen_) model_.add_info(wall_now(), "leaving");
        dirty_ = true;
    } else {
        finish(0);
    }
}

void Client::submit(std::string line) {
    if (model_.state() == ConnState::AskingNick) {
        const std::string nick = trim_spaces(line);
        if (nick.empty()) return;
        if (is_quit(command_word(nick))) {
            finish(0);
            return;
        }
        conn_.send(nick);
        model_.nick_sent(nick);
        return;
    }
    if (proto::is_blank(line)) return;
    const std::string word = command_word(line);
    if (is_password_command(word)) {
        submit_password_command(line, word);  // never recorded in the history
        return;
    }
    if (!opt_.plain) history_.add(line);
    if (word == "/clear") {
        model_.clear_log();
        return;
    }
    if (word == "/query" || word == "/privado") {
        const std::string nick = trim_spaces(std::string_view(line).substr(word.size()));
        if (!proto::is_valid_nick(nick)) {
            model_.add_info(wall_now(), cat("usage: ", word, " <nick> opens a window to talk with nick"),
                            EntryKind::Error);
        } else {
            model_.open_query(nick, wall_now());
        }
        return;
    }
    if (word == "/buscar" || word == "/search") {
        const std::string text = trim_spaces(std::string_view(line).substr(word.size()));
        if (text.empty()) {
            model_.end_search();
        } else if (!model_.search(text)) {
            model_.add_info(wall_now(), cat("no line in this window holds \"", text, "\""), EntryKind::Error);
        }
        return;
    }
    if (word == "/close" || word == "/cerrar") {
        if (!model_.close_window()) model_.add_info(wall_now(), "the room's window stays open", EntryKind::Error);
        return;
    }
    if (is_quit(word)) {
        begin_quit(line);
        return;
    }
    if (model_.state() != ConnState::Online) {
        if (word == "/ayuda" || word == "/help") {
            for (std::string_view h : client_help_lines()) model_.add_info(wall_now(), h, EntryKind::Help);
        } else {
            model_.add_info(wall_now(), "not connected: the line was not sent", EntryKind::Error);
        }
        return;
    }
    const std::string out = model_.outgoing(line);
    model_.follow_private(out, wall_now());
    conn_.send(out);
    model_.scroll_to_bottom();
}

void Client::on_keys() {
    for (;;) {
        wint_t ch = 0;
        const int rc = get_wch(&ch);
        if (rc == ERR) break;
        on_key(ch, rc == KEY_CODE_YES);
        dirty_ = true;
        if (done_) break;
    }
}

// The markers and the text of a bracketed paste; true when the key was taken.
bool Client::on_paste_key(wint_t ch, bool function_key) {
    if (function_key && ch == static_cast<wint_t>(kKeyPasteBegin)) {
        pasting_ = true;
        paste_cut_ = false;
        paste_buf_.clear();
        return true;
    }
    if (function_key && ch == static_cast<wint_t>(kKeyPasteEnd)) {
        pasting_ = false;
        completer_.reset();
        editor_.insert_paste(normalize_paste(paste_buf_));
        std::fill(paste_buf_.begin(), paste_buf_.end(), U'\0');
        paste_buf_.clear();
        if (paste_cut_) {
            model_.add_info(wall_now(), cat("the paste was cut after ", std::to_string(kMaxPaste), " characters"),
                            EntryKind::Error);
        }
        return true;
    }
    if (!pasting_) return false;
    // Inside a paste every key is text: Enter a newline, TAB spaces, never a command or completion.
    const wint_t c = function_key ? (ch == KEY_ENTER ? L'\r' : 0) : ch;
    if (c == 0) return true;
    if (paste_buf_.size() < kMaxPaste) paste_buf_.push_back(static_cast<char32_t>(c));
    else paste_cut_ = true;
    return true;
}

std::string Client::question() const {
    if (confirm_.empty()) return {};
    return cat("send ", std::to_string(confirm_.size()), " lines? Enter sends them, Esc goes back to them ");
}

// "send N lines?": Enter queues them for the pacer, Esc gives them back to the input line.
void Client::on_confirm_key(wint_t ch, bool function_key) {
    const bool enter_key = function_key ? ch == KEY_ENTER : (ch == L'\r' || ch == L'\n');
    if (enter_key) {
        model_.add_info(wall_now(), cat("sending ", std::to_string(confirm_.size()), " pasted lines"));
        for (std::string& l : confirm_) outbox_.push_back(std::move(l));
        confirm_.clear();
        editor_.wipe();
        history_.reset();
        model_.scroll_to_bottom();
        pump_outbox();
    } else if (!function_key && ch == 0x1B) {
        confirm_.clear();
    } else if (!function_key && ch == 0x03) {
        confirm_.clear();
        if (quitting_) finish(0);
        else begin_quit("/salir");
    }
}

void Client::enter() {
    if (editor_.multiline()) {
        std::vector<std::string> lines = paste_lines(editor_.text());
        if (lines.size() > 1) {
            confirm_ = std::move(lines);
            return;
        }
        editor_.wipe();
        history_.reset();
        if (!lines.empty()) submit(std::move(lines.front()));
        return;
    }
    std::string line = editor_.text();
    editor_.wipe();
    history_.reset();
    submit(std::move(line));
}

// Pasted lines go out at the pacer's rate; a lost connection drops the rest.
void Client::pump_outbox() {
    if (outbox_.empty()) return;
    if (model_.state() != ConnState::Online) {
        model_.add_info(wall_now(),
                        cat(std::to_string(outbox_.size()), " pasted lines were not sent: not connected"),
                        EntryKind::Error);
        outbox_.clear();
        dirty_ = true;
        return;
    }
    while (!outbox_.empty() && !quitting_ && pacer_.take(mono_ms())) {
        std::string l = std::move(outbox_.front());
        outbox_.pop_front();
        submit(std::move(l));
        dirty_ = true;
    }
}

void Client::on_key(wint_t ch, bool function_key) {
    if (secret_mode()) {
        completer_.reset();
        on_secret_key(ch, function_key);
        return;
    }
    if (on_paste_key(ch, function_key)) return;
    if (!confirm_.empty()) {
        on_confirm_key(ch, function_key);
        return;
    }
    if (model_.search_state().active() && !function_key) {
        if (ch == 0x12 || ch == 0x13) {  // Ctrl-R older, Ctrl-S newer
            model_.search_step(ch == 0x12 ? 1 : -1);
            return;
        }
        if (ch == 0x1B) {
            model_.end_search();
            model_.scroll_to_bottom();
            return;
        }
    }
    // Alt-1..9 arrive as Esc and the digit.
    const bool meta = std::exchange(esc_, false);
    if (!function_key && ch == 0x1B) {
        esc_ = true;
        return;
    }
    if (meta && !function_key && ch >= L'1' && ch <= L'9') {
        model_.select_window(static_cast<std::size_t>(ch - L'1'));
        return;
    }
    const int page = std::max(1, page_rows_ / 2);
    const bool tab = !function_key && ch == L'\t';
    if (!tab) completer_.reset();
    if (function_key) {
        switch (ch) {
            case KEY_LEFT: editor_.press(EditKey::Left); break;
            case KEY_RIGHT: editor_.press(EditKey::Right); break;
            case KEY_HOME: editor_.press(EditKey::Home); break;
            case KEY_END:
                if (editor_.empty()) model_.scroll_to_bottom();
                editor_.press(EditKey::End);
                break;
            case KEY_BACKSPACE: editor_.press(EditKey::Backspace); break;
            case KEY_DC: editor_.press(EditKey::Delete); break;
            case KEY_UP:
                if (auto l = history_.up(editor_.text())) editor_.set(*l);
                break;
            case KEY_DOWN:
                if (auto l = history_.down()) editor_.set(*l);
                break;
            case KEY_F(11): sidebar_top_ = std::max(0, sidebar_top_ - std::max(1, page_rows_ - 2)); break;
            case KEY_F(12): sidebar_top_ += std::max(1, page_rows_ - 2); break;
            case KEY_PPAGE: model_.scroll_up(static_cast<std::size_t>(page)); break;
            case KEY_NPAGE: model_.scroll_down(static_cast<std::size_t>(page)); break;
            case KEY_ENTER: enter(); break;
            case KEY_MOUSE: {
                MEVENT ev{};
                if (getmouse(&ev) == OK) {
                    if (ev.bstate & BUTTON4_PRESSED) model_.scroll_up(3);
                    if (ev.bstate & BUTTON5_PRESSED) model_.scroll_down(3);
                }
                break;
            }
            default: break;  // KEY_RESIZE and the rest: a redraw is all they need
        }
        return;
    }
    switch (ch) {
        case L'\r':
        case L'\n': enter(); break;
        case 0x7F:
        case 0x08: editor_.press(EditKey::Backspace); break;
        case 0x01: editor_.press(EditKey::Home); break;
        case 0x05: editor_.press(EditKey::End); break;
        case 0x04: editor_.press(EditKey::Delete); break;
        case 0x02: editor_.press(EditKey::Left); break;
        case 0x06: editor_.press(EditKey::Right); break;
        case 0x15: editor_.press(EditKey::KillStart); break;
        case 0x0B: editor_.press(EditKey::KillEnd); break;
        case 0x17: editor_.press(EditKey::KillWord); break;
        case 0x0C: clearok(curscr, TRUE); break;
        case 0x0E: model_.next_window(1); break;   // Ctrl-N
        case 0x10: model_.next_window(-1); break;  // Ctrl-P
        case 0x03:
            if (quitting_) finish(0);
            else begin_quit("/salir");
            break;
        case L'\t':
            if (auto r = completer_.complete(editor_.text(), editor_.cursor_byte(), model_.nicks())) {
                editor_.set(r->text, r->cursor_byte);
            }
            break;
        default:
            if (ch >= 0x20) editor_.insert(static_cast<char32_t>(ch));
            break;
    }
}

void Client::on_stdin() {
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) return;
        stdin_eof_ = true;
    } else if (n == 0) {
        stdin_eof_ = true;
    } else {
        stdin_buf_.append(buf, static_cast<std::size_t>(n));
        explicit_bzero(buf, static_cast<std::size_t>(n));  // it may have been a password line
    }
    std::size_t start = 0;
    for (std::size_t lf; (lf = stdin_buf_.find('\n', start)) != std::string::npos; start = lf + 1) {
        std::string line = stdin_buf_.substr(start, lf - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pending_.push_back(std::move(line));
    }
    if (start > 0) {
        // Not erase(): that would leave copies of the lines taken (a password among them) past the end.
        std::string rest = stdin_buf_.substr(start);
        wipe(stdin_buf_);
        stdin_buf_.swap(rest);
    }
    if (stdin_eof_ && !stdin_buf_.empty()) pending_.push_back(std::exchange(stdin_buf_, {}));
    pump_plain();
}

// Lines typed ahead of the login wait for it; the first one is the nickname when none was given.
void Client::pump_plain() {
    while (!pending_.empty() && !done_ && !quitting_) {
        const ConnState st = model_.state();
        if (secret_mode()) {
            // The next line is the password asked for (after AUTH, or by /registrar or /clave alone).
            std::string l = std::move(pending_.front());
            pending_.pop_front();
            Secret secret(l);
            wipe(l);
            if (st == ConnState::AskingPassword && proto::is_blank(secret.view())) continue;
            enter_secret(std::move(secret));
            if (st == ConnState::AskingPassword) break;  // the next line waits for the answer
            continue;
        }
        if (st == ConnState::AskingNick) {
            std::string l = std::move(pending_.front());
            pending_.pop_front();
            if (proto::is_blank(l)) continue;
            submit(std::move(l));
            break;  // the next line waits for the answer
        }
        if (st != ConnState::Online) break;
        std::string l = std::move(pending_.front());
        pending_.pop_front();
        submit(std::move(l));
    }
    if (stdin_eof_ && pending_.empty() && !quitting_ && !done_) {
        if (model_.state() == ConnState::AskingPassword) {
            model_.add_info(wall_now(),
                            cat("end of input while the password of ", model_.auth_nick(),
                                " was wanted (give it with --password-file or ", kPasswordEnv, ")"),
                            EntryKind::Error);
            finish(1);
        } else if (model_.state() == ConnState::Online) {
            if (passwords_.prompt() != Passwords::Prompt::None) {
                passwords_.cancel_new();
                model_.add_info(wall_now(),
                                "end of input before the new password was repeated: nothing was sent",
                                EntryKind::Error);
            }
            begin_quit("/salir");
        } else if (model_.state() == ConnState::AskingNick) {
            finish(1);
        }
    }
}

void Client::print_new() {
    const auto& log = model_.log();
    std::uint64_t fresh = model_.added() - printed_;
    fresh = std::min<std::uint64_t>(fresh, log.size());
    for (std::size_t i = log.size() - fresh; i < log.size(); ++i) {
        // The day's line where the day changes, as on the screen.
        const int day = local_day(log[i].time);
        if (printed_day_ != 0 && day != printed_day_) {
            const std::string d = day_change_text(log[i].time) + "\n";
            std::fwrite(d.data(), 1, d.size(), stdout);
        }
        printed_day_ = day;
        const std::string s = format_entry_plain(log[i], wall_now()) + "\n";
        std::fwrite(s.data(), 1, s.size(), stdout);
    }
    printed_ = model_.added();
    std::fflush(stdout);
}

int Client::run() {
    if (!signals_.ok()) {
        std::fprintf(stderr, "chat: cannot create a pipe: %s\n", std::strerror(errno));
        return 1;
    }
    if (opt_.tls.enabled) {
        std::string error;
        tls_ = TlsClientContext::make(opt_.tls, error);
        if (!tls_) {
            std::fprintf(stderr, "chat: %s\n", error.c_str());
            return 2;
        }
        conn_.use_tls(tls_.get());
        // Before the screen, so it is also in the terminal once the screen is gone.
        if (opt_.tls.insecure) std::fprintf(stderr, "chat: %s\n", std::string(insecure_warning()).c_str());
    }
    if (!opt_.plain) {
        if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
            std::fprintf(stderr, "chat: standard input and output must be a terminal (or use --plain)\n");
            return 1;
        }
        screen_.emplace();
        if (!screen_->ok()) {
            screen_.reset();
            std::fprintf(stderr, "chat: cannot start the terminal (is TERM set?)\n");
            return 1;
        }
        init_colors(opt_.colors != "off");
    }
    setup_widths();
    connect();
    while (!done_) {
        if (screen_) {
            if (dirty_) {
                ViewInfo info{utf8_, where(), 0, secret_prompt(), security(), question(), {}, wall_now(), sidebar_top_};
                if (!outbox_.empty()) info.note = cat("sending pasted lines: ", std::to_string(outbox_.size()), " left");
                if (model_.state() == ConnState::Reconnecting) info.reconnect_in = reconnect_.seconds_left(mono_ms());
                page_rows_ = draw(model_, editor_, info);
                sidebar_top_ = info.sidebar_top;
                dirty_ = false;
            }
        } else {
            // A password read from a terminal in --plain is not echoed: off before the line that asks for it is out.
            secret_mode() ? echo_.hide() : echo_.show();
            print_new();
        }

        pollfd fds[3];
        nfds_t n = 0;
        fds[n++] = {signals_.fd(), POLLIN, 0};
        const nfds_t in_idx = (opt_.plain && stdin_eof_) ? 99 : n;
        if (in_idx != 99) fds[n++] = {STDIN_FILENO, POLLIN, 0};
        const nfds_t sock_idx = conn_.is_open() ? n : 99;
        if (sock_idx != 99) fds[n++] = {conn_.fd(), conn_.poll_events(), 0};

        int timeout = -1;
        const std::int64_t now = mono_ms();
        if (model_.state() == ConnState::Reconnecting && !conn_.is_open()) {
            timeout = reconnect_.wait_ms(now, screen_.has_value());
        }
        if (!outbox_.empty()) {
            const int p = static_cast<int>(pacer_.wait_ms(now));
            timeout = timeout < 0 ? p : std::min(timeout, p);
        }
        if (quitting_) {
            const int q = static_cast<int>(std::max<std::int64_t>(0, quit_deadline_ms_ - now));
            timeout = timeout < 0 ? q : std::min(timeout, q);
        }

        const int r = ::poll(fds, n, timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "chat: poll: %s\n", std::strerror(errno));
            finish(1);
            break;
        }
        if (fds[0].revents != 0) on_signals();
        if (in_idx != 99 && fds[in_idx].revents != 0) {
            if (!screen_) on_stdin();
            else if ((fds[in_idx].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) finish(1);  // the terminal is gone
            else on_keys();
        }
        if (sock_idx != 99 && fds[sock_idx].revents != 0 && conn_.is_open()) on_socket(fds[sock_idx].revents);

        pump_outbox();
        const std::int64_t after = mono_ms();
        if (model_.state() == ConnState::Reconnecting) {
            dirty_ = true;
            if (!conn_.is_open() && reconnect_.due(after)) {
                reconnect_.started();
                connect();
            }
        }
        if (quitting_ && after >= quit_deadline_ms_) finish(0);
    }
    if (!screen_) print_new();
    screen_.reset();  // the terminal back first, so the line below stays readable
    if (!refusal_.empty()) {
        std::fprintf(stderr, "chat: %s\n", refusal_.c_str());
        return 1;
    }
    return exit_code_;
}

int run_client(const Options& opt, Secret password, Passwords::Source source) {
    Client c(opt, std::move(password), source);
    return c.run();
}

}  // namespace chat::tui
