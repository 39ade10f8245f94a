#include "tui/terminal.hpp"

#include <curses.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "tui/width_probe.hpp"

namespace chat::tui {

namespace {

volatile sig_atomic_t g_signal_fd = -1;
volatile sig_atomic_t g_curses_active = 0;

extern "C" void on_signal(int sig) {
    const int saved = errno;
    const int fd = g_signal_fd;
    if (fd >= 0) {
        const unsigned char b = static_cast<unsigned char>(sig);
        // A full pipe already holds a wake-up; losing this byte loses nothing.
        [[maybe_unused]] const ssize_t n = ::write(fd, &b, 1);
    }
    errno = saved;
}

constexpr char kPasteOn[] = "\x1b[?2004h";
constexpr char kPasteOff[] = "\x1b[?2004l";

extern "C" void on_fatal(int sig) {
    // endwin is not async-signal-safe, but the process is dying anyway and a
    // terminal left in raw mode is the worse outcome.
    if (g_curses_active) {
        write_terminal(kPasteOff, sizeof kPasteOff - 1);
        endwin();
    }
    // SA_RESETHAND put the default action back: re-raising ends the process as the signal would have.
    ::raise(sig);
}

constexpr int kForwarded[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP};
constexpr int kFatal[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};

}  // namespace

bool write_terminal(const char* s, std::size_t n) noexcept {
    while (n > 0) {
        const ssize_t w = ::write(STDOUT_FILENO, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        s += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

SignalPipe::SignalPipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return;
    read_.reset(fds[0]);
    write_.reset(fds[1]);
    g_signal_fd = fds[1];
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : kForwarded) {
        struct sigaction old{};
        if (::sigaction(sig, &sa, &old) == 0) saved_.emplace_back(sig, old);
    }
    struct sigaction ign{};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    struct sigaction old{};
    if (::sigaction(SIGPIPE, &ign, &old) == 0) saved_.emplace_back(SIGPIPE, old);
}

SignalPipe::~SignalPipe() {
    for (auto& [sig, old] : saved_) ::sigaction(sig, &old, nullptr);
    g_signal_fd = -1;
}

std::vector<int> SignalPipe::drain() {
    std::vector<int> out;
    unsigned char buf[64];
    for (;;) {
        const ssize_t n = ::read(read_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
    }
    return out;
}

Screen::Screen() {
    // Snappy Esc: the default one-second wait for an escape sequence feels broken.
    set_escdelay(25);
    screen_ = newterm(nullptr, stdout, stdin);
    if (screen_ == nullptr) return;
    ok_ = true;
    g_curses_active = 1;
    struct sigaction sa{};
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    for (int sig : kFatal) ::sigaction(sig, &sa, nullptr);

    raw();  // Ctrl-C, Ctrl-W, Ctrl-U ... reach the editor as keys
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, nullptr);
    // Bracketed paste: a paste arrives between two markers, so its newlines are not Enter and its TABs not completion.
    define_key("\x1b[200~", kKeyPasteBegin);
    define_key("\x1b[201~", kKeyPasteEnd);
    write_terminal(kPasteOn, sizeof kPasteOn - 1);
}

Screen::~Screen() {
    if (!ok_) return;
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig : kFatal) ::sigaction(sig, &sa, nullptr);
    g_curses_active = 0;
    write_terminal(kPasteOff, sizeof kPasteOff - 1);
    endwin();
    delscreen(screen_);
}

void Screen::resize() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        resizeterm(ws.ws_row, ws.ws_col);
    }
}

std::vector<int> Screen::probe(const std::string& request, std::size_t answers, int timeout_ms) {
    std::vector<int> widths;
    if (!write_terminal(request.data(), request.size())) return widths;
    std::string in, typed;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (widths.size() < answers) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{STDIN_FILENO, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char buf[256];
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        for (int w : take_cpr_answers(in, typed)) widths.push_back(w);
    }
    typed += in;
    for (std::size_t i = typed.size(); i-- > 0;) ungetch(static_cast<unsigned char>(typed[i]));
    return widths;
}

void StdinEcho::hide() {
    if (hidden_ || ::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= static_cast<tcflag_t>(~ECHO);
    t.c_lflag |= ECHONL;  // the Enter still moves to a new line
    hidden_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

void StdinEcho::show() {
    if (!hidden_) return;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    hidden_ = false;
}

}  // namespace chat::tui
