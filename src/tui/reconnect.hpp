// When to try the server again: after a lost connection, and after a
// reconnect whose nickname the server still gives to the old session (it
// has not noticed that connection is dead yet). Pure: the caller passes
// the monotonic time in milliseconds, so the tests use a fake clock.
//
// With a seed, each wait is between half and all of the delay, at random:
// clients that lost the server at the same moment (a restart) then come back
// spread over the interval, not all at once at every step.
#pragma once

#include <cstdint>
#include <random>

namespace chat::tui {

class Reconnect {
public:
    enum class Why : unsigned char {
        None,      // nothing scheduled
        Lost,      // the connection dropped, or could not be made
        NickHeld,  // a re-login got nick-in-use: the old session still holds the nick
        Busy,      // a re-login got ERROR unavailable: the server's password checks are full
    };
    static constexpr int kFirstDelay = 1;  // seconds; doubles up to kMaxDelay
    static constexpr int kMaxDelay = 30;

    // seed 0: no jitter, each wait the whole delay (the tests).
    explicit Reconnect(std::uint64_t seed = 0) : jitter_(seed != 0), rng_(seed) {}

    // Schedules the next attempt after the current delay, and doubles the delay.
    void schedule(std::int64_t now_ms, Why why);
    // Logged in: the next loss waits kFirstDelay again.
    void succeeded() { delay_ = kFirstDelay; }
    // The attempt is being made now.
    void started() { why_ = Why::None; }

    bool pending() const { return why_ != Why::None; }
    Why why() const { return why_; }
    bool due(std::int64_t now_ms) const { return pending() && now_ms >= at_ms_; }
    // Whole seconds left, rounded up (what the status bar counts down).
    int seconds_left(std::int64_t now_ms) const;
    // The wait the last schedule() set, in whole seconds (rounded up).
    int last_delay() const { return last_; }
    // How long poll() may sleep: until the next whole second of the countdown
    // (`countdown`) or until the attempt; -1 when nothing is scheduled.
    int wait_ms(std::int64_t now_ms, bool countdown) const;

private:
    Why why_ = Why::None;
    std::int64_t at_ms_ = 0;
    int delay_ = kFirstDelay;
    int last_ = 0;
    bool jitter_;
    std::mt19937_64 rng_;
};

}  // namespace chat::tui
