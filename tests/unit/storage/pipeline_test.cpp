// The storage state machine against a fake database, an in-memory journal
// and a clock the test moves: every failure order in microseconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "fakes.hpp"
#include "server/mysql_client.hpp"
#include "server/storage_pipeline.hpp"

using namespace chat::server;
using namespace std::chrono_literals;

namespace {

using Time = StoragePipeline::Time;

struct Harness {
    fake::Db db;
    fake::Journal journal;
    std::vector<StorageReply> replies;
    std::vector<std::pair<LogLevel, std::string>> logs;
    Time now = Time{} + 1000h;
    StoragePipeline p;

    explicit Harness(PipelineOptions opt = {})
        : p(opt, db, journal, [this](StorageReply r) { replies.push_back(std::move(r)); },
            [this](LogLevel l, const std::string& t) { logs.emplace_back(l, t); }) {}

    std::string start(StartupInfo& info) { return p.start(20, info, now); }
    std::string start() {
        StartupInfo info;
        return start(info);
    }
    void run(std::deque<StorageItem> work = {}) { p.run(work, now); }
    void events(std::vector<StorageEvent> evs) {
        std::deque<StorageItem> work;
        for (auto& e : evs) work.emplace_back(std::move(e));
        run(std::move(work));
    }
    // Moves the clock to the pipeline's next wake-up (at most `limit` ahead) and runs.
    void tick(StoragePipeline::Duration limit = 1h) {
        Time t = p.wake_at();
        now = std::min(std::max(t, now), now + limit);
        run();
    }
    // A request's reply: ok or not.
    bool request_ok(StorageRequest req) {
        std::size_t before = replies.size();
        std::deque<StorageItem> work;
        work.emplace_back(std::move(req));
        run(std::move(work));
        REQUIRE(replies.size() == before + 1);
        return std::visit(
            [](const auto& r) {
                if constexpr (requires { r.ok; })
                    return r.ok;
                else
                    return true;
            },
            replies.back());
    }
    std::size_t count_logs(const std::string& part, LogLevel level) const {
        return static_cast<std::size_t>(std::count_if(logs.begin(), logs.end(), [&](const auto& l) {
            return l.first == level && l.second.find(part) != std::string::npos;
        }));
    }
    bool logged(const std::string& part) const {
        return std::any_of(logs.begin(), logs.end(), [&](const auto& l) { return l.second.find(part) != std::string::npos; });
    }
};

std::vector<StorageEvent> messages(std::int64_t first, std::int64_t last) {
    std::vector<StorageEvent> out;
    for (auto id = first; id <= last; ++id) out.push_back(MessageEvent{id, 1000 + id, 1, 0, "m" + std::to_string(id)});
    return out;
}

std::vector<std::int64_t> ids(std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> out;
    for (auto id = first; id <= last; ++id) out.push_back(id);
    return out;
}

LoginRequest login(Token t, const std::string& nick) { return LoginRequest{t, nick, nick, 5000}; }

}  // namespace

// ------------------------------------------------------------------ item 5

TEST_CASE("error numbers: server-side errors that can pass are transient, row errors permanent") {
    // Table full, engine error (disk full), statement timeout, out of memory,
    // lock wait timeout, deadlock, read-only, read-only mode, interrupted, no privilege.
    for (unsigned e : {1114u, 1030u, 1969u, 1037u, 1038u, 1205u, 1213u, 1290u, 1836u, 1317u, 1142u, 1146u, 1105u}) {
        CAPTURE(e);
        CHECK(mysql_error_class(e) == DbStatus::transient);
    }
    for (unsigned e : {2002u, 2003u, 2006u, 2013u, 2055u, 1053u, 1927u, 4031u, 1040u}) {
        CAPTURE(e);
        CHECK(mysql_error_class(e) == DbStatus::connection_lost);
    }
    for (unsigned e : {1062u, 1406u, 1366u, 1452u, 1451u, 1048u, 1292u, 4025u}) {
        CAPTURE(e);
        CHECK(mysql_error_class(e) == DbStatus::permanent);
    }
    CHECK(mysql_connect_error_class(1045) == DbStatus::permanent);
    CHECK(mysql_connect_error_class(1049) == DbStatus::permanent);
    CHECK(mysql_connect_error_class(2003) == DbStatus::connection_lost);
    CHECK(mysql_connect_error_class(1040) == DbStatus::connection_lost);
}

TEST_CASE("transient errors keep the whole batch, in order, and it is written exactly once when they pass") {
    for (const char* err : {"1114 The table 'messages' is full", "1030 Got error 28 \"No space left on device\"",
                            "1969 Query execution was interrupted (max_statement_time exceeded)",
                            "1205 Lock wait timeout exceeded", "1213 Deadlock found", "1290 --read-only",
                            "1836 Running in read-only mode", "1037 Out of memory"}) {
        CAPTURE(err);
        Harness h;
        REQUIRE(h.start().empty());
        {
            std::lock_guard lk(h.db.mu);
            for (int i = 0; i < 4; ++i) h.db.write_script.push_back({DbStatus::transient, err});
        }
        h.events(messages(1, 5));
        CHECK(h.db.written.empty());
        CHECK(h.journal.dead.empty());
        CHECK(h.p.memory_size() == 5);
        // While it lasts, reads are refused (they would miss those writes).
        CHECK_FALSE(h.request_ok(HistoryRequest{7, 1, 10}));
        h.events(messages(6, 6));  // newer events wait behind
        for (int i = 0; i < 10 && !h.p.drained(); ++i) h.tick();
        CHECK(h.p.drained());
        CHECK(h.db.message_ids() == ids(1, 6));
        CHECK(h.journal.dead.empty());
        CHECK(h.request_ok(HistoryRequest{8, 1, 10}));
        CHECK(h.count_logs(err, LogLevel::Warn) == 1);  // logged once per outage
    }
}

TEST_CASE("a row the database never takes goes to the dead-letter file with its error; the rest is written") {
    Harness h;
    REQUIRE(h.start().empty());
    h.db.bad_messages[3] = {DbStatus::permanent, "1406 Data too long for column 'body' at row 1"};
    h.db.bad_messages[5] = {DbStatus::permanent, "1062 Duplicate entry 'x' for key 'other'"};
    h.events(messages(1, 6));
    CHECK(h.db.message_ids() == std::vector<std::int64_t>{1, 2, 4, 6});
    REQUIRE(h.journal.dead.size() == 2);
    CHECK(std::get<MessageEvent>(h.journal.dead[0].first).id == 3);
    CHECK(h.journal.dead[0].second.find("1406") != std::string::npos);
    CHECK(std::get<MessageEvent>(h.journal.dead[1].first).id == 5);
    CHECK(h.count_logs("/fake/chatd.journal.dead", LogLevel::Error) == 2);  // once per row, with the file
    CHECK(h.count_logs("message 3", LogLevel::Error) == 1);
    CHECK(h.p.drained());
    CHECK(h.request_ok(login(1, "ana")));
}

TEST_CASE("a permanent refusal with an unwritable dead-letter file keeps the row and retries") {
    Harness h;
    REQUIRE(h.start().empty());
    h.db.bad_messages[2] = {DbStatus::permanent, "1366 Incorrect string value"};
    h.journal.dead_fails = true;
    h.events(messages(1, 3));
    CHECK(h.db.message_ids() == std::vector<std::int64_t>{1});
    CHECK(h.p.memory_size() == 2);
    h.tick();
    CHECK(h.journal.dead.empty());
    h.journal.dead_fails = false;
    for (int i = 0; i < 10 && !h.p.drained(); ++i) h.tick();
    CHECK(h.db.message_ids() == std::vector<std::int64_t>{1, 3});
    REQUIRE(h.journal.dead.size() == 1);
    CHECK(std::get<MessageEvent>(h.journal.dead[0].first).id == 2);
}

// ------------------------------------------------------------------ item 6

TEST_CASE("memory bound: with the journal failing, at most queue_max events wait; presence is merged and bounded") {
    Harness h(PipelineOptions{500, 10, 1});
    h.db.reachable = false;
    h.journal.append_fails = true;
    REQUIRE(h.start().empty());
    h.events(messages(1, 10));
    PipelineState s = h.p.state();
    CHECK_FALSE(s.writing);
    CHECK_FALSE(s.journal_ok);  // the spill at the bound failed
    CHECK(s.in_memory == 10);
    CHECK(h.journal.events.empty());
    CHECK(h.count_logs("No space left", LogLevel::Error) == 1);

    std::vector<StorageEvent> presence;
    for (int i = 0; i < 90; ++i) presence.push_back(StatusEvent{1 + i % 3, "s" + std::to_string(i)});
    for (int i = 0; i < 50; ++i) {
        presence.push_back(SessionStartEvent{100 + i, 1, 2000 + i, "1.2.3.4:5"});
        presence.push_back(SessionEndEvent{100 + i, 1, 2000 + i, "quit"});
    }
    h.events(std::move(presence));
    // 16 session records past the bound (a tenth of queue_max, at least 16), one status per user.
    CHECK(h.p.memory_size() == 10 + 16 + 3);
    CHECK(h.p.dropped().sessions == 100 - 16);
    CHECK(h.p.dropped().statuses == 90 - 3);
    CHECK(h.count_logs("session records are let go", LogLevel::Warn) == 1);

    // Retrying the journal is paced (not on every wake-up).
    int appends = h.journal.appends;
    h.run();
    h.run();
    CHECK(h.journal.appends == appends);

    // Heal: everything kept is written, the last status per user wins, and the outage is summed up once.
    h.db.reachable = true;
    h.journal.append_fails = false;
    for (int i = 0; i < 20 && !(h.p.drained() && h.p.loaded()); ++i) h.tick();
    REQUIRE(h.p.drained());
    CHECK(h.db.message_ids() == ids(1, 10));
    CHECK(h.db.statuses_of(1).back() == "s87");
    CHECK(h.db.statuses_of(2).back() == "s88");
    CHECK(h.db.statuses_of(3).back() == "s89");
    CHECK(h.count_logs("84 session records were let go", LogLevel::Info) == 1);
    CHECK(h.p.state().journal_ok);
}

TEST_CASE("memory bound: with a working journal nothing is bounded, it all goes to the journal") {
    Harness h(PipelineOptions{500, 10, 1});
    h.db.reachable = false;
    REQUIRE(h.start().empty());
    h.events(messages(1, 25));
    CHECK(h.p.state().journal_ok);
    CHECK(h.p.memory_size() == 0);
    CHECK(h.journal.events.size() == 25);
    h.db.reachable = true;
    for (int i = 0; i < 20 && !(h.p.drained() && h.p.loaded()); ++i) h.tick();
    CHECK(h.db.message_ids() == ids(1, 25));
    CHECK(h.journal.events.empty());
}

// ------------------------------------------------------------------ item 7

TEST_CASE("journal order: while the old journal cannot be read, nothing newer is written") {
    Harness h;
    h.journal.events = {StatusEvent{1, "old"}, SessionEndEvent{9, 1, 100, "quit"}, MessageEvent{1, 90, 1, 0, "a"}};
    h.journal.read_fails = true;
    StartupInfo info;
    REQUIRE(h.start(info).empty());  // the database is fine; storage waits for the journal
    CHECK_FALSE(h.p.loaded());
    h.events({StatusEvent{1, "new"}, SessionEndEvent{10, 1, 200, "quit"}, MessageEvent{2, 190, 1, 0, "b"}});
    CHECK(h.db.written.empty());
    CHECK_FALSE(h.request_ok(login(1, "ana")));
    h.now += 2s;
    h.run();  // held a second: appended to the journal behind the old events
    CHECK(h.db.written.empty());
    CHECK(h.journal.events.size() == 6);
    h.journal.read_fails = false;
    for (int i = 0; i < 10 && !h.p.drained(); ++i) h.tick();
    REQUIRE(h.p.drained());
    CHECK(h.db.statuses_of(1) == std::vector<std::string>{"old", "new"});
    CHECK(h.db.message_ids() == std::vector<std::int64_t>{1, 2});
    // The history and ids came after the whole journal, as a LoadedReply.
    auto loaded = std::find_if(h.replies.begin(), h.replies.end(),
                               [](const auto& r) { return std::holds_alternative<LoadedReply>(r); });
    REQUIRE(loaded != h.replies.end());
    CHECK(std::get<LoadedReply>(*loaded).info.max_message_id == 2);
}

TEST_CASE("journal order: a journal that cannot be emptied is not replayed over newer rows") {
    Harness h;
    h.journal.events = {StatusEvent{1, "old"}, MessageEvent{1, 90, 1, 0, "a"}};
    h.journal.clear_fails = true;
    REQUIRE(h.start().empty());
    CHECK(h.db.statuses_of(1) == std::vector<std::string>{"old"});  // written, but the file stays
    CHECK(h.p.journal_pending());
    h.events({StatusEvent{1, "new"}, MessageEvent{2, 190, 1, 0, "b"}});
    CHECK(h.db.statuses_of(1) == std::vector<std::string>{"old"});  // "new" waits behind the journal
    CHECK(h.p.memory_size() == 2);
    h.now += 2s;
    h.run();  // appended behind the old events
    for (int i = 0; i < 5; ++i) h.tick();
    // Written after the old events, and the old ones are not written again on top.
    CHECK(h.db.statuses_of(1) == std::vector<std::string>{"old", "new"});
    CHECK(h.p.journal_pending());
    h.journal.clear_fails = false;
    for (int i = 0; i < 10 && !h.p.drained(); ++i) h.tick();
    REQUIRE(h.p.drained());
    // The old part is not written again after the new one.
    CHECK(h.db.statuses_of(1) == std::vector<std::string>{"old", "new"});
    CHECK(h.db.message_ids() == std::vector<std::int64_t>{1, 2});
    CHECK(h.journal.events.empty());
}

TEST_CASE("journal order: a replay cut short by the database resumes where it stopped") {
    Harness h(PipelineOptions{2, 100, 1});
    for (auto& e : messages(1, 6)) h.journal.events.push_back(e);
    {
        std::lock_guard lk(h.db.mu);
        h.db.write_script = {DbOutcome{}, DbOutcome{DbStatus::connection_lost, "2013 Lost connection"}};
    }
    REQUIRE(h.start().empty());
    CHECK(h.db.message_ids() == ids(1, 2));
    h.events(messages(7, 8));
    for (int i = 0; i < 10 && !h.p.drained(); ++i) h.tick();
    CHECK(h.db.message_ids() == ids(1, 8));
}

// ------------------------------------------------------------------ item 8

TEST_CASE("stale connection: after 30 s idle it is pinged, and replaced when the server closed it") {
    Harness h;
    REQUIRE(h.start().empty());
    CHECK(h.request_ok(login(1, "ana")));
    h.now += 10s;
    CHECK(h.request_ok(login(2, "ana")));
    CHECK(h.db.pings == 0);  // not idle long enough to ask
    h.now += 31s;
    h.db.stale = true;  // wait_timeout closed it
    CHECK(h.request_ok(login(3, "ana")));
    CHECK(h.db.pings == 1);
    CHECK(h.db.connects == 2);
}

TEST_CASE("stale connection: a request meeting a lost connection reconnects once and is retried") {
    Harness h;
    REQUIRE(h.start().empty());
    h.now += 5s;
    h.db.stale = true;
    CHECK(h.request_ok(login(1, "ana")));
    CHECK(h.db.connects == 2);
    CHECK(h.db.answers == 2);
    // When the reconnect fails too, the request fails and storage is down.
    h.now += 1s;
    h.db.stale = true;
    h.db.reachable = false;
    CHECK_FALSE(h.request_ok(login(2, "ana")));
    CHECK_FALSE(h.p.connected());
}

TEST_CASE("stale connection: a write after idle meeting a closed connection reconnects once and is written") {
    Harness h;
    REQUIRE(h.start().empty());
    h.now += 5s;
    h.db.stale = true;
    h.events(messages(1, 2));
    CHECK(h.db.message_ids() == ids(1, 2));
    CHECK(h.db.connects == 2);
    CHECK(h.p.drained());
    CHECK(h.request_ok(login(1, "ana")));
}

TEST_CASE("backoff: a batch that kills the connection every time is retried 100 ms, 200 ms, ... up to 30 s") {
    Harness h;
    REQUIRE(h.start().empty());
    {
        std::lock_guard lk(h.db.mu);
        for (int i = 0; i < 14; ++i) h.db.write_script.push_back(fake::Db::lost());
    }
    h.events(messages(1, 1));
    std::vector<double> gaps;
    for (int i = 0; i < 14; ++i) {
        gaps.push_back(std::chrono::duration<double>(h.p.next_attempt() - h.now).count());
        h.now = h.p.next_attempt();
        h.run();
    }
    double expect = 0.1;
    for (double g : gaps) {
        CAPTURE(g);
        CAPTURE(expect);
        CHECK(g >= expect * 0.89);
        CHECK(g <= expect * 1.11);
        expect = std::min(expect * 2, 30.0);
    }
    CHECK(gaps.back() > 25);
    CHECK(h.p.drained());
    CHECK(h.db.message_ids() == ids(1, 1));
    CHECK(h.db.connects == 15);
}

TEST_CASE("backoff: jitter differs between seeds") {
    Harness a(PipelineOptions{500, 100, 1}), b(PipelineOptions{500, 100, 12345});
    a.db.reachable = b.db.reachable = false;
    REQUIRE(a.start().empty());
    REQUIRE(b.start().empty());
    CHECK(a.p.next_attempt() != b.p.next_attempt());
}

// ------------------------------------------------------------------ item 3

TEST_CASE("start without a database: requests fail, events wait, then a LoadedReply and normal service") {
    Harness h;
    h.db.written = messages(1, 3);  // what the database already holds
    h.db.reachable = false;
    StartupInfo info;
    info.max_message_id = 77;
    REQUIRE(h.start(info).empty());
    CHECK(info.max_message_id == 0);
    CHECK(info.recent_public.empty());
    CHECK_FALSE(h.p.loaded());
    CHECK_FALSE(h.request_ok(login(1, "ana")));
    h.events({SessionStartEvent{1, 1, 10, "x"}});
    for (int i = 0; i < 5; ++i) h.tick(200ms);
    CHECK(h.db.written.size() == 3);
    h.db.reachable = true;
    for (int i = 0; i < 20 && !h.p.loaded(); ++i) h.tick();
    REQUIRE(h.p.loaded());
    auto loaded = std::find_if(h.replies.begin(), h.replies.end(),
                               [](const auto& r) { return std::holds_alternative<LoadedReply>(r); });
    REQUIRE(loaded != h.replies.end());
    CHECK(std::get<LoadedReply>(*loaded).info.max_message_id == 3);
    CHECK(std::get<LoadedReply>(*loaded).info.recent_public.size() == 3);
    CHECK(h.logged("storage: connected to mysql://fake@db:3306/chatd after"));
    CHECK(h.request_ok(login(2, "ana")));
    CHECK(h.db.written.size() == 4);
}

TEST_CASE("start: refused credentials or an unknown schema version are errors; unreachable is not") {
    {
        Harness h;
        h.db.refuses = true;
        CHECK(h.start().find("1045") != std::string::npos);
    }
    {
        Harness h;
        h.db.schema_version = 99;
        CHECK(h.start().find("version 99") != std::string::npos);
    }
    {
        Harness h;
        h.db.reachable = false;
        CHECK(h.start().empty());
    }
}

TEST_CASE("an unknown schema found after start: logged every minute, unavailable, and usable once fixed") {
    Harness h;
    h.db.reachable = false;
    REQUIRE(h.start().empty());
    h.db.reachable = true;
    h.db.schema_version = 2;
    auto t0 = h.now;
    while (h.now < t0 + 150s) {
        h.tick(10s);
        CHECK_FALSE(h.request_ok(ProfileRequest{1, "ana"}));
    }
    CHECK(h.count_logs("schema version 2", LogLevel::Error) == 3);
    CHECK_FALSE(h.p.loaded());
    h.db.schema_version = 1;
    h.now += 61s;
    h.run();
    CHECK(h.p.loaded());
    CHECK(h.request_ok(ProfileRequest{2, "ana"}));
}

// ------------------------------------------------------------------ what was there before

TEST_CASE("batching: at most `batch` events per transaction, reads flush the writes before them") {
    Harness h(PipelineOptions{3, 100, 1});
    REQUIRE(h.start().empty());
    std::deque<StorageItem> work;
    for (auto& e : messages(1, 7)) work.emplace_back(e);
    work.emplace_back(StorageRequest{HistoryRequest{1, 1, 50}});
    work.emplace_back(StorageEvent{MessageEvent{8, 1, 1, 0, "x"}});
    h.run(std::move(work));
    CHECK(h.db.batch_sizes == std::vector<std::size_t>{3, 3, 1, 1});
    REQUIRE(h.replies.size() == 1);
    CHECK(std::get<HistoryReply>(h.replies[0]).messages.size() == 7);
}

TEST_CASE("shutdown: what the database did not take goes to the journal") {
    Harness h;
    REQUIRE(h.start().empty());
    h.db.reachable = false;
    h.db.stale = true;
    h.events(messages(1, 4));
    CHECK(h.p.memory_size() == 4);
    h.p.shutdown(h.now);
    CHECK(h.journal.events.size() == 4);
    CHECK(h.p.memory_size() == 0);
    CHECK(h.logged("the next start writes them"));
}
