// Fakes for the storage pipeline: a database and a journal in memory, with
// switches for every failure. Flags are atomics so a test may flip them while
// a storage thread runs; the recorded data is read only after stop().
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <thread>
#include <mutex>
#include <string>
#include <vector>

#include "server/storage_pipeline.hpp"

namespace chat::server::fake {

inline std::string status_text(DbStatus s) { return db_status_name(s); }

struct Db final : StorageDatabase {
    // Switches.
    std::atomic<bool> reachable{true};
    std::atomic<bool> refuses{false};  // connect is refused for good (credentials)
    std::atomic<bool> stale{false};    // the server closed the connection (wait_timeout)
    std::atomic<int> schema_version{1};
    std::atomic<bool> slow{false};     // write_batch waits while this is set: a database slower than the traffic
    std::mutex mu;                          // guards the scripts below
    std::deque<DbOutcome> write_script;     // outcomes of the next write_batch calls
    std::deque<DbOutcome> answer_script;    // outcomes of the next answer calls
    std::map<std::int64_t, DbOutcome> bad_messages;  // message id -> the error it always gets

    // What happened.
    bool connected = false;
    std::vector<StorageEvent> written;  // committed, in order
    std::vector<std::size_t> batch_sizes;
    int connects = 0, pings = 0, write_calls = 0, answers = 0;
    std::map<std::string, UserRecord> users;
    UserId next_user = 1;

    static DbOutcome lost() { return {DbStatus::connection_lost, "2013 Lost connection to server during query"}; }

    DbOutcome connect() override {
        ++connects;
        connected = false;
        if (!reachable) return {DbStatus::connection_lost, "2003 Can't connect to server on 'fake' (111)"};
        if (refuses) return {DbStatus::permanent, "1045 Access denied for user 'chatd'"};
        connected = true;
        stale = false;
        return {};
    }
    void disconnect() override { connected = false; }
    DbOutcome ping() override {
        ++pings;
        if (!connected || stale || !reachable) return lost();
        return {};
    }
    bool usable() {
        if (!connected || stale || !reachable) {
            connected = false;
            return false;
        }
        return true;
    }
    DbOutcome prepare_schema() override {
        if (!usable()) return lost();
        if (schema_version != 1)
            return {DbStatus::permanent, "the database has schema version " + std::to_string(schema_version.load()) +
                                             ", this chatd knows version 1"};
        return {};
    }
    DbOutcome load(int recent, StartupInfo& info) override {
        if (!usable()) return lost();
        info = {};
        for (const auto& ev : written) {
            if (const auto* m = std::get_if<MessageEvent>(&ev)) {
                info.max_message_id = std::max(info.max_message_id, m->id);
                if (m->to == 0) info.recent_public.push_back(StoredMessage{m->id, m->time, "u", "", m->body});
            } else if (const auto* s = std::get_if<SessionStartEvent>(&ev)) {
                info.max_session_id = std::max(info.max_session_id, s->session);
            }
        }
        while (static_cast<int>(info.recent_public.size()) > recent) info.recent_public.erase(info.recent_public.begin());
        return {};
    }
    DbOutcome write_batch(std::span<const StorageEvent> events) override {
        while (slow) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++write_calls;
        if (!usable()) return lost();
        {
            std::lock_guard lk(mu);
            if (!write_script.empty()) {
                DbOutcome r = write_script.front();
                write_script.pop_front();
                if (r.status == DbStatus::connection_lost) connected = false;
                if (!r.ok()) return r;
            }
            for (const auto& ev : events)
                if (const auto* m = std::get_if<MessageEvent>(&ev))
                    if (auto it = bad_messages.find(m->id); it != bad_messages.end()) return it->second;
        }
        batch_sizes.push_back(events.size());
        written.insert(written.end(), events.begin(), events.end());
        return {};
    }
    DbOutcome answer(const StorageRequest& req, StorageReply& reply) override {
        ++answers;
        if (!usable()) return lost();
        {
            std::lock_guard lk(mu);
            if (!answer_script.empty()) {
                DbOutcome r = answer_script.front();
                answer_script.pop_front();
                if (r.status == DbStatus::connection_lost) connected = false;
                if (!r.ok()) return r;
            }
        }
        if (const auto* l = std::get_if<LoginRequest>(&req)) {
            auto [it, fresh] = users.try_emplace(l->key);
            if (fresh) it->second = UserRecord{next_user++, l->nick, l->time, 0, 0, "disponible"};
            it->second.last_login = l->time;
            reply = LoginReply{l->token, true, it->second};
        } else if (const auto* p = std::get_if<ProfileRequest>(&req)) {
            auto it = users.find(p->key);
            reply = ProfileReply{p->token, true, it != users.end(), it != users.end() ? it->second : UserRecord{}};
        } else {
            const auto& h = std::get<HistoryRequest>(req);
            HistoryReply hr{h.token, true, {}};
            for (const auto& ev : written)
                if (const auto* m = std::get_if<MessageEvent>(&ev))
                    hr.messages.push_back(StoredMessage{m->id, m->time, "u", "", m->body});
            reply = std::move(hr);
        }
        return {};
    }
    std::string describe() const override { return "mysql://fake@db:3306/chatd"; }

    // Messages written, by id, in the order written.
    std::vector<std::int64_t> message_ids() const {
        std::vector<std::int64_t> out;
        for (const auto& ev : written)
            if (const auto* m = std::get_if<MessageEvent>(&ev)) out.push_back(m->id);
        return out;
    }
    std::vector<std::string> statuses_of(UserId user) const {
        std::vector<std::string> out;
        for (const auto& ev : written)
            if (const auto* s = std::get_if<StatusEvent>(&ev))
                if (s->user == user) out.push_back(s->status);
        return out;
    }
};

struct Journal final : StorageJournal {
    std::atomic<bool> append_fails{false}, read_fails{false}, clear_fails{false}, dead_fails{false};
    std::vector<StorageEvent> events;
    std::vector<std::pair<StorageEvent, std::string>> dead;
    int appends = 0, reads = 0, clears = 0;

    bool append(std::span<const StorageEvent> evs, std::string& error) override {
        ++appends;
        if (append_fails) {
            error = "cannot write /fake/chatd.journal: No space left on device";
            return false;
        }
        events.insert(events.end(), evs.begin(), evs.end());
        return true;
    }
    bool has_data() override { return !events.empty(); }
    bool read_all(JournalDecoded& out, std::string& error) override {
        ++reads;
        out = {};
        if (read_fails) {
            error = "cannot read /fake/chatd.journal: Input/output error";
            return false;
        }
        out.events = events;
        return true;
    }
    bool clear(std::string& error) override {
        ++clears;
        if (clear_fails) {
            error = "cannot empty /fake/chatd.journal: Read-only file system";
            return false;
        }
        events.clear();
        return true;
    }
    bool dead_letter(const StorageEvent& ev, std::string_view db_error, std::string& error) override {
        if (dead_fails) {
            error = "cannot write /fake/chatd.journal.dead: No space left on device";
            return false;
        }
        dead.emplace_back(ev, std::string(db_error));
        return true;
    }
    std::string path() const override { return "/fake/chatd.journal"; }
    std::string dead_letter_path() const override { return "/fake/chatd.journal.dead"; }
};

}  // namespace chat::server::fake
