// The client's connection: non-blocking connect, then (with use_tls) a
// non-blocking TLS handshake, line framing in, a plain output buffer out.
// The poll loop asks what to wait for and calls back when the socket is
// ready; nothing here blocks. The name lookup runs on a thread of its own,
// which says it is done through a socket the poll loop waits on.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/fd.hpp"
#include "tui/server_lines.hpp"
#include "tui/tls_client.hpp"

namespace chat::tui {

class Connection {
public:
    // Longer than any line the server sends (see server_lines.hpp).
    static constexpr std::size_t kMaxServerLine = tui::kMaxServerLine;

    Connection() : reader_(kMaxServerLine) {}
    ~Connection() { close(); }  // a TLS session still up ends with a close_notify
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Every connection opened from now on speaks TLS with `ctx` (which
    // outlives this object); null: plain TCP.
    void use_tls(const TlsClientContext* ctx) { tls_ctx_ = ctx; }

    // Starts connecting: the name lookup first (resolving() until it is done);
    // false (and error() says why) when it failed at once.
    bool open(const std::string& host, const std::string& port);
    bool resolving() const { return static_cast<bool>(lookup_fd_); }
    // Drops the connection (after a close_notify, when TLS is up and the socket takes it).
    void close();

    bool is_open() const { return static_cast<bool>(fd_) || resolving(); }
    // TCP connected and, with TLS, the handshake done: lines can go.
    bool connected() const { return is_open() && !connecting_ && !handshaking_; }
    // The TLS stream once connected() (null for plain TCP), for its description.
    const TlsClientStream* tls() const { return connected() ? tls_.get() : nullptr; }
    // The last Closed came from a certificate that failed verification.
    bool certificate_refused() const { return refused_; }
    int fd() const { return resolving() ? lookup_fd_.get() : fd_.get(); }
    short poll_events() const;  // POLLIN/POLLOUT wanted now

    // Queues one client line; the LF is added here.
    void send(std::string_view line);
    // Queues the line `prefix` + `secret` (a password alone, or "/clave " and
    // the new one), built in place. Until it has been sent, the output
    // buffer is never reallocated without wiping the old one, and what drains
    // from it (or is dropped by close) is wiped: no copy stays in memory.
    void send_secret(std::string_view prefix, std::string_view secret);

    enum class Result { Ok, Connected, Closed };
    // Called with the revents poll() reported. Connected: the connection is
    // ready for lines (over TLS: the handshake finished and verified). Complete lines (and a too_long event
    // for each line over kMaxServerLine, which is dropped) are appended to `in`.
    // Closed: the server closed or an error happened (see error()).
    Result on_ready(short revents, std::vector<ServerInput>& in);

    const std::string& error() const { return error_; }

private:
    Result fail(std::string why);
    Result lookup_done();
    Result flush();
    Result handshake();
    Result read_tls(std::vector<ServerInput>& in);
    Result flush_tls();
    void consume(std::size_t n);
    void reserve_wiping(std::size_t bytes);

    struct Lookup;
    std::shared_ptr<Lookup> lookup_;  // shared with the lookup's thread, which may outlive this connection
    net::Fd lookup_fd_;               // readable once the lookup is done
    std::string port_;
    net::Fd fd_;
    bool connecting_ = false;
    std::string host_;  // what the certificate must be for
    const TlsClientContext* tls_ctx_ = nullptr;
    std::unique_ptr<TlsClientStream> tls_;  // before fd_'s reset: it uses the descriptor
    bool handshaking_ = false;
    bool handshake_wants_write_ = false;
    bool read_wants_write_ = false;   // SSL_read answered WANT_WRITE: retry it when writable
    bool write_wants_read_ = false;   // SSL_write answered WANT_READ: retry it when readable
    bool refused_ = false;
    std::string out_;
    bool secret_out_ = false;  // out_ holds a password line (see send_secret)
    ServerLineReader reader_;
    std::string error_;
};

}  // namespace chat::tui
