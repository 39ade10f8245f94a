// One server-side TLS connection over a nonblocking socket (OpenSSL 3, the
// socket as its BIO). Each call does what it can without blocking and says
// what it waits for; TcpServer turns that into its readiness bits. Edge
// triggering: bytes OpenSSL has already read from the socket raise no epoll
// event, so a reader calls read() until it answers WantRead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;

namespace chat::net {

enum class IoStatus : unsigned char {
    Ok,         // n bytes moved (handshake, shutdown: done)
    WantRead,   // needs the socket readable first (a read or, with TLS, a write too)
    WantWrite,  // needs the socket writable first (a write or, with TLS, a read too)
    Eof,        // the peer closed (close_notify, or TCP FIN)
    Error,      // the connection is unusable; error() says why
};
struct IoResult {
    IoStatus status;
    std::size_t n = 0;
};

class TlsStream {
public:
    TlsStream(ssl_ctx_st* ctx, int fd);  // ok() is false when OpenSSL could not make one
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    bool ok() const noexcept { return ssl_ != nullptr; }
    IoResult handshake();
    IoResult read(char* buf, std::size_t len);
    IoResult write(std::string_view bytes);
    // Sends close_notify (once); Ok when it is written, WantWrite to try again.
    IoResult shutdown();
    bool handshake_done() const noexcept { return done_; }
    // Why the last call answered Error ("wrong version number", "Connection reset by peer").
    const std::string& error() const noexcept { return error_; }
    // "TLSv1.3 TLS_AES_256_GCM_SHA384", after the handshake.
    std::string describe() const;

private:
    IoResult result(int ret);
    ssl_st* ssl_ = nullptr;
    bool done_ = false;
    std::string error_;
};

}  // namespace chat::net
