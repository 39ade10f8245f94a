// What the chat core asks of password hashing: requests in, replies later,
// the way it talks to storage. AuthPool (auth_pool.hpp) is the real one,
// Argon2id on worker threads; the core's tests use a fake that answers when
// the test says so.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace chat::server {

using AuthToken = std::uint64_t;  // matches a reply to its request

struct HashRequest {  // hash a new password (/registrar, /clave)
    AuthToken token = 0;
    std::string password;
};
struct VerifyRequest {  // check a password against a stored hash (after AUTH)
    AuthToken token = 0;
    std::string password;
    std::string stored_hash;
};
using AuthRequest = std::variant<HashRequest, VerifyRequest>;

struct HashReply {
    AuthToken token = 0;
    bool ok = false;   // false: the hash could not be made (out of memory)
    std::string hash;  // the encoded string, "$argon2id$v=19$m=...,t=...,p=1$salt$hash"
};
struct VerifyReply {
    AuthToken token = 0;
    bool ok = false;            // the password matches (false too for a malformed stored hash)
    bool needs_rehash = false;  // only when ok: the stored parameters are not the hasher's
    // When needs_rehash: the same password hashed at the hasher's parameters
    // (empty if that failed), so the caller can store it without keeping the password.
    std::string new_hash{};
};
using AuthReply = std::variant<HashReply, VerifyReply>;

class PasswordHasher {
public:
    virtual ~PasswordHasher() = default;
    // Never blocks. False (the password wiped) when too many requests wait:
    // the caller answers ERROR unavailable. The request's password is taken.
    virtual bool submit(AuthRequest&& req) = 0;
};

}  // namespace chat::server
