// Pasted text (bracketed paste: the terminal wraps it in ESC [ 200 ~ ...
// ESC [ 201 ~) and sending a paste of several lines at a pace the server's
// flow control takes without stalling. Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tui {

// Spaces a pasted TAB becomes: a TAB is text in a paste (never completion),
// and the server would show a TAB in a message as U+FFFD.
inline constexpr int kPasteTabSpaces = 4;

// What a paste inserts into the input line: CR LF and lone CR (what terminals
// send for a newline) become LF, a TAB becomes spaces, other control
// characters are dropped. The editor keeps the LFs (drawn as ↵).
std::u32string normalize_paste(std::u32string_view pasted);

// The lines an input line holding LFs sends: split at each LF; blank lines
// (which the server ignores) are left out.
std::vector<std::string> paste_lines(std::string_view text);

// A token bucket: `rate` lines a second after a burst of `burst`. The client
// uses half the server's default budget (20 lines/s, bursts of 40), so the
// server never has to stop reading it and lines typed meanwhile get through.
class Pacer {
public:
    static constexpr int kRate = 10;
    static constexpr int kBurst = 20;
    explicit Pacer(int rate = kRate, int burst = kBurst)
        : rate_(rate), burst_(burst), tokens_ms_(burst * 1000) {}

    // True (and one line's budget spent) when a line may go now.
    bool take(std::int64_t now_ms);
    // Milliseconds until take() can succeed (0: now).
    std::int64_t wait_ms(std::int64_t now_ms);

private:
    void refill(std::int64_t now_ms);

    int rate_, burst_;
    std::int64_t tokens_ms_;  // the budget in line-milliseconds: 1000 per line
    std::int64_t last_ms_ = -1;
};

}  // namespace chat::tui
