// The cluster link: one node's side of the shared presence table and the one
// order, as a state machine free of I/O (docs/architecture.md, "Clusters").
//
// It takes "Redis is up / down", "this operation answered", "these entries
// of the ordered log arrived", "time passed" and the local core's requests
// (claim a nickname, publish a message, release a nickname), and produces
// operations for a driver (ClusterIo) and, in the order of the log, the
// events the core delivers to its clients (ClusterSink). The driver knows
// Redis (the Lua scripts, XREAD); this class knows what they mean, so every
// failure order is a unit test with a fake clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat::server {

using ClusterClock = std::chrono::steady_clock;
using ClusterTime = ClusterClock::time_point;
using ClusterToken = std::uint64_t;

struct ClusterUser {
    std::string nick;    // as first spelled
    std::string status;
    std::string node;    // where it is logged in
    std::int64_t id = 0;  // its user id in the shared storage
};

// One entry of the ordered log, parsed. A node gone (declared by a heartbeat
// or announced by its own shutdown) arrives as one Part per user, reason "closed".
struct ClusterEvent {
    enum class Kind : std::uint8_t { Join, Part, Status, Message, Private };
    std::uint64_t seq = 0;
    Kind kind = Kind::Message;
    std::string node;  // the origin node
    std::string nick;  // Join/Part/Status: the user; Message/Private: the sender
    std::string to;    // Private: the recipient
    std::string arg;   // Join/Status: the status; Part: the reason; Message/Private: the text
    std::int64_t id = 0;  // Join, Part: the user id (0 if unknown); Message/Private: the message id the origin chose
    bool local = false;   // the origin is this node
};

// Operations the driver runs; each is answered once by on_answer (failed
// when the connection went down first) unless noted.
struct ClusterOp {
    enum class Kind : std::uint8_t {
        Hello,      // register the node, reconcile its users, snapshot every roster
        Claim,      // a nickname for a local user: SET NX + roster + Join in the log
        Release,    // compare-and-delete + Part in the log
        Status,     // roster update + Status in the log
        Publish,    // a Message or Private in the log
        Heartbeat,  // refresh this node's keys; declare lapsed nodes gone
        Leave,      // a clean stop: every local user parts at once
        Read,       // entries after `from` (blocking a while); answered with entries
        Range,      // entries from..to; answered with entries
        Sequence,   // the last sequence handed out; answered with n
    };
    Kind kind = Kind::Read;
    ClusterToken token = 0;
    std::vector<std::string> args;
    std::uint64_t from = 0, to = 0;
};

struct ClusterAnswer {
    ClusterToken token = 0;
    bool failed = false;           // no answer: the connection went down, or a timeout
    long long n = 0;               // the script's number (a sequence; 0 refused; -1 node gone)
    std::vector<std::string> items;  // Hello: the snapshot (node, folded, nick, status)...
    std::vector<std::pair<std::uint64_t, std::string>> entries;  // Read/Range
};

class ClusterIo {
public:
    virtual ~ClusterIo() = default;
    virtual void connect() = 0;     // answered by on_up or on_down
    virtual void disconnect() = 0;  // drop the connection; on_down follows
    virtual void send(ClusterOp op) = 0;
};

class ClusterSink {
public:
    virtual ~ClusterSink() = default;
    // In the order of the log, the same on every node.
    virtual void on_event(const ClusterEvent& e) = 0;
    // A claim's outcome (Join follows in on_event when accepted).
    enum class Claim : std::uint8_t { Accepted, InUse, Unavailable };
    virtual void on_claim(ClusterToken token, Claim outcome) = 0;
    // A Publish that will not come back through the log: its sender is told unavailable.
    virtual void on_publish_failed(ClusterToken token) = 0;
    // The link can place requests in the order again, or no longer can.
    virtual void on_available(bool available) = 0;
    // After a resync a local user's nickname belongs to another node: it must go.
    virtual void on_lost_claim(const std::string& folded) = 0;
    // A release asked with a token is in the order (or cannot be): its claim is gone.
    virtual void on_released(ClusterToken token) = 0;
    // A sync asked with a token: everything placed in the order before it was
    // asked has been delivered here (ok), or the link went down first.
    virtual void on_synced(ClusterToken token, bool ok) = 0;
};

struct ClusterOptions {
    std::string node;                            // unique per node
    std::chrono::milliseconds ttl{15'000};       // claims and the node's heartbeat key
    std::chrono::milliseconds min_backoff{100};  // reconnect delays, doubled up to max
    std::chrono::milliseconds max_backoff{5'000};
};

class ClusterLink {
public:
    ClusterLink(ClusterIo& io, ClusterSink& sink, ClusterOptions options);

    void start(ClusterTime now);
    void on_up(ClusterTime now);
    void on_down(ClusterTime now);
    void on_answer(ClusterTime now, const ClusterAnswer& a);
    void on_tick(ClusterTime now);
    ClusterTime next_deadline() const;

    // Requests of the core; false: not available now (answer ERROR unavailable).
    bool claim(ClusterToken token, std::string_view nick, std::string_view status, std::int64_t user_id);
    bool publish_message(ClusterToken token, std::int64_t id, std::string_view from, std::string_view text);
    bool publish_private(ClusterToken token, std::int64_t id, std::string_view from, std::string_view to,
                         std::string_view text);
    bool set_status(std::string_view nick, std::string_view status);
    // A local user left (quit, closed, timeout...). Works while unavailable too:
    // the Part is placed in the order when the link is back. With a token, and
    // when true is returned, on_released(token) follows once the claim is gone
    // from Redis (or the link went down first).
    bool release(std::string_view nick, std::string_view reason, ClusterToken token = 0);
    // A read barrier: on_synced(token, ...) once this node has delivered every
    // entry placed in the order before the call (a Part another node's BYE
    // already waited for, say). false: not available now.
    bool sync(ClusterToken token);
    // A clean stop: one Leave for every local user; true when it is answered (or cannot be).
    void leave();
    bool left() const noexcept { return state_ == State::Left; }

    bool available() const noexcept { return state_ == State::Up; }
    // The cluster-wide presence table, as of the last event delivered.
    const std::map<std::string, ClusterUser>& users() const noexcept { return users_; }
    const ClusterUser* find(std::string_view folded) const;
    std::uint64_t last_seq() const noexcept { return last_seq_; }
    const std::string& node() const noexcept { return options_.node; }

    // The text of log entries (what the driver's scripts write), for them and the tests.
    // One entry may be several events (a node gone: one Part per user); none if malformed.
    static std::vector<ClusterEvent> parse_entry(std::uint64_t seq, std::string_view text);

private:
    enum class State : std::uint8_t {
        Idle,        // not started
        Connecting,  // waiting for on_up
        Backoff,     // waiting to connect again
        Hello,       // Hello sent
        Catchup,     // Range sent: replaying what was missed
        Up,          // reading the log
        Leaving,     // Leave sent
        Left,
    };
    struct Local {
        std::string nick;
        std::string status;
        std::int64_t id = 0;
        bool joined = false;  // its Join came back through the log
    };
    enum class Purpose : std::uint8_t { Hello, Claim, Release, Status, Publish, Heartbeat, Leave, Read, Range, Sync };
    struct Asked {
        Purpose purpose;
        ClusterToken core_token = 0;  // Claim, Publish, Release, Sync: the core's token
        std::string folded;           // Claim
    };

    ClusterToken ask(ClusterOp::Kind kind, Purpose purpose, std::vector<std::string> args,
                     ClusterToken core_token = 0, std::string folded = {});
    void go_down(ClusterTime now);
    void send_hello();
    void hello_answered(ClusterTime now, const ClusterAnswer& a);
    void range_answered(ClusterTime now, const ClusterAnswer& a);
    void resync_from_snapshot();
    void resync();
    void become_up(ClusterTime now);
    void fail_publishes();
    void read_next();
    void entries(ClusterTime now, const std::vector<std::pair<std::uint64_t, std::string>>& es);
    void apply(const ClusterEvent& e);
    void settle_barriers();

    ClusterIo& io_;
    ClusterSink& sink_;
    ClusterOptions options_;
    State state_ = State::Idle;
    ClusterTime retry_at_ = ClusterTime::max();
    ClusterTime heartbeat_at_ = ClusterTime::max();
    std::chrono::milliseconds backoff_{0};
    ClusterToken next_token_ = 1;
    std::unordered_map<ClusterToken, Asked> asked_;
    std::map<std::string, ClusterUser> users_;         // folded nick -> user, every node
    std::map<std::string, Local> local_;               // folded nick -> this node's users
    std::map<std::string, std::string> departed_;      // local users gone while not Up -> reason
    std::set<std::string> claiming_;                   // folded nicks with a Claim in flight
    std::map<std::string, Local> claim_;  // what each claim in flight asked for
    std::map<std::int64_t, ClusterToken> publishing_;  // message id -> core token, until it comes back
    std::multimap<std::uint64_t, ClusterToken> barriers_;  // syncs: the sequence each waits to see delivered
    ClusterTime down_since_ = ClusterTime::max();
    std::map<std::string, ClusterUser> snapshot_;      // Hello's, until the catch-up ends
    std::uint64_t snapshot_seq_ = 0;
    std::uint64_t last_seq_ = 0;
    bool reading_ = false;
    bool synced_once_ = false;
};

}  // namespace chat::server
