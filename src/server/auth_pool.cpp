#include "server/auth_pool.hpp"

#include "server/auth_worker_class.hpp"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <utility>

namespace chat::server {

static_assert(kArgon2OpsInteractive == crypto_pwhash_OPSLIMIT_INTERACTIVE);
static_assert(kArgon2MemInteractive == crypto_pwhash_MEMLIMIT_INTERACTIVE);
static_assert(kArgon2OpsMin == crypto_pwhash_OPSLIMIT_MIN);
static_assert(kArgon2MemMin == crypto_pwhash_MEMLIMIT_MIN);
static_assert(crypto_pwhash_ALG_DEFAULT == crypto_pwhash_ALG_ARGON2ID13);

namespace {

constexpr unsigned kMaxThreads = 256;

// Overwrites the whole buffer of `s` (its capacity, not only its size), then empties it.
void wipe(std::string& s) noexcept {
    s.resize(s.capacity());
    sodium_memzero(s.data(), s.size());
    s.clear();
}

void wipe(AuthRequest& req) noexcept {
    std::visit([](auto& r) { wipe(r.password); }, req);
}

}  // namespace

std::string validate_auth_pool_options(const AuthPoolOptions& opt) {
    if (opt.threads < 1 || opt.threads > kMaxThreads) {
        return "password hash threads must be 1 to " + std::to_string(kMaxThreads) + ", not " +
               std::to_string(opt.threads);
    }
    if (opt.max_pending < 1) return "password hash queue bound must be at least 1";
    const unsigned long long min_ops = opt.testing_minimum ? kArgon2OpsMin : kOwaspMinOps;
    const std::size_t min_mem = opt.testing_minimum ? kArgon2MemMin : kOwaspMinMem;
    if (opt.opslimit < min_ops) {
        return "password hash iterations " + std::to_string(opt.opslimit) + " is below the minimum " +
               std::to_string(min_ops) + (opt.testing_minimum ? " (libsodium)" : " (OWASP, Argon2id)");
    }
    if (opt.opslimit > crypto_pwhash_OPSLIMIT_MAX) {
        return "password hash iterations " + std::to_string(opt.opslimit) + " is above libsodium's maximum " +
               std::to_string(crypto_pwhash_OPSLIMIT_MAX);
    }
    if (opt.memlimit < min_mem) {
        return "password hash memory " + std::to_string(opt.memlimit) + " bytes is below the minimum " +
               (opt.testing_minimum ? std::to_string(min_mem) + " bytes (libsodium)"
                                    : std::string("19 MiB (OWASP, Argon2id)"));
    }
    if (opt.memlimit > crypto_pwhash_MEMLIMIT_MAX) {
        return "password hash memory " + std::to_string(opt.memlimit) + " bytes is above libsodium's maximum " +
               std::to_string(static_cast<unsigned long long>(crypto_pwhash_MEMLIMIT_MAX));
    }
    return {};
}

AuthPool::AuthPool(AuthPoolOptions opt) : opt_(opt) {}

AuthPool::~AuthPool() {
    stop();
}

std::string AuthPool::start() {
    {
        std::lock_guard lk(mu_);
        if (stopping_) return "the password hash pool was stopped";
        if (!workers_.empty()) return {};
    }
    std::string err = validate_auth_pool_options(opt_);
    if (!err.empty()) return err;
    // Thread-safe and idempotent; done once per process.
    static const int sodium_ok = sodium_init();
    if (sodium_ok < 0) return "cannot initialise libsodium";

    // The workers start with every signal blocked: chatd takes SIGTERM and
    // SIGINT through a signalfd, which only works if no thread lets the
    // kernel deliver them the default way.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        idle_class_ = can_leave_idle_class();
        slots_.assign(opt_.threads, WorkerSlot{WorkerClassPolicy(idle_class_)});
        workers_.reserve(opt_.threads);
        for (unsigned i = 0; i < opt_.threads; ++i) workers_.emplace_back([this, i] { run(i); });
        if (idle_class_) supervisor_ = std::thread([this] { supervise(); });
    } catch (const std::exception& e) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        err = std::string("cannot start the password hash threads: ") + e.what();
        stop();
        return err;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return {};
}

std::string hash_password(std::string_view password, const AuthPoolOptions& opt) {
    if (sodium_init() < 0) return {};
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), opt.opslimit, opt.memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return {};
    return std::string(out);
}

bool AuthPool::submit(AuthRequest&& req) {
    bool accepted = false;
    {
        std::lock_guard lk(mu_);
        if (!stopping_ && queue_.size() + busy_ < opt_.max_pending) {
            queue_.push_back(std::move(req));
            accepted = true;
        } else {
            ++stats_.refused;
        }
    }
    wipe(req);  // what a move leaves behind (a short password is copied, not moved), or the refused request
    if (accepted) cv_.notify_one();
    return accepted;
}

AuthPoolStats AuthPool::stats() const {
    std::lock_guard lk(mu_);
    AuthPoolStats st = stats_;
    st.pending = queue_.size() + busy_;
    return st;
}

std::vector<AuthReply> AuthPool::take_replies() {
    std::vector<AuthReply> out;
    std::lock_guard lk(reply_mu_);
    out.swap(replies_);
    return out;
}

void AuthPool::set_notify(std::function<void()> notify) {
    notify_ = std::move(notify);
}

void AuthPool::stop() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        for (AuthRequest& r : queue_) wipe(r);
        queue_.clear();
    }
    cv_.notify_all();
    supervise_cv_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
    for (std::thread& t : workers_) {
        if (t.joinable()) t.join();
    }
    workers_.clear();
}

std::chrono::nanoseconds AuthPool::cpu_time(const WorkerSlot& slot) {
    timespec ts{};
    ::clock_gettime(slot.cpu_clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Looks at the hashes under way in the idle class (auth_worker_class.hpp): one starved by a busy
// host moves to nice +10 at once, rather than after the half minute it would take there.
void AuthPool::supervise() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
        const bool watching = std::any_of(slots_.begin(), slots_.end(), [](const WorkerSlot& w) {
            return w.busy && w.applied == WorkerClass::Idle;
        });
        if (watching)
            supervise_cv_.wait_for(lk, WorkerClassPolicy::kLookEvery);
        else
            supervise_cv_.wait(lk);
        if (stopping_) return;
        const auto now = std::chrono::steady_clock::now();
        for (WorkerSlot& w : slots_) {
            if (!w.busy || w.applied != WorkerClass::Idle || !w.policy.starved(now, cpu_time(w))) continue;
            (void)enter_worker_class(WorkerClass::Niced, w.tid);
            w.applied = WorkerClass::Niced;
            ++stats_.niced;
        }
    }
}

std::size_t AuthPool::pending() const {
    std::lock_guard lk(mu_);
    return queue_.size() + busy_;
}

void AuthPool::run(unsigned index) {
    // A hash is a tenth of a second of pure CPU: on a machine with few cores, workers at the
    // reactor's priority take its core away during a login storm and the chat's latency rises.
    // So they hash in the idle class, or at nice +10 while that gets them too little CPU
    // (auth_worker_class.hpp).
    {
        std::lock_guard lk(mu_);
        WorkerSlot& me = slots_[index];
        me.tid = ::gettid();
        ::pthread_getcpuclockid(::pthread_self(), &me.cpu_clock);
        me.applied = me.policy.current();
        (void)enter_worker_class(me.applied);
    }
    for (;;) {
        AuthRequest req;
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            req = std::move(queue_.front());
            wipe(queue_.front());
            queue_.pop_front();
            ++busy_;
            WorkerSlot& me = slots_[index];
            const WorkerClass want = me.policy.start_job(std::chrono::steady_clock::now(), cpu_time(me));
            if (want != me.applied) {
                (void)enter_worker_class(want);
                me.applied = want;
            }
            me.busy = true;
            if (want == WorkerClass::Idle) supervise_cv_.notify_one();
        }
        const auto t0 = std::chrono::steady_clock::now();
        const bool is_hash = std::holds_alternative<HashRequest>(req);
        AuthReply reply = work(req);
        wipe(req);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
        {
            std::lock_guard lk(mu_);
            --busy_;
            slots_[index].busy = false;
            ++(is_hash ? stats_.hashes : stats_.checks);
            stats_.busy_seconds += took.count();
            if (stopping_) return;  // under mu_: once stop() has begun, no reply is added
            std::lock_guard rl(reply_mu_);
            replies_.push_back(std::move(reply));
        }
        if (notify_) notify_();
    }
}

AuthReply AuthPool::work(AuthRequest& req) const {
    if (auto* h = std::get_if<HashRequest>(&req)) {
        HashReply r;
        r.token = h->token;
        r.hash = hash_password(h->password, opt_);
        r.ok = !r.hash.empty();
        return r;
    }
    auto& v = std::get<VerifyRequest>(req);
    VerifyReply r;
    r.token = v.token;
    // libsodium reads the stored string up to its NUL within crypto_pwhash_STRBYTES.
    const std::string& stored = v.stored_hash;
    if (stored.size() >= crypto_pwhash_STRBYTES || stored.find('\0') != std::string::npos) return r;
    char str[crypto_pwhash_STRBYTES] = {};
    std::memcpy(str, stored.data(), stored.size());
    if (crypto_pwhash_str_verify(str, v.password.data(), v.password.size()) == 0) {
        r.ok = true;
        // 1: other parameters or algorithm; -1: cannot be parsed (it verified, so unlikely): rehash too.
        r.needs_rehash = crypto_pwhash_str_needs_rehash(str, opt_.opslimit, opt_.memlimit) != 0;
        if (r.needs_rehash) r.new_hash = hash_password(v.password, opt_);
    }
    return r;
}

}  // namespace chat::server
