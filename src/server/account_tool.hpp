// `chatd account add|passwd|remove|list`: the operator's way to manage
// accounts (a server with --registration closed has no other). Talks to the
// configured database directly, blocking: it runs instead of the server.
#pragma once

#include "server/config.hpp"

namespace chat::server {

// Exit codes: 0 done; 1 refused (no such account, already one, a password
// outside the rules or two that differ); 2 usage (no --db, a bad nickname);
// 3 the database cannot be reached or failed.
int run_account_tool(const ServerConfig& cfg);

}  // namespace chat::server
