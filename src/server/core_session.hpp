// The chat core's per-connection state, shared by the files of the core
// (core.cpp: sessions and logins; core_commands.cpp: what a user's lines do;
// core_timers.cpp: timeouts and keepalive; core_paced.cpp: replies paced to
// the reader; core_accounts.cpp, core_cluster.cpp). Not part of the core's interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proto/framer.hpp"
#include "proto/names.hpp"
#include "server/core.hpp"

namespace chat::server {

enum class State : std::uint8_t {
    AwaitNick,  // HELLO sent, waiting for a nickname
    LoggingIn,      // nickname accepted, waiting for storage
    AwaitPassword,  // AUTH sent: the next line is the account's password
    Verifying,      // the password is being checked (the hasher), then the login goes on
    Active,         // logged in
};

// One part of a paced reply: the roster, a list of ready lines, or rows from storage.
struct ChatCore::PacedPart {
    enum class Kind : std::uint8_t { Users, Lines, History };
    Kind kind = Kind::Users;
    std::string after;      // Users: the key of the last user listed; empty before the first
    std::size_t count = 0;  // Users: listed so far
    std::vector<std::shared_ptr<const std::string>> lines;  // Lines, then END HIST
    std::vector<StoredMessage> history;                     // History, then END HIST
    std::size_t next = 0;
};

struct ChatCore::Paced {
    std::vector<PacedPart> parts;
    std::size_t current = 0;
    Mono progress_at{};  // when the reply last moved
};

struct ChatCore::Session {
    Session(ConnId i, std::string_view addr, std::size_t max_line, Mono now, double burst)
        : id(i), ip(addr), framer(max_line), tokens(burst), tokens_at(now), last_line(now) {}

    ConnId id;
    std::string ip;
    proto::LineFramer framer;
    State state = State::AwaitNick;
    double tokens;
    Mono tokens_at;
    Mono last_line;
    Mono ping_at{};
    bool ping_sent = false;
    bool throttled = false;        // paused until the budget refills
    Token waiting = 0;             // paused until this storage reply
    std::unique_ptr<Paced> paced;  // paused while a reply is sent as the client reads it
    UserRecord user;               // when LoggingIn/Active
    std::string key;
    std::int64_t session_id = 0;
    bool takes_passwords = false;  // ConnTraits
    std::string verified_hash;     // LoggingIn after a checked password: the hash it matched
    std::string rehash;            // ... and the same password hashed at today's cost, to store
    std::string new_hash;          // /registrar, /clave: the hash on its way to storage
};

// "HIST <time> <from> <to> :<text>", `<to>` `*` for a public message: the one
// formatting of a stored message, for the recent history and for /historial.
void append_hist_line(std::string& out, const StoredMessage& m);

// A nickname as typed, as a line's parameter: `?` when it cannot be one.
inline std::string_view param_or_q(std::string_view s) {
    return proto::is_param(s) ? s : std::string_view("?");
}

// One stored message's HIST line, shared by every reader of the recent history.
inline std::shared_ptr<const std::string> hist_line(const StoredMessage& m) {
    auto line = std::make_shared<std::string>();
    append_hist_line(*line, m);
    return line;
}

}  // namespace chat::server
