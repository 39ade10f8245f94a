// The load generator: many client connections in one epoll loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load/result.hpp"

namespace chat::load {

enum class Proto { Chat, Irc };
enum class Scenario { Fanout, Private, Storm, Idle, Churn, Auth, Handshake };
enum class AuthPhase { Both, Register, Login };  // auth: which phases run (auth_storm.hpp)

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5000;
    std::vector<std::uint16_t> ports;  // --ports: clients spread over these (nodes of a cluster); empty: port
    Proto proto = Proto::Chat;
    Scenario scenario = Scenario::Fanout;
    std::uint32_t clients = 100;
    std::uint32_t senders = 0;  // fanout: 0 = every client sends
    double rate = 0;            // aggregate messages/s; 0 = closed loop
    std::uint32_t window = 16;  // closed loop: own messages in flight per sender
    double duration = 10;       // seconds measured (fanout, private, idle hold, churn)
    double warmup = 2;          // seconds of load before measuring
    std::size_t size = 64;      // message text bytes
    std::string src_first = "127.0.0.1";
    std::uint32_t src_addrs = 0;  // 0 = enough for 200 connections per address
    std::string run;              // run tag: nick prefix and payload tag
    double connect_rate = 0;      // connections started per second in the login phase; 0 = all at once
    double login_wait = 60;       // seconds allowed for every client to log in
    double drain = 5;             // seconds allowed for owed deliveries after the load stops
    // The drain also waits for this many deliveries of other processes' messages (several
    // chat-load processes against one server, each owed the others' messages too).
    std::uint64_t expect_foreign = 0;
    std::uint32_t churn_msgs = 3;
    std::string channel = "#bench";
    AuthPhase auth_phase = AuthPhase::Both;
    std::uint32_t auth_inflight = 32;  // auth: registrations under way at once (chatd queues 64 hashes)
    double auth_retry = 0.2;           // auth: seconds before retrying after ERROR unavailable
    bool live = true;                  // a line a second on stderr
    // TLS (tls.hpp): every connection of every scenario; the server's certificate is checked
    // against --tls-ca (or the system store) for tls_name (or the --host address) unless insecure.
    bool tls = false;
    std::string tls_ca;
    std::string tls_name;
    bool tls_insecure = false;
};

// Runs the scenario and returns what it measured. Writes diagnostics to stderr.
Result run_load(const Options& opt);

}  // namespace chat::load
