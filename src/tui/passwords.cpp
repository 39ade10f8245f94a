#include "tui/passwords.hpp"

#include <utility>

#include "proto/password.hpp"

namespace chat::tui {

void Passwords::set_initial(Secret s, Source src) {
    kept_ = std::move(s);
    kept_nick_.clear();
    source_ = kept_.empty() ? Source::None : src;
}

void Passwords::forget() {
    kept_.clear();
    kept_nick_.clear();
    source_ = Source::None;
}

void Passwords::typed_login(Secret s) { candidate_ = std::move(s); }

void Passwords::logged_in(std::string_view nick) {
    if (candidate_.empty()) return;
    kept_ = std::move(candidate_);
    kept_nick_ = nick;
    source_ = Source::Typed;
}

void Passwords::start_new(std::string_view command) {
    first_.clear();
    command_ = command;
    prompt_ = Prompt::NewFirst;
}

void Passwords::cancel_new() {
    first_.clear();
    prompt_ = Prompt::None;
}

Passwords::Step Passwords::enter_new(Secret typed) {
    if (prompt_ == Prompt::None) return Step::Cancelled;
    if (typed.empty()) {
        cancel_new();
        return Step::Cancelled;
    }
    if (prompt_ == Prompt::NewFirst) {
        // Checked before asking again: the same rule the server applies (password-invalid).
        if (!proto::is_valid_password(typed.view())) {
            cancel_new();
            return Step::Invalid;
        }
        first_ = std::move(typed);
        prompt_ = Prompt::NewSecond;
        return Step::AskAgain;
    }
    const bool same = first_.equals(typed);
    prompt_ = Prompt::None;
    if (!same) {
        first_.clear();
        return Step::Mismatch;
    }
    pending_ = std::move(first_);
    return Step::Send;
}

void Passwords::new_sent_inline(std::string_view password) {
    pending_.assign(password);
}

bool Passwords::new_confirmed(std::string_view nick) {
    if (pending_.empty()) return false;
    kept_ = std::move(pending_);
    kept_nick_ = nick;
    source_ = Source::Changed;
    candidate_.clear();
    return true;
}

bool is_password_command(std::string_view word) {
    std::string w(word);
    for (char& c : w) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return w == "/registrar" || w == "/register" || w == "/clave" || w == "/password";
}

}  // namespace chat::tui
