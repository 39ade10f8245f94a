// Server lines: append_line -> parse_server_line gives back the verb, the
// params and the trailing text; and parse_server_line on any untrusted line
// (what a client reads) returns only views that obey the grammar.
//
// Input: byte 0 bit 0 says whether a trailing text is present; the rest is
// split on NUL into the verb, the params and (last) the trailing text.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/server_line.hpp"

namespace proto = chat::proto;
using chat::fuzz::inside;

namespace {

// Makes a piece usable as a verb or param: no SP, CR, LF, not beginning with ':'.
std::string as_param(std::string_view s) {
    std::string p;
    for (char ch : s)
        if (ch != ' ' && ch != '\r' && ch != '\n') p.push_back(ch);
    while (!p.empty() && p.front() == ':') p.erase(0, 1);
    return p;
}

void check_untrusted(std::string_view line) {
    proto::ServerLine sl;
    bool ok = proto::parse_server_line(line, sl);
    std::string_view body = line;
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    if (!ok) {
        FUZZ_CHECK(body.find_first_not_of(' ') == std::string_view::npos, "refused a line with a verb");
        return;
    }
    FUZZ_CHECK(!sl.verb.empty() && inside(sl.verb, body), "verb");
    FUZZ_CHECK(sl.verb.find(' ') == std::string_view::npos, "verb with a space");
    for (auto p : sl.params) {
        FUZZ_CHECK(!p.empty() && inside(p, body) && p.find(' ') == std::string_view::npos && p.front() != ':',
                   "param breaks the grammar");
    }
    if (sl.has_trailing) {
        FUZZ_CHECK(inside(sl.trailing, body), "trailing outside the line");
        FUZZ_CHECK(sl.trailing.data() + sl.trailing.size() == body.data() + body.size(), "trailing cut short");
    } else {
        FUZZ_CHECK(sl.trailing.empty(), "trailing text without the flag");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
    check_untrusted(all);

    const bool with_trailing = data[0] & 1;
    std::vector<std::string_view> pieces;
    for (std::size_t start = 0;;) {
        std::size_t nul = all.find('\0', start);
        pieces.push_back(all.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
        if (nul == std::string_view::npos) break;
        start = nul + 1;
    }
    std::string trailing;
    if (with_trailing) {
        for (char ch : pieces.back())
            if (ch != '\n') trailing.push_back(ch);
        // A CR at the very end is dropped by the parser (CRLF tolerance): not a round trip.
        while (!trailing.empty() && trailing.back() == '\r') trailing.pop_back();
        pieces.pop_back();
    }
    if (pieces.empty()) return 0;
    std::string verb = as_param(pieces[0]);
    if (verb.empty()) return 0;
    std::vector<std::string> params;
    for (std::size_t i = 1; i < pieces.size() && params.size() < 16; ++i) {
        std::string p = as_param(pieces[i]);
        if (!p.empty()) params.push_back(std::move(p));
    }
    // append_line takes an initializer_list; build the line in steps of at most 4 params.
    std::string out;
    std::vector<std::string_view> views(params.begin(), params.end());
    auto pv = [&](std::size_t i) { return i < views.size() ? views[i] : std::string_view{}; };
    std::size_t np = views.size() > 4 ? 4 : views.size();
    switch (np) {
        case 0:
            with_trailing ? proto::append_line(out, verb, {}, trailing) : proto::append_line(out, verb, {});
            break;
        case 1:
            with_trailing ? proto::append_line(out, verb, {pv(0)}, trailing) : proto::append_line(out, verb, {pv(0)});
            break;
        case 2:
            with_trailing ? proto::append_line(out, verb, {pv(0), pv(1)}, trailing)
                          : proto::append_line(out, verb, {pv(0), pv(1)});
            break;
        case 3:
            with_trailing ? proto::append_line(out, verb, {pv(0), pv(1), pv(2)}, trailing)
                          : proto::append_line(out, verb, {pv(0), pv(1), pv(2)});
            break;
        default:
            with_trailing ? proto::append_line(out, verb, {pv(0), pv(1), pv(2), pv(3)}, trailing)
                          : proto::append_line(out, verb, {pv(0), pv(1), pv(2), pv(3)});
            break;
    }
    FUZZ_CHECK(!out.empty() && out.back() == '\n' && out.find('\n') == out.size() - 1, "one line, one LF");
    proto::ServerLine sl;
    std::string_view line(out.data(), out.size() - 1);
    FUZZ_CHECK(proto::parse_server_line(line, sl), "parse refused a formatted line");
    FUZZ_CHECK(sl.verb == verb, "verb changed");
    FUZZ_CHECK(sl.params.size() == np, "%zu params, formatted %zu", sl.params.size(), np);
    for (std::size_t i = 0; i < np; ++i) FUZZ_CHECK(sl.params[i] == views[i], "param %zu changed", i);
    FUZZ_CHECK(sl.has_trailing == with_trailing, "trailing flag changed");
    FUZZ_CHECK(sl.trailing == std::string_view(trailing), "trailing changed");
    return 0;
}
