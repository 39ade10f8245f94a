// The metrics endpoint's HTTP: the request head parser and the response
// bytes, and one real exchange on the reactor.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "net/http_endpoint.hpp"
#include "net/reactor.hpp"

using namespace chat::net;

TEST_CASE("parse_request: a whole head gives method and path, the query string cut") {
    HttpEndpoint::Request r;
    bool bad = false;
    CHECK(HttpEndpoint::parse_request("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", r, bad));
    CHECK(r.method == "GET");
    CHECK(r.path == "/metrics");
    CHECK_FALSE(HttpEndpoint::parse_request("GET /metrics HTTP/1.1\r\nHost: a\r\n", r, bad));  // not finished
    CHECK_FALSE(bad);
    CHECK_FALSE(HttpEndpoint::parse_request("GET /metr", r, bad));
    CHECK_FALSE(bad);
    CHECK_FALSE(HttpEndpoint::parse_request("hello\r\n\r\n", r, bad));
    CHECK(bad);
    CHECK_FALSE(HttpEndpoint::parse_request("GET metrics HTTP/1.1\r\n\r\n", r, bad));
    CHECK(bad);
}

TEST_CASE("format_response: status line, length, close; HEAD without the body") {
    HttpResponse r{200, "text/plain", "abc"};
    CHECK(HttpEndpoint::format_response(r, false) ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    CHECK(HttpEndpoint::format_response(r, true).find("abc") == std::string::npos);
    HttpResponse m{405, "text/plain", ""};
    CHECK(HttpEndpoint::format_response(m, false).find("Allow: GET, HEAD\r\n") != std::string::npos);
}

namespace {
std::string round_trip(std::uint16_t port, const std::string& request) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return got;
}
}  // namespace

TEST_CASE("on the reactor: GET answered and closed, other methods 405, an endless head 431") {
    Reactor reactor;
    HttpEndpoint http(reactor, [](std::string_view path) {
        return HttpResponse{path == "/metrics" ? 200 : 404, "text/plain", "body of " + std::string(path)};
    });
    REQUIRE(http.listen("127.0.0.1", 0).empty());
    const std::uint16_t port = http.port();
    std::string ok, missing, post, huge;
    std::thread client([&] {
        ok = round_trip(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        missing = round_trip(port, "GET /other HTTP/1.0\r\n\r\n");
        post = round_trip(port, "POST /metrics HTTP/1.1\r\n\r\n");
        huge = round_trip(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'a'));
        reactor.stop();
    });
    reactor.run();
    client.join();
    CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(ok.find("\r\n\r\nbody of /metrics") != std::string::npos);
    CHECK(missing.rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(post.rfind("HTTP/1.1 405 ", 0) == 0);
    CHECK(huge.rfind("HTTP/1.1 431 ", 0) == 0);
}
