#include "tui/secret.hpp"

#include <string.h>  // explicit_bzero
#include <sys/mman.h>

#include <utility>

#include "proto/text.hpp"

namespace chat::tui {

Secret& Secret::operator=(Secret&& o) noexcept {
    if (this != &o) {
        release();
        buf_ = std::exchange(o.buf_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

bool Secret::ensure() {
    if (buf_ != nullptr) return true;
    void* p = ::mmap(nullptr, kCapacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    ::madvise(p, kCapacity, MADV_DONTDUMP);  // best effort, as is the lock: a password is still wiped
    ::mlock(p, kCapacity);
    buf_ = static_cast<char*>(p);
    return true;
}

void Secret::release() {
    if (buf_ == nullptr) return;
    clear();
    ::munlock(buf_, kCapacity);
    ::munmap(buf_, kCapacity);
    buf_ = nullptr;
}

bool Secret::assign(std::string_view s) {
    clear();
    return append(s);
}

bool Secret::append(std::string_view s) {
    if (s.size() > kCapacity - size_ || !ensure()) return false;
    s.copy(buf_ + size_, s.size());
    size_ += s.size();
    return true;
}

void Secret::pop_char() {
    while (size_ > 0) {
        const auto b = static_cast<unsigned char>(buf_[--size_]);
        buf_[size_] = '\0';
        if ((b & 0xC0) != 0x80) break;  // stop after the lead byte (or an ASCII one)
    }
}

void Secret::clear() {
    if (buf_ != nullptr) explicit_bzero(buf_, kCapacity);
    size_ = 0;
}

bool Secret::equals(const Secret& o) const {
    if (size_ != o.size_) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < size_; ++i) diff |= static_cast<unsigned char>(buf_[i] ^ o.buf_[i]);
    return diff == 0;
}

void wipe(std::string& s) {
    if (!s.empty()) explicit_bzero(s.data(), s.size());
    s.clear();
}

bool HiddenInput::insert(char32_t cp) {
    const bool control = (cp < 0x20 && cp != U'\t') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
    if (control || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return true;  // ignored, as in the editor
    std::string bytes;
    proto::encode_utf8(cp, bytes);  // at most 4 bytes: inside the string's own small buffer
    const bool ok = value_.append(bytes);
    wipe(bytes);
    return ok;
}

}  // namespace chat::tui
