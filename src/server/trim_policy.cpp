#include "server/trim_policy.hpp"

#include <algorithm>

namespace chat::server {

bool TrimPolicy::tick(std::size_t released, std::size_t rss, std::int64_t now) noexcept {
    released_ += released;
    // Grown by an eighth past the last trim (at least 4 MiB): other memory came and went.
    const bool grown = rss != 0 && rss >= mark_ + std::max<std::size_t>(std::size_t{4} << 20, mark_ / 8);
    if (released_ < kBurst && !grown) return false;
    const bool churning = released >= kChurn;
    return !churning || now - last_trim_ >= kBusyInterval;
}

void TrimPolicy::trimmed(std::size_t rss, std::int64_t now) noexcept {
    mark_ = rss;
    released_ = 0;
    last_trim_ = now;
}

}  // namespace chat::server
