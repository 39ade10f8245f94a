// Measuring how this terminal draws each kind of cluster: one sample of each
// is printed at the top left of the screen (about to be cleared) and followed
// by a cursor position request (CPR, ESC [ 6 n); the column in each answer
// is the sample's width, and the rule that gives that width becomes the
// kind's rule. Pure: the client writes probe_request() and feeds the bytes
// it reads back (terminal.hpp does the I/O).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tui/width.hpp"

namespace chat::tui {

struct ProbeSample {
    ClusterKind kind;
    std::u32string text;
};

// One sample per kind, each chosen so that its rules give different widths
// where terminals differ (❤️‍🔥: cluster 2, joined 1, per code point 3).
const std::vector<ProbeSample>& probe_samples();

// Bytes to write: each sample after a cursor-home, then a CPR; then the row cleared.
std::string probe_request();

// Takes CPR answers (ESC [ row ; col R) out of `in`, in order, as widths (col - 1);
// everything else (keys typed meanwhile) is appended to `rest`. A partial answer at
// the end stays in `in` for the next call.
std::vector<int> take_cpr_answers(std::string& in, std::string& rest);

// The model from the widths measured (one per sample, in order; fewer when the
// terminal stopped answering): each kind gets the first of Cluster, PerCodePoint,
// Joined whose width matches its sample's, else Fixed; kinds without an
// answer are per code point (wcwidth).
WidthModel model_from_probe(const std::vector<int>& widths, bool utf8);

// CHAT_WIDTHS: "probe" (or unset: measure), "wcwidth", "tmux", "cluster". Empty
// optional for "probe"; an unknown name is also measured, with `error` set.
std::optional<WidthModel> widths_from_name(std::string_view name, bool utf8, std::string& error);

}  // namespace chat::tui
