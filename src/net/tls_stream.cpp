#include "net/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "net/tls_context.hpp"

namespace chat::net {

TlsStream::TlsStream(ssl_ctx_st* ctx, int fd) {
    ERR_clear_error();
    ssl_ = SSL_new(ctx);
    if (!ssl_) return;
    if (SSL_set_fd(ssl_, fd) != 1) {
        SSL_free(ssl_);
        ssl_ = nullptr;
        return;
    }
    SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
    if (ssl_) SSL_free(ssl_);
}

// What an SSL_* return value means for the loop. The error queue is cleared
// before every call (a stale entry would turn the next result into an error).
IoResult TlsStream::result(int ret) {
    if (ret > 0) return {IoStatus::Ok, static_cast<std::size_t>(ret)};
    int saved_errno = errno;
    switch (SSL_get_error(ssl_, ret)) {
        case SSL_ERROR_WANT_READ:
            return {IoStatus::WantRead};
        case SSL_ERROR_WANT_WRITE:
            return {IoStatus::WantWrite};
        case SSL_ERROR_ZERO_RETURN:
            return {IoStatus::Eof};
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) return {IoStatus::WantRead};
                if (saved_errno == 0) return {IoStatus::Eof};  // EOF without close_notify
                error_ = std::strerror(saved_errno);
                return {IoStatus::Error};
            }
            error_ = tls_error_text();
            return {IoStatus::Error};
        default: {
            const char* reason = ERR_reason_error_string(ERR_peek_error());
            error_ = reason ? reason : tls_error_text();
            ERR_clear_error();
            return {IoStatus::Error};
        }
    }
}

IoResult TlsStream::handshake() {
    ERR_clear_error();
    IoResult r = result(SSL_do_handshake(ssl_));
    if (r.status == IoStatus::Ok) done_ = true;
    if (r.status == IoStatus::Eof) {
        error_ = "closed during the handshake";
        r.status = IoStatus::Error;
    }
    return r;
}

IoResult TlsStream::read(char* buf, std::size_t len) {
    ERR_clear_error();
    return result(SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, INT_MAX))));
}

IoResult TlsStream::write(std::string_view bytes) {
    ERR_clear_error();
    return result(SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX))));
}

IoResult TlsStream::shutdown() {
    ERR_clear_error();
    int ret = SSL_shutdown(ssl_);
    // 0: our close_notify is out (the peer's not seen yet), which is all we wait for.
    if (ret >= 0) return {IoStatus::Ok};
    IoResult r = result(ret);
    return r.status == IoStatus::Eof ? IoResult{IoStatus::Ok} : r;
}

std::string TlsStream::describe() const {
    if (!ssl_ || !done_) return "handshake not finished";
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace chat::net
