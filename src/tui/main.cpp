#include <CLI/CLI.hpp>
#include <clocale>
#include <cstdio>

#include "chatd_version.hpp"
#include "proto/names.hpp"
#include "tui/client.hpp"

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    chat::tui::Options opt;
    CLI::App app{"chat: the chatd client (full screen, or --plain for scripts and screen readers)"};
    app.set_version_flag("--version", "chat " CHATD_VERSION);
    app.add_option("--host", opt.host, "server host name or address")->capture_default_str();
    app.add_option("--port", opt.port, "server TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
    app.add_option("--nick", opt.nick, "nickname to log in with (asked for when missing)");
    app.add_flag("--plain", opt.plain,
                 "no full screen: print events as lines, send the lines read from standard input "
                 "(end of input quits)");
    CLI11_PARSE(app, argc, argv);
    if (!opt.nick.empty() && !chat::proto::is_valid_nick(opt.nick)) {
        std::fprintf(stderr,
                     "chat: '%s' is not a valid nickname (1-32 letters, digits, _ - . or characters "
                     "from U+00C0 up; not starting with - or .)\n",
                     opt.nick.c_str());
        return 2;
    }
    return chat::tui::run_client(opt);
}
