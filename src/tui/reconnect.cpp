#include "tui/reconnect.hpp"

#include <algorithm>

namespace chat::tui {

void Reconnect::schedule(std::int64_t now_ms, Why why) {
    why_ = why;
    std::int64_t wait_ms = std::int64_t{delay_} * 1000;
    if (jitter_) wait_ms = std::uniform_int_distribution<std::int64_t>(wait_ms / 2, wait_ms)(rng_);
    last_ = static_cast<int>((wait_ms + 999) / 1000);
    at_ms_ = now_ms + wait_ms;
    delay_ = std::min(kMaxDelay, delay_ * 2);
}

int Reconnect::seconds_left(std::int64_t now_ms) const {
    if (!pending()) return 0;
    return static_cast<int>((std::max<std::int64_t>(0, at_ms_ - now_ms) + 999) / 1000);
}

int Reconnect::wait_ms(std::int64_t now_ms, bool countdown) const {
    if (!pending()) return -1;
    const std::int64_t left = std::max<std::int64_t>(0, at_ms_ - now_ms);
    if (!countdown) return static_cast<int>(left);
    // Wake on each whole second left, so the countdown in the status bar moves.
    return static_cast<int>(left % 1000 != 0 ? left % 1000 : std::min<std::int64_t>(left, 1000));
}

}  // namespace chat::tui
