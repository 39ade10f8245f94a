// Dates in the log: the line drawn where the day changes, in the user's
// language (LC_TIME: "miércoles 2 de diciembre de 2026" in Spanish,
// "Wednesday, December 2, 2026" in C and English), and the date a line
// from the history carries when it is from before today. Times are local.
#pragma once

#include <cstdint>
#include <string>

namespace chat::tui {

// The local day of unix time `t`, as a number that grows by one each day
// (year * 10000 + month * 100 + day); 0 if localtime fails.
int local_day(std::int64_t t);

// "--- Wednesday, December 2, 2026 ---" in the LC_TIME locale's words.
std::string day_change_text(std::int64_t t);

// "2026-12-01 " for a line from before `now`'s day; empty for one from today.
std::string date_prefix(std::int64_t t, std::int64_t now);

// The client's wall clock: unix seconds now, or, when CHAT_FAKE_TIME holds a
// time (2026-12-02T23:59:50Z), that time at start running on from there (tests).
std::int64_t client_now();

}  // namespace chat::tui
