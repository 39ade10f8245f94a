// LineFramer fed the same stream in random chunks must report exactly the
// events a plain reference splitter computes from the whole stream.
//
// Input: byte 0 picks max_line (1..64), then each chunk is one length byte
// (0..31) followed by that many stream bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/framer.hpp"

using chat::proto::LineFramer;

namespace {

struct Ev {
    LineFramer::Kind kind;
    std::string line;
    bool operator==(const Ev&) const = default;
};

// What the contract says: a line is at most max_line bytes before its LF (a
// CR included), a CR right before the LF is dropped; a longer one is reported
// once and discarded up to its LF, whose arrival is reported too.
std::vector<Ev> reference(std::string_view s, std::size_t max_line) {
    std::vector<Ev> out;
    std::size_t start = 0;
    while (start < s.size()) {
        std::size_t lf = s.find('\n', start);
        std::size_t len = (lf == std::string_view::npos ? s.size() : lf) - start;
        if (len > max_line) {
            out.push_back({LineFramer::Kind::TooLong, {}});
            if (lf != std::string_view::npos) out.push_back({LineFramer::Kind::EndOfLong, {}});
        } else if (lf != std::string_view::npos) {
            std::string_view line = s.substr(start, len);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            out.push_back({LineFramer::Kind::Line, std::string(line)});
        }
        if (lf == std::string_view::npos) break;
        start = lf + 1;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    chat::fuzz::Bytes in(data, size);
    const std::size_t max_line = 1 + in.u8() % 64;
    LineFramer framer(max_line);
    std::string stream, pending;
    std::vector<Ev> got;
    while (!in.empty()) {
        std::string_view chunk = in.take(in.u8() % 32);
        stream.append(chunk);
        pending.append(chunk);
        const std::size_t budget = pending.size() + 2;  // every event but NeedMore consumes a byte
        for (std::size_t guard = 0;; ++guard) {
            FUZZ_CHECK(guard <= budget, "framer makes no progress");
            auto ev = framer.next(pending);
            FUZZ_CHECK(ev.consumed <= pending.size(), "consumed %zu of %zu", ev.consumed, pending.size());
            if (ev.kind == LineFramer::Kind::Line) {
                FUZZ_CHECK(chat::fuzz::inside(ev.line, pending), "line view outside the data");
                FUZZ_CHECK(ev.line.size() <= max_line, "line of %zu bytes past max %zu", ev.line.size(), max_line);
                FUZZ_CHECK(ev.line.find('\n') == std::string_view::npos, "LF inside a line");
                got.push_back({ev.kind, std::string(ev.line)});
            } else if (ev.kind != LineFramer::Kind::NeedMore) {
                got.push_back({ev.kind, {}});
            }
            pending.erase(0, ev.consumed);
            if (ev.kind == LineFramer::Kind::NeedMore) {
                // What is kept is the start of a line that may still fit: no LF, not past the limit.
                if (!framer.discarding()) {
                    FUZZ_CHECK(pending.find('\n') == std::string::npos, "NeedMore with a complete line kept");
                    FUZZ_CHECK(pending.size() <= max_line, "NeedMore keeps %zu bytes > max %zu", pending.size(),
                               max_line);
                } else {
                    FUZZ_CHECK(pending.empty(), "discarding but %zu bytes kept", pending.size());
                }
                break;
            }
        }
    }
    std::vector<Ev> want = reference(stream, max_line);
    FUZZ_CHECK(got.size() == want.size(), "%zu events, reference %zu", got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        FUZZ_CHECK(got[i] == want[i], "event %zu differs (kind %d vs %d)", i, static_cast<int>(got[i].kind),
                   static_cast<int>(want[i].kind));
    return 0;
}
