// Argon2id password hashing and checking off the reactor thread (libsodium),
// in the style of the storage (storage.hpp): the reactor submits requests,
// worker threads answer them, the reactor takes the replies.
//
// Guarantees:
// - submit() never blocks: it queues the request, or returns false at once
//   when max_pending requests are already waiting or being worked on (or the
//   pool is stopped), so the caller can answer ERROR unavailable.
// - Each worker hashes one password at a time, so the memory for hashing is
//   at most threads x memlimit; the queue holds at most max_pending requests.
// - Replies are taken in the order they were finished (with several workers
//   not necessarily the order of submission: match them by token).
//   notify is called from a worker thread, without a lock held, after each
//   reply is ready.
// - Hashes are made with Argon2id (crypto_pwhash_str_alg, ARGON2ID13) at the
//   pool's opslimit and memlimit, with a random salt; the encoded string
//   begins with "$argon2id$" and carries its parameters. Checking uses the
//   parameters in the stored string; needs_rehash says that they differ
//   from the pool's, and then the reply carries new_hash, the password
//   hashed again at the pool's parameters (two hashes' time for that check).
// - Every password buffer the pool holds (the request it was handed, the
//   copies in its queue and workers) is wiped with sodium_memzero when the
//   pool is done with it, whether answered, refused or dropped at stop.
//   Copies the caller keeps elsewhere (its line buffer) are its own to wipe.
//   Nothing here logs a password or a hash.
// - Workers hash in the SCHED_IDLE class, or at nice +10 while that leaves
//   them starved or cannot be left again (auth_worker_class.hpp): a login
//   storm takes mostly the CPU the chat leaves, not the chat's.
// - Workers run with every signal blocked (chatd takes SIGTERM and SIGINT
//   through a signalfd).
// - stop() (also from the destructor) drops queued requests, waits for the
//   hashes under way (one per worker, about 0.1 s at the defaults) and joins
//   the workers; nothing is answered after it starts, notify is not called
//   after it returns. Call it from the owning thread, never from notify.
// - Hashes made by crypto_pwhash_str_alg(..., crypto_pwhash_ALG_ARGON2ID13)
//   are what crypto_pwhash_str makes (its default algorithm is Argon2id).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "server/auth_worker_class.hpp"
#include "server/password_hasher.hpp"

namespace chat::server {


// libsodium's Argon2id constants (checked against sodium.h in auth_pool.cpp).
inline constexpr unsigned long long kArgon2OpsInteractive = 2;        // crypto_pwhash_OPSLIMIT_INTERACTIVE
inline constexpr std::size_t kArgon2MemInteractive = 64u << 20;       // crypto_pwhash_MEMLIMIT_INTERACTIVE
inline constexpr unsigned long long kArgon2OpsMin = 1;                // crypto_pwhash_OPSLIMIT_MIN
inline constexpr std::size_t kArgon2MemMin = 8192;                    // crypto_pwhash_MEMLIMIT_MIN
// OWASP's minimum for Argon2id: 19 MiB of memory and 2 iterations.
inline constexpr unsigned long long kOwaspMinOps = 2;
inline constexpr std::size_t kOwaspMinMem = 19u << 20;

struct AuthPoolOptions {
    unsigned threads = 2;
    unsigned long long opslimit = kArgon2OpsInteractive;
    std::size_t memlimit = kArgon2MemInteractive;  // bytes
    std::size_t max_pending = 64;                  // requests queued or under way
    // Allows parameters down to kArgon2OpsMin / kArgon2MemMin, for fast
    // tests only: such hashes are cheap to crack.
    bool testing_minimum = false;
};

// Empty when the options can be used, else an error text for the option
// parser, such as "password hash memory 8192 bytes is below the minimum
// 19 MiB (OWASP, Argon2id)". AuthPool::start() refuses what this refuses.
std::string validate_auth_pool_options(const AuthPoolOptions& opt);

// The requests and replies are in password_hasher.hpp.

// One Argon2id hash at opt's parameters, on the calling thread (it takes
// memlimit bytes and about 0.1 s at the defaults): for `chatd account`, not
// for the reactor. Empty when libsodium cannot make it.
std::string hash_password(std::string_view password, const AuthPoolOptions& opt);

struct AuthPoolStats {
    std::uint64_t hashes = 0;    // passwords hashed (registrations, changes, rehashes)
    std::uint64_t checks = 0;    // passwords checked against a stored hash
    std::uint64_t refused = 0;   // requests refused: the queue was full (ERROR unavailable)
    double busy_seconds = 0;     // worker time spent on them
    std::uint64_t niced = 0;     // hashes moved from the idle class to nice +10 (the host was busy)
    std::size_t pending = 0;     // queued or under way now
};

class AuthPool final : public PasswordHasher {
public:
    explicit AuthPool(AuthPoolOptions opt = {});
    ~AuthPool();  // stop()
    AuthPool(const AuthPool&) = delete;
    AuthPool& operator=(const AuthPool&) = delete;

    // Initialises libsodium (once per process) and starts the workers.
    // Returns an error text, empty on success. Requests submitted before are
    // answered once it has started. Not after stop().
    std::string start();

    // Reactor thread. False (and the request wiped) when the pool is full or
    // stopped. The request is taken from the caller: its password is wiped.
    bool submit(AuthRequest&& req) override;
    // Replies that are ready, in the order they were finished. Cheap when none.
    std::vector<AuthReply> take_replies();
    // Called from a worker thread when a reply is ready. Set before start().
    void set_notify(std::function<void()> notify);

    void stop();

    // Requests queued or under way (for tests and metrics).
    std::size_t pending() const;
    AuthPoolStats stats() const;
    const AuthPoolOptions& options() const noexcept { return opt_; }
    // After start(): whether the workers may hash in the idle class (else nice +10 always).
    bool idle_class() const noexcept { return idle_class_; }

private:
    // What the supervisor knows of one worker (guarded by mu_).
    struct WorkerSlot {
        WorkerClassPolicy policy;
        pid_t tid = 0;
        clockid_t cpu_clock{};
        bool busy = false;  // a hash under way
        WorkerClass applied = WorkerClass::Niced;
    };
    void run(unsigned index);
    void supervise();
    static std::chrono::nanoseconds cpu_time(const WorkerSlot& slot);
    AuthReply work(AuthRequest& req) const;

    AuthPoolOptions opt_;
    std::function<void()> notify_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<AuthRequest> queue_;  // guarded by mu_
    std::size_t busy_ = 0;           // requests under way, guarded by mu_
    bool stopping_ = false;          // guarded by mu_
    AuthPoolStats stats_;            // guarded by mu_ (pending filled in by stats())
    std::mutex reply_mu_;
    std::vector<AuthReply> replies_;  // guarded by reply_mu_
    std::vector<std::thread> workers_;
    bool idle_class_ = false;          // set by start() before the workers exist
    std::vector<WorkerSlot> slots_;    // one per worker, made by start(); guarded by mu_
    std::condition_variable supervise_cv_;
    std::thread supervisor_;           // only when idle_class_
};

}  // namespace chat::server
