#include "net/ring_buffer.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "net/fd.hpp"

using chat::net::Fd;
using chat::net::RingBuffer;

namespace {

std::string contents(const RingBuffer& rb) {
    return std::string(rb.first()) + std::string(rb.second());
}

std::string pattern(std::size_t n, std::size_t seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i + seed) % 26);
    return s;
}

struct SocketPair {
    Fd a, b;
    SocketPair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

std::string read_all_available(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) != 1) break;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Leaves the buffer holding `live` bytes that wrap around the end of a 256-byte storage.
RingBuffer wrapped(std::string& expect) {
    RingBuffer rb;
    rb.append(pattern(200));
    rb.consume(150);
    expect = pattern(200).substr(150) + pattern(150, 7);
    rb.append(pattern(150, 7));
    return rb;
}

}  // namespace

TEST_CASE("ring buffer: costs nothing until used and nothing after it drains") {
    RingBuffer rb;
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
    CHECK(rb.first().empty());
    CHECK(rb.second().empty());
    rb.append("");
    CHECK(rb.capacity() == 0);

    rb.append("hello");
    CHECK(rb.capacity() == RingBuffer::kMinCapacity);
    CHECK(rb.size() == 5);
    CHECK(contents(rb) == "hello");
    rb.consume(2);
    CHECK(contents(rb) == "llo");
    CHECK(rb.capacity() == RingBuffer::kMinCapacity);
    rb.consume(3);
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);

    rb.append("again");
    rb.clear();
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
}

TEST_CASE("ring buffer: appends wrap around the end of the storage") {
    std::string expect;
    RingBuffer rb = wrapped(expect);
    CHECK(rb.capacity() == 256);
    CHECK(rb.size() == expect.size());
    CHECK(!rb.second().empty());  // really wrapped
    CHECK(rb.first().size() == 256 - 150);
    CHECK(contents(rb) == expect);

    // Consuming across the wrap point keeps order.
    rb.consume(rb.first().size() + 10);
    CHECK(contents(rb) == expect.substr(256 - 150 + 10));
    CHECK(rb.second().empty());
}

TEST_CASE("ring buffer: growth doubles and unwraps the contents") {
    std::string expect;
    RingBuffer rb = wrapped(expect);
    const std::string more = pattern(300, 3);
    rb.append(more);
    expect += more;
    CHECK(rb.capacity() == 512);  // 200 + 300 > 256
    CHECK(rb.second().empty());
    CHECK(rb.first() == expect);
    const std::string lots = pattern(1500, 9);
    rb.append(lots);
    expect += lots;
    CHECK(rb.capacity() == 2048);  // 2000 bytes: doubled twice in one go
    CHECK(contents(rb) == expect);

    RingBuffer big;
    big.append(pattern(5000));
    CHECK(big.capacity() == 8192);
    CHECK(contents(big) == pattern(5000));

    RingBuffer exact;
    exact.append(pattern(256));
    CHECK(exact.capacity() == 256);
    exact.append("x");
    CHECK(exact.capacity() == 512);
    CHECK(contents(exact) == pattern(256) + "x");
}

TEST_CASE("ring buffer: write_to sends both pieces of a wrapped buffer in order") {
    std::string expect;
    RingBuffer rb = wrapped(expect);
    SocketPair sp;
    const ssize_t n = rb.write_to(sp.a.get());
    CHECK(n == static_cast<ssize_t>(expect.size()));
    CHECK(rb.empty());
    CHECK(rb.capacity() == 0);
    CHECK(read_all_available(sp.b.get()) == expect);
    CHECK(rb.write_to(sp.a.get()) == 0);
}

TEST_CASE("ring buffer: write_to into a full socket keeps what was not written") {
    SocketPair sp;
    const int small = 4096;
    REQUIRE(::setsockopt(sp.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    REQUIRE(::fcntl(sp.a.get(), F_SETFL, O_NONBLOCK) == 0);

    const std::string all = pattern(1 << 20, 5);
    RingBuffer rb;
    rb.append(all);
    std::string got;
    bool saw_eagain = false;
    for (int guard = 0; !rb.empty() && guard < 100000; ++guard) {
        const ssize_t n = rb.write_to(sp.a.get());
        if (n < 0) {
            REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
            saw_eagain = true;
            got += read_all_available(sp.b.get());
        }
    }
    got += read_all_available(sp.b.get());
    CHECK(saw_eagain);
    CHECK(rb.empty());
    CHECK(got == all);
}

TEST_CASE("ring buffer: interleaved appends and partial writes keep the byte order") {
    SocketPair sp;
    const int small = 4096;
    REQUIRE(::setsockopt(sp.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    REQUIRE(::fcntl(sp.a.get(), F_SETFL, O_NONBLOCK) == 0);
    RingBuffer rb;
    std::string sent, got;
    for (int round = 0; round < 400; ++round) {
        const std::string chunk = pattern(97 + static_cast<std::size_t>(round) * 13 % 700, round);
        rb.append(chunk);
        sent += chunk;
        if (round % 3 == 0) {
            const ssize_t n = rb.write_to(sp.a.get());
            CHECK((n > 0 || errno == EAGAIN || errno == EWOULDBLOCK));
        }
        if (round % 7 == 0) got += read_all_available(sp.b.get());
    }
    for (int guard = 0; !rb.empty() && guard < 100000; ++guard) {
        (void)rb.write_to(sp.a.get());
        got += read_all_available(sp.b.get());
    }
    got += read_all_available(sp.b.get());
    CHECK(got == sent);
}

TEST_CASE("ring buffer: a vanished peer yields EPIPE, not a fatal SIGPIPE") {
    SocketPair sp;
    sp.b.reset();
    RingBuffer rb;
    rb.append("nobody listens\n");
    errno = 0;
    CHECK(rb.write_to(sp.a.get()) == -1);
    CHECK(errno == EPIPE);
    CHECK(rb.size() == 15);
}

TEST_CASE("ring buffer: write_to works on a pipe too") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    Fd r(p[0]), w(p[1]);
    std::string expect;
    RingBuffer rb = wrapped(expect);
    CHECK(rb.write_to(w.get()) == static_cast<ssize_t>(expect.size()));
    CHECK(read_all_available(r.get()) == expect);
}
