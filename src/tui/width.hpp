// Terminal columns: of code points (the one place that asks wcwidth), and of
// grapheme clusters (what a person sees as one character: UAX #29, split by
// utf8proc), whose width depends on the terminal. Terminals disagree on
// emoji sequences (tmux 3.3 draws a ZWJ family in 2 cells but a skin-toned
// thumb in 4; foot, WezTerm and kitty draw both in 2), so the width of each
// kind of cluster follows a rule, and the client measures at start which
// rule this terminal follows (width_probe.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::tui {

// Columns `cp` takes when drawn: wcwidth in a UTF-8 locale (2 for CJK and
// emoji, 0 for combining marks). Anything that is not printable, and every
// non-ASCII code point when the terminal is not UTF-8, is drawn as one '?'.
int cell_width(char32_t cp, bool utf8) noexcept;

// True when cell_width draws `cp` as itself rather than as '?'.
bool drawable(char32_t cp, bool utf8) noexcept;

// True when the current LC_CTYPE locale encodes text as UTF-8.
bool locale_is_utf8() noexcept;

// The kinds of cluster that terminals measure differently.
enum class ClusterKind : unsigned char {
    Narrow,     // one code point, one column (or '?')
    Wide,       // one code point of two columns: CJK, most emoji
    Combining,  // a base with marks after it (e + U+0301, Devanagari क + ि)
    Hangul,     // conjoining jamo (U+1100 + U+1161 + U+11A8)
    Zwj,        // emoji joined by U+200D (a family, ❤️‍🔥)
    Vs16,       // a base with U+FE0F, emoji presentation (❤️)
    Vs15,       // a base with U+FE0E, text presentation (☔︎)
    SkinTone,   // an emoji with a modifier U+1F3FB..U+1F3FF (👍🏽)
    Flag,       // a pair of regional indicators (🇦🇷)
    Keycap,     // a character, U+FE0F and U+20E3 (1️⃣)
};
inline constexpr std::size_t kClusterKinds = 10;
std::string_view kind_name(ClusterKind k) noexcept;

// How a terminal counts a kind of cluster.
enum class WidthRule : unsigned char {
    PerCodePoint,  // the sum of wcwidth of its code points (what a terminal without clusters does)
    Joined,        // per code point, but one after a U+200D is drawn onto the one before (tmux 3.3)
    Cluster,       // as one character: 2 for an emoji sequence, 1 with VS15, the base's width for marks
    Fixed,         // a measured number of columns that no rule explains
};
std::string_view rule_name(WidthRule r) noexcept;

ClusterKind classify(std::u32string_view cluster) noexcept;

// Where the cluster that starts at `i` ends (UAX #29 extended grapheme
// clusters). In a terminal that is not UTF-8 every code point is its own.
std::size_t cluster_end(std::u32string_view s, std::size_t i, bool utf8) noexcept;

class WidthModel {
public:
    struct Entry {
        WidthRule rule = WidthRule::PerCodePoint;
        int fixed = 1;  // for WidthRule::Fixed
    };

    explicit WidthModel(bool utf8 = true) : utf8_(utf8) {}
    static WidthModel per_code_point(bool utf8 = true) { return WidthModel(utf8); }
    // What tmux 3.3 does (measured on Debian 12).
    static WidthModel tmux_like();
    // Every emoji sequence as one wide character (foot, WezTerm, kitty).
    static WidthModel full_cluster();

    bool utf8() const noexcept { return utf8_; }
    void set_utf8(bool u) noexcept { utf8_ = u; }
    Entry entry(ClusterKind k) const noexcept { return rules_[static_cast<std::size_t>(k)]; }
    void set(ClusterKind k, WidthRule r, int fixed = 1) noexcept {
        rules_[static_cast<std::size_t>(k)] = Entry{r, fixed};
    }

    // Columns of one cluster (as cluster_end splits them; at least 1).
    int width(std::u32string_view cluster) const noexcept;
    // The same under a rule, whatever this model says: what the probe compares with.
    int width_by(WidthRule r, std::u32string_view cluster) const noexcept;

    // "ZWJ sequence: first character, VS16: cluster, ..." for the log.
    std::string describe() const;

private:
    bool utf8_;
    std::array<Entry, kClusterKinds> rules_{};
};

// The model the screen draws with: per-code-point until the client has
// measured its terminal (one process, one terminal, like the locale).
const WidthModel& text_widths() noexcept;
void set_text_widths(const WidthModel& m) noexcept;

// One cluster ready to draw: its UTF-8 bytes (only printable code points,
// or a single '?' for what cannot be drawn) and its columns.
struct Glyph {
    std::string text;
    int width = 1;
};
// UTF-8 `s` split into clusters measured by `m`. Invalid bytes and code
// points that cannot be drawn become '?' clusters of their own; so does a
// cluster that starts with a zero-width code point (a mark with no base).
// A cluster longer than kMaxClusterCodePoints keeps only its first ones.
inline constexpr std::size_t kMaxClusterCodePoints = 32;
std::vector<Glyph> glyphs(std::string_view s, const WidthModel& m);

// Columns of UTF-8 `s` drawn with the current model (`utf8` overriding its locale flag).
int text_width(std::string_view s, bool utf8);

}  // namespace chat::tui
