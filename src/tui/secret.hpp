// Passwords in the client's memory. A Secret owns one fixed buffer, allocated
// once and never grown, so no copy of the bytes is left behind by a
// reallocation; it is wiped (explicit_bzero) when cleared, reassigned or
// destroyed. The buffer is a page of its own, left out of core dumps
// (MADV_DONTDUMP) and, where the memory-lock limit allows, kept out of swap. HiddenInput is the input line
// while a password is typed: it edits a Secret and has nothing to draw.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace chat::tui {

class Secret {
public:
    // A line a server takes by default (4096 bytes) and a page: a longer
    // password could not be sent anyway, so more is refused, not reallocated.
    static constexpr std::size_t kCapacity = 4096;

    Secret() = default;
    explicit Secret(std::string_view s) { assign(s); }
    ~Secret() { release(); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    // A move hands the buffer over; the bytes are not copied.
    Secret(Secret&& o) noexcept : buf_(std::exchange(o.buf_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    Secret& operator=(Secret&& o) noexcept;

    // False (and the secret left empty) when `s` is longer than kCapacity.
    bool assign(std::string_view s);
    // False (nothing appended) when the result would pass kCapacity.
    bool append(std::string_view s);
    // Removes the last UTF-8 code point (its continuation bytes included).
    void pop_char();
    // Wipes the bytes; the buffer is kept for reuse.
    void clear();

    std::string_view view() const { return {buf_, size_}; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Compares without stopping at the first difference.
    bool equals(const Secret& o) const;

private:
    bool ensure();  // false when no page could be had
    void release();

    char* buf_ = nullptr;
    std::size_t size_ = 0;
};

// Overwrites a std::string's bytes (with a write the compiler may not drop)
// and empties it: for the few copies of a password that pass through strings
// (an input line typed with the password inline).
void wipe(std::string& s);

// The input line while a password is asked for: typed characters go into the
// Secret and are never shown; Backspace erases the last one, Ctrl-U all.
class HiddenInput {
public:
    // A typed code point; control characters other than TAB are ignored
    // (a TAB may be part of a password). False when it did not fit.
    bool insert(char32_t cp);
    void backspace() { value_.pop_char(); }
    void clear() { value_.clear(); }

    bool empty() const { return value_.empty(); }
    const Secret& value() const { return value_; }
    // Hands the typed password over and leaves the input empty.
    Secret take() { return std::exchange(value_, Secret()); }

private:
    Secret value_;
};

}  // namespace chat::tui
