#include "server/auth_throttle.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace chat::server {

namespace detail {

FailureTable::FailureTable(std::size_t per_key, std::size_t max_keys, Duration window)
    : per_key_(std::max<std::size_t>(per_key, 1)), max_keys_(std::max<std::size_t>(max_keys, 1)), window_(window) {}

void FailureTable::expire(Time now) {
    while (!order_.empty() && order_.front().newest + window_ <= now) {
        index_.erase(order_.front().key);
        order_.pop_front();
    }
}

bool FailureTable::blocked(std::string_view key, Time now) const {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    const Entry& e = *it->second;
    if (e.times.size() < per_key_) return false;
    // Full ring: times[next] is the oldest of the last per_key_ failures.
    return e.times[e.next] + window_ > now;
}

void FailureTable::record(std::string_view key, Time now) {
    auto it = index_.find(key);
    std::list<Entry>::iterator entry;
    if (it != index_.end()) {
        entry = it->second;
        // Its newest failure is now the newest of all: to the back.
        order_.splice(order_.end(), order_, entry);
    } else if (index_.size() >= max_keys_) {
        // Full: the front key is forgotten. Its list node, buffers and index
        // node are reused for the new key, so a flood allocates nothing.
        entry = order_.begin();
        auto node = index_.extract(entry->key);
        order_.splice(order_.end(), order_, entry);
        entry->key.assign(key);
        entry->times.clear();
        entry->next = 0;
        node.key() = entry->key;
        node.mapped() = entry;
        index_.insert(std::move(node));
        ++evicted_;
    } else {
        order_.emplace_back();
        entry = std::prev(order_.end());
        entry->key.assign(key);
        entry->times.reserve(per_key_);
        index_.emplace(entry->key, entry);
    }
    Entry& e = *entry;
    if (e.times.size() < per_key_) {
        e.times.push_back(now);
    } else {
        e.times[e.next] = now;
        e.next = (e.next + 1) % per_key_;
    }
    e.newest = now;
}

}  // namespace detail

AuthThrottle::AuthThrottle(AuthThrottleLimits limits)
    : limits_(limits),
      accounts_(limits.per_account, limits.max_accounts, limits.window),
      addresses_(limits.per_address, limits.max_addresses, limits.window) {}

AuthThrottle::Time AuthThrottle::advance(Time now) {
    latest_ = std::max(latest_, now);
    accounts_.expire(latest_);
    addresses_.expire(latest_);
    return latest_;
}

bool AuthThrottle::blocked(std::string_view account_key, std::string_view address, Time now) {
    now = advance(now);
    if (accounts_.blocked(account_key, now)) return true;
    // Without a ':' there is nothing to normalise: no copy.
    if (address.find(':') == std::string_view::npos) return addresses_.blocked(address, now);
    return addresses_.blocked(normalize_address(address), now);
}

void AuthThrottle::record_failure(std::string_view account_key, std::string_view address, Time now) {
    now = advance(now);
    accounts_.record(account_key, now);
    if (address.find(':') == std::string_view::npos) {
        addresses_.record(address, now);
    } else {
        addresses_.record(normalize_address(address), now);
    }
}

AuthThrottleStats AuthThrottle::stats() const noexcept {
    AuthThrottleStats s;
    s.accounts = accounts_.size();
    s.addresses = addresses_.size();
    s.evicted_accounts = accounts_.evicted();
    s.evicted_addresses = addresses_.evicted();
    return s;
}

std::string AuthThrottle::normalize_address(std::string_view address) {
    // Longest IPv6 text: 45 characters (INET6_ADDRSTRLEN 46 with the NUL).
    if (address.size() >= INET6_ADDRSTRLEN || address.find(':') == std::string_view::npos) {
        return std::string(address);
    }
    char text[INET6_ADDRSTRLEN] = {};
    address.copy(text, address.size());
    in6_addr a6{};
    if (::inet_pton(AF_INET6, text, &a6) != 1) return std::string(address);
    char out[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        in_addr a4{};
        static_assert(sizeof a4 == 4);
        std::copy(a6.s6_addr + 12, a6.s6_addr + 16, reinterpret_cast<unsigned char*>(&a4));
        if (::inet_ntop(AF_INET, &a4, out, sizeof out) == nullptr) return std::string(address);
    } else if (::inet_ntop(AF_INET6, &a6, out, sizeof out) == nullptr) {
        return std::string(address);
    }
    return std::string(out);
}

}  // namespace chat::server
