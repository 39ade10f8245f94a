#include "proto/command.hpp"

#include <initializer_list>

#include "proto/names.hpp"

namespace chat::proto {

namespace {

// Only U+0020 separates words; a TAB belongs to the word it is in.
std::string_view skip_spaces(std::string_view s) noexcept {
    const std::size_t p = s.find_first_not_of(' ');
    return p == std::string_view::npos ? std::string_view{} : s.substr(p);
}

// Splits the first word off `rest` (which starts at a non-space or is empty).
std::string_view take_word(std::string_view& rest) noexcept {
    const std::size_t p = rest.find(' ');
    const std::string_view word = rest.substr(0, p);
    rest = p == std::string_view::npos ? std::string_view{} : skip_spaces(rest.substr(p));
    return word;
}

bool iequals(std::string_view typed, std::string_view lower) noexcept {
    if (typed.size() != lower.size()) return false;
    for (std::size_t i = 0; i < typed.size(); ++i) {
        char c = typed[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (c != lower[i]) return false;
    }
    return true;
}

bool is_one_of(std::string_view word, std::initializer_list<std::string_view> names) noexcept {
    for (std::string_view n : names) {
        if (iequals(word, n)) return true;
    }
    return false;
}

Command usage(std::string_view which) noexcept {
    Command c;
    c.kind = Cmd::Usage;
    c.arg = which;
    return c;
}

// `rest` starts at the nick (or is empty). The text runs byte-exact from its
// first non-space to the end of the line.
Command private_message(std::string_view rest) noexcept {
    const std::string_view nick = take_word(rest);
    if (nick.empty() || rest.empty()) return usage("msg");
    Command c;
    c.kind = Cmd::Private;
    c.arg = nick;
    c.text = rest;
    return c;
}

Command history(std::string_view rest) noexcept {
    Command c;
    c.kind = Cmd::History;
    const std::string_view n = take_word(rest);
    if (n.empty()) {
        c.count = kDefaultHistory;
        return c;
    }
    int value = 0;
    for (char ch : n) {
        if (ch < '0' || ch > '9') return usage("history");
        // Saturate instead of overflowing: any digit string above the cap means the cap.
        if (value <= kMaxHistory) value = value * 10 + (ch - '0');
    }
    if (value == 0) return usage("history");
    c.count = value > kMaxHistory ? kMaxHistory : value;
    return c;
}

}  // namespace

Command parse_command(std::string_view line) noexcept {
    Command c;
    if (line.empty() || (line.front() != '/' && line.front() != '!')) {
        c.kind = Cmd::Public;
        c.text = line;
        return c;
    }
    if (line.size() >= 2 && line[1] == line[0]) {
        c.kind = Cmd::Public;
        c.text = line.substr(1);
        return c;
    }
    if (line.front() == '!') return private_message(line.substr(1));

    std::string_view rest = line.substr(1);
    // The command word is not skipped over leading spaces: "/ x" has an empty word.
    const std::size_t p = rest.find(' ');
    const std::string_view word = rest.substr(0, p);
    rest = p == std::string_view::npos ? std::string_view{} : skip_spaces(rest.substr(p));

    if (is_one_of(word, {"estado", "status"})) {
        const std::string_view status = take_word(rest);
        if (status.empty()) return usage("status");
        if (!rest.empty() || !is_valid_status(status)) {
            c.kind = Cmd::StatusInvalid;
            return c;
        }
        c.kind = Cmd::Status;
        c.arg = status;
        return c;
    }
    if (is_one_of(word, {"msg"})) return private_message(rest);
    if (is_one_of(word, {"listar", "list", "who"})) {
        c.kind = Cmd::List;
        return c;
    }
    if (is_one_of(word, {"perfil", "profile"})) {
        c.kind = Cmd::Profile;
        c.arg = take_word(rest);
        return c;
    }
    if (is_one_of(word, {"historial", "history"})) return history(rest);
    if (is_one_of(word, {"ayuda", "help"})) {
        c.kind = Cmd::Help;
        return c;
    }
    if (is_one_of(word, {"ping"})) {
        const std::string_view token = take_word(rest);
        if (!token.empty() && !is_valid_token(token)) return usage("ping");
        c.kind = Cmd::Ping;
        c.arg = token;
        return c;
    }
    if (is_one_of(word, {"pong"})) {
        c.kind = Cmd::Pong;
        return c;
    }
    if (is_one_of(word, {"salir", "desconectar", "quit"})) {
        c.kind = Cmd::Quit;
        c.text = rest;
        return c;
    }
    // The password is the rest of the line as sent (password_argument in password.hpp says the same).
    if (is_one_of(word, {"registrar", "register"})) {
        if (rest.empty()) return usage("register");
        c.kind = Cmd::Register;
        c.text = rest;
        return c;
    }
    if (is_one_of(word, {"clave", "password"})) {
        if (rest.empty()) return usage("password");
        c.kind = Cmd::Password;
        c.text = rest;
        return c;
    }
    c.kind = Cmd::Unknown;
    c.arg = is_param(word) ? word : std::string_view{"?"};
    return c;
}

}  // namespace chat::proto
