// Nonblocking TCP connections on a Reactor: accept, read, buffered write,
// deferred close. Knows nothing about chat: it hands bytes to a handler and
// writes the bytes the handler gives it.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/fd.hpp"
#include "net/reactor.hpp"
#include "net/ring_buffer.hpp"

namespace chat::net {

class TlsContext;

// Identifies a connection for its whole life; never reused within a process.
using ConnId = std::uint64_t;

enum class CloseReason {
    PeerClosed,  // EOF from the peer (after every byte it sent was offered to the handler);
                 // output queued before on_close is still written to the half-closed peer
    Error,       // ECONNRESET, EPIPE, ...
    OutputFull,  // unsent output passed max_outbuf
};

struct PeerAddress {
    std::string ip;  // numeric, e.g. "127.0.0.1" or "::1"
    std::uint16_t port = 0;
    bool loopback = false;  // 127.0.0.0/8, ::1, or ::ffff:127.x.y.z
    bool tls = false;       // came through a TLS port (the handshake is done when the handler hears of it)
    std::chrono::steady_clock::time_point accepted{};  // the TCP accept (before any handshake)
};

class ConnectionHandler {
public:
    virtual ~ConnectionHandler() = default;
    virtual void on_open(ConnId id, const PeerAddress& peer) = 0;
    // Offers the unconsumed input; returns how many bytes the handler took
    // (whole lines, typically). Bytes not taken are offered again, with more
    // appended, on the next read or after resume_reading().
    virtual std::size_t on_data(ConnId id, std::string_view data) = 0;
    // The connection went away for a reason the handler did not ask for.
    // Called once, from flush() at the end of a loop turn (never from inside send()).
    virtual void on_close(ConnId id, CloseReason why) = 0;
    // A TLS handshake failed or timed out (10 s); the connection is closed
    // without on_open. `reason` is OpenSSL's, for one log line.
    virtual void on_handshake_failed(const PeerAddress&, std::string_view /*reason*/) {}
    // A paced connection (begin_paced) has fewer than paced_low_water unsent
    // paced bytes: produce more with send_paced(), or end_paced(). Called
    // from flush(), never from inside send_paced().
    virtual void on_drained(ConnId) {}
};

struct TcpServerOptions {
    std::size_t max_outbuf = 1 << 20;   // unsent bytes per connection before OutputFull
    std::size_t max_input = 64 * 1024;  // unconsumed input kept per connection before reading stops
    int close_linger_ms = 5000;         // how long a flush-then-close may wait for a slow peer
    std::string shed_message;  // written (best effort) to a connection closed at once for lack of fds
    std::size_t paced_low_water =
        16 * 1024;  // on_drained() once a paced reply's unsent bytes fall below this
};

// Counters since start and connections now, for the operator's metrics.
struct TcpStats {
    std::uint64_t accepted = 0;            // TCP accepts that became connections (TLS ones included)
    std::uint64_t tls_handshakes = 0;      // TLS handshakes finished
    std::uint64_t tls_failures = 0;        // TLS handshakes failed or timed out
    std::uint64_t bytes_in = 0;            // application bytes read (decrypted, for TLS)
    std::uint64_t bytes_out = 0;           // application bytes written
    std::uint64_t output_full = 0;         // connections cut as slow consumers (OutputFull)
    std::uint64_t pauses = 0;              // flow control: pause_reading() calls
    std::uint64_t shed = 0;                // closed at accept for lack of fds
    // Connections by phase now.
    std::uint64_t handshaking = 0, open = 0, closing = 0, draining = 0;
};

class TcpServer {
public:
    TcpServer(Reactor& reactor, ConnectionHandler& handler, TcpServerOptions opts);
    ~TcpServer();

    // Binds and listens (SO_REUSEADDR, backlog from /proc/sys/net/core/somaxconn).
    // Returns an error text, empty on success. port 0 picks a free port (see port()).
    std::string listen(const std::string& bind_address, std::uint16_t port);
    // The same on a TLS port: each connection starts with a TLS handshake (at
    // most 10 s), and the handler hears of it once that is done. The context
    // must outlive the server; reloading it affects new handshakes only.
    std::string listen_tls(const std::string& bind_address, std::uint16_t port, TlsContext& tls);
    std::uint16_t port() const noexcept;      // the plain port, 0 if none
    std::uint16_t tls_port() const noexcept;  // the TLS port, 0 if none

    // Appends bytes to the connection's output; they are written when the loop
    // turn ends (flush()). Unknown or closing ids are ignored. If the unsent
    // output passes max_outbuf the connection is closed with OutputFull at the
    // end of the turn.
    void send(ConnId id, std::string_view bytes);

    // Paced output: a reply produced as fast as the peer reads it (a roster,
    // a history), so that a reply to one's own request never counts towards
    // max_outbuf however large it is. While a connection is paced, bytes
    // given to send_paced() go out first and do not count; bytes given to
    // send() wait behind them (and count as always); on_drained() asks for
    // more whenever the paced bytes run low. end_paced() ends it: what send()
    // queued meanwhile follows. A close ends it too.
    void begin_paced(ConnId id);
    void send_paced(ConnId id, std::string_view bytes);
    void end_paced(ConnId id);
    // Ends it early, dropping what send() queued behind it (the connection is about to close).
    void abandon_paced(ConnId id);

    // Stops reading; writes the pending output (up to close_linger_ms), then closes.
    // No on_close follows. Unknown ids are ignored.
    void close_after_flush(ConnId id);
    // Closes at once, dropping pending output. No on_close follows.
    void close_now(ConnId id);

    // Flow control: while paused, nothing is read and no data is offered.
    void pause_reading(ConnId id);
    // Offers buffered input again (on the next loop turn, never from inside this call), then reads
    // on. Also the way to get input offered again after taking nothing without pausing.
    void resume_reading(ConnId id);

    std::size_t pending_output(ConnId id) const noexcept;
    std::size_t connection_count() const noexcept;
    // Connections accepted and closed at once because the process was out of fds.
    std::uint64_t shed_count() const noexcept;
    // A reload: output already queued is judged by the new bound at the next send().
    void set_max_outbuf(std::size_t bytes) noexcept;
    // Walks the connections for the phase counts: for a scrape, not for every turn.
    TcpStats stats() const noexcept;

    // Writes every connection with new output once; runs pending closes.
    // Call once per loop turn (Reactor::set_before_sleep).
    void flush();

    // Stops accepting (shutdown: the listeners are closed); handshakes under way are dropped.
    void stop_listening();

    // Fd limit the server can use for clients (RLIMIT_NOFILE minus a reserve).
    static std::size_t fd_capacity() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chat::net
