#include "tui/tls_client.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "tui/strings.hpp"

namespace chat::tui {

namespace {

// The reason of the oldest queued OpenSSL error ("wrong version number"), and clears the queue.
std::string openssl_reason() {
    const unsigned long e = ERR_peek_error();
    std::string s;
    if (e != 0) {
        const char* r = ERR_reason_error_string(e);
        if (r != nullptr) {
            s = r;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            s = buf;
        }
    }
    ERR_clear_error();
    return s;
}

std::string common_name(const X509_NAME* name) {
    if (name == nullptr) return {};
    char buf[256];
    const int n = X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The DNS and IP names a certificate is for ("otherhost, 10.0.0.1"), or its CN without any.
std::string cert_names(X509* cert) {
    if (cert == nullptr) return {};
    std::string out;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans) && i < 8; ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
        std::string one;
        if (g->type == GEN_DNS) {
            const ASN1_STRING* s = g->d.dNSName;
            one.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* s = g->d.iPAddress;
            char buf[INET6_ADDRSTRLEN] = "";
            const int len = ASN1_STRING_length(s);
            if (len == 4 || len == 16) ::inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), buf, sizeof buf);
            one = buf;
        }
        // Names from the network go into the log, which sanitizes; still keep them printable ASCII here.
        if (one.empty() || !std::all_of(one.begin(), one.end(), [](char c) { return c > 0x20 && c < 0x7f; })) continue;
        out += out.empty() ? one : cat(", ", one);
    }
    GENERAL_NAMES_free(sans);
    if (out.empty()) {
        const std::string cn = common_name(X509_get_subject_name(cert));
        if (!cn.empty()) out = cat("CN=", cn);
    }
    return out;
}

}  // namespace

std::unique_ptr<TlsClientContext> TlsClientContext::make(const TlsSettings& s, std::string& error) {
    std::unique_ptr<TlsClientContext> c(new TlsClientContext);
    ERR_clear_error();
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    if (c->ctx_ == nullptr) {
        error = cat("TLS: cannot set up OpenSSL: ", openssl_reason());
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // The output queue grows at its end (and may be reallocated) between a
    // refused write and its retry; a partial write lets the queue drain by the record.
    SSL_CTX_set_mode(c->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    c->verify_ = !s.insecure;
    SSL_CTX_set_verify(c->ctx_, c->verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    if (!c->verify_) return c;
    if (!s.ca_file.empty()) {
        // fopen first: OpenSSL's words for a missing file are less plain than strerror's.
        std::FILE* f = std::fopen(s.ca_file.c_str(), "rb");
        if (f == nullptr) {
            error = cat("--tls-ca ", s.ca_file, ": ", std::strerror(errno));
            return nullptr;
        }
        std::fclose(f);
        if (SSL_CTX_load_verify_locations(c->ctx_, s.ca_file.c_str(), nullptr) != 1) {
            error = cat("--tls-ca ", s.ca_file, ": no PEM certificate could be read from it (", openssl_reason(), ")");
            return nullptr;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx_) != 1) {
        error = cat("TLS: cannot load the system's trusted certificates: ", openssl_reason());
        return nullptr;
    }
    return c;
}

TlsClientContext::~TlsClientContext() {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

TlsClientStream::TlsClientStream(const TlsClientContext& ctx, int fd, const std::string& host)
    : host_(host), verify_(ctx.verifies()) {
    ERR_clear_error();
    ssl_ = SSL_new(ctx.get());
    if (ssl_ == nullptr) {
        error_ = cat("TLS: ", openssl_reason());
        return;
    }
    bool ok = SSL_set_fd(ssl_, fd) == 1;
    SSL_set_app_data(ssl_, this);
    if (ok && verify_) {
        SSL_set_verify(ssl_, SSL_VERIFY_PEER, &TlsClientStream::on_verify);
        if (is_ip_literal(host)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1;
        } else {
            SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl_, host.c_str()) == 1;
        }
    }
    // SNI carries names only (RFC 6066); a server with several names picks its certificate by it.
    if (ok && !is_ip_literal(host)) ok = SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1;
    if (!ok) {
        error_ = cat("TLS: cannot use the host name ", host, ": ", openssl_reason());
        SSL_free(ssl_);
        ssl_ = nullptr;
        return;
    }
    SSL_set_connect_state(ssl_);
}

TlsClientStream::~TlsClientStream() {
    if (ssl_ != nullptr) SSL_free(ssl_);
}

// Keeps the names of a certificate that failed, for the words of the refusal;
// the verdict itself is OpenSSL's (`ok` is returned as it came).
int TlsClientStream::on_verify(int ok, x509_store_ctx_st* store) {
    if (ok == 0) {
        auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto* self = ssl != nullptr ? static_cast<TlsClientStream*>(SSL_get_app_data(ssl)) : nullptr;
        if (self != nullptr && self->names_.empty()) self->names_ = cert_names(X509_STORE_CTX_get0_cert(store));
    }
    return ok;
}

// What an SSL_* return value means for the loop. The error queue is cleared
// before every call: a stale entry would turn the next result into an error.
TlsResult TlsClientStream::result(int ret) {
    if (ret > 0) return {TlsIo::Ok, static_cast<std::size_t>(ret)};
    const int saved_errno = errno;
    switch (SSL_get_error(ssl_, ret)) {
        case SSL_ERROR_WANT_READ: return {TlsIo::WantRead};
        case SSL_ERROR_WANT_WRITE: return {TlsIo::WantWrite};
        case SSL_ERROR_ZERO_RETURN:
            clean_close_ = true;
            return {TlsIo::Eof};
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) return {TlsIo::WantRead};
                if (saved_errno == 0) return {TlsIo::Eof};
                error_ = std::strerror(saved_errno);
                return {TlsIo::Error};
            }
            error_ = openssl_reason();
            return {TlsIo::Error};
        default:
            // Not SSL_OP_IGNORE_UNEXPECTED_EOF: a TCP close without close_notify
            // is an end all the same, but one that may have cut the stream, so it is told apart.
            if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                ERR_clear_error();
                return {TlsIo::Eof};
            }
            error_ = openssl_reason();
            return {TlsIo::Error};
    }
}

TlsResult TlsClientStream::handshake() {
    ERR_clear_error();
    TlsResult r = result(SSL_do_handshake(ssl_));
    if (r.status == TlsIo::Eof) {
        r.status = TlsIo::Error;
        error_ = "unexpected eof while reading";
    }
    if (r.status != TlsIo::Error) return r;
    const long v = SSL_get_verify_result(ssl_);
    if (verify_ && v != X509_V_OK) {
        refused_ = true;
        error_ = verify_failure_text(v, X509_verify_cert_error_string(v), host_, names_);
    } else {
        error_ = handshake_failure_text(error_);
    }
    return r;
}

TlsResult TlsClientStream::read(char* buf, std::size_t len) {
    ERR_clear_error();
    return result(SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(len, INT_MAX))));
}

TlsResult TlsClientStream::write(std::string_view bytes) {
    ERR_clear_error();
    return result(SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX))));
}

void TlsClientStream::shutdown() {
    if (ssl_ == nullptr || SSL_is_init_finished(ssl_) == 0) return;
    ERR_clear_error();
    SSL_shutdown(ssl_);  // one try: the socket is closed right after, whatever it answers
    ERR_clear_error();
}

std::string TlsClientStream::version() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

std::string TlsClientStream::describe() const {
    if (ssl_ == nullptr) return {};
    std::string s = cat(SSL_get_version(ssl_), " ", SSL_get_cipher_name(ssl_));
    X509* peer = SSL_get0_peer_certificate(ssl_);
    if (peer != nullptr) {
        const std::string names = cert_names(peer);
        const std::string issuer = common_name(X509_get_issuer_name(peer));
        s += cat(", certificate for ", names.empty() ? "(no name)" : names);
        if (!issuer.empty()) s += cat(" from ", issuer);
    }
    s += verify_ ? ", verified" : ", NOT VERIFIED (--tls-insecure)";
    return s;
}

}  // namespace chat::tui
