// The UTF-8 and control-character rules against a reference decoder written
// here from the definition (Unicode 15, table 3-7 as arithmetic): decode by
// the lead byte's bit pattern, then refuse overlong forms, surrogates and
// values past U+10FFFF by the value decoded, not by byte ranges.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "proto/names.hpp"
#include "proto/text.hpp"

namespace proto = chat::proto;

namespace {

// Decodes the whole string; false at the first ill-formed sequence.
bool ref_decode(std::string_view s, std::vector<char32_t>& cps) {
    cps.clear();
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::size_t len;
        char32_t v;
        if (b0 < 0x80) {
            len = 1, v = b0;
        } else if ((b0 & 0xE0) == 0xC0) {
            len = 2, v = b0 & 0x1F;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3, v = b0 & 0x0F;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4, v = b0 & 0x07;
        } else {
            return false;
        }
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            v = (v << 6) | (b & 0x3F);
        }
        static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < kMin[len] || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return false;
        cps.push_back(v);
        i += len;
    }
    return true;
}

bool ref_control(char32_t c) { return (c < 0x20 && c != U'\t') || c == 0x7F || (c >= 0x80 && c <= 0x9F); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    std::vector<char32_t> cps;
    const bool valid = ref_decode(s, cps);
    bool clean = valid;
    if (valid)
        for (char32_t c : cps) clean = clean && !ref_control(c);

    FUZZ_CHECK(proto::is_valid_utf8(s) == valid, "is_valid_utf8 says %d, reference %d", !valid, valid);
    FUZZ_CHECK(proto::is_clean_text(s) == clean, "is_clean_text says %d, reference %d", !clean, clean);

    // decode_utf8 walks the same code points, and encode_utf8 gives the bytes back.
    std::size_t i = 0, n = 0;
    std::string re;
    bool walked = true;
    while (i < s.size()) {
        std::size_t before = i;
        char32_t cp = 0;
        bool ok = proto::decode_utf8(s, i, cp);
        FUZZ_CHECK(i > before, "decode_utf8 did not advance");
        if (!ok) {
            FUZZ_CHECK(i == before + 1, "a failed decode advances one byte");
            walked = false;
            continue;
        }
        if (valid) FUZZ_CHECK(n < cps.size() && cps[n] == cp, "code point %zu differs", n);
        proto::encode_utf8(cp, re);
        if (walked) FUZZ_CHECK(re.size() == i, "encode_utf8 of U+%X is not the bytes decoded", static_cast<unsigned>(cp));
        ++n;
    }
    FUZZ_CHECK(walked == valid, "decode_utf8 walk disagrees with validity");
    if (valid) {
        FUZZ_CHECK(n == cps.size(), "decoded %zu code points, reference %zu", n, cps.size());
        FUZZ_CHECK(proto::count_code_points(s) == cps.size(), "count_code_points");
    }

    // sanitize_text: what a client draws is always clean, TAB-free, and unchanged when it was printable.
    std::string safe = proto::sanitize_text(s);
    FUZZ_CHECK(proto::is_clean_text(safe), "sanitize_text output is not clean");
    FUZZ_CHECK(safe.find('\t') == std::string::npos, "sanitize_text keeps a TAB");
    if (clean && s.find('\t') == std::string_view::npos) FUZZ_CHECK(safe == s, "sanitize_text changed clean text");

    // Names are subsets of clean text.
    if (proto::is_valid_nick(s)) {
        FUZZ_CHECK(clean && proto::is_valid_status(s), "a valid nick must be clean text and a valid status");
        FUZZ_CHECK(cps.size() >= 1 && cps.size() <= proto::kMaxNameChars, "nick length %zu", cps.size());
        FUZZ_CHECK(proto::is_param(s), "a nick must be a server-line param");
        FUZZ_CHECK(proto::fold_nick(s).size() == s.size(), "folding changes the length");
    }
    if (proto::is_valid_status(s)) FUZZ_CHECK(clean && proto::is_param(s), "a status must be clean and a param");
    return 0;
}
