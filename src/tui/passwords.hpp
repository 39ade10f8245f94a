// The passwords the client holds, and the steps of asking for a new one.
// Pure: no I/O. The client loop sends what this says to send and tells it
// what the server answered (through the model's Effects).
//
// - The kept password logs in again after a reconnect without asking. It
//   comes from --password-file or CHAT_PASSWORD (for any nickname), from the
//   login prompt once WELCOME confirmed it, or from /registrar or /clave once
//   OK confirmed it (both for that nickname only, so it is never sent to
//   another account).
// - /registrar and /clave without an argument ask twice; the two entries are
//   compared here and only a matching, valid password is sent.
// Every password lives in a Secret and is wiped when it is no longer needed.
#pragma once

#include <string>
#include <string_view>

#include "tui/secret.hpp"

namespace chat::tui {

class Passwords {
public:
    enum class Source { None, File, Env, Typed, Changed };
    enum class Prompt { None, NewFirst, NewSecond };

    // A password given at start (file or environment), good for any nickname.
    void set_initial(Secret s, Source src);

    bool have() const { return !kept_.empty(); }
    const Secret& kept() const { return kept_; }
    const std::string& for_nick() const { return kept_nick_; }  // empty: any nickname
    Source source() const { return source_; }
    void forget();

    // The password typed at the login prompt was sent; it is kept (for the
    // nick logged in) once the login is confirmed, dropped if it is refused.
    void typed_login(Secret s);
    void logged_in(std::string_view nick);
    void login_refused() { candidate_.clear(); }

    // /registrar or /clave typed without an argument: `command` is the word
    // as typed ("/registrar", "/register", "/clave", "/password").
    void start_new(std::string_view command);
    Prompt prompt() const { return prompt_; }
    const std::string& new_command() const { return command_; }
    void cancel_new();

    enum class Step {
        AskAgain,   // first entry taken: ask for it again
        Cancelled,  // an empty entry: nothing is sent
        Invalid,    // not 8 to 128 bytes of clean text, or a leading space: nothing is sent
        Mismatch,   // the second entry differs: nothing is sent
        Send,       // matching: send new_command() + " " + pending() now
    };
    // One entry typed at a new-password prompt.
    Step enter_new(Secret typed);

    // The new password that was sent and awaits OK (set by Step::Send, or by
    // new_sent_inline for "/registrar secret123" typed in full).
    const Secret& pending() const { return pending_; }
    void new_sent_inline(std::string_view password);
    // OK register / OK password: the pending password becomes the kept one
    // (for `nick`). False when none was pending.
    bool new_confirmed(std::string_view nick);
    void new_refused() { pending_.clear(); }

private:
    Secret kept_;
    std::string kept_nick_;
    Source source_ = Source::None;

    Secret candidate_;

    Prompt prompt_ = Prompt::None;
    std::string command_;
    Secret first_;
    Secret pending_;
};

// True for the command words that take a new password: /registrar,
// /register, /clave, /password (ASCII case ignored).
bool is_password_command(std::string_view word);

}  // namespace chat::tui
