#include <CLI/CLI.hpp>
#include <clocale>
#include <cstdio>
#include <string>

#include "chatd_version.hpp"
#include "proto/names.hpp"
#include "tui/client.hpp"
#include "tui/password_source.hpp"

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    chat::tui::Options opt;
    CLI::App app{"chat: the chatd client (full screen, or --plain for scripts and screen readers)"};
    app.set_version_flag("--version", "chat " CHATD_VERSION);
    app.add_option("--host", opt.host, "server host name or address")->capture_default_str();
    app.add_option("--port", opt.port, "server TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
    app.add_option("--nick", opt.nick, "nickname to log in with (asked for when missing)");
    app.add_option("--password-file", opt.password_file,
                   "the password of the nickname's account, in the first line of FILE (its LF or CRLF "
                   "removed, nothing else trimmed); the file must not be readable by group or others "
                   "(chmod 600). Without it, and without CHAT_PASSWORD, the password is asked for, hidden")
        ->type_name("FILE");
    app.add_flag("--plain", opt.plain,
                 "no full screen: print events as lines, send the lines read from standard input "
                 "(end of input quits); when the server asks for a password and none was given, "
                 "the next input line is the password (not echoed)");
    app.footer(
        "Environment:\n"
        "  CHAT_PASSWORD   the password of the nickname's account, used like --password-file\n"
        "                  (which wins when both are given); removed from the environment at start\n"
        "A password is never shown, logged or kept in the input history; one typed at the prompt is kept\n"
        "in memory (wiped at exit) to log in again after a reconnect.");
    CLI11_PARSE(app, argc, argv);
    if (!opt.nick.empty() && !chat::proto::is_valid_nick(opt.nick)) {
        std::fprintf(stderr,
                     "chat: '%s' is not a valid nickname (1-32 letters, digits, _ - . or characters "
                     "from U+00C0 up; not starting with - or .)\n",
                     opt.nick.c_str());
        return 2;
    }
    using chat::tui::Passwords;
    chat::tui::Secret password;
    std::string error;
    // Taken even when a file is given, so the variable never lingers in the environment.
    Passwords::Source source =
        chat::tui::take_password_env(password, error) ? Passwords::Source::Env : Passwords::Source::None;
    if (!error.empty() && opt.password_file.empty()) {
        std::fprintf(stderr, "chat: %s\n", error.c_str());
        return 2;
    }
    if (!opt.password_file.empty()) {
        error.clear();
        if (!chat::tui::read_password_file(opt.password_file, password, error)) {
            std::fprintf(stderr, "chat: %s\n", error.c_str());
            return 2;
        }
        source = Passwords::Source::File;
    }
    return chat::tui::run_client(opt, std::move(password), source);
}
