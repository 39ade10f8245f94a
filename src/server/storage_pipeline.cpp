#include "server/storage_pipeline.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <utility>

namespace chat::server {

namespace {

double seconds(StoragePipeline::Duration d) { return std::chrono::duration<double>(d).count(); }

std::string event_name(const StorageEvent& ev) {
    return std::visit(
        [](const auto& e) -> std::string {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, MessageEvent>)
                return "message " + std::to_string(e.id);
            else if constexpr (std::is_same_v<T, SessionStartEvent>)
                return "session start " + std::to_string(e.session);
            else if constexpr (std::is_same_v<T, SessionEndEvent>)
                return "session end " + std::to_string(e.session);
            else
                return "status of user " + std::to_string(e.user);
        },
        ev);
}

}  // namespace

const char* db_status_name(DbStatus s) {
    switch (s) {
        case DbStatus::ok: return "ok";
        case DbStatus::transient: return "transient";
        case DbStatus::connection_lost: return "connection lost";
        case DbStatus::permanent: return "permanent";
    }
    return "?";
}

StoragePipeline::StoragePipeline(PipelineOptions opt, StorageDatabase& db, StorageJournal& journal, ReplySink reply,
                                 LogSink log)
    : opt_(opt), db_(db), journal_(journal), reply_(std::move(reply)), log_(std::move(log)), rng_(opt.seed | 1) {
    if (opt_.batch == 0) opt_.batch = 1;
    if (opt_.queue_max == 0) opt_.queue_max = 1;
}

void StoragePipeline::log(LogLevel level, std::string text) const {
    if (log_) log_(level, text);
}

StoragePipeline::Duration StoragePipeline::jittered(Duration d) {
    // xorshift64: a little jitter (-10% .. +10%) so restarted servers do not
    // see every chatd come back in the same millisecond.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    auto span = static_cast<std::uint64_t>((d / 5).count());
    if (span == 0) return d;
    return d - d / 10 + Duration(static_cast<Duration::rep>(rng_ % span));
}

void StoragePipeline::fail_later(Time now, Duration cap) {
    next_attempt_ = now + jittered(backoff_);
    backoff_ = std::min(backoff_ * 2, cap);
}

void StoragePipeline::outage_begins(Time now, const std::string& why) {
    if (outage_) {
        log(LogLevel::Debug, why);
        return;
    }
    outage_ = true;
    outage_since_ = now;
    last_remind_ = now;
    log(LogLevel::Warn, why);
}

void StoragePipeline::outage_ends(Time now) {
    char took[32];
    std::snprintf(took, sizeof took, "%.1f s", seconds(now - outage_since_));
    std::string text = std::string("storage: every waiting event is in the database again after ") + took;
    if (dropped_.sessions || dropped_.statuses || dropped_.messages_over) {
        text += "; past the memory bound " + std::to_string(dropped_.sessions) + " session records were let go, " +
                std::to_string(dropped_.statuses) + " status changes were replaced by a later one, " +
                std::to_string(dropped_.messages_over) + " messages were kept over the bound";
    }
    log(LogLevel::Info, text);
    outage_ = false;
    transient_logged_ = journal_error_logged_ = bound_logged_ = false;
    journal_ok_ = true;
    journal_backoff_ = kJournalRetryFirst;
    dropped_ = {};
}

void StoragePipeline::connection_lost(const DbOutcome& r, Time now) {
    db_.disconnect();
    connected_ = false;
    outage_begins(now, "storage: database connection lost (" + r.error + "); keeping events in order, reconnecting");
    fail_later(now, kBackoffMax);
}

void StoragePipeline::transient(const DbOutcome& r, Time now, const char* what) {
    if (r.status == DbStatus::connection_lost) {
        connection_lost(r, now);
        return;
    }
    std::string text = std::string("storage: the database refuses ") + what + " for now (" + r.error +
                       "); keeping every event in order, retrying";
    if (!transient_logged_ && outage_) {
        transient_logged_ = true;
        log(LogLevel::Warn, text);
    }
    transient_logged_ = true;
    outage_begins(now, text);
    fail_later(now, kBackoffMax);
}

bool StoragePipeline::try_connect(Time now) {
    if (connected_) return true;
    if (now < next_attempt_) return false;
    DbOutcome r = db_.connect();
    if (!r.ok()) {
        outage_begins(now, "storage: cannot reach the database " + db_.describe() + " (" + r.error +
                               "); keeping events in order, connecting in the background");
        log(LogLevel::Debug, "storage: connecting failed: " + r.error);
        fail_later(now, schema_bad_ ? kSchemaRetry : kConnectBackoffMax);
        if (schema_bad_) next_attempt_ = now + kSchemaRetry;
        return false;
    }
    connected_ = true;
    last_use_ = now;
    if (outage_ && !schema_bad_) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " after %.1f s", seconds(now - outage_since_));
        log(LogLevel::Info, "storage: connected to " + db_.describe() + buf + "; " +
                                (journal_pending_ ? "writing the journal and " : "writing ") +
                                std::to_string(memory_size()) + " waiting events");
    }
    return true;
}

bool StoragePipeline::bring_up(Time now, StartupInfo* direct) {
    if (!schema_ok_) {
        DbOutcome r = db_.prepare_schema();
        if (r.status == DbStatus::permanent) {
            schema_bad_ = true;
            schema_error_ = r.error;
            db_.disconnect();
            connected_ = false;
            next_attempt_ = now + kSchemaRetry;
            if (!direct) {
                log(LogLevel::Error, "storage: " + r.error + "; storage stays unavailable, checking again in a minute");
                outage_begins(now, "storage: unavailable until the schema is one this chatd knows");
            }
            return false;
        }
        if (!r.ok()) {
            transient(r, now, "the schema check");
            return false;
        }
        schema_ok_ = true;
        schema_bad_ = false;
    }
    if (journal_pending_ && !replay_journal(now)) return false;
    if (!loaded_) {
        StartupInfo info;
        if (!fresh(now)) return false;
        DbOutcome r = db_.load(recent_public_, info);
        if (!r.ok()) {
            transient(r, now, "loading the recent history");
            return false;
        }
        last_use_ = now;
        loaded_ = true;
        progress();
        if (direct) {
            *direct = std::move(info);
        } else {
            log(LogLevel::Info, "storage: loaded " + std::to_string(info.recent_public.size()) +
                                    " recent messages; storage is usable");
            if (reply_) reply_(LoadedReply{0, std::move(info)});
        }
    }
    return true;
}

bool StoragePipeline::fresh(Time now) {
    if (!connected_) return false;
    if (now - last_use_ <= kIdlePing) return true;
    DbOutcome r = db_.ping();
    if (r.ok()) {
        last_use_ = now;
        return true;
    }
    log(LogLevel::Info, "storage: the idle connection is gone (" + r.error + "); reconnecting");
    db_.disconnect();
    connected_ = false;
    r = db_.connect();
    if (r.ok()) {
        connected_ = true;
        last_use_ = now;
        return true;
    }
    if (r.status != DbStatus::connection_lost) r.status = DbStatus::connection_lost;
    connection_lost(r, now);
    return false;
}

bool StoragePipeline::replay_journal(Time now) {
    JournalDecoded d;
    std::string err;
    if (!journal_.read_all(d, err)) {
        if (!journal_error_logged_) {
            journal_error_logged_ = true;
            log(LogLevel::Error, "storage: " + err + "; newer events wait behind the journal");
        }
        outage_begins(now, "storage: cannot read the journal " + journal_.path());
        fail_later(now, kBackoffMax);
        return false;
    }
    std::size_t total = d.events.size();
    if (journal_done_ == 0) {
        if (d.damaged)
            log(LogLevel::Warn, "storage: the journal " + journal_.path() + " ends in a damaged record; the " +
                                    std::to_string(total) + " events before it are kept");
        if (total) log(LogLevel::Info, "storage: writing " + std::to_string(total) + " events from the journal " +
                                           journal_.path());
    }
    while (journal_done_ < total) {
        std::size_t n = std::min(opt_.batch, total - journal_done_);
        auto first = d.events.begin() + static_cast<std::ptrdiff_t>(journal_done_);
        std::vector<StorageEvent> chunk(std::make_move_iterator(first),
                                        std::make_move_iterator(first + static_cast<std::ptrdiff_t>(n)));
        Write w = write_events(chunk, now);
        journal_done_ += n - chunk.size();
        if (w == Write::blocked) return false;
    }
    if (!journal_.clear(err)) {
        if (!journal_error_logged_) {
            journal_error_logged_ = true;
            log(LogLevel::Error, "storage: " + err + "; newer events wait until the journal can be emptied");
        }
        outage_begins(now, "storage: cannot empty the journal " + journal_.path());
        fail_later(now, kBackoffMax);
        return false;
    }
    log(LogLevel::Info, "storage: the journal is written to the database (" + std::to_string(journal_done_) +
                            " events) and emptied");
    journal_pending_ = false;
    journal_done_ = 0;
    return true;
}

StoragePipeline::Write StoragePipeline::write_events(std::vector<StorageEvent>& events, Time now) {
    if (events.empty()) return Write::done;
    if (!fresh(now)) return Write::blocked;
    DbOutcome r = db_.write_batch(events);
    if (r.status == DbStatus::connection_lost && now - last_use_ >= kIdleRetry) {
        // Idle for a while: most likely the server closed it (wait_timeout).
        log(LogLevel::Info, "storage: the connection failed after idle (" + r.error + "); reconnecting once");
        db_.disconnect();
        connected_ = false;
        if (db_.connect().ok()) {
            connected_ = true;
            last_use_ = now;
            r = db_.write_batch(events);
        }
    }
    if (r.ok()) {
        last_use_ = now;
        progress();
        events.clear();
        return Write::done;
    }
    if (r.status != DbStatus::permanent) {
        transient(r, now, "writes");
        return Write::blocked;
    }
    last_use_ = now;
    if (events.size() > 1)
        log(LogLevel::Warn, "storage: a batch of " + std::to_string(events.size()) + " events was refused (" +
                                r.error + "); writing them one by one");
    std::size_t i = 0;
    for (; i < events.size(); ++i) {
        DbOutcome one = events.size() == 1 ? r : db_.write_batch(std::span(&events[i], 1));
        if (one.ok()) continue;
        if (one.status != DbStatus::permanent) {
            transient(one, now, "writes");
            break;
        }
        std::string err;
        if (!journal_.dead_letter(events[i], one.error, err)) {
            log(LogLevel::Error, "storage: the database will never take " + event_name(events[i]) + " (" +
                                     one.error + ") and the dead-letter file cannot be written (" + err +
                                     "); keeping it and retrying");
            outage_begins(now, "storage: waiting for the dead-letter file " + journal_.dead_letter_path());
            fail_later(now, kBackoffMax);
            break;
        }
        log(LogLevel::Error, "storage: the database will never take " + event_name(events[i]) + " (" + one.error +
                                 "); it is kept in " + journal_.dead_letter_path());
    }
    events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i));
    if (events.empty()) progress();
    return events.empty() ? Write::done : Write::blocked;
}

StoragePipeline::Write StoragePipeline::write_held(Time now) {
    // The merged statuses are the newest: they go last.
    for (auto& [user, status] : late_status_) backlog_.push_back(StatusEvent{user, std::move(status)});
    late_status_.clear();
    while (!backlog_.empty()) {
        std::size_t n = std::min(opt_.batch, backlog_.size());
        std::vector<StorageEvent> chunk(std::make_move_iterator(backlog_.begin()),
                                        std::make_move_iterator(backlog_.begin() + static_cast<std::ptrdiff_t>(n)));
        backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(n));
        if (write_events(chunk, now) == Write::blocked) {
            for (auto it = chunk.rbegin(); it != chunk.rend(); ++it) backlog_.push_front(std::move(*it));
            return Write::blocked;
        }
    }
    sessions_over_ = 0;
    return Write::done;
}

bool StoragePipeline::clear_to_write(Time now) const {
    return connected_ && loaded_ && !journal_pending_ && memory_size() == 0 && now >= next_attempt_;
}

void StoragePipeline::hold(StorageEvent ev, Time now) {
    if (memory_size() == 0) held_since_ = now;
    bool full = !journal_ok_ && backlog_.size() >= opt_.queue_max;
    if (auto* st = std::get_if<StatusEvent>(&ev)) {
        if (auto it = late_status_.find(st->user); it != late_status_.end()) {
            it->second = std::move(st->status);
            ++dropped_.statuses;
        } else if (full) {
            late_status_.emplace(st->user, std::move(st->status));
        } else {
            backlog_.push_back(std::move(ev));
        }
        return;
    }
    if (!full) {
        backlog_.push_back(std::move(ev));
        return;
    }
    if (std::holds_alternative<MessageEvent>(ev)) {
        // Accepted before the reactor side saw the bound: kept.
        backlog_.push_back(std::move(ev));
        ++dropped_.messages_over;
        return;
    }
    std::size_t slack = std::max<std::size_t>(opt_.queue_max / 10, 16);
    if (sessions_over_ < slack) {
        ++sessions_over_;
        backlog_.push_back(std::move(ev));
        return;
    }
    ++dropped_.sessions;
    if (!bound_logged_) {
        bound_logged_ = true;
        log(LogLevel::Warn, "storage: " + std::to_string(backlog_.size()) +
                                " events wait in memory and the journal cannot take them: messages are refused, "
                                "status changes are merged per user, session records are let go (counted)");
    }
}

void StoragePipeline::answer(const StorageRequest& req, Time now) {
    if (!fresh(now)) {
        fail(req);
        return;
    }
    StorageReply rep;
    DbOutcome r = db_.answer(req, rep);
    if (r.status == DbStatus::connection_lost) {
        log(LogLevel::Info, "storage: the connection failed during a read (" + r.error + "); reconnecting once");
        db_.disconnect();
        connected_ = false;
        DbOutcome c = db_.connect();
        if (c.ok()) {
            connected_ = true;
            last_use_ = now;
            r = db_.answer(req, rep);
        } else {
            c.status = DbStatus::connection_lost;
            r = c;
        }
    }
    if (r.ok()) {
        last_use_ = now;
        progress();
        if (reply_) reply_(std::move(rep));
        return;
    }
    if (r.status == DbStatus::connection_lost)
        connection_lost(r, now);
    else
        log(LogLevel::Error, "storage: a read failed (" + r.error + ")");
    fail(req);
}

void StoragePipeline::fail(const StorageRequest& req) {
    if (!reply_) return;
    std::visit(
        [this](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, LoginRequest>)
                reply_(LoginReply{r.token, false, {}});
            else if constexpr (std::is_same_v<T, ProfileRequest>)
                reply_(ProfileReply{r.token, false, false, {}});
            else if constexpr (std::is_same_v<T, SetPasswordRequest>)
                reply_(SetPasswordReply{r.token, false, false});
            else
                reply_(HistoryReply{r.token, false, {}});
        },
        req);
}

void StoragePipeline::maybe_spill(Time now, bool force) {
    if (memory_size() == 0) return;
    if (!force) {
        bool due = memory_size() >= opt_.queue_max || now - held_since_ >= kSpillAfter;
        if (!due || now < journal_retry_at_) return;
    }
    for (auto& [user, status] : late_status_) backlog_.push_back(StatusEvent{user, std::move(status)});
    late_status_.clear();
    std::vector<StorageEvent> events(std::make_move_iterator(backlog_.begin()),
                                     std::make_move_iterator(backlog_.end()));
    backlog_.clear();
    std::string err;
    if (!journal_.append(events, err)) {
        journal_ok_ = false;
        journal_retry_at_ = now + journal_backoff_;
        journal_backoff_ = std::min(journal_backoff_ * 2, kBackoffMax);
        if (!journal_error_logged_) {
            journal_error_logged_ = true;
            log(LogLevel::Error, "storage: " + err + "; keeping up to " + std::to_string(opt_.queue_max) +
                                     " events in memory, messages past that are refused");
        }
        for (auto& e : events) backlog_.push_back(std::move(e));
        return;
    }
    if (!journal_pending_ || !journal_ok_)
        log(LogLevel::Info, "storage: " + std::to_string(events.size()) + " waiting events written to the journal " +
                                journal_.path());
    journal_pending_ = true;
    journal_ok_ = true;
    journal_backoff_ = kJournalRetryFirst;
    journal_retry_at_ = {};
    sessions_over_ = 0;
}

void StoragePipeline::remind(Time now) {
    if (!outage_ || now - last_remind_ < kStillDownLog) return;
    last_remind_ = now;
    log(LogLevel::Warn, "storage: still unavailable after " +
                            std::to_string(static_cast<long long>(seconds(now - outage_since_))) + " s; " +
                            std::to_string(memory_size()) + " events in memory" +
                            (journal_pending_ ? ", more in the journal " + journal_.path() : std::string()));
}

std::string StoragePipeline::start(int recent_public, StartupInfo& info, Time now) {
    recent_public_ = recent_public;
    info = {};
    journal_pending_ = journal_.has_data();
    DbOutcome r = db_.connect();
    if (r.status == DbStatus::permanent) return "cannot connect to " + db_.describe() + ": " + r.error;
    if (!r.ok()) {
        outage_begins(now, "storage: cannot reach the database " + db_.describe() + " (" + r.error +
                               "); starting without it, connecting in the background");
        fail_later(now, kConnectBackoffMax);
        return {};
    }
    connected_ = true;
    last_use_ = now;
    if (journal_pending_) log(LogLevel::Info, "storage: replaying the journal " + journal_.path());
    StartupInfo got;
    if (!bring_up(now, &got)) {
        if (schema_bad_) return schema_error_;
        log(LogLevel::Warn, "storage: starting without the database; it comes in the background");
        return {};
    }
    info = std::move(got);
    return {};
}

void StoragePipeline::run(std::deque<StorageItem>& work, Time now) {
    if (!connected_) try_connect(now);
    if (connected_ && now >= next_attempt_ && bring_up(now, nullptr) && memory_size() > 0) write_held(now);

    std::vector<StorageEvent> batch;
    auto flush = [&] {
        if (batch.empty()) return;
        if (write_events(batch, now) == Write::blocked)
            for (auto& e : batch) hold(std::move(e), now);
        batch.clear();
    };
    for (auto& item : work) {
        if (auto* ev = std::get_if<StorageEvent>(&item)) {
            if (!batch.empty() || clear_to_write(now)) {
                batch.push_back(std::move(*ev));
                if (batch.size() >= opt_.batch) flush();
            } else {
                hold(std::move(*ev), now);
            }
            continue;
        }
        flush();
        const auto& req = std::get<StorageRequest>(item);
        if (clear_to_write(now))
            answer(req, now);
        else
            fail(req);
    }
    flush();
    work.clear();

    maybe_spill(now, false);
    remind(now);
    if (outage_ && connected_ && loaded_ && drained()) outage_ends(now);
}

StoragePipeline::Time StoragePipeline::wake_at() const {
    Time t = Time::max();
    if (!connected_ || !loaded_ || journal_pending_ || memory_size() > 0) t = std::min(t, next_attempt_);
    if (memory_size() > 0) t = std::min(t, std::max(held_since_ + kSpillAfter, journal_retry_at_));
    if (outage_) t = std::min(t, last_remind_ + kStillDownLog);
    return t;
}

void StoragePipeline::shutdown(Time now) {
    maybe_spill(now, true);
    if (memory_size() > 0)
        log(LogLevel::Error, "storage: " + std::to_string(memory_size()) +
                                 " events could be written neither to the database nor to the journal " +
                                 journal_.path());
    else if (journal_pending_)
        log(LogLevel::Warn, "storage: events wait in the journal " + journal_.path() + "; the next start writes them");
    if (dropped_.sessions || dropped_.statuses)
        log(LogLevel::Warn, "storage: past the memory bound " + std::to_string(dropped_.sessions) +
                                " session records were let go and " + std::to_string(dropped_.statuses) +
                                " status changes replaced by a later one");
    db_.disconnect();
    connected_ = false;
}

PipelineState StoragePipeline::state() const {
    return PipelineState{connected_ && loaded_ && !journal_pending_ && memory_size() == 0, journal_ok_,
                         memory_size()};
}

}  // namespace chat::server
