#include "tui/tls_policy.hpp"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>  // the X509_V_ERR_* numbers only

#include "tui/strings.hpp"

namespace chat::tui {

std::string settle_tls_options(TlsSettings& tls, std::string& port, bool port_given) {
    if (!tls.enabled) {
        if (!tls.ca_file.empty()) return "--tls-ca needs --tls (without it the connection is plain TCP)";
        if (tls.insecure) return "--tls-insecure needs --tls (without it the connection is plain TCP)";
    }
    if (tls.insecure && !tls.ca_file.empty()) {
        return "--tls-insecure and --tls-ca contradict each other: --tls-insecure verifies nothing";
    }
    if (!port_given) port = std::string(tls.enabled ? kTlsPort : kPlainPort);
    return {};
}

bool is_ip_literal(std::string_view host) {
    const std::string h(host);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

namespace {

constexpr std::string_view kTrustHint =
    "; a private CA is trusted with --tls-ca FILE (its certificate, PEM), a public one from the system store";

std::string why(long code, std::string_view host, std::string_view names) {
    const std::string for_names = names.empty() ? std::string() : cat(" (it is for ", names, ")");
    switch (code) {
        case X509_V_ERR_CERT_HAS_EXPIRED: return "the server's certificate has expired";
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "the server's certificate is not valid yet (or this machine's clock is wrong)";
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            return cat("the server's certificate is self-signed, and not trusted", kTrustHint);
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            return cat("the server's certificate is signed by an unknown certificate authority", kTrustHint);
        case X509_V_ERR_HOSTNAME_MISMATCH:
            return cat("the server's certificate is not for the host name ", host, for_names);
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return cat("the server's certificate is not for the address ", host, for_names);
        case X509_V_ERR_CERT_REVOKED: return "the server's certificate has been revoked";
        case X509_V_ERR_INVALID_PURPOSE: return "the server's certificate is not meant for a TLS server";
        case X509_V_ERR_INVALID_CA: return "a certificate in the server's chain is not allowed to sign others";
        case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "the server's certificate has a signature that does not match";
        case X509_V_ERR_EE_KEY_TOO_SMALL:
        case X509_V_ERR_CA_KEY_TOO_SMALL: return "the server's certificate uses a key too small to be safe";
        case X509_V_ERR_CA_MD_TOO_WEAK: return "the server's certificate is signed with a digest too weak to be safe";
        default: return "the server's certificate could not be verified";
    }
}

}  // namespace

std::string verify_failure_text(long code, std::string_view openssl_text, std::string_view host,
                                std::string_view names) {
    std::string s = cat("TLS: ", why(code, host, names));
    if (!openssl_text.empty()) s += cat(" (", openssl_text, ")");
    return s;
}

std::string handshake_failure_text(std::string_view reason) {
    std::string s = cat("TLS handshake failed: ", reason.empty() ? "no reason given" : reason);
    // A plain TCP server answers the ClientHello with a text line, which OpenSSL reads as a bad record.
    if (reason.find("wrong version number") != std::string_view::npos ||
        reason.find("record layer failure") != std::string_view::npos ||
        reason.find("packet length too long") != std::string_view::npos) {
        s += " (the server did not answer in TLS: is this its plain TCP port?)";
    } else if (reason.find("protocol version") != std::string_view::npos ||
               reason.find("unsupported protocol") != std::string_view::npos) {
        s += " (the server offers no TLS version this client accepts: 1.2 or newer)";
    } else if (reason.find("unexpected eof") != std::string_view::npos) {
        s += " (the server closed the connection during the handshake)";
    }
    return s;
}

std::string_view insecure_warning() {
    return "WARNING: --tls-insecure: the server's certificate is NOT verified; anyone between here and "
           "the server can read and change this session, passwords included";
}

}  // namespace chat::tui
