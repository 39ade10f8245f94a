// The storage thread and its queue (the Storage interface the core sees) over
// the fake database and journal: what write() and submit() answer on the
// reactor side while the database and the journal fail.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "fakes.hpp"
#include "server/mysql_storage.hpp"

using namespace chat::server;
using namespace std::chrono_literals;

namespace {

struct Rig {
    fake::Db* db;
    fake::Journal* journal;
    std::unique_ptr<Storage> st;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<StorageReply> got;

    explicit Rig(std::size_t queue_max, bool reachable, bool journal_fails) {
        auto d = std::make_unique<fake::Db>();
        auto j = std::make_unique<fake::Journal>();
        db = d.get();
        journal = j.get();
        db->reachable = reachable;
        journal->append_fails = journal_fails;
        MysqlOptions o;
        o.queue_max = queue_max;
        o.flush_ms = 1;
        st = make_pipeline_storage(std::move(d), std::move(j), o);
        st->set_notify([this] {
            std::lock_guard lk(mu);
            for (auto& r : st->take_replies()) got.push_back(std::move(r));
            cv.notify_all();
        });
    }

    // Waits for the reply to `token`; nullopt after 10 s.
    std::optional<StorageReply> wait(Token token) {
        std::unique_lock lk(mu);
        std::optional<StorageReply> out;
        cv.wait_for(lk, 10s, [&] {
            for (auto& r : got) {
                bool match = std::visit([&](const auto& x) { return x.token == token; }, r);
                if (match) {
                    out = r;
                    return true;
                }
            }
            return false;
        });
        return out;
    }
    bool wait_loaded() {
        std::unique_lock lk(mu);
        return cv.wait_for(lk, 10s, [&] {
            for (auto& r : got)
                if (std::holds_alternative<LoadedReply>(r)) return true;
            return false;
        });
    }
};

}  // namespace

TEST_CASE("storage thread: past the memory bound with no journal, messages are refused, presence and requests go on") {
    Rig rig(20, false, true);
    StartupInfo info;
    REQUIRE(rig.st->start(20, info).empty());
    std::int64_t id = 0;
    std::size_t accepted = 0;
    bool refused = false;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!refused && std::chrono::steady_clock::now() < deadline) {
        if (rig.st->write(MessageEvent{++id, 1, 1, 0, "m"}))
            ++accepted;
        else
            refused = true;
        std::this_thread::sleep_for(1ms);
    }
    REQUIRE(refused);
    CHECK(accepted >= 20);
    CHECK(accepted <= 200);  // the bound, plus what was queued before the thread published it (a slow machine)
    CHECK_FALSE(rig.st->write(MessageEvent{++id, 1, 1, 0, "m"}));
    // Presence is still taken.
    CHECK(rig.st->write(StatusEvent{1, "ausente"}));
    CHECK(rig.st->write(SessionStartEvent{1, 1, 5, "a"}));
    // Requests are answered, not ok.
    rig.st->submit(LoginRequest{7, "ana", "ana", 1});
    auto r = rig.wait(7);
    REQUIRE(r.has_value());
    CHECK_FALSE(std::get<LoginReply>(*r).ok);

    // Heal: the database comes; every accepted message is written once, and messages are taken again.
    rig.db->reachable = true;
    rig.journal->append_fails = false;
    REQUIRE(rig.wait_loaded());
    bool again = false;
    deadline = std::chrono::steady_clock::now() + 10s;
    while (!again && std::chrono::steady_clock::now() < deadline) {
        again = rig.st->write(MessageEvent{id + 1, 1, 1, 0, "after"});
        if (!again) std::this_thread::sleep_for(5ms);
    }
    REQUIRE(again);
    ++accepted;
    rig.st->submit(LoginRequest{8, "ana", "ana", 1});
    auto r2 = rig.wait(8);
    REQUIRE(r2.has_value());
    CHECK(std::get<LoginReply>(*r2).ok);
    rig.st->stop();
    auto written = rig.db->message_ids();
    CHECK(written.size() == accepted);
    std::set<std::int64_t> unique(written.begin(), written.end());
    CHECK(unique.size() == written.size());
}

TEST_CASE("storage thread: with a working journal nothing is refused during an outage, and stop keeps it all") {
    Rig rig(20, false, false);
    StartupInfo info;
    REQUIRE(rig.st->start(20, info).empty());
    for (int i = 1; i <= 500; ++i) CHECK(rig.st->write(MessageEvent{i, 1, 1, 0, "m"}));
    rig.st->stop();
    CHECK(rig.db->written.empty());
    std::size_t messages = 0;
    for (const auto& e : rig.journal->events) messages += std::holds_alternative<MessageEvent>(e);
    CHECK(messages == 500);
}

TEST_CASE("storage thread: a database up but slower than the traffic bounds the backlog; past it messages are refused") {
    Rig r(100, true, false);
    StartupInfo info;
    REQUIRE(r.st->start(20, info).empty());
    r.db->slow = true;
    std::int64_t id = 1;
    std::set<std::int64_t> accepted;
    // The first one is taken by the storage thread, which then waits on the database.
    REQUIRE(r.st->write(MessageEvent{id, 1, 1, 0, "m"}));
    accepted.insert(id++);
    std::this_thread::sleep_for(50ms);
    int refused = 0;
    for (int i = 0; i < 300; ++i, ++id) {
        if (r.st->write(MessageEvent{id, 1, 1, 0, "m"}))
            accepted.insert(id);
        else
            ++refused;
    }
    CHECK(accepted.size() <= 101);
    CHECK(refused >= 199);
    CHECK(r.st->write(StatusEvent{1, "ocupado"}));  // presence is never refused
    r.db->slow = false;
    // Once the backlog is written, messages are taken again.
    bool taken = false;
    for (int i = 0; i < 2000 && !taken; ++i) {
        std::this_thread::sleep_for(5ms);
        taken = r.st->write(MessageEvent{id, 1, 1, 0, "m"});
    }
    REQUIRE(taken);
    accepted.insert(id++);
    r.st->stop();
    auto ids = r.db->message_ids();
    CHECK(std::set<std::int64_t>(ids.begin(), ids.end()) == accepted);  // every accepted one, none refused
    CHECK(ids.size() == accepted.size());
}
