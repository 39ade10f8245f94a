// The Redis the tests run against, from CHATD_REDIS and CHATD_CLUSTER_PASSWORD
// (`eval "$(scripts/redis.sh env)"`), for the mains of the Redis tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "net/redis_client.hpp"

// 0 with `out` set; 77 (ctest's skip) when CHATD_REDIS is unset; 2 when it cannot be used.
inline int redis_endpoint_from_env(chat::net::RedisEndpoint& out) {
    const char* url = std::getenv("CHATD_REDIS");
    if (url == nullptr || *url == '\0') {
        std::printf("SKIPPED: CHATD_REDIS is unset (eval \"$(scripts/redis.sh env)\" to test against the private Redis)\n");
        return 77;
    }
    std::string err;
    auto ep = chat::net::parse_redis_url(url, err);
    if (!ep || !chat::net::resolve_redis_host(*ep, err)) {
        std::fprintf(stderr, "CHATD_REDIS: %s\n", err.c_str());
        return 2;
    }
    if (const char* pw = std::getenv("CHATD_CLUSTER_PASSWORD")) ep->password = pw;
    out = *ep;
    return 0;
}
