// The client loop: one poll() over the keyboard (or standard input in
// --plain mode), the socket, the signal pipe and the reconnect timer.
#pragma once

#include <string>

#include "tui/passwords.hpp"
#include "tui/secret.hpp"
#include "tui/tls_policy.hpp"

namespace chat::tui {

struct Options {
    std::string host = "127.0.0.1";
    std::string port = std::string(kPlainPort);  // main makes it kTlsPort for --tls without --port
    std::string nick;  // empty: ask
    bool plain = false;
    std::string colors = "on";  // --colors on|off
    std::string password_file;  // --password-file (main reads it; kept for messages)
    TlsSettings tls;            // --tls, --tls-ca, --tls-insecure (already checked by settle_tls_options)
};

// Runs until the user quits. Returns the process exit status: 0 after a
// quit the server confirmed (or any quit in curses mode), 1 when --plain
// lost the server or could not reach it, or its password from a file or
// the environment was refused; 1 too after a server certificate was refused
// (never retried: the log and stderr say why). 2 when --tls-ca cannot be read. `password` (from --password-file or
// CHAT_PASSWORD, `source` says which) is sent when the server asks for one.
int run_client(const Options& opt, Secret password = {}, Passwords::Source source = Passwords::Source::None);

}  // namespace chat::tui
