// The text of every load-test message: who sent it, its sequence number and
// when (CLOCK_MONOTONIC ns, comparable across processes on one machine), then
// padding to the requested size. "@run:sender:seq:ns;xxxx..."
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::load {

struct Payload {
    std::string_view run;  // the sending process's run tag (views into the decoded text)
    std::uint32_t sender = 0;
    std::uint64_t seq = 0;
    std::uint64_t sent_ns = 0;
};

// Appends the payload to `out`, padded with 'x' to `size` bytes when the
// header is shorter. `run` must be 1..16 of [A-Za-z0-9_].
void encode_payload(std::string& out, std::string_view run, std::uint32_t sender, std::uint64_t seq,
                    std::uint64_t sent_ns, std::size_t size);

// Decodes a payload; nullopt for any text that is not one (other people's chat).
std::optional<Payload> decode_payload(std::string_view text) noexcept;

bool is_valid_run_tag(std::string_view run) noexcept;

}  // namespace chat::load
