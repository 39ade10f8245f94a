#include "server/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace chat::server {
namespace {

constexpr std::uint32_t kMaxRecord = 64u << 20;  // far above any event; guards against a garbage length

enum Kind : std::uint8_t { kMessage = 1, kSessionStart = 2, kSessionEnd = 3, kStatus = 4 };

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto kCrcTable = make_crc_table();

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_i64(std::string& out, std::int64_t value) {
    auto v = static_cast<std::uint64_t>(value);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_str(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

struct Reader {
    std::string_view in;
    bool ok = true;

    std::uint64_t take(int bytes) {
        if (in.size() < static_cast<std::size_t>(bytes)) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
        in.remove_prefix(static_cast<std::size_t>(bytes));
        return v;
    }
    std::uint32_t u32() { return static_cast<std::uint32_t>(take(4)); }
    std::int64_t i64() { return static_cast<std::int64_t>(take(8)); }
    std::string str() {
        std::uint32_t n = u32();
        if (!ok || in.size() < n) {
            ok = false;
            return {};
        }
        std::string s(in.substr(0, n));
        in.remove_prefix(n);
        return s;
    }
};

bool decode_payload(std::string_view payload, StorageEvent& out) {
    if (payload.empty()) return false;
    Reader r{payload.substr(1)};
    switch (static_cast<std::uint8_t>(payload[0])) {
        case kMessage: {
            MessageEvent e{};
            e.id = r.i64();
            e.time = r.i64();
            e.from = r.i64();
            e.to = r.i64();
            e.body = r.str();
            out = std::move(e);
            break;
        }
        case kSessionStart: {
            SessionStartEvent e{};
            e.session = r.i64();
            e.user = r.i64();
            e.time = r.i64();
            e.address = r.str();
            out = std::move(e);
            break;
        }
        case kSessionEnd: {
            SessionEndEvent e{};
            e.session = r.i64();
            e.user = r.i64();
            e.time = r.i64();
            e.reason = r.str();
            out = std::move(e);
            break;
        }
        case kStatus: {
            StatusEvent e{};
            e.user = r.i64();
            e.status = r.str();
            out = std::move(e);
            break;
        }
        default:
            return false;
    }
    return r.ok && r.in.empty();
}

// Owns a file descriptor for the length of one journal operation.
class FileFd {
public:
    explicit FileFd(int fd) : fd_(fd) {}
    FileFd(const FileFd&) = delete;
    FileFd& operator=(const FileFd&) = delete;
    ~FileFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    bool close_checked() {
        int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }

private:
    int fd_;
};

std::string errno_text(const char* what, const std::string& path) {
    return std::string(what) + " " + path + ": " + std::strerror(errno);
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Makes a newly created file's directory entry durable too.
void sync_dir(const std::string& dir) {
    FileFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() >= 0) ::fsync(d.get());
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::uint32_t crc32(std::string_view data) noexcept {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

namespace {

void encode_payload(const StorageEvent& ev, std::string& p) {
    std::visit(
        [&p](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, MessageEvent>) {
                p.push_back(static_cast<char>(kMessage));
                put_i64(p, e.id);
                put_i64(p, e.time);
                put_i64(p, e.from);
                put_i64(p, e.to);
                put_str(p, e.body);
            } else if constexpr (std::is_same_v<T, SessionStartEvent>) {
                p.push_back(static_cast<char>(kSessionStart));
                put_i64(p, e.session);
                put_i64(p, e.user);
                put_i64(p, e.time);
                put_str(p, e.address);
            } else if constexpr (std::is_same_v<T, SessionEndEvent>) {
                p.push_back(static_cast<char>(kSessionEnd));
                put_i64(p, e.session);
                put_i64(p, e.user);
                put_i64(p, e.time);
                put_str(p, e.reason);
            } else {
                static_assert(std::is_same_v<T, StatusEvent>);
                p.push_back(static_cast<char>(kStatus));
                put_i64(p, e.user);
                put_str(p, e.status);
            }
        },
        ev);
}

void frame(std::string_view payload, std::string& out) {
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, crc32(payload));
    out.append(payload);
}

// Walks whole records with a matching CRC; returns the bytes they take.
template <typename F>
std::size_t for_each_record(std::string_view data, F&& f) {
    std::size_t consumed = 0;
    std::string_view rest = data;
    while (!rest.empty()) {
        Reader r{rest};
        std::uint32_t len = r.u32();
        std::uint32_t crc = r.u32();
        if (!r.ok || len > kMaxRecord || r.in.size() < len) break;
        std::string_view payload = r.in.substr(0, len);
        if (crc32(payload) != crc || !f(payload)) break;
        rest.remove_prefix(8 + static_cast<std::size_t>(len));
        consumed = data.size() - rest.size();
    }
    return consumed;
}

}  // namespace

void journal_encode(const StorageEvent& ev, std::string& out) {
    std::string p;
    encode_payload(ev, p);
    frame(p, out);
}

void dead_letter_encode(const StorageEvent& ev, std::string_view error, UnixTime time, std::string& out) {
    std::string p;
    p.push_back(static_cast<char>(kDeadLetterKind));
    put_i64(p, time);
    put_str(p, error);
    encode_payload(ev, p);
    frame(p, out);
}

DeadLetterDecoded dead_letter_decode(std::string_view data) {
    DeadLetterDecoded d;
    d.consumed = for_each_record(data, [&d](std::string_view payload) {
        if (payload.empty() || static_cast<std::uint8_t>(payload[0]) != kDeadLetterKind) return false;
        Reader r{payload.substr(1)};
        DeadLetter l;
        l.time = r.i64();
        l.error = r.str();
        if (!r.ok || !decode_payload(r.in, l.event)) return false;
        d.letters.push_back(std::move(l));
        return true;
    });
    d.damaged = d.consumed != data.size();
    return d;
}


JournalDecoded journal_decode(std::string_view data) {
    JournalDecoded d;
    d.consumed = for_each_record(data, [&d](std::string_view payload) {
        StorageEvent ev;
        if (!decode_payload(payload, ev)) return false;
        d.events.push_back(std::move(ev));
        return true;
    });
    d.damaged = d.consumed != data.size();
    return d;
}

bool Journal::append(std::span<const StorageEvent> events, std::string& error) {
    if (events.empty()) return true;
    std::string buf;
    for (const auto& ev : events) journal_encode(ev, buf);
    return append_bytes(buf, error);
}

bool Journal::append_dead_letter(const StorageEvent& ev, std::string_view db_error, UnixTime time,
                                 std::string& error) {
    std::string buf;
    dead_letter_encode(ev, db_error, time, buf);
    return append_bytes(buf, error);
}

bool Journal::append_bytes(std::string_view buf, std::string& error) {
    std::string dir = parent_dir(path_);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        error = errno_text("cannot create", dir);
        return false;
    }
    bool existed = ::access(path_.c_str(), F_OK) == 0;
    FileFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        error = errno_text("cannot open", path_);
        return false;
    }
    struct stat before{};
    if (::fstat(fd.get(), &before) != 0) {
        error = errno_text("cannot stat", path_);
        return false;
    }
    if (!tail_checked_ && before.st_size > 0) {
        // A record torn by a crash would hide everything appended after it.
        std::string data;
        if (!read_bytes(data, error)) return false;
        std::size_t good = for_each_record(data, [](std::string_view) { return true; });
        if (good != data.size()) {
            if (::ftruncate(fd.get(), static_cast<off_t>(good)) != 0) {
                error = errno_text("cannot cut the damaged tail of", path_);
                return false;
            }
            before.st_size = static_cast<off_t>(good);
        }
    }
    tail_checked_ = true;
    if (!write_all(fd.get(), buf)) {
        error = errno_text("cannot write", path_);
        // Reading stops at a partial record, so one left here would hide
        // every later append: cut the file back to where it was.
        [[maybe_unused]] int rc = ::ftruncate(fd.get(), before.st_size);
        return false;
    }
    if (::fsync(fd.get()) != 0) {
        error = errno_text("cannot fsync", path_);
        return false;
    }
    if (!fd.close_checked()) {
        error = errno_text("cannot close", path_);
        return false;
    }
    if (!existed) sync_dir(dir);
    return true;
}

bool Journal::has_data() const {
    struct stat st{};
    return ::stat(path_.c_str(), &st) == 0 && st.st_size > 0;
}

bool Journal::read_all(JournalDecoded& out, std::string& error) const {
    out = {};
    std::string data;
    if (!read_bytes(data, error)) return false;
    out = journal_decode(data);
    return true;
}

bool Journal::read_bytes(std::string& data, std::string& error) const {
    data.clear();
    FileFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return true;
        error = errno_text("cannot open", path_);
        return false;
    }
    char chunk[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = errno_text("cannot read", path_);
            return false;
        }
        if (n == 0) break;
        data.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
}

bool Journal::clear(std::string& error) {
    FileFd fd(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return true;
        error = errno_text("cannot open", path_);
        return false;
    }
    if (::ftruncate(fd.get(), 0) != 0 || ::fsync(fd.get()) != 0) {
        error = errno_text("cannot empty", path_);
        return false;
    }
    return true;
}

}  // namespace chat::server
