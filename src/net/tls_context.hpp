// The server's TLS configuration (OpenSSL 3): certificate chain, key and
// protocol settings in one SSL_CTX, reloadable. Knows nothing of sockets;
// tls_stream.hpp drives a connection with it.
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;

namespace chat::net {

struct TlsOptions {
    std::string cert_file;       // PEM: the server certificate, then any intermediates
    std::string key_file;        // PEM: its private key
    std::string ciphers;         // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's default
    std::string min_version = "1.2";  // "1.2" or "1.3"
};

class TlsContext {
public:
    // Loads the files and checks that key and certificate match. Returns
    // null with `error` set on failure. `warning` is set (and the context
    // still made) for a certificate that is expired or not valid yet.
    static std::unique_ptr<TlsContext> make(const TlsOptions& opt, std::string& error, std::string& warning);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // Builds a new SSL_CTX from the same options (the files as they are now)
    // and uses it for handshakes from now on; connections made with the old
    // one keep it (OpenSSL counts references). On failure the old one stays
    // and the error is returned. Blocking file reads: small PEM files.
    std::string reload(std::string& warning);

    ssl_ctx_st* get() const noexcept { return ctx_; }
    const TlsOptions& options() const noexcept { return opt_; }
    // "CN=chat.example.org, expires 2027-03-01" for the log.
    const std::string& describe() const noexcept { return description_; }

private:
    TlsContext() = default;
    TlsOptions opt_;
    ssl_ctx_st* ctx_ = nullptr;
    std::string description_;
};

// The reason of the last OpenSSL error on this thread, as one line
// ("error:0A000086:SSL routines::certificate verify failed"), and clears the queue.
std::string tls_error_text();

}  // namespace chat::net
