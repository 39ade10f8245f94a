// The client's loop object, shared by the files that implement it:
// client.cpp (the poll loop, keys, --plain) and client_passwords.cpp (what
// the loop does about passwords). Internal to the chat program.
#pragma once

#include <chrono>
#include <cstdint>
#include <cwchar>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "tui/client.hpp"
#include "tui/connection.hpp"
#include "tui/dates.hpp"
#include "tui/editor.hpp"
#include "tui/model.hpp"
#include "tui/passwords.hpp"
#include "tui/paste.hpp"
#include "tui/reconnect.hpp"
#include "tui/secret.hpp"
#include "tui/terminal.hpp"
#include "tui/tls_client.hpp"
#include "tui/width.hpp"

namespace chat::tui {

// Unix seconds (CHAT_FAKE_TIME can move it, for tests: dates.hpp).
inline std::int64_t wall_now() { return client_now(); }

inline std::int64_t mono_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// One per process (it owns the signal pipe and the screen).
class Client {
public:
    Client(const Options& opt, Secret password, Passwords::Source source)
        : opt_(opt), utf8_(locale_is_utf8()), editor_(utf8_) {
        model_.set_wanted_nick(opt.nick);
        passwords_.set_initial(std::move(password), source);
        sync_password();
    }

    int run();

private:
    void setup_widths();
    void connect();
    void lost(std::string_view why);
    void retry_login(LoginRetry why);
    void refused(std::string_view why);
    std::string where() const;
    std::string security() const;
    void on_socket(short revents);
    void on_signals();
    void on_keys();
    void on_key(wint_t ch, bool function_key);
    bool on_paste_key(wint_t ch, bool function_key);
    void on_confirm_key(wint_t ch, bool function_key);
    void enter();
    void pump_outbox();
    std::string question() const;
    void on_secret_key(wint_t ch, bool function_key);
    bool secret_mode() const {
        return model_.state() == ConnState::AskingPassword || passwords_.prompt() != Passwords::Prompt::None;
    }
    std::string secret_prompt() const;
    void enter_secret(Secret s);
    void submit_password_command(std::string& line, const std::string& word);
    void on_effects(const Effects& fx, ConnState before);
    void sync_password() { model_.set_password(passwords_.have(), passwords_.for_nick()); }
    void on_stdin();
    void submit(std::string line);
    void begin_quit(std::string_view line);
    void pump_plain();
    void print_new();
    void finish(int code) {
        done_ = true;
        exit_code_ = code;
    }

    Options opt_;
    bool utf8_;
    Model model_;
    std::unique_ptr<TlsClientContext> tls_;  // outlives conn_'s streams (declared before it)
    Connection conn_;
    LineEditor editor_;
    History history_;
    Completer completer_;
    Passwords passwords_;
    HiddenInput hidden_;
    StdinEcho echo_;
    SignalPipe signals_;
    std::optional<Screen> screen_;

    Reconnect reconnect_{std::random_device{}() | 1};  // jittered: never the seed 0 of the tests

    // Bracketed paste: what arrives between the markers, the lines of a
    // multi-line input waiting for "send N lines?", and those being sent.
    static constexpr std::size_t kMaxPaste = std::size_t{1} << 20;  // code points; the rest of a paste is dropped
    bool esc_ = false;  // the last key was Esc: a digit after it is Alt-digit
    bool pasting_ = false;
    bool paste_cut_ = false;
    std::u32string paste_buf_;
    std::vector<std::string> confirm_;
    std::deque<std::string> outbox_;
    Pacer pacer_;
    bool quitting_ = false;
    std::int64_t quit_deadline_ms_ = 0;
    bool done_ = false;
    int exit_code_ = 0;
    std::string refusal_;  // why a certificate was refused: repeated on stderr at exit
    bool dirty_ = true;
    int page_rows_ = 10;
    int sidebar_top_ = 0;  // F11/F12 page the user list

    // --plain
    std::string stdin_buf_;
    std::deque<std::string> pending_;
    bool stdin_eof_ = false;
    std::uint64_t printed_ = 0;
    int printed_day_ = 0;
};

}  // namespace chat::tui
