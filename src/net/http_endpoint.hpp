// A tiny HTTP/1.1 server on the reactor for the operator's scrapes (GET /metrics): one
// request per connection, answered and closed. Hand-written rather than a library because it
// must live inside chatd's own single-threaded loop (the HTTP libraries in Debian bring their
// own threads or loops) and it serves a few fixed paths, nothing more.
//
// Bounded whatever a peer does: at most kMaxClients connections at once (more are closed at
// accept), a request head of at most kMaxRequest bytes (431 past it), kTimeout from the accept
// to the last byte written, and the answer is produced once per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/reactor.hpp"

namespace chat::net {

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

class HttpEndpoint {
public:
    // Called on the loop thread for each GET or HEAD, with the path (query string removed).
    using Handler = std::function<HttpResponse(std::string_view path)>;

    static constexpr std::size_t kMaxClients = 16;
    static constexpr std::size_t kMaxRequest = 8 * 1024;
    static constexpr std::chrono::seconds kTimeout{5};

    HttpEndpoint(Reactor& reactor, Handler handler);
    ~HttpEndpoint();
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    // Returns an error text, empty on success; port 0 picks a free port (see port()).
    std::string listen(const std::string& bind_address, std::uint16_t port);
    std::uint16_t port() const noexcept;
    // Closes the listener and every connection.
    void stop();

    // The request head parser, apart for tests: "GET /metrics HTTP/1.1\r\n...\r\n\r\n" gives
    // method "GET", path "/metrics". Returns false while the head is incomplete; `bad` is set
    // when it can never be a request.
    struct Request {
        std::string method;
        std::string path;
    };
    static bool parse_request(std::string_view head, Request& out, bool& bad);
    // The bytes sent for a response (status line, headers, body unless `head_only`).
    static std::string format_response(const HttpResponse& r, bool head_only);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chat::net
