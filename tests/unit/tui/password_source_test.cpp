// --password-file and CHAT_PASSWORD.
#include "tui/password_source.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace chat::tui;

namespace {

// A file in a private temporary directory, removed with it.
struct TempFile {
    std::string dir;
    std::string path;

    TempFile(std::string_view content, mode_t mode) {
        char tmpl[] = "/tmp/chat-pwtest-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/pw";
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fwrite(content.data(), 1, content.size(), f);
        std::fclose(f);
        REQUIRE(::chmod(path.c_str(), mode) == 0);
    }
    ~TempFile() {
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
};

std::string read_ok(std::string_view content) {
    TempFile f(content, 0600);
    Secret s;
    std::string error;
    const bool ok = read_password_file(f.path, s, error);
    CAPTURE(error);
    REQUIRE(ok);
    return std::string(s.view());
}

std::string read_error(std::string_view content, mode_t mode = 0600) {
    TempFile f(content, mode);
    Secret s;
    std::string error;
    CHECK_FALSE(read_password_file(f.path, s, error));
    CHECK(s.empty());
    return error;
}

}  // namespace

TEST_CASE("first_line drops the LF and a CR right before it, nothing else") {
    CHECK(first_line("clave\n") == "clave");
    CHECK(first_line("clave\r\nresto\n") == "clave");
    CHECK(first_line("  clave \t\n") == "  clave \t");
    CHECK(first_line("clave") == "clave");
    CHECK(first_line("cla\rve\n") == "cla\rve");
    CHECK(first_line("\nclave") == "");
}

TEST_CASE("the password file: the first line, byte-exact") {
    CHECK(read_ok("mi clave larga\n") == "mi clave larga");
    CHECK(read_ok("mi clave larga\r\n") == "mi clave larga");
    CHECK(read_ok("mi clave larga  \nsecond line\n") == "mi clave larga  ");
    CHECK(read_ok("sin-salto-de-linea") == "sin-salto-de-linea");
    CHECK(read_ok("contraseña\tcon tab\n") == "contraseña\tcon tab");
    const std::string longest(128, 'k');
    CHECK(read_ok(longest + "\n" + std::string(10000, 'z')) == longest);
}

TEST_CASE("the password file: refused when others can read it, or not a password") {
    CHECK(read_error("mi clave larga\n", 0640).find("chmod 600") != std::string::npos);
    CHECK(read_error("mi clave larga\n", 0604).find("group or by others") != std::string::npos);
    CHECK(read_error("\nmi clave larga\n").find("empty") != std::string::npos);
    CHECK(read_error("").find("empty") != std::string::npos);
    CHECK(read_error("corta\n").find("not a valid password") != std::string::npos);
    CHECK(read_error(" empieza con espacio\n").find("not a valid password") != std::string::npos);
    CHECK(read_error(std::string(129, 'k') + "\n").find("not a valid password") != std::string::npos);
    CHECK(read_error(std::string(20000, 'k')).find("too long") != std::string::npos);
    CHECK(read_error("con\x01control\n").find("not a valid password") != std::string::npos);

    Secret s;
    std::string error;
    CHECK_FALSE(read_password_file("/nonexistent/chat-pw", s, error));
    CHECK(error.find("cannot open") != std::string::npos);
    CHECK_FALSE(read_password_file("/tmp", s, error));
    CHECK(error.find("regular file") != std::string::npos);
}

TEST_CASE("CHAT_PASSWORD is taken once and removed from the environment") {
    ::setenv(kPasswordEnv, "clave del entorno ", 1);
    Secret s;
    std::string error;
    CHECK(take_password_env(s, error));
    CHECK(s.view() == "clave del entorno ");
    CHECK(std::getenv(kPasswordEnv) == nullptr);
    CHECK_FALSE(take_password_env(s, error));
    CHECK(error.empty());

    ::setenv(kPasswordEnv, "corta", 1);
    CHECK_FALSE(take_password_env(s, error));
    CHECK(error.find("not a valid password") != std::string::npos);
    CHECK(std::getenv(kPasswordEnv) == nullptr);
}
