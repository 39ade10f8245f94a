// What the client decides and says about TLS, with no OpenSSL calls: the
// option rules (--tls and its port, --tls-ca, --tls-insecure) and the plain
// words for a refused certificate. Pure, so the unit tests cover all of it;
// tls_client.hpp does the OpenSSL work.
#pragma once

#include <string>
#include <string_view>

namespace chat::tui {

inline constexpr std::string_view kPlainPort = "5000";
inline constexpr std::string_view kTlsPort = "5001";

struct TlsSettings {
    bool enabled = false;  // --tls
    std::string ca_file;   // --tls-ca: trusted instead of the system store
    bool insecure = false; // --tls-insecure: no verification at all
};

// Checks the TLS options against each other and fills in the port when
// --port was not given (5001 with --tls, 5000 without). Returns the usage
// error, empty when the options make sense. --tls-ca and --tls-insecure
// without --tls are errors, not a hint to use TLS: a command line that
// looks secure must never end up on plain TCP.
std::string settle_tls_options(TlsSettings& tls, std::string& port, bool port_given);

// True for an IPv4 or IPv6 address literal: those are checked against the
// certificate's IP entries and are never sent as SNI.
bool is_ip_literal(std::string_view host);

// Why a certificate was refused, in plain words, from the X509_V_ERR_* code
// SSL_get_verify_result gave. `openssl_text` is X509_verify_cert_error_string
// (added in parentheses for a search engine), `host` what was checked,
// `names` the certificate's DNS and IP names ("otherhost, 10.0.0.1"; may be
// empty) to show what it is for on a name mismatch.
std::string verify_failure_text(long code, std::string_view openssl_text, std::string_view host,
                                std::string_view names);

// Why a handshake failed for another reason than the certificate, from
// OpenSSL's reason string ("wrong version number") or strerror: the reason,
// and a hint where one is likely.
std::string handshake_failure_text(std::string_view reason);

// The warning printed on stderr and shown in the log for --tls-insecure.
std::string_view insecure_warning();

}  // namespace chat::tui
