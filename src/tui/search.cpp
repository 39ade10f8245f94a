#include "tui/search.hpp"

#include "proto/names.hpp"

namespace chat::tui {

std::string searchable_text(const LogEntry& e) {
    std::string out;
    const auto spans = format_entry(e, false);
    for (std::size_t i = 1; i < spans.size(); ++i) out += spans[i].text;
    return out;
}

std::vector<std::size_t> find_all(std::string_view hay, std::string_view needle) {
    std::vector<std::size_t> out;
    if (needle.empty()) return out;
    const std::string h = proto::fold_nick(hay), n = proto::fold_nick(needle);
    for (std::size_t p = h.find(n); p != std::string::npos; p = h.find(n, p + n.size())) out.push_back(p);
    return out;
}

std::vector<Span> mark_found(const std::vector<Span>& spans, std::string_view needle) {
    std::vector<Span> out;
    for (std::size_t i = 0; i < spans.size(); ++i) {
        const Span& s = spans[i];
        const auto at = i == 0 ? std::vector<std::size_t>{} : find_all(s.text, needle);
        std::size_t from = 0;
        for (std::size_t p : at) {
            if (p > from) out.push_back({s.text.substr(from, p - from), s.style, s.nick});
            out.push_back({s.text.substr(p, needle.size()), Style::Found, s.nick});
            from = p + needle.size();
        }
        if (from < s.text.size() || at.empty()) out.push_back({s.text.substr(from), s.style, s.nick});
    }
    return out;
}

}  // namespace chat::tui
