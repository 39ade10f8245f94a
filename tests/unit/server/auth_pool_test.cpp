#include "server/auth_pool.hpp"

#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace chat::server;
using namespace std::chrono_literals;

namespace {

// The cheapest parameters libsodium takes: hashes in well under a millisecond.
AuthPoolOptions fast(std::size_t max_pending = 64) {
    AuthPoolOptions o;
    o.testing_minimum = true;
    o.opslimit = kArgon2OpsMin;
    o.memlimit = kArgon2MemMin;
    o.max_pending = max_pending;
    return o;
}

// Gathers the replies of a pool as its notify sees them.
struct Collector {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<AuthReply> replies;
    std::atomic<int> notifies{0};
    std::atomic<bool> on_other_thread{true};
    std::atomic<bool> signals_blocked{true};
    std::thread::id main = std::this_thread::get_id();
    AuthPool* pool = nullptr;

    void attach(AuthPool& p) {
        pool = &p;
        p.set_notify([this] {
            if (std::this_thread::get_id() == main) on_other_thread = false;
            sigset_t cur;
            pthread_sigmask(SIG_BLOCK, nullptr, &cur);
            if (sigismember(&cur, SIGTERM) != 1 || sigismember(&cur, SIGINT) != 1) signals_blocked = false;
            ++notifies;
            std::lock_guard lk(mu);
            for (auto& r : pool->take_replies()) replies.push_back(std::move(r));
            cv.notify_all();
        });
    }
    // Waits for `n` replies in all; false on timeout.
    bool wait(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lk(mu);
        return cv.wait_for(lk, timeout, [&] { return replies.size() >= n; });
    }
};

std::string hash_of(const std::string& password, AuthPoolOptions opt = fast()) {
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(opt);
    c.attach(pool);
    REQUIRE(pool.start().empty());
    AuthRequest req = HashRequest{1, password};
    REQUIRE(pool.submit(std::move(req)));
    REQUIRE(c.wait(1));
    std::lock_guard lk(c.mu);
    const auto* h = std::get_if<HashReply>(&c.replies[0]);
    REQUIRE(h != nullptr);
    REQUIRE(h->ok);
    return h->hash;
}

VerifyReply verify(AuthPool& pool, Collector& c, const std::string& password, const std::string& stored) {
    std::size_t before;
    {
        std::lock_guard lk(c.mu);
        before = c.replies.size();
    }
    static AuthToken next = 1000;
    const AuthToken token = ++next;
    AuthRequest req = VerifyRequest{token, password, stored};
    REQUIRE(pool.submit(std::move(req)));
    REQUIRE(c.wait(before + 1));
    std::lock_guard lk(c.mu);
    const auto* v = std::get_if<VerifyReply>(&c.replies.back());
    REQUIRE(v != nullptr);
    CHECK(v->token == token);
    return *v;
}

}  // namespace

TEST_CASE("auth pool: options below the OWASP minimum are refused") {
    CHECK(validate_auth_pool_options(AuthPoolOptions{}).empty());  // the defaults: INTERACTIVE
    AuthPoolOptions o;
    o.memlimit = kOwaspMinMem;
    o.opslimit = kOwaspMinOps;
    CHECK(validate_auth_pool_options(o).empty());  // 19 MiB, t=2: the minimum itself
    o.memlimit = kOwaspMinMem - 1;
    CHECK(validate_auth_pool_options(o).find("below the minimum 19 MiB") != std::string::npos);
    o.memlimit = kArgon2MemInteractive;
    o.opslimit = 1;
    CHECK(validate_auth_pool_options(o).find("iterations 1 is below the minimum 2") != std::string::npos);
    AuthPoolOptions f = fast();
    f.testing_minimum = false;
    CHECK_FALSE(validate_auth_pool_options(f).empty());  // minimum parameters without the flag...
    f.testing_minimum = true;
    CHECK(validate_auth_pool_options(f).empty());  // ...are fine with it
    f.memlimit = kArgon2MemMin - 1;
    CHECK_FALSE(validate_auth_pool_options(f).empty());  // not below libsodium's own minimum
    f = fast();
    f.opslimit = 0;
    CHECK_FALSE(validate_auth_pool_options(f).empty());
    f = fast();
    f.threads = 0;
    CHECK(validate_auth_pool_options(f).find("threads") != std::string::npos);
    f = fast();
    f.max_pending = 0;
    CHECK_FALSE(validate_auth_pool_options(f).empty());

    AuthPoolOptions weak;
    weak.memlimit = 1u << 20;
    AuthPool pool(weak);
    CHECK(pool.start() == validate_auth_pool_options(weak));
    AuthRequest req = HashRequest{1, "abcdefgh"};
    CHECK(pool.submit(std::move(req)));  // queued; never answered, never started
    pool.stop();
}

TEST_CASE("auth pool: a hash verifies, a wrong password does not") {
    const std::string hash = hash_of("correct horse battery staple");
    CHECK(hash.rfind("$argon2id$", 0) == 0);
    CHECK(hash.rfind("$argon2id$v=19$m=8,t=1,p=1$", 0) == 0);  // the pool's parameters (8 KiB, 1 pass)
    CHECK(hash != hash_of("correct horse battery staple"));   // a random salt each time

    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(fast());
    c.attach(pool);
    REQUIRE(pool.start().empty());
    VerifyReply v = verify(pool, c, "correct horse battery staple", hash);
    CHECK(v.ok);
    CHECK_FALSE(v.needs_rehash);  // same parameters as the pool's
    v = verify(pool, c, "correct horse battery stapl", hash);
    CHECK_FALSE(v.ok);
    CHECK_FALSE(v.needs_rehash);
    CHECK_FALSE(verify(pool, c, "correct horse battery staple ", hash).ok);  // a trailing space counts
    CHECK_FALSE(verify(pool, c, "Correct horse battery staple", hash).ok);
    CHECK_FALSE(verify(pool, c, "", hash).ok);
    // Malformed stored hashes are a mismatch, not a crash.
    CHECK_FALSE(verify(pool, c, "correct horse battery staple", "").ok);
    CHECK_FALSE(verify(pool, c, "correct horse battery staple", "$argon2id$v=19$m=8,t=1,p=1$").ok);
    CHECK_FALSE(verify(pool, c, "correct horse battery staple", hash.substr(0, hash.size() - 1)).ok);
    CHECK_FALSE(verify(pool, c, "correct horse battery staple", std::string(500, 'x')).ok);
    CHECK_FALSE(verify(pool, c, "correct horse battery staple", std::string("$argon2id$\0x", 12)).ok);
    // Multibyte and TAB passwords are bytes like any other.
    const std::string odd = "contrase\xC3\xB1" "a\tcon espacios  ";
    const std::string odd_hash = hash_of(odd);
    CHECK(verify(pool, c, odd, odd_hash).ok);
    CHECK_FALSE(verify(pool, c, odd.substr(0, odd.size() - 1), odd_hash).ok);
}

TEST_CASE("auth pool: a minimum-cost hash needs a rehash at INTERACTIVE parameters") {
    const std::string weak = hash_of("abcdefgh12");
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool;  // the defaults; checking a weak hash costs what the hash says, so this is fast
    c.attach(pool);
    REQUIRE(pool.start().empty());
    const auto start = std::chrono::steady_clock::now();
    VerifyReply v = verify(pool, c, "abcdefgh12", weak);
    CHECK(v.ok);
    CHECK(v.needs_rehash);
    v = verify(pool, c, "abcdefgh13", weak);
    CHECK_FALSE(v.ok);
    CHECK_FALSE(v.needs_rehash);  // only said for a correct password
    CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("auth pool: the real default parameters, once") {
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool;
    CHECK(pool.options().opslimit == kArgon2OpsInteractive);
    CHECK(pool.options().memlimit == kArgon2MemInteractive);
    CHECK(pool.options().threads == 2);
    CHECK(pool.options().max_pending == 64);
    c.attach(pool);
    REQUIRE(pool.start().empty());
    AuthRequest req = HashRequest{7, "una clave de verdad"};
    REQUIRE(pool.submit(std::move(req)));
    REQUIRE(c.wait(1, 30s));
    std::string hash;
    {
        std::lock_guard lk(c.mu);
        const auto& h = std::get<HashReply>(c.replies[0]);
        CHECK(h.token == 7);
        REQUIRE(h.ok);
        hash = h.hash;
    }
    CHECK(hash.rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0) == 0);
    const VerifyReply v = verify(pool, c, "una clave de verdad", hash);
    CHECK(v.ok);
    CHECK_FALSE(v.needs_rehash);
}

TEST_CASE("auth pool: the bounded queue refuses past its bound, nothing blocks") {
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(fast(3));
    c.attach(pool);
    // Not started yet: requests wait, so the bound is reached deterministically.
    for (AuthToken t = 1; t <= 3; ++t) {
        AuthRequest req = HashRequest{t, "abcdefgh"};
        CHECK(pool.submit(std::move(req)));
    }
    CHECK(pool.pending() == 3);
    AuthRequest refused = VerifyRequest{4, "abcdefgh", "$argon2id$"};
    CHECK_FALSE(pool.submit(std::move(refused)));
    CHECK(std::get<VerifyRequest>(refused).password.empty());  // wiped all the same
    CHECK(pool.pending() == 3);

    REQUIRE(pool.start().empty());
    REQUIRE(c.wait(3));
    std::set<AuthToken> tokens;
    {
        std::lock_guard lk(c.mu);
        for (const auto& r : c.replies) tokens.insert(std::get<HashReply>(r).token);
    }
    CHECK(tokens == std::set<AuthToken>{1, 2, 3});
    // Room again once answered.
    for (int i = 0; i < 100 && pool.pending() > 0; ++i) std::this_thread::sleep_for(10ms);
    CHECK(pool.pending() == 0);
    AuthRequest again = HashRequest{5, "abcdefgh"};
    CHECK(pool.submit(std::move(again)));
    CHECK(c.wait(4));
}

TEST_CASE("auth pool: submit takes the password from the caller and wipes it") {
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(fast());
    c.attach(pool);
    REQUIRE(pool.start().empty());
    AuthRequest shortpw = HashRequest{1, "abcdefgh"};  // fits in the string itself: copied by a move
    AuthRequest longpw = VerifyRequest{2, std::string(100, 'p'), "$argon2id$x"};
    REQUIRE(pool.submit(std::move(shortpw)));
    REQUIRE(pool.submit(std::move(longpw)));
    CHECK(std::get<HashRequest>(shortpw).password.empty());
    CHECK(std::get<VerifyRequest>(longpw).password.empty());
    CHECK(c.wait(2));
}

TEST_CASE("auth pool: replies come back through notify, from a worker thread with signals blocked") {
    sigset_t before;
    pthread_sigmask(SIG_BLOCK, nullptr, &before);
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(fast());
    c.attach(pool);
    REQUIRE(pool.start().empty());
    sigset_t after;
    pthread_sigmask(SIG_BLOCK, nullptr, &after);
    CHECK(sigismember(&after, SIGTERM) == sigismember(&before, SIGTERM));  // the caller's mask is restored
    CHECK(sigismember(&after, SIGINT) == sigismember(&before, SIGINT));

    constexpr AuthToken n = 40;
    for (AuthToken t = 1; t <= n; ++t) {
        AuthRequest req = HashRequest{t, "password" + std::to_string(t)};
        REQUIRE(pool.submit(std::move(req)));
    }
    REQUIRE(c.wait(n));
    CHECK(c.on_other_thread);
    CHECK(c.signals_blocked);
    CHECK(c.notifies >= 1);
    std::set<AuthToken> tokens;
    {
        std::lock_guard lk(c.mu);
        CHECK(c.replies.size() == n);
        for (const auto& r : c.replies) {
            const auto& h = std::get<HashReply>(r);
            CHECK(h.ok);
            tokens.insert(h.token);
        }
    }
    CHECK(tokens.size() == n);
    CHECK(pool.take_replies().empty());  // the collector took them all
}

TEST_CASE("auth pool: stop with requests pending returns promptly and answers nothing more") {
    AuthPoolOptions o;  // INTERACTIVE: 64 of them would take seconds
    o.threads = 1;
    Collector c;  // outlives the pool: its workers call it
    AuthPool pool(o);
    c.attach(pool);
    REQUIRE(pool.start().empty());
    for (AuthToken t = 1; t <= 64; ++t) {
        AuthRequest req = HashRequest{t, "abcdefgh"};
        REQUIRE(pool.submit(std::move(req)));
    }
    AuthRequest extra = HashRequest{65, "abcdefgh"};
    CHECK_FALSE(pool.submit(std::move(extra)));  // 64 pending: the default bound
    std::this_thread::sleep_for(20ms);          // let the worker begin one
    const auto start = std::chrono::steady_clock::now();
    pool.stop();
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < 3s);  // at most the one hash under way, not 64 of them
    const int notified = c.notifies;
    CHECK(notified < 64);
    CHECK(pool.pending() == 0);
    AuthRequest late = HashRequest{66, "abcdefgh"};
    CHECK_FALSE(pool.submit(std::move(late)));  // stopped
    CHECK(pool.start() != "");                  // and stays stopped
    std::this_thread::sleep_for(50ms);
    CHECK(c.notifies == notified);
    pool.stop();  // twice is fine
}

TEST_CASE("auth pool: the destructor stops a busy pool") {
    Collector c;
    {
        AuthPool pool(fast());
        c.attach(pool);
        REQUIRE(pool.start().empty());
        for (AuthToken t = 1; t <= 64; ++t) {
            AuthRequest req = HashRequest{t, "abcdefgh"};
            pool.submit(std::move(req));
        }
    }
    const int n = c.notifies;
    std::this_thread::sleep_for(20ms);
    CHECK(c.notifies == n);
}

TEST_CASE("auth pool: a hash the idle class starves on a busy host moves to nice +10 and finishes") {
    // Hashes of about 50 ms of CPU on a host kept busy by a spinning thread per core at the
    // reactor's priority, where the idle class would give each hash most of half a minute.
    AuthPoolOptions o = fast();
    o.memlimit = 1u << 20;
    const auto c0 = std::chrono::steady_clock::now();
    REQUIRE_FALSE(hash_password("calibration", o).empty());
    const auto one = std::chrono::steady_clock::now() - c0;
    o.opslimit = std::max<unsigned long long>(1, 50ms / std::max<std::chrono::nanoseconds>(one, 1ms));
    Collector c;
    AuthPool pool(o);
    c.attach(pool);
    REQUIRE(pool.start().empty());
    if (!pool.idle_class()) {
        MESSAGE("not checked: this process may not leave the idle class (RLIMIT_NICE < 10, no CAP_SYS_NICE)");
        return;
    }
    std::atomic<bool> spin{true};
    std::vector<std::thread> hogs;
    for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i)
        hogs.emplace_back([&spin] {
            while (spin.load(std::memory_order_relaxed)) {
            }
        });
    std::this_thread::sleep_for(20ms);  // the hogs on every core first
    const auto t0 = std::chrono::steady_clock::now();
    for (AuthToken t = 1; t <= 2; ++t) {
        AuthRequest req = HashRequest{t, "contraseña de prueba"};
        REQUIRE(pool.submit(std::move(req)));
    }
    const bool done = c.wait(2, 60s);
    const auto took = std::chrono::steady_clock::now() - t0;
    spin = false;
    for (auto& h : hogs) h.join();
    CHECK(done);
    CHECK(pool.stats().niced >= 1);
    CHECK(took < 20s);
    MESSAGE("2 hashes of ~50 ms beside " << hogs.size() << " spinning threads: "
                                          << std::chrono::duration<double>(took).count() << " s");
}
