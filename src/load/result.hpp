// What one chat-load run measured, how several runs (processes) add up, and
// how a result is printed for people (table) and for machines (JSON, read
// back by `chat-load --merge`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "load/histogram.hpp"
#include "load/order_segments.hpp"

namespace chat::load {

struct Result {
    std::string scenario;
    std::string proto;
    std::uint64_t processes = 1;
    std::uint64_t clients = 0;  // asked for
    std::uint64_t senders = 0;
    double offered_rate = 0;   // messages/s asked for (0: closed loop)
    std::uint64_t window = 0;  // closed loop: own messages in flight per sender
    double measured_s = 0;     // length of the measured window (after warm-up)
    double login_s = 0;        // time until every client was logged in (or gave up)
    double register_s = 0;     // auth: time until every account was registered (or gave up)

    std::uint64_t connected = 0;  // connections that completed the TCP handshake
    std::uint64_t logged_in = 0;  // peak number logged in at once (auth: logins completed)
    std::uint64_t login_failures = 0;
    std::uint64_t disconnects = 0;     // connections the server closed unasked
    std::uint64_t server_errors = 0;   // ERROR lines (chat) or numeric errors (irc)
    std::uint64_t sessions = 0;        // churn: connect-login-chat-quit cycles; handshake: connect-HELLO-close
    std::uint64_t registered = 0;      // auth: nicknames made accounts (OK register)
    std::uint64_t account_logins = 0;  // auth: logins with a password that reached END HIST
    std::uint64_t auth_busy = 0;       // auth: ERROR unavailable (hashing queue full), each retried
    std::uint64_t tls_handshakes = 0;  // --tls: handshakes completed (every one a full handshake)
    std::uint64_t tls_failures = 0;    // --tls: handshakes that failed (a refused certificate, a reset)

    std::uint64_t sent = 0;       // messages sent (warm-up included)
    std::uint64_t expected = 0;   // deliveries owed to this run's clients for its own messages
    std::uint64_t delivered = 0;  // deliveries of this run's own messages, duplicates included
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;            // a sender's message arrived after a later one of the same sender
    std::uint64_t order_mismatches = 0;     // fanout: receivers whose sequence of MSG lines differs from the most common one
    std::uint64_t foreign = 0;              // deliveries of messages from other runs (other processes)
    std::uint64_t measured_deliveries = 0;  // deliveries of messages sent inside the measured window
    std::uint64_t foreign_measured = 0;     // foreign deliveries of messages sent inside that window

    // fanout: what every receiver of every process read, segment by segment (order_segments.hpp);
    // compared across processes by merge().
    OrderSegments order_segments;

    Histogram latency;        // send -> receive, ns, measured window only
    Histogram login_latency;  // connect() -> logged in, ns (auth: retries included)

    std::uint64_t missing() const noexcept {
        const std::uint64_t unique = delivered - duplicates;
        return expected > unique ? expected - unique : 0;
    }
    double deliveries_per_s() const noexcept {
        return measured_s > 0 ? static_cast<double>(measured_deliveries + foreign_measured) / measured_s : 0;
    }
    // Every delivery owed arrived once and in order, every client logged in.
    bool ok() const noexcept {
        return missing() == 0 && duplicates == 0 && reordered == 0 && order_mismatches == 0 &&
               order_segments.mismatches() == 0 && login_failures == 0;
    }

    // Adds another process's result of the same scenario (counts add, histograms merge,
    // times take the longest, order segments are pooled so that ok() compares them across processes).
    void merge(const Result& o);

    std::string to_json() const;
    // Reads what to_json() wrote; nullopt on anything else.
    static std::optional<Result> from_json(std::string_view text);
    std::string table() const;
};

}  // namespace chat::load
