// What the client loop does about passwords: the kept one sent on AUTH, the
// login prompt, /registrar and /clave with their hidden prompts, and the
// server's answers to them. The passwords themselves live in Passwords and
// HiddenInput (Secrets); here they only pass to Connection::send_secret.
#include <curses.h>

#include "proto/password.hpp"
#include "proto/text.hpp"
#include "tui/client_loop.hpp"
#include "tui/password_source.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

void Client::on_effects(const Effects& fx, ConnState before) {
    if (fx.forget_password) {
        const Passwords::Source src = passwords_.source();
        passwords_.forget();
        sync_password();
        if (opt_.plain && (src == Passwords::Source::File || src == Passwords::Source::Env)) {
            // A script cannot type a better one, and its next lines are chat, not passwords.
            model_.add_info(wall_now(),
                            src == Passwords::Source::File
                                ? cat("the password in ", opt_.password_file, " was refused")
                                : cat("the password in ", kPasswordEnv, " was refused"),
                            EntryKind::Error);
            finish(1);
            return;
        }
    }
    if (fx.send_password) conn_.send_secret({}, passwords_.kept().view());
    for (const std::string& s : fx.send) conn_.send(s);
    if (fx.bell && screen_) beep();
    if (fx.new_password_ok && passwords_.new_confirmed(model_.nick())) sync_password();
    if (fx.new_password_refused) passwords_.new_refused();
    const ConnState now = model_.state();
    if (now == ConnState::Online && before != ConnState::Online) {
        reconnect_.succeeded();
        passwords_.logged_in(model_.nick());  // the password typed at the prompt was right: keep it
        sync_password();
    }
    if (now == ConnState::AskingNick && before != ConnState::AskingNick) passwords_.login_refused();
    if (!secret_mode()) hidden_.clear();
}

// /registrar, /clave and their English names: alone, they start the hidden
// prompt; with the password inline, the line is sent as typed and then wiped.
void Client::submit_password_command(std::string& line, const std::string& word) {
    if (model_.state() != ConnState::Online) {
        model_.add_info(wall_now(), "not connected: the line was not sent", EntryKind::Error);
    } else if (const std::string_view arg = proto::password_argument(line); !arg.empty()) {
        passwords_.new_sent_inline(arg);
        conn_.send_secret({}, line);
        model_.scroll_to_bottom();
    } else {
        passwords_.start_new(word);
        model_.add_info(wall_now(), opt_.plain
                                        ? cat("new password for ", model_.nick(),
                                              ": the next two input lines (not echoed; an empty one cancels)")
                                        : cat("new password for ", model_.nick(),
                                              ": type it and press Enter (typing is not shown; an empty "
                                              "line or Esc cancels)"));
        model_.scroll_to_bottom();
    }
    wipe(line);
}

// A line typed while a password was asked for: the login's, or a new one's.
void Client::enter_secret(Secret s) {
    const std::int64_t now = wall_now();
    if (model_.state() == ConnState::AskingPassword) {
        // The server ignores a blank line here too; sending it would only look like a try.
        if (proto::is_blank(s.view())) return;
        conn_.send_secret({}, s.view());
        passwords_.typed_login(std::move(s));
        model_.password_sent();
        return;
    }
    switch (passwords_.enter_new(std::move(s))) {
        case Passwords::Step::AskAgain:
            model_.add_info(now, opt_.plain ? "now the new password again"
                                            : "type the new password again and press Enter");
            break;
        case Passwords::Step::Cancelled: model_.add_info(now, "cancelled: no password was sent"); break;
        case Passwords::Step::Invalid:
            model_.add_info(now,
                            "that password cannot be used (8 to 128 bytes, not starting with a space): "
                            "nothing was sent",
                            EntryKind::Error);
            break;
        case Passwords::Step::Mismatch: model_.add_info(now, "the two passwords differ: nothing was sent", EntryKind::Error); break;
        case Passwords::Step::Send:
            if (model_.state() == ConnState::Online) {
                conn_.send_secret(cat(passwords_.new_command(), " "), passwords_.pending().view());
                model_.add_info(now, "new password sent; waiting for the server's answer");
            } else {
                passwords_.new_refused();
                model_.add_info(now, "not connected: nothing was sent", EntryKind::Error);
            }
            break;
    }
    model_.scroll_to_bottom();
}

std::string Client::secret_prompt() const {
    if (model_.state() == ConnState::AskingPassword) return "password> ";
    switch (passwords_.prompt()) {
        case Passwords::Prompt::NewFirst: return "new password> ";
        case Passwords::Prompt::NewSecond: return "new password again> ";
        case Passwords::Prompt::None: break;
    }
    return {};
}

// Keys while a password is typed: only what edits it, Enter, Esc, scrolling
// and quitting. No history, no completion, nothing drawn.
void Client::on_secret_key(wint_t ch, bool function_key) {
    const auto page = static_cast<std::size_t>(std::max(1, page_rows_ / 2));
    if (function_key) {
        switch (ch) {
            case KEY_BACKSPACE: hidden_.backspace(); break;
            case KEY_ENTER: enter_secret(hidden_.take()); break;
            case KEY_PPAGE: model_.scroll_up(page); break;
            case KEY_NPAGE: model_.scroll_down(page); break;
            default: break;
        }
        return;
    }
    switch (ch) {
        case L'\r':
        case L'\n': enter_secret(hidden_.take()); break;
        case 0x7F:
        case 0x08: hidden_.backspace(); break;
        case 0x15: hidden_.clear(); break;
        case 0x0C: clearok(curscr, TRUE); break;
        case 0x1B:
            if (passwords_.prompt() != Passwords::Prompt::None) {
                hidden_.clear();
                passwords_.cancel_new();
                model_.add_info(wall_now(), "cancelled: no password was sent");
            }
            break;
        case 0x03:
            if (quitting_) finish(0);
            else begin_quit("/salir");
            break;
        default:
            if ((ch >= 0x20 || ch == L'\t') && !hidden_.insert(static_cast<char32_t>(ch))) beep();
            break;
    }
}

}  // namespace chat::tui
