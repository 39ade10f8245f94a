#include "net/ring_buffer.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chat::net {

namespace {
std::atomic<std::size_t> g_released{0};
}  // namespace

std::size_t RingBuffer::take_released() noexcept { return g_released.exchange(0, std::memory_order_relaxed); }

void RingBuffer::append(std::string_view bytes) {
    if (bytes.empty()) return;
    const std::size_t needed = size_ + bytes.size();
    if (needed > cap_) {
        std::size_t cap = std::max(cap_, kMinCapacity);
        while (cap < needed) cap *= 2;
        auto fresh = std::make_unique_for_overwrite<char[]>(cap);
        // Unwrap while copying so the new storage starts at index 0.
        const std::string_view a = first(), b = second();
        if (!a.empty()) std::memcpy(fresh.get(), a.data(), a.size());
        if (!b.empty()) std::memcpy(fresh.get() + a.size(), b.data(), b.size());
        g_released.fetch_add(cap_, std::memory_order_relaxed);
        buf_ = std::move(fresh);
        cap_ = cap;
        head_ = 0;
    }
    const std::size_t tail = (head_ + size_) & (cap_ - 1);
    const std::size_t run = std::min(bytes.size(), cap_ - tail);
    std::memcpy(buf_.get() + tail, bytes.data(), run);
    if (run < bytes.size()) std::memcpy(buf_.get(), bytes.data() + run, bytes.size() - run);
    size_ += bytes.size();
}

void RingBuffer::consume(std::size_t n) noexcept {
    n = std::min(n, size_);
    if (n == size_) {
        clear();
        return;
    }
    head_ = (head_ + n) & (cap_ - 1);
    size_ -= n;
}

std::string_view RingBuffer::first() const noexcept {
    if (size_ == 0) return {};
    return {buf_.get() + head_, std::min(size_, cap_ - head_)};
}

std::string_view RingBuffer::second() const noexcept {
    if (size_ == 0) return {};
    const std::size_t firstlen = std::min(size_, cap_ - head_);
    return {buf_.get(), size_ - firstlen};
}

ssize_t RingBuffer::write_to(int fd) noexcept {
    if (size_ == 0) return 0;
    const std::string_view a = first(), b = second();
    iovec iov[2];
    iov[0].iov_base = const_cast<char*>(a.data());
    iov[0].iov_len = a.size();
    iov[1].iov_base = const_cast<char*>(b.data());
    iov[1].iov_len = b.size();
    const int iovcnt = b.empty() ? 1 : 2;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    // MSG_NOSIGNAL: a peer that went away must yield EPIPE, never a SIGPIPE that kills the process.
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::writev(fd, iov, iovcnt);  // pipes and files
    if (n > 0) consume(static_cast<std::size_t>(n));
    return n;
}

void RingBuffer::clear() noexcept {
    if (cap_) g_released.fetch_add(cap_, std::memory_order_relaxed);
    buf_.reset();
    cap_ = 0;
    head_ = 0;
    size_ = 0;
}

}  // namespace chat::net
