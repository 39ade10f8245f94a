#include "server/auth_throttle.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>

using chat::server::AuthThrottle;
using chat::server::AuthThrottleLimits;
using namespace std::chrono_literals;

namespace {

using Time = AuthThrottle::Time;
const Time t0 = Time{} + 1000h;  // any steady time

std::string addr(std::size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zu.%zu.%zu.%zu", 10 + (i >> 24 & 0xFF), i >> 16 & 0xFF, i >> 8 & 0xFF, i & 0xFF);
    return buf;
}

}  // namespace

TEST_CASE("throttle: the 5th wrong password blocks the account, from every address") {
    AuthThrottle t;
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + i * 1s));
        t.record_failure("ana", "10.0.0.1", t0 + i * 1s);
    }
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 4s));
    t.record_failure("ana", "10.0.0.1", t0 + 4s);
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 4s));
    CHECK(t.blocked("ana", "192.168.1.7", t0 + 5s));  // the account, whatever the address
    CHECK(t.blocked("ana", "::1", t0 + 5s));
    CHECK_FALSE(t.blocked("bea", "10.0.0.1", t0 + 5s));  // the address is not blocked (5 < 20)
}

TEST_CASE("throttle: a blocked attempt is not counted") {
    AuthThrottle t;
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + i * 1s);
    const auto before = t.stats();
    // The 6th and later attempts are refused; the caller records nothing for them.
    for (int i = 0; i < 100; ++i) CHECK(t.blocked("ana", "10.0.0.1", t0 + 5s + i * 100ms));
    const auto after = t.stats();
    CHECK(after.accounts == before.accounts);
    CHECK(after.addresses == before.addresses);
    // Free again when the oldest (t0) is 60 s old; the refused attempts left no trace.
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 60s - 1ns));
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 60s));
}

TEST_CASE("throttle: unblocked exactly when the oldest failure leaves the window") {
    AuthThrottle t;
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + i * 10s);  // 0, 10, 20, 30, 40
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 40s));
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 59s));
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 60s - 1ns));
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 60s));
}

TEST_CASE("throttle: a sliding window, not a lockout that restarts") {
    AuthThrottle t;
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + i * 10s);  // 0, 10, 20, 30, 40
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 60s));
    // One more failure: 10, 20, 30, 40, 60 are five within 60 s again.
    t.record_failure("ana", "10.0.0.1", t0 + 60s);
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 60s));
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 70s - 1ns));
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 70s));
    // At 119 s only the failure at 60 s is in the window; one more makes two, not five.
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 119s));
    t.record_failure("ana", "10.0.0.1", t0 + 119s);  // the last five: 20, 30, 40, 60, 119
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 119s));
}

TEST_CASE("throttle: failures spread wider than the window never block") {
    AuthThrottle t;
    for (int i = 0; i < 1000; ++i) {
        CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + i * 15s));  // 4 per minute at most
        t.record_failure("ana", "10.0.0.1", t0 + i * 15s);
    }
}

TEST_CASE("throttle: a failure recorded while blocked still counts") {
    // A check already under way when the block began comes back wrong: it was an attempt.
    AuthThrottle t;
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + i * 10s);  // 0..40
    t.record_failure("ana", "10.0.0.1", t0 + 50s);                                // 10..50 are the last five
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 60s));
    CHECK(t.blocked("ana", "10.0.0.1", t0 + 70s - 1ns));
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 70s));
}

TEST_CASE("throttle: 20 wrong passwords from one address, across different accounts") {
    AuthThrottle t;
    for (int i = 0; i < 19; ++i) t.record_failure("user" + std::to_string(i), "10.0.0.1", t0 + i * 1s);
    CHECK_FALSE(t.blocked("someone", "10.0.0.1", t0 + 19s));
    t.record_failure("user19", "10.0.0.1", t0 + 19s);
    CHECK(t.blocked("someone", "10.0.0.1", t0 + 19s));  // every account from that address
    CHECK(t.blocked("user0", "10.0.0.1", t0 + 20s));
    CHECK_FALSE(t.blocked("user0", "10.0.0.2", t0 + 20s));   // the accounts are not blocked elsewhere
    CHECK_FALSE(t.blocked("someone", "10.0.0.2", t0 + 20s));
    CHECK(t.blocked("someone", "10.0.0.1", t0 + 60s - 1ns));
    CHECK_FALSE(t.blocked("someone", "10.0.0.1", t0 + 60s));  // user0's failure at t0 is out
    t.record_failure("someone", "10.0.0.1", t0 + 60s);
    CHECK(t.blocked("x", "10.0.0.1", t0 + 60s));  // 1..19 and 60: twenty again
    CHECK_FALSE(t.blocked("x", "10.0.0.1", t0 + 61s));
}

TEST_CASE("throttle: the account and address limits are independent") {
    AuthThrottle t;
    // Five addresses, one failure each, against one account: the account blocks, none of the addresses.
    for (int i = 0; i < 5; ++i) t.record_failure("ana", addr(i), t0);
    CHECK(t.blocked("ana", "172.16.0.1", t0));
    for (int i = 0; i < 5; ++i) CHECK_FALSE(t.blocked("bea", addr(i), t0));
}

TEST_CASE("throttle: an IPv4-mapped IPv6 address is the IPv4 address") {
    CHECK(AuthThrottle::normalize_address("::ffff:1.2.3.4") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("::FFFF:1.2.3.4") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("::fFfF:1.2.3.4") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("0:0:0:0:0:ffff:1.2.3.4") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("::ffff:102:304") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("1.2.3.4") == "1.2.3.4");
    CHECK(AuthThrottle::normalize_address("::1") == "::1");
    CHECK(AuthThrottle::normalize_address("2001:DB8:0:0::1") == "2001:db8::1");
    CHECK(AuthThrottle::normalize_address("::1.2.3.4") != "1.2.3.4");  // IPv4-compatible, not mapped
    CHECK(AuthThrottle::normalize_address("::ffff:1.2.3.4%eth0") == "::ffff:1.2.3.4%eth0");  // not parsed: kept
    CHECK(AuthThrottle::normalize_address("not an address") == "not an address");
    CHECK(AuthThrottle::normalize_address("") == "");

    AuthThrottle t;
    const char* spellings[] = {"1.2.3.4", "::ffff:1.2.3.4", "::FFFF:1.2.3.4", "0:0:0:0:0:FFFF:1.2.3.4"};
    for (int i = 0; i < 20; ++i) t.record_failure("user" + std::to_string(i), spellings[i % 4], t0);
    CHECK(t.stats().addresses == 1);
    for (const char* s : spellings) CHECK(t.blocked("other", s, t0));
    CHECK_FALSE(t.blocked("other", "1.2.3.5", t0));
}

TEST_CASE("throttle: keys whose newest failure is a window old are dropped") {
    AuthThrottle t;
    t.record_failure("ana", "10.0.0.1", t0);
    t.record_failure("bea", "10.0.0.2", t0 + 30s);
    CHECK(t.stats().accounts == 2);
    CHECK(t.stats().addresses == 2);
    CHECK_FALSE(t.blocked("x", "10.0.0.9", t0 + 60s - 1ns));
    CHECK(t.stats().accounts == 2);
    CHECK_FALSE(t.blocked("x", "10.0.0.9", t0 + 60s));  // any call sweeps
    CHECK(t.stats().accounts == 1);
    CHECK(t.stats().addresses == 1);
    t.record_failure("bea", "10.0.0.3", t0 + 89s);  // bea's newest is now 89 s
    CHECK_FALSE(t.blocked("x", "10.0.0.9", t0 + 90s));
    CHECK(t.stats().accounts == 1);
    CHECK(t.stats().addresses == 1);  // 10.0.0.3
    CHECK_FALSE(t.blocked("x", "10.0.0.9", t0 + 149s));
    CHECK(t.stats().accounts == 0);
    CHECK(t.stats().addresses == 0);
    CHECK(t.stats().evicted_accounts == 0);
    CHECK(t.stats().evicted_addresses == 0);
}

TEST_CASE("throttle: a full table evicts the key whose newest failure is oldest") {
    AuthThrottleLimits lim;
    lim.max_accounts = 3;
    lim.max_addresses = 2;
    AuthThrottle t(lim);
    t.record_failure("bea", "10.0.0.2", t0);                                        // bea: newest 0 s
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + i * 1s);  // ana blocked, newest 4 s
    t.record_failure("cris", "10.0.0.2", t0 + 5s);                                 // cris: 5 s
    CHECK(t.stats().accounts == 3);
    CHECK(t.stats().addresses == 2);
    CHECK(t.blocked("ana", "10.0.0.3", t0 + 6s));
    // bea's newest failure (0 s) is the oldest newest: bea goes, ana stays.
    t.record_failure("dani", "10.0.0.3", t0 + 6s);
    CHECK(t.stats().accounts == 3);
    CHECK(t.stats().evicted_accounts == 1);
    CHECK(t.blocked("ana", "10.0.0.4", t0 + 6s));
    // Addresses: 10.0.0.1 (newest 4 s) gave way to 10.0.0.3; 10.0.0.2 (5 s) stays.
    CHECK(t.stats().addresses == 2);
    CHECK(t.stats().evicted_addresses == 1);
    // A new failure moves a key to the young end: ana at 7 s outlives cris (5 s) and dani (6 s).
    t.record_failure("ana", "10.0.0.2", t0 + 7s);
    t.record_failure("eva", "10.0.0.2", t0 + 8s);  // cris goes
    CHECK(t.blocked("ana", "10.0.0.4", t0 + 8s));
    t.record_failure("fer", "10.0.0.2", t0 + 9s);  // dani goes
    CHECK(t.blocked("ana", "10.0.0.4", t0 + 9s));
    t.record_failure("gil", "10.0.0.2", t0 + 10s);  // now ana goes: forgotten early
    CHECK_FALSE(t.blocked("ana", "10.0.0.4", t0 + 10s));
    CHECK(t.stats().accounts == 3);
    CHECK(t.stats().evicted_accounts == 4);
}

TEST_CASE("throttle: a time earlier than one seen is taken as the latest") {
    AuthThrottle t;
    for (int i = 0; i < 5; ++i) t.record_failure("ana", "10.0.0.1", t0 + 100s);
    CHECK(t.blocked("ana", "10.0.0.1", t0));           // counts as t0 + 100 s
    CHECK_FALSE(t.blocked("ana", "10.0.0.1", t0 + 160s));
}

TEST_CASE("throttle: custom limits") {
    AuthThrottleLimits lim;
    lim.per_account = 2;
    lim.per_address = 3;
    lim.window = 10s;
    AuthThrottle t(lim);
    t.record_failure("ana", "10.0.0.1", t0);
    CHECK_FALSE(t.blocked("ana", "10.0.0.2", t0));
    t.record_failure("ana", "10.0.0.2", t0 + 1s);
    CHECK(t.blocked("ana", "10.0.0.3", t0 + 1s));
    t.record_failure("bea", "10.0.0.2", t0 + 2s);
    t.record_failure("cris", "10.0.0.2", t0 + 3s);
    CHECK(t.blocked("dani", "10.0.0.2", t0 + 3s));
    CHECK_FALSE(t.blocked("ana", "10.0.0.3", t0 + 10s));
    CHECK(t.blocked("dani", "10.0.0.2", t0 + 10s));  // 1, 2, 3 s
    CHECK_FALSE(t.blocked("dani", "10.0.0.2", t0 + 11s));
}

TEST_CASE("throttle: a flood of a million addresses and nicknames stays under the cap, fast") {
    AuthThrottle t;  // the default caps: 100,000 each
    const auto& lim = t.limits();
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point at20, at40, at80;
    std::size_t max_accounts = 0, max_addresses = 0, refused = 0;
    // All within one window: only the cap bounds the tables.
    for (std::size_t i = 0; i < 1'000'000; ++i) {
        if (i == 200'000) at20 = std::chrono::steady_clock::now();
        if (i == 400'000) at40 = std::chrono::steady_clock::now();
        if (i == 800'000) at80 = std::chrono::steady_clock::now();
        const Time now = t0 + std::chrono::microseconds(i);  // 1 s in all
        const std::string nick = "n" + std::to_string(i % 300'000);
        const std::string ip = addr(i);
        if (t.blocked(nick, ip, now)) {
            ++refused;
            continue;
        }
        t.record_failure(nick, ip, now);
        if (i % 1024 == 0) {
            max_accounts = std::max(max_accounts, t.stats().accounts);
            max_addresses = std::max(max_addresses, t.stats().addresses);
        }
    }
    const auto early = at40 - at20;                          // 200,000 calls with the tables full
    const auto late = std::chrono::steady_clock::now() - at80;  // the last 200,000
    const auto s = t.stats();
    CHECK(s.accounts == lim.max_accounts);
    CHECK(s.addresses == lim.max_addresses);
    CHECK(max_accounts <= lim.max_accounts);
    CHECK(max_addresses <= lim.max_addresses);
    CHECK(s.evicted_addresses == 1'000'000 - lim.max_addresses);
    CHECK(s.evicted_accounts > 0);
    CHECK(refused == 0);  // every nick repeats after 300,000 others: evicted by then
    // Then time moves on: one call after the window empties both tables.
    CHECK_FALSE(t.blocked("n1", addr(1), t0 + 2s + 60s));
    CHECK(t.stats().accounts == 0);
    CHECK(t.stats().addresses == 0);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    MESSAGE("1,000,000 failures in ", ms(elapsed), " ms; 200,000 at 20%: ", ms(early), " ms, at 80%: ", ms(late),
            " ms");
    // Constant cost per call once the tables are full: the last 200,000 take
    // about as long as 200,000 earlier ones (a scan per call would make them
    // several times slower). The absolute bound only catches the pathological:
    // a plain build takes 1-3 s, the sanitizers several times that.
    CHECK(late < 3 * early + 500ms);
    CHECK(elapsed < 120s);
}

TEST_CASE("throttle: a flood spread over time expires as it goes") {
    AuthThrottle t;
    std::size_t max_addresses = 0;
    for (std::size_t i = 0; i < 200'000; ++i) {
        const Time now = t0 + std::chrono::milliseconds(i);  // 1,000 new addresses per second
        t.record_failure("n" + std::to_string(i), addr(i), now);
        max_addresses = std::max(max_addresses, t.stats().addresses);
    }
    // About 60 s worth (60,000) tracked at any time, never the cap, no eviction.
    CHECK(max_addresses <= 60'000);
    CHECK(max_addresses >= 59'000);
    CHECK(t.stats().evicted_addresses == 0);
    CHECK(t.stats().evicted_accounts == 0);
}
