// Storage kept in the server's memory: what chatd uses without --db, and
// what the core's tests use. Users are kept for the life of the process;
// messages in a bounded window (the oldest are forgotten past max_messages),
// so a busy server without a database cannot grow without bound.
#pragma once

#include <deque>
#include <unordered_map>

#include "server/storage.hpp"

namespace chat::server {

class MemoryStorage final : public Storage {
public:
    explicit MemoryStorage(std::size_t max_messages = 100'000) : max_messages_(max_messages) {}

    std::string start(int recent_public, StartupInfo& info) override;
    void submit(StorageRequest req) override;
    bool write(StorageEvent ev) override;
    std::vector<StorageReply> take_replies() override;
    void set_notify(std::function<void()> notify) override { notify_ = std::move(notify); }
    void stop() override {}
    std::string describe() const override { return "memory (nothing survives a restart)"; }
    bool shared() const override { return shared_; }

    // For tests: stand in for a database the nodes of a cluster share.
    void set_shared(bool v) { shared_ = v; }
    // For tests: make every request fail as if the database were unreachable.
    void set_unavailable(bool v) { unavailable_ = v; }
    // For tests: refuse messages as a full backlog would (write() returns false).
    void set_refusing_messages(bool v) { refuse_messages_ = v; }
    std::size_t user_count() const { return users_.size(); }
    std::size_t message_count() const { return messages_.size(); }

private:
    struct Msg {
        std::int64_t id;
        UnixTime time;
        UserId from, to;
        std::string body;
    };
    UserRecord* by_id(UserId id);
    bool shared_ = false;
    std::string nick_of(UserId id);

    std::size_t max_messages_;
    std::unordered_map<std::string, UserRecord> users_;  // by folded nick
    std::unordered_map<UserId, std::string> keys_;       // id -> folded nick
    std::deque<Msg> messages_;
    std::vector<StorageReply> replies_;
    std::function<void()> notify_;
    UserId next_id_ = 1;
    bool unavailable_ = false;
    bool refuse_messages_ = false;
};

}  // namespace chat::server
