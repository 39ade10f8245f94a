// The client loop: one poll() over the keyboard (or standard input in
// --plain mode), the socket, the signal pipe and the reconnect timer.
#pragma once

#include <string>

namespace chat::tui {

struct Options {
    std::string host = "127.0.0.1";
    std::string port = "5000";
    std::string nick;  // empty: ask
    bool plain = false;
};

// Runs until the user quits. Returns the process exit status: 0 after a
// quit the server confirmed (or any quit in curses mode), 1 when --plain
// lost the server or could not reach it.
int run_client(const Options& opt);

}  // namespace chat::tui
