// chat-load's side of TLS (OpenSSL 3): one client SSL_CTX for the process
// (what to trust, TLS 1.2 at least, no session resumption: every handshake
// is a full one) and a Stream per connection that is either the bare socket
// or TLS over it. Every call does what it can without blocking and says what
// it waits for; the scenarios' own epoll loops retry on the next event.
// Edge triggering: bytes OpenSSL has already taken from the socket raise no
// event, so a reader calls read() until it answers WantRead.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;

namespace chat::load {

struct Options;

enum class Io : unsigned char {
    Ok,         // n bytes moved (handshake: done)
    WantRead,   // call again once the socket is readable (for a TLS write too)
    WantWrite,  // call again once the socket is writable (for a TLS read too)
    Eof,        // the server closed (close_notify or FIN)
    Error,      // the connection is unusable
};
struct IoResult {
    Io status;
    std::size_t n = 0;
};

class TlsClientContext {
public:
    // From --tls-ca (or the system store), --tls-insecure and --tls-name;
    // null with `error` set when the CA file cannot be used.
    static std::unique_ptr<TlsClientContext> make(const Options& opt, std::string& error);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    // A client TLS session over `fd` with the name to check set; null when OpenSSL refused.
    ssl_st* new_session(int fd) const;

private:
    TlsClientContext() = default;
    ssl_ctx_st* ctx_ = nullptr;
    bool verify_ = true;
    std::string name_;  // checked against the certificate: a DNS name, or the IPv4 address dialled
    bool name_is_ip_ = true;
};

// A client connection's bytes: plain read()/send() on the socket until
// start_tls(), then TLS over it. Holds one pointer, so tens of thousands cost little.
class Stream {
public:
    bool start_tls(const TlsClientContext& ctx, int fd);
    bool tls() const noexcept { return ssl_ != nullptr; }
    void reset() noexcept { ssl_.reset(); }  // the socket is closed by its owner

    IoResult handshake();
    IoResult read(int fd, char* buf, std::size_t len);
    // TLS: the retry after WantRead/WantWrite must start with the same bytes
    // and be no shorter (the output queue only grows at its end, and may move).
    IoResult write(int fd, std::string_view bytes);
    // Why the last call that answered Error failed, on any stream
    // ("certificate verify failed (unable to get local issuer certificate)").
    static const std::string& last_error() noexcept;

private:
    struct SslFree {
        void operator()(ssl_st* s) const noexcept;
    };
    IoResult result(int ret);
    std::unique_ptr<ssl_st, SslFree> ssl_;
};

}  // namespace chat::load
