#include "load/payload.hpp"

#include <charconv>

namespace chat::load {

bool is_valid_run_tag(std::string_view run) noexcept {
    if (run.empty() || run.size() > 16) return false;
    for (char c : run) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

void encode_payload(std::string& out, std::string_view run, std::uint32_t sender, std::uint64_t seq,
                    std::uint64_t sent_ns, std::size_t size) {
    const std::size_t start = out.size();
    char num[24];
    out += '@';
    out += run;
    for (std::uint64_t v : {std::uint64_t{sender}, seq, sent_ns}) {
        out += ':';
        auto r = std::to_chars(num, num + sizeof num, v);
        out.append(num, r.ptr);
    }
    out += ';';
    const std::size_t len = out.size() - start;
    if (len < size) out.append(size - len, 'x');
}

namespace {

bool take_number(std::string_view& s, char end, std::uint64_t& v) noexcept {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr == s.data() || r.ptr == s.data() + s.size() || *r.ptr != end)
        return false;
    s.remove_prefix(static_cast<std::size_t>(r.ptr - s.data()) + 1);
    return true;
}

}  // namespace

std::optional<Payload> decode_payload(std::string_view text) noexcept {
    if (text.size() < 2 || text[0] != '@') return std::nullopt;
    text.remove_prefix(1);
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    Payload p;
    p.run = text.substr(0, colon);
    if (!is_valid_run_tag(p.run)) return std::nullopt;
    text.remove_prefix(colon + 1);
    std::uint64_t sender = 0;
    if (!take_number(text, ':', sender) || sender > UINT32_MAX) return std::nullopt;
    p.sender = static_cast<std::uint32_t>(sender);
    if (!take_number(text, ':', p.seq) || !take_number(text, ';', p.sent_ns)) return std::nullopt;
    return p;
}

}  // namespace chat::load
