// The TLS option rules and the words for a refused certificate.
#include "tui/tls_policy.hpp"

#include <doctest/doctest.h>
#include <openssl/x509_vfy.h>

#include <string>

using namespace chat::tui;

namespace {

struct Settled {
    std::string error;
    std::string port;
};

Settled settle(TlsSettings t, bool port_given, std::string port = "5000") {
    std::string e = settle_tls_options(t, port, port_given);
    return {e, port};
}

TlsSettings tls(bool on, std::string ca = {}, bool insecure = false) {
    TlsSettings t;
    t.enabled = on;
    t.ca_file = std::move(ca);
    t.insecure = insecure;
    return t;
}

}  // namespace

TEST_CASE("--port defaults to 5001 with --tls and to 5000 without") {
    CHECK(settle(tls(false), false).port == "5000");
    CHECK(settle(tls(true), false).port == "5001");
    CHECK(settle(tls(true, "ca.pem"), false).port == "5001");
    CHECK(settle(tls(true, {}, true), false).port == "5001");
}

TEST_CASE("an explicit --port is kept, with or without --tls") {
    CHECK(settle(tls(true), true, "5000").port == "5000");
    CHECK(settle(tls(true), true, "6697").port == "6697");
    CHECK(settle(tls(false), true, "7000").port == "7000");
    CHECK(settle(tls(true), true, "6697").error.empty());
}

TEST_CASE("TLS options without --tls are refused, never a quiet plain connection") {
    const auto ca = settle(tls(false, "ca.pem"), false);
    CHECK(ca.error.find("--tls-ca needs --tls") != std::string::npos);
    const auto insecure = settle(tls(false, {}, true), false);
    CHECK(insecure.error.find("--tls-insecure needs --tls") != std::string::npos);
}

TEST_CASE("--tls-insecure with --tls-ca contradict") {
    CHECK(settle(tls(true, "ca.pem", true), false).error.find("contradict") != std::string::npos);
    CHECK(settle(tls(true, "ca.pem"), false).error.empty());
    CHECK(settle(tls(true), false).error.empty());
}

TEST_CASE("IP literals are told from host names") {
    CHECK(is_ip_literal("127.0.0.1"));
    CHECK(is_ip_literal("::1"));
    CHECK(is_ip_literal("2001:db8::5"));
    CHECK_FALSE(is_ip_literal("localhost"));
    CHECK_FALSE(is_ip_literal("chat.example.org"));
    CHECK_FALSE(is_ip_literal("127.0.0.1.nip.io"));
    CHECK_FALSE(is_ip_literal("[::1]"));
    CHECK_FALSE(is_ip_literal(""));
}

TEST_CASE("refused certificates are explained in plain words") {
    const auto has = [](const std::string& s, const char* part) { return s.find(part) != std::string::npos; };
    const std::string expired = verify_failure_text(X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired", "h", "");
    CHECK(has(expired, "has expired"));
    CHECK(has(expired, "(certificate has expired)"));
    CHECK(expired.rfind("TLS: ", 0) == 0);
    CHECK(has(verify_failure_text(X509_V_ERR_CERT_NOT_YET_VALID, "", "h", ""), "not valid yet"));
    for (long code : {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                      X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_UNTRUSTED}) {
        const std::string s = verify_failure_text(code, "x", "h", "");
        CHECK(has(s, "unknown certificate authority"));
        CHECK(has(s, "--tls-ca"));
    }
    const std::string self = verify_failure_text(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "self-signed certificate", "h", "");
    CHECK(has(self, "self-signed"));
    CHECK(has(self, "--tls-ca"));
}

TEST_CASE("a name mismatch says which name was wanted and what the certificate is for") {
    const std::string host =
        verify_failure_text(X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch", "chat.example.org", "otherhost");
    CHECK(host.find("not for the host name chat.example.org (it is for otherhost)") != std::string::npos);
    const std::string ip = verify_failure_text(X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch", "127.0.0.1", "");
    CHECK(ip.find("not for the address 127.0.0.1") != std::string::npos);
    CHECK(ip.find("it is for") == std::string::npos);
}

TEST_CASE("an unknown verification code still says the certificate was refused, with OpenSSL's words") {
    const std::string s = verify_failure_text(X509_V_ERR_PATH_LENGTH_EXCEEDED, "path length constraint exceeded", "h", "");
    CHECK(s.find("could not be verified") != std::string::npos);
    CHECK(s.find("(path length constraint exceeded)") != std::string::npos);
}

TEST_CASE("handshake failures get a hint where one is likely") {
    CHECK(handshake_failure_text("wrong version number").find("plain TCP port") != std::string::npos);
    CHECK(handshake_failure_text("tlsv1 alert protocol version").find("1.2 or newer") != std::string::npos);
    CHECK(handshake_failure_text("unexpected eof while reading").find("closed the connection") != std::string::npos);
    CHECK(handshake_failure_text("Connection reset by peer") == "TLS handshake failed: Connection reset by peer");
    CHECK(handshake_failure_text("") == "TLS handshake failed: no reason given");
}

TEST_CASE("the --tls-insecure warning is loud") {
    CHECK(std::string(insecure_warning()).find("WARNING") == 0);
    CHECK(std::string(insecure_warning()).find("NOT verified") != std::string::npos);
}
