#include "proto/password.hpp"

#include "proto/text.hpp"

namespace chat::proto {

bool is_valid_password(std::string_view password) noexcept {
    if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes) return false;
    if (password.front() == ' ') return false;
    return is_clean_text(password);
}

std::string_view password_argument(std::string_view line) noexcept {
    // Same splitting as parse_command: the word runs from after the '/' to the
    // first space; only U+0020 separates.
    const std::size_t word_end = line.find(' ');
    if (word_end == std::string_view::npos) return {};
    const std::size_t start = line.find_first_not_of(' ', word_end);
    if (start == std::string_view::npos) return {};
    return line.substr(start);
}

}  // namespace chat::proto
