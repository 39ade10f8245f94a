// The client's TCP connection: non-blocking connect, line framing in,
// a plain output buffer out. The poll loop asks what to wait for and calls
// back when the socket is ready.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/fd.hpp"
#include "tui/server_lines.hpp"

namespace chat::tui {

class Connection {
public:
    // Longer than any line the server sends (see server_lines.hpp).
    static constexpr std::size_t kMaxServerLine = tui::kMaxServerLine;

    Connection() : reader_(kMaxServerLine) {}

    // Starts connecting; false (and error() says why) when it failed at once.
    bool open(const std::string& host, const std::string& port);
    void close();

    bool is_open() const { return static_cast<bool>(fd_); }
    bool connected() const { return is_open() && !connecting_; }
    int fd() const { return fd_.get(); }
    short poll_events() const;  // POLLIN/POLLOUT wanted now

    // Queues one client line; the LF is added here.
    void send(std::string_view line);
    // Queues the line `prefix` + `secret` (a password alone, or "/clave " and
    // the new one), built in place. Until it has been sent, the output
    // buffer is never reallocated without wiping the old one, and what drains
    // from it (or is dropped by close) is wiped: no copy stays in memory.
    void send_secret(std::string_view prefix, std::string_view secret);

    enum class Result { Ok, Connected, Closed };
    // Called with the revents poll() reported. Complete lines (and a too_long event
    // for each line over kMaxServerLine, which is dropped) are appended to `in`.
    // Closed: the server closed or an error happened (see error()).
    Result on_ready(short revents, std::vector<ServerInput>& in);

    const std::string& error() const { return error_; }

private:
    Result fail(std::string why);
    Result flush();
    void reserve_wiping(std::size_t bytes);

    net::Fd fd_;
    bool connecting_ = false;
    std::string out_;
    bool secret_out_ = false;  // out_ holds a password line (see send_secret)
    ServerLineReader reader_;
    std::string error_;
};

}  // namespace chat::tui
