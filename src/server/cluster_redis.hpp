// The cluster link's driver: ClusterOp as Redis commands on two
// connections (one for the Lua scripts, one blocked in XREAD on the ordered
// log, since a blocking read holds its connection), and their replies as
// ClusterAnswer. The meaning of every key lives in the scripts here
// (docs/architecture.md, "Clusters"); what to do with the answers lives in
// ClusterLink.
#pragma once

#include <memory>
#include <string>

#include "net/reactor.hpp"
#include "net/redis_client.hpp"
#include "server/cluster_link.hpp"

namespace chat::server {

struct ClusterRedisOptions {
    net::RedisEndpoint endpoint;
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds reply_timeout{5000};
    std::chrono::milliseconds read_block{2000};  // XREAD BLOCK; its reply may take this much longer
    std::size_t log_cap = 100'000;               // entries the ordered log keeps (XADD MAXLEN ~)
    std::size_t read_count = 1000;               // entries per XREAD
};

class ClusterRedis final : public ClusterIo {
public:
    ClusterRedis(net::Reactor& reactor, ClusterRedisOptions options);
    ~ClusterRedis() override;

    // The link this driver answers; set before the link starts.
    void attach(ClusterLink& link) { link_ = &link; }

    void connect() override;
    void disconnect() override;
    void send(ClusterOp op) override;

    // The scripts, for the tests that run them by hand.
    static std::string script(ClusterOp::Kind kind, std::size_t log_cap);

private:
    void both_up();
    void one_down(const std::string& why);
    void answer(ClusterAnswer a);

    net::Reactor& reactor_;
    ClusterRedisOptions options_;
    std::unique_ptr<net::RedisClient> commands_, reader_;
    ClusterLink* link_ = nullptr;
    bool reported_up_ = false;
    bool connecting_ = false;
    static constexpr int kKinds = static_cast<int>(ClusterOp::Kind::Sequence) + 1;
    std::string scripts_[kKinds];
    std::string shas_[kKinds];  // SHA-1 of each script: EVALSHA after SCRIPT LOAD on each connect
};

}  // namespace chat::server
