// chat-load -s auth: account logins against chatd (PROTOCOL.md, "Accounts").
//
// Register phase: -c guest logins, at most --auth-inflight at a time, each
// turning its nickname into an account with /registrar, then /salir. Login
// phase: all -c accounts log in at once (or at --connect-rate): nickname,
// AUTH, password, WELCOME ... END HIST, then /salir at once, so the logins
// add no receivers to whatever else runs on the server. A refusal because the
// server's hashing queue is full (ERROR unavailable) is retried after about
// --auth-retry seconds and counted; any other refusal fails that client.
// --auth-phase picks register, login or both; the two phases can run in
// separate processes given the same --run, since the password of account i
// is derived from the run tag (account_password).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "load/engine.hpp"
#include "load/result.hpp"

namespace chat::load {

// The password of account idx of run tag run: 8 bytes or more, no spaces.
std::string account_password(std::string_view run, std::uint32_t idx);

Result run_auth(const Options& opt);

}  // namespace chat::load
