#include "net/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <vector>

namespace chat::net {

namespace {

// Reads per readable edge before the fd is re-armed and others get a turn:
// 256 reads of 16 KiB, 4 MiB.
constexpr int kReadsPerTurn = 256;

bool parse_int(std::string_view s, int& out, int lo, int hi) {
    int v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) {
        error = "the cluster URL must begin with redis://";
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme.size());
    if (rest.find('@') != std::string_view::npos) {
        error = "no password in the cluster URL (it would show in ps): set CHATD_CLUSTER_PASSWORD";
        return std::nullopt;
    }
    RedisEndpoint ep;
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::string_view host = rest, port;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) {
            error = "unclosed [ in the cluster URL's host";
            return std::nullopt;
        }
        host = rest.substr(1, close - 1);
        const auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                error = "bad text after ] in the cluster URL";
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) {
        error = "the cluster URL has no host";
        return std::nullopt;
    }
    ep.host = std::string(host);
    if (!port.empty() && !parse_int(port, ep.port, 1, 65535)) {
        error = "bad port in the cluster URL";
        return std::nullopt;
    }
    if (!path.empty() && !parse_int(path, ep.db, 0, 1 << 20)) {
        error = "bad database number in the cluster URL";
        return std::nullopt;
    }
    return ep;
}

bool resolve_redis_host(RedisEndpoint& endpoint, std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(endpoint.host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
        error = "cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc);
        return false;
    }
    char buf[NI_MAXHOST];
    const int nrc = ::getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
    ::freeaddrinfo(res);
    if (nrc != 0) {
        error = "cannot resolve " + endpoint.host + ": " + ::gai_strerror(nrc);
        return false;
    }
    endpoint.host = buf;
    return true;
}

std::string redis_url_text(const RedisEndpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    std::string s = "redis://";
    s += v6 ? "[" + endpoint.host + "]" : endpoint.host;
    s += ":" + std::to_string(endpoint.port);
    if (endpoint.db != 0) s += "/" + std::to_string(endpoint.db);
    return s;
}

RedisClient::RedisClient(Reactor& reactor, Options options) : reactor_(reactor), options_(std::move(options)) {}

RedisClient::~RedisClient() {
    *alive_ = false;
    if (deadline_timer_ != 0) reactor_.cancel_timer(deadline_timer_);
    if (down_timer_ != 0) reactor_.cancel_timer(down_timer_);
    down_fn_ = nullptr;
    for (auto& p : pending_) p->fn = nullptr;  // the owner is going away: call nobody
    if (ac_ != nullptr && !freeing_) redisAsyncFree(ac_);  // hook_cleanup runs inside
}

bool RedisClient::connect() {
    if (ac_ != nullptr) return true;
    up_ = false;
    why_.clear();
    redisAsyncContext* ac = redisAsyncConnect(options_.endpoint.host.c_str(), options_.endpoint.port);
    if (ac == nullptr || ac->err != 0) {
        why_ = ac != nullptr ? std::string("connect: ") + ac->errstr : "connect: out of memory";
        if (ac != nullptr) redisAsyncFree(ac);  // nothing attached yet: no hooks run
        went_down();
        return false;
    }
    ac_ = ac;
    fd_ = ac->c.fd;
    ac->ev.data = this;
    ac->ev.addRead = hook_add_read;
    ac->ev.delRead = hook_del_read;
    ac->ev.addWrite = hook_add_write;
    ac->ev.delWrite = hook_del_write;
    ac->ev.cleanup = hook_cleanup;
    // Registered once for both directions, edge-triggered; the reading_ and
    // writing_ bits say which edges hiredis wants to hear about.
    registered_ = reactor_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                               [this](std::uint32_t ev) { on_event(ev); });
    if (!registered_) {
        fail("cannot watch the Redis socket");
        return false;
    }
    const auto deadline = Clock::now() + options_.connect_timeout;
    auto check = [this](std::string_view what) {
        return [this, what = std::string(what)](const redisReply* r) {
            if (r == nullptr) return;  // the connection is already going down
            if (r->type == REDIS_REPLY_ERROR) fail(what + ": " + std::string(r->str, r->len));
        };
    };
    if (!options_.endpoint.password.empty()) {
        const std::string_view argv[] = {"AUTH", options_.endpoint.password};
        if (!send(argv, check("AUTH"), deadline)) {
            fail("cannot queue AUTH");
            return false;
        }
    }
    const std::string db = std::to_string(options_.endpoint.db);
    if (options_.endpoint.db != 0) {
        const std::string_view argv[] = {"SELECT", db};
        if (!send(argv, check("SELECT"), deadline)) {
            fail("cannot queue SELECT");
            return false;
        }
    }
    const std::string_view ping[] = {"PING"};
    const bool sent = send(
        ping,
        [this](const redisReply* r) {
            if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
                if (r != nullptr) fail("PING: " + std::string(r->str, r->len));
                return;
            }
            up_ = true;
            if (up_fn_) up_fn_();
        },
        deadline);
    if (!sent) fail("cannot queue PING");
    return sent;
}

void RedisClient::disconnect(std::string why) { fail(std::move(why)); }

bool RedisClient::command(std::span<const std::string_view> argv, ReplyFn fn,
                          std::optional<std::chrono::milliseconds> timeout) {
    if (!up_ || ac_ == nullptr) return false;
    // A Redis that does not keep up is a slow consumer: bounded, then cut
    // (the owner reconnects and starts from a known state).
    if (pending_.size() >= options_.max_pending || sdslen(ac_->c.obuf) > options_.max_output) {
        fail("Redis does not keep up (" + std::to_string(pending_.size()) + " commands pending)");
        return false;
    }
    return send(argv, std::move(fn), Clock::now() + timeout.value_or(options_.reply_timeout));
}

bool RedisClient::send(std::span<const std::string_view> argv, ReplyFn fn, Clock::time_point deadline) {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (auto a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    pending_.push_back(std::make_unique<Pending>(Pending{std::move(fn), deadline}));
    if (redisAsyncCommandArgv(ac_, on_reply, pending_.back().get(), static_cast<int>(argv.size()), ptrs.data(),
                              lens.data()) != REDIS_OK) {
        pending_.pop_back();
        return false;
    }
    arm_deadline();
    return true;
}

void RedisClient::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* self = static_cast<RedisClient*>(ac->ev.data);
    if (self == nullptr) return;
    // Redis answers in order, so the reply is the oldest pending command's.
    std::unique_ptr<Pending> p;
    for (auto it = self->pending_.begin(); it != self->pending_.end(); ++it) {
        if (it->get() == privdata) {
            p = std::move(*it);
            self->pending_.erase(it);
            break;
        }
    }
    if (!p) return;
    if (p->fn) p->fn(static_cast<const redisReply*>(reply));
    if (self->ac_ != nullptr) self->arm_deadline();
}

void RedisClient::on_event(std::uint32_t events) {
    const auto alive = alive_;
    const bool broken = (events & (EPOLLERR | EPOLLHUP)) != 0;
    if (ac_ != nullptr && writing_ && (events & EPOLLOUT || broken)) redisAsyncHandleWrite(ac_);
    if (!*alive) return;
    if (ac_ == nullptr || !reading_ || !(events & (EPOLLIN | EPOLLRDHUP) || broken)) return;
    // hiredis reads 16 KiB per call; an edge says nothing about what is left.
    for (int i = 0; ac_ != nullptr && reading_; ++i) {
        if (i == kReadsPerTurn) {
            rearm();  // more is waiting: a fresh edge brings us back next turn
            return;
        }
        redisAsyncHandleRead(ac_);
        if (!*alive || ac_ == nullptr || !socket_has_more()) return;
    }
}

bool RedisClient::socket_has_more() const {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return true;  // data, or the EOF hiredis must see
    return errno != EAGAIN && errno != EWOULDBLOCK;  // an error hiredis must see
}

void RedisClient::rearm() {
    // EPOLL_CTL_MOD re-reports a direction that is ready now: the edge that a
    // registration done before hiredis wanted it would otherwise have used up.
    if (registered_) reactor_.modify(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

void RedisClient::hook_add_read(void* data) {
    auto* self = static_cast<RedisClient*>(data);
    if (!self->reading_) {
        self->reading_ = true;
        self->rearm();
    }
}

void RedisClient::hook_del_read(void* data) { static_cast<RedisClient*>(data)->reading_ = false; }

void RedisClient::hook_add_write(void* data) {
    auto* self = static_cast<RedisClient*>(data);
    if (!self->writing_) {
        self->writing_ = true;
        self->rearm();
    }
}

void RedisClient::hook_del_write(void* data) { static_cast<RedisClient*>(data)->writing_ = false; }

void RedisClient::hook_cleanup(void* data) {
    // The context is being freed (maybe from inside one of its callbacks):
    // from here on nothing may touch it.
    auto* self = static_cast<RedisClient*>(data);
    if (self->why_.empty()) self->why_ = self->ac_->errstr[0] != '\0' ? self->ac_->errstr : "connection closed";
    self->ac_->ev.data = nullptr;
    if (self->registered_) self->reactor_.remove(self->fd_);
    self->registered_ = false;
    self->reading_ = self->writing_ = false;
    self->ac_ = nullptr;
    self->freeing_ = false;
    self->fd_ = -1;
    self->up_ = false;
    self->pending_.clear();
    if (self->deadline_timer_ != 0) self->reactor_.cancel_timer(self->deadline_timer_);
    self->deadline_timer_ = 0;
    self->armed_for_ = {};
    if (*self->alive_) self->went_down();
}

void RedisClient::arm_deadline() {
    if (pending_.empty()) {
        if (deadline_timer_ != 0) reactor_.cancel_timer(deadline_timer_);
        deadline_timer_ = 0;
        armed_for_ = {};
        return;
    }
    const auto when = pending_.front()->deadline;
    if (deadline_timer_ != 0 && armed_for_ == when) return;
    if (deadline_timer_ != 0) reactor_.cancel_timer(deadline_timer_);
    armed_for_ = when;
    deadline_timer_ = reactor_.add_timer(when, [this] {
        deadline_timer_ = 0;
        armed_for_ = {};
        if (pending_.empty()) return;
        if (pending_.front()->deadline <= Clock::now())
            fail(up_ ? "no reply from Redis in time" : "could not connect to Redis in time");
        else
            arm_deadline();
    });
}

void RedisClient::fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
    up_ = false;  // no new commands from here, not even from the callbacks the free runs
    if (ac_ != nullptr && !freeing_) {
        freeing_ = true;
        // Inside a hiredis callback this only marks the context; hiredis frees
        // it when the callback returns, and hook_cleanup follows either way.
        redisAsyncFree(ac_);
    }
}

void RedisClient::went_down() {
    if (down_timer_ != 0) return;
    // Told from a timer, so the owner may reconnect or drop us from a clean stack.
    down_timer_ = reactor_.add_timer(Clock::now(), [this] {
        down_timer_ = 0;
        std::string why = std::exchange(why_, std::string());
        if (down_fn_) down_fn_(why);
    });
}

}  // namespace chat::net
