// Shared by the fuzz targets: a check that stops the run with a message, so
// libFuzzer saves the input and the replay mode fails its ctest.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond, ...)                                                         \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                        \
            std::fputc('\n', stderr);                                                 \
            std::abort();                                                             \
        }                                                                             \
    } while (0)

namespace chat::fuzz {

// Reads the input as a stream of small decisions; past its end every read is 0.
class Bytes {
public:
    Bytes(const unsigned char* data, std::size_t size) : p_(data), n_(size) {}
    bool empty() const { return i_ >= n_; }
    unsigned char u8() { return i_ < n_ ? p_[i_++] : 0; }
    // Up to `max` raw bytes (fewer at the end of the input).
    std::string_view take(std::size_t max) {
        std::size_t k = n_ - i_ < max ? n_ - i_ : max;
        std::string_view s(reinterpret_cast<const char*>(p_ + i_), k);
        i_ += k;
        return s;
    }

private:
    const unsigned char* p_;
    std::size_t n_;
    std::size_t i_ = 0;
};

// True when `part` lies inside `whole` (views into the same bytes).
inline bool inside(std::string_view part, std::string_view whole) {
    if (part.empty()) return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace chat::fuzz
