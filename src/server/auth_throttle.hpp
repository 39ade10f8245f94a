// Throttling of wrong passwords (PROTOCOL.md, "Accounts", "Throttling"), as
// state free of I/O: the caller passes the time in, so every rule is tested
// without a clock.
//
// How the core uses it, for a password line after AUTH:
//   if (throttle.blocked(account_key, address, now)) -> ERROR too-many-attempts
//       (not checked, not recorded: it does not count as an attempt)
//   else check the password; if wrong: throttle.record_failure(account_key, address, now)
// A correct password records nothing and resets nothing.
//
// Guarantees:
// - blocked() is true while the account has 5 (per_account) recorded failures
//   younger than 60 s (window), or the address has 20 (per_address): until
//   the oldest of them is exactly `window` old (a failure at t counts during
//   [t, t + window)). A sliding window: the oldest falling out lets the next
//   attempt through; one more failure then blocks again.
// - Every failure passed to record_failure() counts, even one that arrives
//   while the key is blocked (a check that was already under way when the
//   block began); only the caller decides what is not an attempt.
// - Addresses: an IPv4-mapped IPv6 address (::ffff:1.2.3.4, any spelling or
//   case) is the IPv4 address 1.2.3.4; other IPv6 addresses are keyed by
//   their canonical text (inet_ntop), so one address spelled two ways is one
//   key. A string that is no IP address is used as it is.
// - Memory is bounded whatever keys an attacker cycles through: per key at
//   most the last per_account / per_address failure times (older ones can
//   never matter); a key whose newest failure is `window` old is dropped (a
//   sweep on every call, amortised O(1)); and at most max_accounts /
//   max_addresses keys are tracked. When a table is full, a new key evicts
//   the key whose newest failure is oldest. That eviction is the only way a
//   key is forgotten before its failures have aged out; it needs
//   max_accounts (max_addresses) other keys failing within one window.
//   With both tables full at the defaults: about 55 MB for short keys (IPv4,
//   short nicknames), about 100 MB at worst (128-byte account keys, long
//   IPv6 texts); lower the caps to bound it tighter.
// - Time: `now` is a steady_clock time; a `now` earlier than one seen before
//   is taken as the latest seen (the clock never goes backwards here).
// - Not thread-safe: one thread (the reactor) owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat::server {

struct AuthThrottleLimits {
    std::size_t per_account = 5;    // failures within `window` that block an account
    std::size_t per_address = 20;   // ... that block an address
    std::chrono::steady_clock::duration window = std::chrono::seconds(60);
    std::size_t max_accounts = 100'000;   // tracked account keys at most
    std::size_t max_addresses = 100'000;  // tracked address keys at most
};

struct AuthThrottleStats {
    std::size_t accounts = 0;             // account keys tracked now
    std::size_t addresses = 0;            // address keys tracked now
    std::uint64_t evicted_accounts = 0;   // forgotten early because the table was full
    std::uint64_t evicted_addresses = 0;
};

namespace detail {

// The last `per_key` failure times of each key, keys ordered by their newest
// failure (oldest first) so that expiry and eviction take from the front.
class FailureTable {
public:
    using Time = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::steady_clock::duration;

    FailureTable(std::size_t per_key, std::size_t max_keys, Duration window);
    FailureTable(const FailureTable&) = delete;
    FailureTable& operator=(const FailureTable&) = delete;

    void expire(Time now);  // drops keys whose newest failure is `window` old
    bool blocked(std::string_view key, Time now) const;
    void record(std::string_view key, Time now);
    std::size_t size() const noexcept { return index_.size(); }
    std::uint64_t evicted() const noexcept { return evicted_; }

private:
    struct Entry {
        std::string key;
        std::vector<Time> times;  // a ring of at most per_key_ times
        std::size_t next = 0;     // where the next time goes once the ring is full
        Time newest{};
    };
    std::size_t per_key_;
    std::size_t max_keys_;
    Duration window_;
    std::list<Entry> order_;  // by newest failure, oldest first
    // Views into Entry::key: list nodes never move.
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
    std::uint64_t evicted_ = 0;
};

}  // namespace detail

class AuthThrottle {
public:
    using Time = std::chrono::steady_clock::time_point;

    explicit AuthThrottle(AuthThrottleLimits limits = {});

    // True when a password line for this account from this address must be
    // answered ERROR too-many-attempts without being checked.
    // `account_key` is the account's key (fold_nick), `address` the peer's IP.
    bool blocked(std::string_view account_key, std::string_view address, Time now);

    // A checked password was wrong: counts once for the account and once for
    // the address.
    void record_failure(std::string_view account_key, std::string_view address, Time now);

    AuthThrottleStats stats() const noexcept;
    const AuthThrottleLimits& limits() const noexcept { return limits_; }

    // The address key: "::FFFF:1.2.3.4" -> "1.2.3.4", "2001:DB8:0::1" -> "2001:db8::1".
    static std::string normalize_address(std::string_view address);

private:
    Time advance(Time now);  // clamps `now` and sweeps both tables

    AuthThrottleLimits limits_;
    detail::FailureTable accounts_;
    detail::FailureTable addresses_;
    Time latest_{};
};

}  // namespace chat::server
