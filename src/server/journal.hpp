// The storage journal: an append-only file of storage events that could not
// reach the database yet. The storage thread appends whole spills and fsyncs
// once per spill; when the database is back it replays the file in order and
// then empties it. Replaying twice is harmless: every row has a unique id.
//
// Record format (all integers little-endian):
//   u32 payload length | u32 CRC-32 of the payload | payload
// payload: u8 kind (1 message, 2 session start, 3 session end, 4 status),
// then the fields of that event in declaration order, i64 for numbers and
// u32 length + bytes for strings. A record cut short by a crash, or one whose
// CRC does not match, ends the readable part of the file. The first append
// of a process cuts such a tail off, so later records stay readable.
//
// The dead-letter file (<journal>.dead) holds events the database refused
// for good, in the same record framing. Its payload: u8 kind 5, i64 unix
// time of the refusal, u32 length + the database's error text, then the
// event's journal payload (kind and fields as above).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/storage.hpp"

namespace chat::server {

std::uint32_t crc32(std::string_view data) noexcept;

// Appends one record for `ev` to `out`.
void journal_encode(const StorageEvent& ev, std::string& out);

struct JournalDecoded {
    std::vector<StorageEvent> events;
    std::size_t consumed = 0;  // bytes of whole, valid records
    bool damaged = false;      // something after `consumed` could not be read
};
JournalDecoded journal_decode(std::string_view data);

inline constexpr std::uint8_t kDeadLetterKind = 5;
struct DeadLetter {
    UnixTime time = 0;
    std::string error;
    StorageEvent event;
};
// Appends one dead-letter record to `out`.
void dead_letter_encode(const StorageEvent& ev, std::string_view error, UnixTime time, std::string& out);
struct DeadLetterDecoded {
    std::vector<DeadLetter> letters;
    std::size_t consumed = 0;
    bool damaged = false;
};
DeadLetterDecoded dead_letter_decode(std::string_view data);

class Journal {
public:
    explicit Journal(std::string path) : path_(std::move(path)) {}
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    const std::string& path() const { return path_; }

    // Appends the events in one write and fsyncs. Creates the file (and its
    // parent directory) on first use. Returns false with `error` set when the
    // events are not safely on disk.
    bool append(std::span<const StorageEvent> events, std::string& error);
    // The same for one dead-letter record (this Journal names the dead-letter file).
    bool append_dead_letter(const StorageEvent& ev, std::string_view db_error, UnixTime time, std::string& error);
    // True when the file exists and holds at least one byte.
    bool has_data() const;
    // Reads every readable event; a damaged tail is reported through `damaged`.
    bool read_all(JournalDecoded& out, std::string& error) const;
    // Empties the file (after a successful replay) and fsyncs.
    bool clear(std::string& error);

private:
    bool append_bytes(std::string_view records, std::string& error);
    bool read_bytes(std::string& data, std::string& error) const;

    std::string path_;
    bool tail_checked_ = false;
};

}  // namespace chat::server
