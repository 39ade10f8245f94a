#include <CLI/CLI.hpp>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "chatd_version.hpp"
#include "proto/names.hpp"
#include "tui/client.hpp"
#include "tui/config_path.hpp"
#include "tui/password_source.hpp"
#include "tui/tls_policy.hpp"

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    chat::tui::Options opt;
    CLI::App app{"chat: the chatd client (full screen, or --plain for scripts and screen readers)"};
    app.set_version_flag("--version", "chat " CHATD_VERSION);
    // The options can also come from an INI file (key = value, the names without --); the command line wins.
    const std::string config = chat::tui::default_config_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
    app.set_config("--config", config,
                   "read options from this INI file (key = value, the option names without --); default "
                   "$XDG_CONFIG_HOME/chat/chat.ini or ~/.config/chat/chat.ini, used when it exists; the "
                   "command line wins",
                   false)
        ->type_name("FILE");
    app.config_formatter(std::make_shared<CLI::ConfigINI>());
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.add_option("--host", opt.host, "server host name or address")->capture_default_str();
    auto* port = app.add_option("--port", opt.port, "server TCP port (default 5000, or 5001 with --tls)")
                     ->check(CLI::Range(1, 65535));
    app.add_option("--nick", opt.nick, "nickname to log in with (asked for when missing)");
    app.add_option("--password-file", opt.password_file,
                   "the password of the nickname's account, in the first line of FILE (its LF or CRLF "
                   "removed, nothing else trimmed); the file must not be readable by group or others "
                   "(chmod 600). Without it, and without CHAT_PASSWORD, the password is asked for, hidden")
        ->type_name("FILE");
    app.add_flag("--tls", opt.tls.enabled,
                 "connect with TLS (1.2 or newer); the server's certificate must be valid and for --host, "
                 "verified against the system's trusted certificates (or --tls-ca); a refused "
                 "certificate ends the client, it never falls back to plain TCP");
    app.add_option("--tls-ca", opt.tls.ca_file,
                   "with --tls: trust the certificate authorities in FILE (PEM) instead of the system's, "
                   "e.g. the private CA of scripts/cert.sh (var/tls/ca.pem)")
        ->type_name("FILE");
    app.add_flag("--tls-insecure", opt.tls.insecure,
                 "with --tls: do NOT verify the server's certificate (for tests only: anyone on the path "
                 "could read the session); warned about on stderr, in the log and in the status bar");
    app.add_option("--colors", opt.colors, "on: colors for nicks, statuses and errors; off: bold, dim and reverse only")
        ->check(CLI::IsMember({"on", "off"}))
        ->capture_default_str();
    app.add_flag("--plain", opt.plain,
                 "no full screen: print events as lines, send the lines read from standard input "
                 "(end of input quits); when the server asks for a password and none was given, "
                 "the next input line is the password (not echoed)");
    app.footer(
        "Environment:\n"
        "  CHAT_PASSWORD   the password of the nickname's account, used like --password-file\n"
        "                  (which wins when both are given); removed from the environment at start\n"
        "  CHAT_WIDTHS     probe (default), wcwidth, tmux or cluster: how wide emoji sequences are\n"
        "                  drawn, for a terminal that answers the start-up probe wrongly\n"
        "  CHAT_FAKE_TIME  a time such as 2026-12-02T23:59:50Z: the clock starts there (for tests)\n"
        "A password is never shown, logged or kept in the input history; one typed at the prompt is kept\n"
        "in memory (wiped at exit) to log in again after a reconnect.\n"
        "TLS:\n"
        "  chat --tls --host chat.example.org            a certificate from a public CA (the system's store)\n"
        "  chat --tls --tls-ca var/tls/ca.pem            a private CA, as made by scripts/cert.sh\n"
        "The status bar and the log show the TLS version and cipher once connected. A certificate that is\n"
        "expired, from an unknown CA or for another host name ends the client (exit status 1) with the reason.");
    CLI11_PARSE(app, argc, argv);
    if (const std::string e = chat::tui::settle_tls_options(opt.tls, opt.port, port->count() > 0); !e.empty()) {
        std::fprintf(stderr, "chat: %s\n", e.c_str());
        return 2;
    }
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
