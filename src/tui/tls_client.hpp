// The client's side of TLS (OpenSSL 3) over a nonblocking socket: one
// SSL_CTX for the process (what to trust, TLS 1.2 at least) and one stream
// per connection. Each call does what it can without blocking and says what
// it waits for; Connection turns that into poll() events.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "tui/tls_policy.hpp"

struct ssl_st;
struct ssl_ctx_st;
struct x509_store_ctx_st;

namespace chat::tui {

class TlsClientContext {
public:
    // Loads what to trust: --tls-ca's file, or the system store. Null with
    // `error` set when the file cannot be used.
    static std::unique_ptr<TlsClientContext> make(const TlsSettings& s, std::string& error);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    ssl_ctx_st* get() const noexcept { return ctx_; }
    bool verifies() const noexcept { return verify_; }

private:
    TlsClientContext() = default;
    ssl_ctx_st* ctx_ = nullptr;
    bool verify_ = true;
};

enum class TlsIo : unsigned char {
    Ok,         // n bytes moved (handshake: done)
    WantRead,   // call again once the socket is readable (for a write too)
    WantWrite,  // call again once the socket is writable (for a read too)
    Eof,        // the server closed; clean_close() says whether with close_notify
    Error,      // unusable; error() says why
};
struct TlsResult {
    TlsIo status;
    std::size_t n = 0;
};

class TlsClientStream {
public:
    // `host` is checked against the certificate (a name, or an IP address
    // literal) and sent as SNI when it is a name. ok() is false when
    // OpenSSL could not set the stream up (error() says why).
    TlsClientStream(const TlsClientContext& ctx, int fd, const std::string& host);
    ~TlsClientStream();
    TlsClientStream(const TlsClientStream&) = delete;
    TlsClientStream& operator=(const TlsClientStream&) = delete;

    bool ok() const noexcept { return ssl_ != nullptr; }
    TlsResult handshake();
    TlsResult read(char* buf, std::size_t len);
    // The buffer may move between a WantRead/WantWrite and the retry, as
    // long as it still starts with the same bytes (the output queue only grows at its end).
    TlsResult write(std::string_view bytes);
    // Sends close_notify if it fits in the socket now; never waits.
    void shutdown();

    // After handshake() answered Error: whether the certificate was refused
    // (then error() is verify_failure_text's words and a retry cannot help).
    bool certificate_refused() const noexcept { return refused_; }
    bool clean_close() const noexcept { return clean_close_; }
    const std::string& error() const noexcept { return error_; }
    // "TLSv1.3", after the handshake.
    std::string version() const;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate for localhost from chatd test CA, verified".
    std::string describe() const;

private:
    TlsResult result(int ret);
    static int on_verify(int ok, x509_store_ctx_st* store);

    ssl_st* ssl_ = nullptr;
    std::string host_;
    bool verify_ = true;
    bool refused_ = false;
    bool clean_close_ = false;
    std::string names_;  // the leaf certificate's names, kept when it failed verification
    std::string error_;
};

}  // namespace chat::tui
