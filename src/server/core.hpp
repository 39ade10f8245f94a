// The chat core: every rule of the protocol as a state machine free of I/O.
// It takes "connection N opened / sent these bytes / went away / a storage
// answer arrived / time passed" and produces "append these bytes to N /
// close N / pause or resume reading N / store this". It never touches a
// socket, so every command, error and limit is tested without one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/framer.hpp"
#include "server/auth_throttle.hpp"
#include "server/cluster_link.hpp"
#include "server/password_hasher.hpp"
#include "server/storage.hpp"

namespace chat::server {

using ConnId = std::uint64_t;
using Mono = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

struct Limits {
    std::size_t max_line = 4096;
    double rate = 20.0;   // lines per second a client may send; 0 turns flow control off
    double burst = 40.0;  // lines it may send at once
    Millis login_timeout{30'000};
    Millis ping_interval{120'000};        // idle time before PING
    Millis ping_timeout{60'000};          // further idle time before the cut
    std::size_t max_clients = 0;          // connections; 0 = no limit
    std::size_t max_per_ip = 256;         // connections from one address; 0 = no limit
    int recent_history = 20;              // HIST lines after WELCOME
    std::size_t paced_chunk = 16 * 1024;  // a paced reply is produced about this much at a time
    bool require_account = false;         // guests refused at login: ERROR account-required
    bool registration_open = true;        // false: /registrar answers ERROR registration-closed
    AuthThrottleLimits auth_throttle{};   // wrong passwords per account / address
};

// What the I/O side knows of a connection that the chat rules need.
struct ConnTraits {
    // Passwords may be taken on it: TLS, or plain TCP from a loopback address
    // (PROTOCOL.md, "Accounts"). Off: tls-required.
    bool takes_passwords = false;
    // When the connection was accepted, if before on_open (a TLS handshake
    // came first): the login timeout runs from here. Default: on_open.
    Mono accepted{};
};

// What the core asks of the I/O side.
class Transport {
public:
    virtual ~Transport() = default;
    virtual void send(ConnId id, std::string_view bytes) = 0;
    virtual void close(ConnId id) = 0;   // write what is pending, then close; no on_close follows
    virtual void pause(ConnId id) = 0;   // stop reading and offering input
    virtual void resume(ConnId id) = 0;  // offer the kept input again (later, not from inside this call)
    // A reply produced as the client reads it (see net::TcpServer::begin_paced):
    // send_paced() bytes go first and never make the client a slow consumer,
    // send() bytes wait behind them; the I/O side calls ChatCore::on_drained()
    // (later, never from inside these calls) when it wants more.
    virtual void begin_paced(ConnId id) = 0;
    virtual void send_paced(ConnId id, std::string_view bytes) = 0;
    virtual void end_paced(ConnId id) = 0;
    // Ends a paced reply early because the connection is about to be closed:
    // what waited behind it is dropped (the next send() goes out directly).
    virtual void abandon_paced(ConnId id) = 0;
};

class Clock {
public:
    virtual ~Clock() = default;
    virtual Mono now() = 0;              // for timeouts
    virtual std::int64_t wall_us() = 0;  // microseconds since the epoch, for stored times and ids
};

enum class Gone { Closed, SlowConsumer };  // why the I/O side lost a connection

struct CoreStats {
    std::uint64_t connections = 0;  // open now
    std::uint64_t online = 0;       // logged in now
    std::uint64_t messages = 0;     // accepted since start (public and private)
    std::uint64_t messages_public = 0;
    std::uint64_t messages_private = 0;
    std::uint64_t deliveries = 0;      // MSG and PRIV lines queued to recipients (own echo included)
    std::uint64_t logins_guest = 0;    // logins since start, by kind
    std::uint64_t logins_account = 0;
    // ERROR lines sent since start by code (refused connections included), codes in order.
    std::vector<std::pair<std::string, std::uint64_t>> errors;
};

// In a cluster (attach_cluster) the core is also the link's sink: presence
// and public messages are delivered only as they come back from the one
// order (core_cluster.cpp); without one it is exactly the single server.
class ChatCore final : public ClusterSink {
public:
    // Without a hasher no password can be checked or set (ERROR unavailable).
    ChatCore(Transport& io, Storage& storage, Clock& clock, Limits limits, std::string server_name,
             PasswordHasher* hasher = nullptr);
    ~ChatCore() override;

    // Joins a cluster: logins claim their nickname through the link, public
    // messages, presence and private messages go through its order. slot
    // (0..1023) is put into every message and session id, so two nodes never
    // hand out the same one.
    void attach_cluster(ClusterLink* link, unsigned slot);

    // ClusterSink
    void on_event(const ClusterEvent& e) override;
    void on_claim(ClusterToken token, Claim outcome) override;
    void on_publish_failed(ClusterToken token) override;
    void on_available(bool available) override;
    void on_lost_claim(const std::string& folded) override;
    void on_released(ClusterToken token) override;
    void on_synced(ClusterToken token, bool ok) override;

    // Seeds the post-login history and id counters (from Storage::start).
    void load(const StartupInfo& info);

    void on_open(ConnId id, std::string_view ip, ConnTraits traits = {});
    // Returns the number of bytes taken; the rest is offered again later.
    std::size_t on_data(ConnId id, std::string_view data);
    void on_gone(ConnId id, Gone why);
    void on_reply(StorageReply reply);
    void on_auth_reply(AuthReply reply);
    // The paced reply of `id` has run low: the next part of it is produced.
    void on_drained(ConnId id);

    // Timers: call on_tick() at (or after) next_deadline().
    void on_tick();
    Mono next_deadline() const;  // Mono::max() when nothing is due

    // SIGTERM/SIGINT: BYE to every connection and close them all; no PART lines.
    void shutdown();

    // HELLO, ERROR server-full and BYE: what a connection refused for lack of room gets.
    static std::string server_full_lines(std::string_view server_name);

    CoreStats stats() const;
    const Limits& limits() const { return limits_; }
    // A reload (SIGHUP): rates, timeouts, connection limits, history length and the account
    // rules apply from now on, to sessions already open too. max_line, paced_chunk and the
    // password throttle stay as they were (the I/O side sized its buffers for max_line).
    void set_limits(const Limits& limits);

private:
    struct Session;
    struct PacedPart;
    struct Paced;
    // Why storage or the hasher was asked, when the reply alone does not say.
    enum class Asked : std::uint8_t { Plain, Profile, Recipient, Verify, Register, Change, Claim, Echo, Sync };
    // A request in flight to storage or the hasher (tokens come from one counter): the session
    // that waits for it, paused, and why it asked.
    struct Wait {
        ConnId id = 0;
        Asked why = Asked::Plain;
        std::string nick;  // Profile, Recipient: the nick as typed
    };
    enum class TimerKind : std::uint8_t { Login, Idle, Throttle };
    struct TimerEntry {
        Mono when;
        ConnId id;
        TimerKind kind;
        bool operator>(const TimerEntry& o) const { return when > o.when; }
    };

    static bool by_key(const Session* a, const Session* b);
    Session* find(ConnId id);
    void handle_line(Session& s, std::string_view line);
    // synced: the cluster's presence table has caught up with the order since the line came.
    void handle_nick(Session& s, std::string_view line, bool synced = false);
    void handle_command(Session& s, std::string_view line);
    void public_message(Session& s, std::string_view text);
    void private_message(Session& s, std::string_view nick, std::string_view text);
    void set_status(Session& s, std::string_view status);
    void send_roster(Session& s);
    void start_paced(Session& s, PacedPart part);
    void produce(Session& s);
    void produce_cluster_users(PacedPart& part, std::string& out, std::size_t chunk, bool& done);
    bool roster_will_list(const Session& o, const std::string& key) const;
    void broadcast_presence(std::string_view line, const std::string& key, ConnId except = 0);
    void unblock(Session& s);
    void refuse_unstored(Session& s);
    bool blocked(const Session& s) const;
    void send_profile(Session& s, const UserRecord& u, bool online);
    void send_help(Session& s);
    void send_error(ConnId id, std::string_view code, std::string_view arg, std::string_view text);
    void login_done(Session& s, const LoginReply& r);
    void activate(Session& s);
    bool nick_taken(const std::string& key) const;
    void cluster_public(Session& s, std::string_view text);
    void cluster_private(Session& s, const ClusterUser& to, std::string_view text);
    void cluster_message(const ClusterEvent& e);
    void cluster_presence(const ClusterEvent& e);
    void store_delivered(const ClusterEvent& e, std::int64_t recipient_id);
    void remember_recent(const StoredMessage& m);
    void await_echo(Session& s, std::int64_t message_id);
    void end_echo(Token token);
    void unlist(Session& s);
    void account_login(Session& s, const LoginReply& r);
    void handle_password(Session& s, std::string_view line);
    void password_checked(Session& s, const VerifyReply& r);
    void set_password(Session& s, Asked why, std::string_view password);
    void password_hashed(Session& s, Asked why, const HashReply& r);
    void password_stored(Session& s, Asked why, const SetPasswordReply& r);
    void back_to_nick(Session& s);
    bool hash_for(Session& s, Asked why, AuthRequest req);
    bool take_wait(Token token, Wait& out);
    // A logged-in user leaves; announce: tell the others (or the cluster).
    // true: the cluster answers the release with on_released(bye_after), which sends the BYE.
    bool drop(Session& s, std::string_view reason, std::string_view detail, bool announce = true,
              ClusterToken bye_after = 0);
    void quit(Session& s, std::string_view detail);
    void send_bye(ConnId id, std::string_view text);
    void cut_paced(Session& s);
    void bye_and_close(Session& s, std::string_view text);
    void erase(ConnId id);
    void wait_for(Session& s, Token token, Asked why = Asked::Plain, std::string nick = {});
    void finish_wait(Session& s);
    bool take_token(Session& s);
    void schedule(Mono when, ConnId id, TimerKind kind);
    void check_idle(Session& s, Mono now);
    void broadcast(std::string_view line, ConnId except = 0);
    void deliver_to_all(std::string_view line);  // a MSG: to everyone online, counted as deliveries
    std::int64_t next_id(std::int64_t& last);
    std::int64_t next_message_id();
    std::int64_t next_session_id();
    std::int64_t now_s();

    Transport& io_;
    Storage& storage_;
    Clock& clock_;
    Limits limits_;
    std::string server_name_;

    std::unordered_map<ConnId, Session> sessions_;    // node-based: a Session never moves
    std::unordered_map<std::string, ConnId> by_key_;  // folded nick -> connection (logged in, or logging in)
    std::vector<Session*> online_;                    // logged-in sessions in roster order, for fan-out
    std::string paced_buf_;                           // reused for chunks of paced replies
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::unordered_map<Token, Wait> waits_;      // storage and hasher requests in flight
    PasswordHasher* hasher_;
    AuthThrottle throttle_;
    // Refusals of a full hasher, logged as one line a minute at most (a storm's clients retry).
    std::uint64_t hasher_refusals_ = 0;
    Mono hasher_refusal_logged_{};
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
    // The last recent_history public messages as HIST lines, shared with the
    // paced replies of newcomers (a login storm holds pointers, not copies).
    struct RecentLine {
        std::int64_t id;
        std::shared_ptr<const std::string> line;
    };
    std::deque<RecentLine> recent_;
    Token next_token_ = 1;
    std::int64_t last_message_id_ = 0;
    std::int64_t last_session_id_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t messages_private_ = 0;
    std::uint64_t deliveries_ = 0;
    std::uint64_t logins_guest_ = 0;
    std::uint64_t logins_account_ = 0;
    std::map<std::string, std::uint64_t, std::less<>> errors_;  // keys: the protocol's codes only
    void count_error(std::string_view code);
    std::uint64_t ping_seq_ = 0;
    std::string scratch_;  // formatting buffer, reused
    bool shutting_down_ = false;
    // The cluster, when there is one; messages of this node's users on their
    // way through the order: what storage gets when they come back.
    ClusterLink* cluster_ = nullptr;
    int id_slot_ = -1;
    struct InFlight {
        ConnId sender;
        MessageEvent event;
        Token echo;  // the sender waits for it, so its next line sees the message in effect
    };
    std::unordered_map<std::int64_t, InFlight> in_flight_;
    std::unordered_map<std::string, Token> status_echo_;  // folded nick -> its /estado on the way
    std::unordered_map<ClusterToken, ConnId> byes_;       // quit, its release on the way: the BYE waits
};

}  // namespace chat::server
