#include "load/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "load/engine.hpp"
#include "net/tls_context.hpp"

namespace chat::load {

namespace {

std::string g_last_error;

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

}  // namespace

std::unique_ptr<TlsClientContext> TlsClientContext::make(const Options& opt, std::string& error) {
    std::unique_ptr<TlsClientContext> c(new TlsClientContext);
    ERR_clear_error();
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    if (c->ctx_ == nullptr) {
        error = "cannot set up OpenSSL: " + net::tls_error_text();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
    // No tickets kept and none offered: every connection pays a full handshake, as a new client
    // would. A server's close without close_notify is an end like any other here.
    SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_IGNORE_UNEXPECTED_EOF);
    // The output queue grows at its end (and may be reallocated) between a refused write and its
    // retry; idle connections give their record buffers back (10,000 of them in an idle run).
    SSL_CTX_set_mode(c->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    c->verify_ = !opt.tls_insecure;
    c->name_ = opt.tls_name.empty() ? opt.host : opt.tls_name;
    c->name_is_ip_ = is_ipv4(c->name_);
    SSL_CTX_set_verify(c->ctx_, c->verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    if (!c->verify_) return c;
    if (!opt.tls_ca.empty()) {
        // fopen first: OpenSSL's words for a missing file are less plain than strerror's.
        std::FILE* f = std::fopen(opt.tls_ca.c_str(), "rb");
        if (f == nullptr) {
            error = "--tls-ca " + opt.tls_ca + ": " + std::strerror(errno);
            return nullptr;
        }
        std::fclose(f);
        if (SSL_CTX_load_verify_locations(c->ctx_, opt.tls_ca.c_str(), nullptr) != 1) {
            error = "--tls-ca " + opt.tls_ca + ": no PEM certificate could be read from it (" +
                    net::tls_error_text() + ")";
            return nullptr;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx_) != 1) {
        error = "cannot load the system's trusted certificates: " + net::tls_error_text();
        return nullptr;
    }
    return c;
}

TlsClientContext::~TlsClientContext() {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

ssl_st* TlsClientContext::new_session(int fd) const {
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr) return nullptr;
    bool ok = SSL_set_fd(ssl, fd) == 1;
    if (ok && verify_) {
        if (name_is_ip_) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name_.c_str()) == 1;
        } else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, name_.c_str()) == 1;
        }
    }
    // SNI carries names only (RFC 6066).
    if (ok && !name_is_ip_) ok = SSL_set_tlsext_host_name(ssl, name_.c_str()) == 1;
    if (!ok) {
        SSL_free(ssl);
        ERR_clear_error();
        return nullptr;
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

void Stream::SslFree::operator()(ssl_st* s) const noexcept { SSL_free(s); }

const std::string& Stream::last_error() noexcept { return g_last_error; }

bool Stream::start_tls(const TlsClientContext& ctx, int fd) {
    ssl_.reset(ctx.new_session(fd));
    if (!ssl_) g_last_error = "cannot set up a TLS session: " + net::tls_error_text();
    return tls();
}

// What an SSL_* return value means for the loop. The error queue is cleared
// before every call: a stale entry would turn the next result into an error.
IoResult Stream::result(int ret) {
    if (ret > 0) return {Io::Ok, static_cast<std::size_t>(ret)};
    const int saved_errno = errno;
    switch (SSL_get_error(ssl_.get(), ret)) {
        case SSL_ERROR_WANT_READ:
            return {Io::WantRead};
        case SSL_ERROR_WANT_WRITE:
            return {Io::WantWrite};
        case SSL_ERROR_ZERO_RETURN:
            return {Io::Eof};
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) return {Io::WantRead};
                if (saved_errno == 0) return {Io::Eof};
                g_last_error = std::strerror(saved_errno);
                return {Io::Error};
            }
            g_last_error = net::tls_error_text();
            return {Io::Error};
        default: {
            const long v = SSL_get_verify_result(ssl_.get());
            g_last_error = net::tls_error_text();
            if (v != X509_V_OK) g_last_error += std::string(" (") + X509_verify_cert_error_string(v) + ")";
            return {Io::Error};
        }
    }
}

IoResult Stream::handshake() {
    ERR_clear_error();
    IoResult r = result(SSL_do_handshake(ssl_.get()));
    if (r.status == Io::Eof) {
        g_last_error = "the server closed the connection during the handshake";
        r.status = Io::Error;
    }
    return r;
}

IoResult Stream::read(int fd, char* buf, std::size_t len) {
    if (ssl_) {
        ERR_clear_error();
        return result(SSL_read(ssl_.get(), buf, static_cast<int>(std::min<std::size_t>(len, INT_MAX))));
    }
    for (;;) {
        const ssize_t n = ::read(fd, buf, len);
        if (n > 0) return {Io::Ok, static_cast<std::size_t>(n)};
        if (n == 0) return {Io::Eof};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::WantRead};
        return {Io::Error};
    }
}

IoResult Stream::write(int fd, std::string_view bytes) {
    if (ssl_) {
        ERR_clear_error();
        return result(
            SSL_write(ssl_.get(), bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX))));
    }
    for (;;) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n >= 0) return {Io::Ok, static_cast<std::size_t>(n)};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::WantWrite};
        return {Io::Error};
    }
}

}  // namespace chat::load
