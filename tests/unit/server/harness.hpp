// Drives the chat core without sockets: a fake transport that records what
// each connection would receive, a fake clock, and the in-memory storage.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "server/core.hpp"
#include "server/memory_storage.hpp"

namespace chat::server::test {

// Hashes "instantly" and in the clear ("fake$" + password), so tests can see
// what was stored; answers when the harness pumps, unless held. A stored hash
// "weak$" + password verifies too and asks for a rehash (a cheaper cost).
class FakeHasher : public PasswordHasher {
public:
    bool submit(AuthRequest&& req) override {
        if (full) return false;
        queue.push_back(std::move(req));
        ++submitted;
        return true;
    }
    // Answers every queued request through deliver(AuthReply); returns how many.
    template <class Deliver>
    std::size_t answer_all(Deliver&& deliver) {
        std::vector<AuthRequest> todo;
        todo.swap(queue);
        for (auto& req : todo) {
            if (auto* h = std::get_if<HashRequest>(&req)) {
                deliver(AuthReply(HashReply{h->token, !fail_hash, "fake$" + h->password}));
                continue;
            }
            auto& v = std::get<VerifyRequest>(req);
            VerifyReply r;
            r.token = v.token;
            r.needs_rehash = v.stored_hash == "weak$" + v.password;
            r.ok = r.needs_rehash || v.stored_hash == "fake$" + v.password;
            if (r.needs_rehash) r.new_hash = "fake$" + v.password;
            deliver(AuthReply(std::move(r)));
        }
        return todo.size();
    }
    std::vector<AuthRequest> queue;
    int submitted = 0;
    bool full = false;       // refuse every request, as a pool at its bound
    bool hold = false;       // answer nothing until false again
    bool fail_hash = false;  // HashReply ok = false
};

class Harness : public Transport, public Clock {
public:
    explicit Harness(Limits l = {}) : limits(l) { reset(); }

    void reset() { core = std::make_unique<ChatCore>(*this, storage, *this, limits, "chatd", &hasher); }

    // Transport
    void send(ConnId id, std::string_view bytes) override {
        if (closed.count(id)) return;
        if (paced.count(id))
            held[id].append(bytes);
        else
            out[id].append(bytes);
    }
    void close(ConnId id) override {
        end_paced(id);
        closed.insert(id);
    }
    // A paced reply: its bytes go first; send()'s wait in `held` until it ends.
    void begin_paced(ConnId id) override {
        if (!closed.count(id)) paced.insert(id);
    }
    void send_paced(ConnId id, std::string_view bytes) override {
        CHECK(paced.count(id));
        out[id].append(bytes);
        ++paced_chunks[id];
    }
    void abandon_paced(ConnId id) override {
        paced.erase(id);
        held.erase(id);
    }
    void end_paced(ConnId id) override {
        if (!paced.erase(id)) return;
        out[id] += held[id];
        held.erase(id);
    }
    void pause(ConnId id) override { paused.insert(id); }
    void resume(ConnId id) override { paused.erase(id); }

    // Clock
    Mono now() override { return mono; }
    std::int64_t wall_us() override { return wall; }

    ConnId open(std::string ip = "10.0.0.1") {
        ConnId id = next_id++;
        core->on_open(id, ip, ConnTraits{takes_passwords});
        return id;
    }
    void feed(ConnId id, std::string_view bytes) {
        in[id].append(bytes);
        pump();
    }
    // Delivers storage replies, lets paced replies drain (unless their reader
    // is stalled) and offers kept input until nothing moves.
    void pump() {
        for (bool moved = true; moved;) {
            moved = false;
            std::vector<ConnId> draining;
            for (ConnId id : paced)
                if (!stalled.count(id)) draining.push_back(id);
            for (ConnId id : draining) {
                core->on_drained(id);
                moved = true;
            }
            for (auto& r : hold_replies ? std::vector<StorageReply>{} : storage.take_replies()) {
                core->on_reply(std::move(r));
                moved = true;
            }
            if (!hasher.hold && hasher.answer_all([this](AuthReply r) { core->on_auth_reply(std::move(r)); }))
                moved = true;
            for (auto& [id, buf] : in) {
                if (buf.empty() || paused.count(id) || closed.count(id)) continue;
                std::size_t n = core->on_data(id, buf);
                if (n) {
                    buf.erase(0, n);
                    moved = true;
                }
            }
        }
    }
    void advance(std::chrono::milliseconds d) {
        mono += d;
        wall += d.count() * 1000;
        while (core->next_deadline() <= mono) core->on_tick();
        pump();
    }
    // The complete lines sent to `id` since the last call.
    std::vector<std::string> lines(ConnId id) {
        std::vector<std::string> v;
        std::string& o = out[id];
        std::size_t start = 0, nl;
        while ((nl = o.find('\n', start)) != std::string::npos) {
            v.push_back(o.substr(start, nl - start));
            start = nl + 1;
        }
        o.erase(0, start);
        return v;
    }
    // Opens a connection and logs in; drops the login lines.
    ConnId login(std::string_view nick, std::string ip = "10.0.0.1") {
        ConnId id = open(ip);
        feed(id, std::string(nick) + "\n");
        lines(id);
        for (auto& [other, _] : out)
            if (other != id) lines(other);
        return id;
    }

    Limits limits;
    MemoryStorage storage;
    FakeHasher hasher;
    bool takes_passwords = true;  // what open() tells the core of new connections
    std::unique_ptr<ChatCore> core;
    std::map<ConnId, std::string> out, in;
    std::set<ConnId> closed, paused;
    std::set<ConnId> paced, stalled;  // stalled: a reader that reads nothing of its paced reply
    std::map<ConnId, std::string> held;
    std::map<ConnId, int> paced_chunks;
    bool hold_replies = false;  // a slow storage: its answers wait until this is false again
    Mono mono{std::chrono::hours(1)};
    std::int64_t wall = 1'795'600'800'000'000;  // 2026-11-25T10:00:00Z
    ConnId next_id = 1;
};

}  // namespace chat::server::test
