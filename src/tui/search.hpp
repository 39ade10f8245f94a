// /buscar (/search) helpers: what an entry offers a search, where a text
// occurs (ASCII case ignored), the pieces of a line to highlight. Pure; the
// model keeps the hits (Model::search).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tui/model.hpp"

namespace chat::tui {

// What a search looks through in an entry: what the log shows after the time.
std::string searchable_text(const LogEntry& e);

// Where `needle` occurs in `hay`, ASCII case ignored: the start of each (not overlapping).
std::vector<std::size_t> find_all(std::string_view hay, std::string_view needle);

// The spans with every occurrence of `needle` split out as Style::Found (the time span is left alone).
std::vector<Span> mark_found(const std::vector<Span>& spans, std::string_view needle);

}  // namespace chat::tui
