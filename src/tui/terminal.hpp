// The terminal side of the client: signals as a readable fd, the curses
// screen as an object that always gives the terminal back.
#pragma once

#include <termios.h>

#include <csignal>
#include <cstddef>
#include <string>
#include <vector>

#include "net/fd.hpp"

struct screen;  // ncurses' SCREEN

namespace chat::tui {

// SIGWINCH, SIGINT, SIGTERM and SIGHUP written as bytes into a pipe, so the
// poll loop has one way of waiting. One instance at a time.
class SignalPipe {
public:
    SignalPipe();
    ~SignalPipe();
    SignalPipe(const SignalPipe&) = delete;
    SignalPipe& operator=(const SignalPipe&) = delete;

    bool ok() const { return static_cast<bool>(read_); }
    int fd() const { return read_.get(); }
    // Reads the pending signal numbers (without blocking).
    std::vector<int> drain();

private:
    net::Fd read_;
    net::Fd write_;
    std::vector<std::pair<int, struct sigaction>> saved_;
};

// Writes all of `bytes` to standard output (the terminal), past EINTR and
// short writes; async-signal-safe. False when the terminal is gone.
bool write_terminal(const char* bytes, std::size_t n) noexcept;

// Key codes get_wch gives for the start and the end of a bracketed paste
// (ESC [ 200 ~ and ESC [ 201 ~, which the screen asks the terminal to send).
inline constexpr int kKeyPasteBegin = 01000 + 0x100;  // past KEY_MAX (0777)
inline constexpr int kKeyPasteEnd = kKeyPasteBegin + 1;

// The curses screen, with bracketed paste on. While one exists, a fatal signal (SIGSEGV, SIGABRT,
// SIGBUS, SIGFPE, SIGILL) restores the terminal before the process dies.
class Screen {
public:
    Screen();
    ~Screen();
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    bool ok() const { return ok_; }
    // Asks the kernel for the window size and tells curses.
    void resize();

    // Writes `request` (width_probe.hpp) and reads up to `answers` cursor
    // position reports, waiting at most `timeout_ms` in all; returns the
    // widths they give. Keys typed meanwhile go back to curses' input.
    std::vector<int> probe(const std::string& request, std::size_t answers, int timeout_ms);

private:
    screen* screen_ = nullptr;
    bool ok_ = false;
};

// Standard input's terminal echo, turned off while --plain reads a password
// (when standard input is a terminal; otherwise nothing to do). The echo
// comes back on show() and when the object is destroyed.
class StdinEcho {
public:
    StdinEcho() = default;
    ~StdinEcho() { show(); }
    StdinEcho(const StdinEcho&) = delete;
    StdinEcho& operator=(const StdinEcho&) = delete;

    void hide();
    void show();

private:
    bool hidden_ = false;
    termios saved_{};
};

}  // namespace chat::tui
