// Grapheme clusters and their widths under the three models terminals follow:
// per code point (wcwidth, what a terminal without clusters does), tmux-like
// (tmux 3.3 on Debian 12: what follows a ZWJ drawn onto the character before,
// skin tones per code point) and full cluster (foot, WezTerm, kitty).
#include "tui/width.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "env.hpp"
#include "tui/editor.hpp"
#include "tui/layout.hpp"
#include "tui/width_probe.hpp"

using namespace chat::tui;

namespace {

// The model the screen uses, for one test.
struct UseWidths {
    WidthModel saved = text_widths();
    explicit UseWidths(const WidthModel& m) { set_text_widths(m); }
    ~UseWidths() { set_text_widths(saved); }
};

int width_of(std::string_view s, const WidthModel& m) {
    int w = 0;
    for (const Glyph& g : glyphs(s, m)) w += g.width;
    return w;
}

struct Case {
    const char* text;
    std::size_t clusters;
    int per_code_point, tmux, cluster;
};

// clang-format off
const Case kCases[] = {
    {"a", 1, 1, 1, 1},
    {"ab", 2, 2, 2, 2},
    {"ñ", 1, 1, 1, 1},                                   // precomposed
    {"n\u0303", 1, 1, 1, 1},                             // n + combining tilde
    {"o\u0301", 1, 1, 1, 1},
    {"e\u0301\u0302", 1, 1, 1, 1},                       // two marks on one base
    {"ñandú 😀", 7, 8, 8, 8},
    {"中", 1, 2, 2, 2},
    {"中文", 2, 4, 4, 4},
    {"日本語", 3, 6, 6, 6},
    {"😀", 1, 2, 2, 2},
    {"\U0001F468\u200D\U0001F469\u200D\U0001F467", 1, 6, 2, 2},                  // 👨‍👩‍👧
    {"\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466", 1, 8, 2, 2},  // 👨‍👩‍👧‍👦
    {"a\U0001F468\u200D\U0001F469\u200D\U0001F467b", 3, 8, 4, 4},
    {"\u2764\uFE0F\u200D\U0001F525", 1, 3, 1, 2},        // ❤️‍🔥: a narrow first character
    {"\U0001F469\U0001F3FD\u200D\U0001F4BB", 1, 6, 4, 2},  // 👩🏽‍💻: tmux joins at the ZWJ only
    {"\u2764\uFE0F", 1, 1, 1, 2},                        // ❤️
    {"\u2764\uFE0F\u2764\uFE0F", 2, 2, 2, 4},
    {"\u263A\uFE0F", 1, 1, 1, 2},                        // ☺️
    {"\u2764", 1, 1, 1, 1},                              // ❤ without a selector
    {"\u2614\uFE0E", 1, 2, 2, 1},                        // ☔︎ text presentation
    {"x\u2614\uFE0E", 2, 3, 3, 2},
    {"\U0001F44D\U0001F3FD", 1, 4, 4, 2},                // 👍🏽
    {"\U0001F44D\U0001F3FD\U0001F44D\U0001F3FD", 2, 8, 8, 4},
    {"\u261D\U0001F3FD", 1, 3, 3, 2},                    // ☝🏽: a narrow base
    {"\U0001F9D1\U0001F3FF", 1, 4, 4, 2},                // 🧑🏿
    {"\U0001F1E6\U0001F1F7", 1, 2, 2, 2},                // 🇦🇷
    {"\U0001F1EA\U0001F1F8\U0001F1E6\U0001F1F7", 2, 4, 4, 4},  // 🇪🇸🇦🇷: two flags, not three
    {"\U0001F1E6", 1, 1, 1, 1},                          // a lone regional indicator
    {"\U0001F1E6\U0001F1F7\U0001F1EA", 2, 3, 3, 3},      // a flag and a lone one
    {"1\uFE0F\u20E3", 1, 1, 1, 2},                       // 1️⃣
    {"#\uFE0F\u20E3", 1, 1, 1, 2},                       // #️⃣
    {"1\uFE0F\u20E32\uFE0F\u20E3", 2, 2, 2, 4},
    {"\u0915\u093F", 1, 2, 2, 1},                        // कि: a spacing mark
    {"\u1100\u1161\u11A8", 1, 2, 2, 2},                  // 각 from conjoining jamo
    {"\uD55C", 1, 2, 2, 2},                              // 한 precomposed
    {"\u1100", 1, 2, 2, 2},                              // a lone leading jamo
    {"\u0301", 1, 1, 1, 1},                              // a mark with no base: '?'
    {"\u200D", 1, 1, 1, 1},                              // a lone joiner: '?'
    {"a\u200D", 1, 1, 1, 1},                             // a joiner at the end stays on its base
    {"\x1b", 1, 1, 1, 1},                                // '?'
    {"\xff", 1, 1, 1, 1},                                // invalid UTF-8: '?'
    {"a\x1b[31m", 6, 6, 6, 6},                           // '?' then the rest as plain text
};
// clang-format on

}  // namespace

TEST_CASE("width table: clusters and columns under the three models") {
    test_env();
    static_assert(sizeof kCases / sizeof kCases[0] >= 40);
    const WidthModel models[] = {WidthModel::per_code_point(), WidthModel::tmux_like(),
                                 WidthModel::full_cluster()};
    for (const Case& c : kCases) {
        CAPTURE(c.text);
        for (const WidthModel& m : models) CHECK(glyphs(c.text, m).size() == c.clusters);
        CHECK(width_of(c.text, models[0]) == c.per_code_point);
        CHECK(width_of(c.text, models[1]) == c.tmux);
        CHECK(width_of(c.text, models[2]) == c.cluster);
    }
}

TEST_CASE("every cluster reaches the screen whole: the joiners and selectors stay") {
    test_env();
    const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
    const auto g = glyphs("hola " + family + " \u2764\uFE0F", WidthModel::tmux_like());
    REQUIRE(g.size() == 8);
    CHECK(g[5].text == family);
    CHECK(g[7].text == "\u2764\uFE0F");
    // A terminal that is not UTF-8: every code point a '?' of its own.
    const auto c = glyphs(family, WidthModel::per_code_point(false));
    CHECK(c.size() == 5);
    for (const Glyph& x : c) CHECK(x.text == "?");
}

TEST_CASE("a cluster is cut after kMaxClusterCodePoints code points") {
    test_env();
    std::string zalgo = "a";
    for (int i = 0; i < 100; ++i) zalgo += "\u0301";
    const auto g = glyphs(zalgo, WidthModel::full_cluster());
    REQUIRE(g.size() == 1);
    CHECK(g[0].text.size() == 1 + 2 * (kMaxClusterCodePoints - 1));
    CHECK(g[0].width == 1);
}

TEST_CASE("kinds of cluster") {
    test_env();
    CHECK(classify(U"a") == ClusterKind::Narrow);
    CHECK(classify(U"中") == ClusterKind::Wide);
    CHECK(classify(U"e\u0301") == ClusterKind::Combining);
    CHECK(classify(U"\u1100\u1161") == ClusterKind::Hangul);
    CHECK(classify(U"\U0001F468\u200D\U0001F469") == ClusterKind::Zwj);
    CHECK(classify(U"\u2764\uFE0F") == ClusterKind::Vs16);
    CHECK(classify(U"\u2614\uFE0E") == ClusterKind::Vs15);
    CHECK(classify(U"\U0001F44D\U0001F3FD") == ClusterKind::SkinTone);
    CHECK(classify(U"\U0001F1E6\U0001F1F7") == ClusterKind::Flag);
    CHECK(classify(U"1\uFE0F\u20E3") == ClusterKind::Keycap);
    // Each probe sample is of its own kind.
    for (const ProbeSample& s : probe_samples()) CHECK(classify(s.text) == s.kind);
}

TEST_CASE("CPR answers: in order, split reads, keys typed meanwhile kept") {
    std::string in = "\x1b[1;3R\x1b[1;2R", rest;
    CHECK(take_cpr_answers(in, rest) == std::vector<int>{2, 1});
    CHECK(in.empty());
    CHECK(rest.empty());
    in = "a\x1b[12;5Rb\x1b[A\x1b[1;";
    CHECK(take_cpr_answers(in, rest) == std::vector<int>{4});
    CHECK(rest == "ab\x1b[A");
    CHECK(in == "\x1b[1;");  // the rest of that answer comes in the next read
    in += "4R";
    rest.clear();
    CHECK(take_cpr_answers(in, rest) == std::vector<int>{3});
    CHECK(rest.empty());
}

TEST_CASE("the probe's answers choose each kind's rule") {
    test_env();
    // What tmux 3.3 answers (measured): ❤️‍🔥 1, ❤️ 1, ☔︎ 2, ☝🏽 3, 🇦🇷 2, 1️⃣ 1, कि 2, 각 2,
    // 中 2.
    const WidthModel tmux = model_from_probe({1, 1, 2, 3, 2, 1, 2, 2, 2}, true);
    CHECK(tmux.entry(ClusterKind::Zwj).rule == WidthRule::Joined);
    CHECK(tmux.entry(ClusterKind::SkinTone).rule == WidthRule::PerCodePoint);
    // What a terminal that draws every sequence as one character answers.
    const WidthModel full = model_from_probe({2, 2, 1, 2, 2, 2, 1, 2, 2}, true);
    CHECK(full.entry(ClusterKind::Zwj).rule == WidthRule::Cluster);
    for (const Case& c : kCases) {
        CAPTURE(c.text);
        CHECK(width_of(c.text, tmux) == c.tmux);
        CHECK(width_of(c.text, full) == c.cluster);
    }
    // No answer: per code point (wcwidth); a width no rule explains is kept as measured.
    const WidthModel none = model_from_probe({}, true);
    for (const Case& c : kCases) CHECK(width_of(c.text, none) == c.per_code_point);
    const WidthModel odd = model_from_probe({5}, true);
    CHECK(odd.entry(ClusterKind::Zwj).rule == WidthRule::Fixed);
    CHECK(width_of("\U0001F468\u200D\U0001F469", odd) == 5);
    std::string error;
    CHECK_FALSE(widths_from_name("probe", true, error).has_value());
    CHECK(widths_from_name("tmux", true, error).has_value());
    CHECK(error.empty());
    CHECK_FALSE(widths_from_name("bogus", true, error).has_value());
    CHECK_FALSE(error.empty());
}

TEST_CASE("the editor moves and erases by cluster, columns by the terminal's model") {
    test_env();
    const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
    for (const WidthModel& m :
         {WidthModel::per_code_point(), WidthModel::tmux_like(), WidthModel::full_cluster()}) {
        UseWidths use(m);
        LineEditor ed;
        ed.insert("a" + family + "b");
        const int fam = m.width(U"\U0001F468\u200D\U0001F469\u200D\U0001F467");
        CHECK(ed.cursor_column() == 2 + fam);
        ed.press(EditKey::Left);  // before b
        ed.press(EditKey::Left);  // before the whole family
        CHECK(ed.cursor_byte() == 1);
        CHECK(ed.cursor_column() == 1);
        ed.press(EditKey::Delete);
        CHECK(ed.text() == "ab");
        ed.set("x" + family);
        ed.press(EditKey::Backspace);
        CHECK(ed.text() == "x");
    }
    UseWidths use(WidthModel::tmux_like());
    LineEditor ed;
    ed.insert("\U0001F1EA\U0001F1F8\U0001F1E6\U0001F1F7");  // 🇪🇸🇦🇷
    ed.press(EditKey::Left);
    CHECK(ed.cursor_byte() == 8);  // between the flags, not inside one
    ed.press(EditKey::Backspace);
    CHECK(ed.text() == "\U0001F1E6\U0001F1F7");
    // A joiner typed before an emoji joins them; the cursor goes after the new cluster.
    ed.set("\U0001F468\U0001F469", 4);
    ed.insert(U'\u200D');
    CHECK(ed.cursor_byte() == ed.text().size());
    CHECK(ed.width() == 2);
    // The field never cuts a cluster: a view of 5 columns holds two families of 2.
    ed.set(family + family + family + family, 0);
    const auto v = ed.view(5);
    CHECK(v.text == family + family);
}

TEST_CASE("wrapping keeps clusters whole and rows within the columns") {
    test_env();
    const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
    for (const WidthModel& m :
         {WidthModel::tmux_like(), WidthModel::full_cluster(), WidthModel::per_code_point()}) {
        UseWidths use(m);
        const auto rows = wrap_spans(
            {{family + family + family + " \U0001F44D\U0001F3FD ok", Style::Text, {}}}, 7, 0, true);
        for (const Row& r : rows) {
            CHECK(row_width(r) <= 7);
            for (const Cell& c : r) CHECK((c.text == family || c.text.find("\u200D") == std::string::npos));
        }
    }
}
