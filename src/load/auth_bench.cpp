// chat-auth-bench: password checks per second of chatd's AuthPool alone, at
// chatd's defaults unless told otherwise: one Argon2id hash is made, then
// --count checks of it are queued at once and timed until the last reply.
// This is the ceiling for account logins per second through chatd, which
// scripts/bench-auth.sh measures end to end with chat-load -s auth.
#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "server/auth_pool.hpp"

int main(int argc, char** argv) {
    using namespace chat::server;
    AuthPoolOptions opt;
    std::size_t mem_mib = opt.memlimit >> 20;
    unsigned count = 40;
    CLI::App app{"chat-auth-bench: Argon2id password checks per second on chatd's auth pool"};
    app.add_option("--threads", opt.threads, "pool threads (chatd --auth-threads)")->capture_default_str();
    app.add_option("--pw-ops", opt.opslimit, "Argon2id passes (chatd --pw-ops)")->capture_default_str();
    app.add_option("--pw-mem", mem_mib, "Argon2id memory, MiB (chatd --pw-mem)")->capture_default_str();
    app.add_option("-n,--count", count, "checks to time")
        ->check(CLI::Range(1u, 100000u))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    opt.memlimit = mem_mib << 20;
    opt.max_pending = count;  // all queued at once: the pool, not its bound, is measured
    if (std::string err = validate_auth_pool_options(opt); !err.empty()) {
        std::fprintf(stderr, "chat-auth-bench: %s\n", err.c_str());
        return 2;
    }

    using Clock = std::chrono::steady_clock;
    auto t = Clock::now();
    const std::string stored = hash_password("correct horse battery", opt);
    const double one_hash = std::chrono::duration<double>(Clock::now() - t).count();
    if (stored.empty()) {
        std::fprintf(stderr, "chat-auth-bench: hashing failed\n");
        return 1;
    }

    AuthPool pool(opt);
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
    pool.set_notify([&] {
        std::lock_guard lock(mu);
        ready = true;
        cv.notify_one();
    });
    if (std::string err = pool.start(); !err.empty()) {
        std::fprintf(stderr, "chat-auth-bench: %s\n", err.c_str());
        return 1;
    }
    t = Clock::now();
    for (unsigned i = 0; i < count; ++i)
        if (!pool.submit(VerifyRequest{i + 1, "correct horse battery", stored})) {
            std::fprintf(stderr, "chat-auth-bench: the pool refused a check\n");
            return 1;
        }
    unsigned answered = 0, wrong = 0;
    while (answered < count) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ready; });
        ready = false;
        lock.unlock();
        for (const AuthReply& r : pool.take_replies()) {
            ++answered;
            if (!std::get<VerifyReply>(r).ok) ++wrong;
        }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t).count();
    pool.stop();
    std::printf(
        "argon2id t=%llu m=%zu MiB: one hash on one thread %.1f ms; %u checks on %u threads in %.2f s: "
        "%.1f checks/s%s\n",
        opt.opslimit, mem_mib, one_hash * 1e3, count, opt.threads, secs, count / secs,
        wrong ? "  ** some checks failed **" : "");
    return wrong ? 1 : 0;
}
