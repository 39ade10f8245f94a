// The chat core's clocks: the login timeout, the keepalive (PING, then BYE
// when unanswered) and the end of a throttle, all on the core's fake-able clock.
#include "proto/server_line.hpp"
#include "server/core.hpp"
#include "server/core_session.hpp"
#include "server/log.hpp"

namespace chat::server {

using proto::append_line;

void ChatCore::check_idle(Session& s, Mono now) {
    if (s.waiting) {  // the server's wait, not the client's idleness
        schedule(now + limits_.ping_interval, s.id, TimerKind::Idle);
        return;
    }
    if (s.paced) {
        // The client reads its reply or it does not: a reply that has not moved for as long as an
        // idle client gets to answer a PING is a dead reader.
        Mono due = s.paced->progress_at + limits_.ping_interval + limits_.ping_timeout;
        if (now < due) {
            schedule(due, s.id, TimerKind::Idle);
            return;
        }
        bye_and_close(s, "reply not read in time");
        drop(s, "timeout", {});
        return;
    }
    if (s.ping_sent && s.last_line >= s.ping_at) s.ping_sent = false;
    if (!s.ping_sent) {
        Mono due = s.last_line + limits_.ping_interval;
        if (now < due) {
            schedule(due, s.id, TimerKind::Idle);
            return;
        }
        s.ping_sent = true;
        s.ping_at = now;
        scratch_.clear();
        append_line(scratch_, "PING", {std::to_string(++ping_seq_)});
        io_.send(s.id, scratch_);
        schedule(now + limits_.ping_timeout, s.id, TimerKind::Idle);
        return;
    }
    Mono due = s.ping_at + limits_.ping_timeout;
    if (now < due) {
        schedule(due, s.id, TimerKind::Idle);
        return;
    }
    bye_and_close(s, "no answer to PING");
    drop(s, "timeout", {});
}

void ChatCore::on_tick() {
    Mono now = clock_.now();
    while (!timers_.empty() && timers_.top().when <= now) {
        TimerEntry t = timers_.top();
        timers_.pop();
        Session* s = find(t.id);
        if (!s) continue;
        switch (t.kind) {
            case TimerKind::Login:
                if (s->state != State::Active) {
                    send_error(s->id, "login-timeout", {}, "no nickname accepted in time");
                    bye_and_close(*s, "login timeout");
                    LOG_INFO("#%llu: login timeout", static_cast<unsigned long long>(s->id));
                    erase(t.id);
                }
                break;
            case TimerKind::Idle:
                if (s->state == State::Active) check_idle(*s, now);
                break;
            case TimerKind::Throttle:
                if (s->throttled) {
                    s->throttled = false;
                    unblock(*s);
                }
                break;
        }
    }
}

}  // namespace chat::server
