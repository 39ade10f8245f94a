// A byte FIFO with power-of-two capacity that costs nothing while empty:
// storage is allocated on first append, grown by doubling, and released when
// the buffer drains. Writes to a socket use writev across the wrap.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>

namespace chat::net {

class RingBuffer {
public:
    static constexpr std::size_t kMinCapacity = 256;

    RingBuffer() noexcept = default;
    RingBuffer(RingBuffer&&) noexcept = default;
    RingBuffer& operator=(RingBuffer&&) noexcept = default;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return cap_; }

    // Appends bytes, growing to the next power of two that fits.
    void append(std::string_view bytes);

    // Drops the first n bytes (n <= size()); releases the storage when empty.
    void consume(std::size_t n) noexcept;

    // The readable bytes as up to two contiguous pieces (second empty unless wrapped).
    std::string_view first() const noexcept;
    std::string_view second() const noexcept;

    // writev()s the readable bytes to fd and consumes what was written.
    // Returns bytes written, or -1 with errno set (EAGAIN included).
    ssize_t write_to(int fd) noexcept;

    void clear() noexcept;

    // Bytes of storage all ring buffers of the process released since the
    // last call (a cheap sign that a burst went by and malloc_trim has pages
    // to hand back).
    static std::size_t take_released() noexcept;

private:
    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0;   // 0 or a power of two
    std::size_t head_ = 0;  // index of the first readable byte
    std::size_t size_ = 0;
};

}  // namespace chat::net
