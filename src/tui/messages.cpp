#include "tui/messages.hpp"

#include "tui/strings.hpp"

namespace chat::tui {

namespace {

std::string who(std::string_view nick, std::string_view fallback) {
    return nick.empty() ? std::string(fallback) : std::string(nick);
}

}  // namespace

std::string explain_error(std::string_view code, std::string_view arg, std::string_view nick) {
    if (code == "bad-password") return cat("wrong password for ", who(nick, "this account"));
    if (code == "too-many-attempts") {
        return cat("too many wrong passwords for ", who(nick, "this account"),
                   " or from this address: wait a minute before trying again");
    }
    if (code == "tls-required") {
        return "this server takes passwords only over TLS or from its own machine, and this client "
               "connects over plain TCP: start it with --tls, or use a guest nickname (one that is not registered)";
    }
    if (code == "account-required") {
        return "this server accepts registered accounts only, and this nickname is none "
               "(the server's operator creates the accounts)";
    }
    if (code == "registration-closed") {
        return "this server does not let its users register nicknames (its operator creates the accounts)";
    }
    if (code == "password-invalid") {
        return "the password was refused: it must be 8 to 128 bytes and must not start with a space";
    }
    if (code == "already-registered") {
        return cat(who(nick, "this nickname"),
                   " is already a registered account; /clave changes its password");
    }
    if (code == "not-registered") {
        return cat(who(nick, "this nickname"),
                   " is a guest nickname with no password to change; /registrar makes it an account");
    }
    if (code == "usage" && arg == "register") {
        return "usage: /registrar alone asks for the new password (twice, hidden); /registrar <password> "
               "also works";
    }
    if (code == "usage" && arg == "password") {
        return "usage: /clave alone asks for the new password (twice, hidden); /clave <password> also works";
    }
    return {};
}

bool refuses_login(std::string_view code) {
    return code == "nick-invalid" || code == "nick-in-use" || code == "unavailable" ||
           code == "bad-password" || code == "too-many-attempts" || code == "account-required" ||
           code == "tls-required";
}

bool refuses_new_password(std::string_view code, std::string_view arg) {
    if (code == "usage") return arg == "register" || arg == "password";
    return code == "tls-required" || code == "registration-closed" || code == "already-registered" ||
           code == "password-invalid" || code == "not-registered" || code == "unavailable";
}

std::string confirm_ok(std::string_view what, std::string_view nick, std::string_view server_text) {
    if (what == "register") {
        return cat(who(nick, "this nickname"),
                   " is now a registered account: logging in with it asks for this password "
                   "(this client keeps it for reconnecting)");
    }
    if (what == "password") {
        return cat("the password of ", who(nick, "this account"),
                   " is changed: the next logins use the new one (this client keeps it for reconnecting)");
    }
    return cat("OK ", what, ": ", server_text);
}

}  // namespace chat::tui
