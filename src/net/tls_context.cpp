#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include <ctime>

namespace chat::net {

std::string tls_error_text() {
    unsigned long e = ERR_get_error();
    std::string out;
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out = buf;
    }
    ERR_clear_error();
    return out.empty() ? std::string("unknown TLS error") : out;
}

namespace {

std::string when(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

SSL_CTX* build(const TlsOptions& opt, std::string& error, std::string& warning, std::string& description) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        error = "cannot create a TLS context: " + tls_error_text();
        return nullptr;
    }
    auto fail = [&](std::string what) {
        error = std::move(what) + ": " + tls_error_text();
        SSL_CTX_free(ctx);
        return nullptr;
    };
    int min = opt.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (opt.min_version != "1.2" && opt.min_version != "1.3") {
        error = "--tls-min-version must be 1.2 or 1.3, not " + opt.min_version;
        SSL_CTX_free(ctx);
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, min);
    // No renegotiation (a client-driven CPU sink, and a state the edge-triggered loop need not
    // know); a peer that closes TCP without close_notify is an ordinary EOF, as over plain TCP.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Partial writes from a ring buffer that moves between retries; no 2 x 16 KiB record buffers
    // kept by connections that are idle.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (!opt.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, opt.ciphers.c_str()) != 1)
        return fail("--tls-ciphers " + opt.ciphers);
    if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert_file.c_str()) != 1)
        return fail("cannot load the certificate " + opt.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, opt.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            return fail("the key " + opt.key_file + " does not belong to the certificate " + opt.cert_file);
        return fail("cannot load the private key " + opt.key_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail("the key " + opt.key_file + " does not belong to the certificate " + opt.cert_file);
    X509* cert = SSL_CTX_get0_certificate(ctx);
    char subject[256] = "?";
    if (cert) X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    const ASN1_TIME* not_after = cert ? X509_get0_notAfter(cert) : nullptr;
    const ASN1_TIME* not_before = cert ? X509_get0_notBefore(cert) : nullptr;
    description = std::string(subject) + ", valid until " + when(not_after);
    warning.clear();
    if (not_after && X509_cmp_current_time(not_after) < 0)
        warning = "the certificate " + opt.cert_file + " expired on " + when(not_after) +
                  "; clients will refuse it";
    else if (not_before && X509_cmp_current_time(not_before) > 0)
        warning = "the certificate " + opt.cert_file + " is not valid before " + when(not_before) +
                  "; clients will refuse it";
    return ctx;
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::make(const TlsOptions& opt, std::string& error, std::string& warning) {
    std::unique_ptr<TlsContext> t(new TlsContext());
    t->opt_ = opt;
    t->ctx_ = build(opt, error, warning, t->description_);
    if (!t->ctx_) return nullptr;
    return t;
}

TlsContext::~TlsContext() {
    if (ctx_) SSL_CTX_free(ctx_);
}

std::string TlsContext::reload(std::string& warning) {
    std::string error, description;
    SSL_CTX* fresh = build(opt_, error, warning, description);
    if (!fresh) return error;
    SSL_CTX_free(ctx_);  // connections made with it hold their own references
    ctx_ = fresh;
    description_ = std::move(description);
    return {};
}

}  // namespace chat::net
