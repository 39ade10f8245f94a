// Small string helpers shared by the client's files.
#pragma once

#include <string>
#include <string_view>

namespace chat::tui {

// Concatenation by append. Besides saving temporaries, it sidesteps GCC 12's
// false -Wrestrict on `"literal" + std::string`.
template <class... T>
std::string cat(const T&... parts) {
    std::string s;
    (s.append(std::string_view(parts)), ...);
    return s;
}

}  // namespace chat::tui
