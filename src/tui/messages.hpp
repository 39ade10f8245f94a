// What the client says about the server's answers to accounts: the ERROR
// codes of protocol version 2 in plain words, and the OK confirmations.
// Pure; the model puts them in the log.
#pragma once

#include <string>
#include <string_view>

namespace chat::tui {

// A sentence for an ERROR code the client knows something to say about
// (bad-password, too-many-attempts, tls-required, account-required,
// registration-closed, password-invalid, already-registered, not-registered,
// usage register / usage password); empty for the others, whose server text
// is shown alone. `nick`: whose password or account it is about (may be empty).
std::string explain_error(std::string_view code, std::string_view arg, std::string_view nick);

// True for the codes that refuse a login and leave the server waiting for a
// nickname (PROTOCOL.md "Login" step 4): the client asks for one again.
bool refuses_login(std::string_view code);

// True for the codes that may answer /registrar or /clave (the new password
// then is not the account's): see PROTOCOL.md "Accounts".
bool refuses_new_password(std::string_view code, std::string_view arg);

// The confirmation for `OK <what>`; `nick` is the logged-in nick.
std::string confirm_ok(std::string_view what, std::string_view nick, std::string_view server_text);

}  // namespace chat::tui
