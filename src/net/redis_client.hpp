// One connection to Redis through hiredis's async API, attached to the
// Reactor with hiredis's five hooks (addRead/delRead/addWrite/delWrite/
// cleanup), as hiredis's adapters/ae.h attaches it to Redis's own loop.
//
// What Debian's hiredis (0.14) leaves to us, and how it is done here:
// - No timeouts: a reactor timer bounds the connect (up to the first PING
//   answer) and every reply; a lapse frees the context, which fails every
//   pending command.
// - One read(16 KiB) per redisAsyncHandleRead: the fd is registered once,
//   edge-triggered, so reading goes on while a peek says the socket holds
//   more (or its EOF).
// - The context may be freed inside a hiredis callback (ours or the
//   library's): the cleanup hook is the one place that learns it, and
//   nothing touches the context after it.
// Knows nothing about chat.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/reactor.hpp"

struct redisAsyncContext;
struct redisReply;

namespace chat::net {

struct RedisEndpoint {
    std::string host;  // numeric: hiredis resolves names with a blocking getaddrinfo
    int port = 6379;
    int db = 0;
    std::string password;  // empty: no AUTH
};

// redis://HOST[:PORT][/DB] (HOST may be [v6]); a password in the URL is
// refused (it would show in ps): it comes from the environment.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error);
// Resolves endpoint.host to a numeric address (blocking: call before the loop runs).
bool resolve_redis_host(RedisEndpoint& endpoint, std::string& error);
std::string redis_url_text(const RedisEndpoint& endpoint);

class RedisClient {
public:
    struct Options {
        RedisEndpoint endpoint;
        std::chrono::milliseconds connect_timeout{2000};
        std::chrono::milliseconds reply_timeout{5000};
        std::size_t max_pending = 65536;            // commands awaiting replies
        std::size_t max_output = 64 * 1024 * 1024;  // bytes hiredis holds unsent
    };
    // reply is null when the connection failed before the reply came.
    using ReplyFn = std::function<void(const redisReply* reply)>;
    // Called from a clean stack (a timer), never from inside hiredis.
    using DownFn = std::function<void(const std::string& why)>;
    using UpFn = std::function<void()>;

    RedisClient(Reactor& reactor, Options options);
    ~RedisClient();  // frees the context; pending callbacks get null. Never destroy it from its own callback.
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    void on_up(UpFn fn) { up_fn_ = std::move(fn); }
    void on_down(DownFn fn) { down_fn_ = std::move(fn); }

    // Starts connecting (AUTH, SELECT, PING); on_up when PING answers, on_down
    // when it fails or times out. False (and on_down later) if it cannot even start.
    bool connect();
    // Drops the connection: pending commands get null, on_down follows.
    void disconnect(std::string why = "disconnected");

    bool up() const noexcept { return up_; }
    bool connecting() const noexcept { return ac_ != nullptr && !up_; }
    std::size_t pending() const noexcept { return pending_.size(); }

    // Sends a command; false when not up or over a bound (the callback is then
    // not called). timeout overrides the reply timeout (a blocking XREAD).
    bool command(std::span<const std::string_view> argv, ReplyFn fn,
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    bool command(std::initializer_list<std::string_view> argv, ReplyFn fn,
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        return command(std::span<const std::string_view>(argv.begin(), argv.size()), std::move(fn), timeout);
    }

private:
    struct Pending {
        ReplyFn fn;
        Clock::time_point deadline;
    };
    static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void hook_add_read(void* data);
    static void hook_del_read(void* data);
    static void hook_add_write(void* data);
    static void hook_del_write(void* data);
    static void hook_cleanup(void* data);

    bool send(std::span<const std::string_view> argv, ReplyFn fn, Clock::time_point deadline);
    void on_event(std::uint32_t events);
    bool socket_has_more() const;
    void rearm();
    void arm_deadline();
    void fail(std::string why);
    void went_down();

    Reactor& reactor_;
    Options options_;
    redisAsyncContext* ac_ = nullptr;
    int fd_ = -1;
    bool reading_ = false, writing_ = false, registered_ = false;
    bool up_ = false;
    bool freeing_ = false;  // redisAsyncFree asked for; hiredis may still be inside a callback
    std::string why_;
    // FIFO like Redis's replies; the nodes stay put (deque of unique_ptr) so
    // hiredis holds a stable pointer as privdata.
    std::deque<std::unique_ptr<Pending>> pending_;
    Reactor::TimerId deadline_timer_ = 0;
    Clock::time_point armed_for_{};
    Reactor::TimerId down_timer_ = 0;
    UpFn up_fn_;
    DownFn down_fn_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chat::net
