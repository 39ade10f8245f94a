#include "tui/password_source.hpp"

#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "net/fd.hpp"
#include "proto/password.hpp"
#include "tui/strings.hpp"

namespace chat::tui {

namespace {

constexpr const char* kRules = "8 to 128 bytes of text, not starting with a space";

}  // namespace

std::string_view first_line(std::string_view text) {
    const auto lf = text.find('\n');
    if (lf == std::string_view::npos) return text;
    std::string_view line = text.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

bool read_password_file(const std::string& path, Secret& out, std::string& error) {
    out.clear();
    net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        error = cat("cannot open ", path, ": ", std::strerror(errno));
        return false;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        error = cat("cannot read ", path, ": ", std::strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        error = cat(path, " is not a regular file");
        return false;
    }
    // Anyone else who can read the file knows the password: refuse rather than warn,
    // before a byte of it is read.
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        error = cat(path, " can be read by its group or by others; make it private first: chmod 600 ", path);
        return false;
    }
    Secret raw;
    char buf[512];
    bool have_lf = false;
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = cat("cannot read ", path, ": ", std::strerror(errno));
            explicit_bzero(buf, sizeof buf);
            return false;
        }
        if (n == 0) break;
        const std::string_view chunk(buf, static_cast<std::size_t>(n));
        if (!raw.append(chunk)) {
            // Only the first line counts; past the capacity it can be no password.
            const auto lf = chunk.find('\n');
            if (lf != std::string_view::npos && raw.append(chunk.substr(0, lf + 1))) have_lf = true;
            break;
        }
        if (chunk.find('\n') != std::string_view::npos) {
            have_lf = true;
            break;
        }
    }
    explicit_bzero(buf, sizeof buf);
    if (!have_lf && raw.size() == Secret::kCapacity) {
        error = cat("the first line of ", path, " is too long to be a password (", kRules, ")");
        return false;
    }
    const std::string_view line = first_line(raw.view());
    if (line.empty()) {
        error = cat("the first line of ", path, " is empty: it should hold the password");
        return false;
    }
    if (!proto::is_valid_password(line)) {
        error = cat("the first line of ", path, " is not a valid password (", kRules, ")");
        return false;
    }
    out.assign(line);
    return true;
}

bool take_password_env(Secret& out, std::string& error) {
    out.clear();
    char* value = std::getenv(kPasswordEnv);
    if (value == nullptr) return false;
    const std::size_t len = std::strlen(value);
    const bool ok = proto::is_valid_password(std::string_view(value, len));
    if (ok) out.assign(std::string_view(value, len));
    explicit_bzero(value, len);
    ::unsetenv(kPasswordEnv);
    if (!ok) error = cat(kPasswordEnv, " is not a valid password (", kRules, ")");
    return ok;
}

}  // namespace chat::tui
