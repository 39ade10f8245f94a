#include "tui/help.hpp"

#include <array>

namespace chat::tui {

namespace {

constexpr std::array<std::string_view, 18> kHelp = {
    "client: /clear empties this window's log (the server is not told)",
    "client: /buscar text (or /search) finds the lines of this window holding text; Ctrl-R older, Ctrl-S newer, Esc ends",
    "client: /query nick (or /privado) opens a window to talk with nick; /close (or /cerrar) closes it",
    "client keys: Alt-1..9 show window 1..9, Ctrl-N/Ctrl-P the next/previous; the status bar's [Act: 2,3!] lists unread windows (! for you)",
    "client: /registrar alone (or /register) asks for a password twice, hidden, and registers your nick",
    "client: /clave alone (or /password) asks for the new password twice, hidden, and changes it",
    "client: passwords are never shown or kept in the history; Esc or an empty line cancels the prompt",
    "client: the login's password is kept in memory for reconnecting (see also --password-file)",
    "client keys: Enter sends, Tab completes nicks (also after !) and /commands",
    "client keys: Left/Right, Home/End or Ctrl-A/Ctrl-E move; Backspace/Delete erase",
    "client keys: Ctrl-U erases to the start, Ctrl-K to the end, Ctrl-W the word before the cursor",
    "client keys: Up/Down walk the lines sent before",
    "client keys: PgUp/PgDn or the mouse wheel scroll the log; End on an empty line jumps back",
    "client keys: Ctrl-L redraws the screen; Ctrl-C or /salir quits; a paste of several lines asks before sending",
    "client: the user list on the right hides when the terminal is under 60 columns; F11/F12 page it",
    "client: a lost server is retried after 1, 2, 4 ... up to 30 s, with the same nick (also while the old session holds it)",
    "client: lines that name you are highlighted and ring the bell, as do private messages",
    "client: start with --plain for a line-by-line mode without the full screen",
};

constexpr std::array<std::string_view, 28> kCommands = {
    "/ayuda",  "/buscar", "/cerrar", "/clave",   "/clear",  "/close",    "/desconectar", "/estado", "/help",  "/historial",
    "/history", "/list",  "/listar",  "/msg",    "/password", "/perfil",      "/ping",   "/pong",  "/privado",
    "/profile", "/query", "/quit",    "/register", "/registrar", "/salir",  "/search",  "/status", "/who",
};

}  // namespace

std::span<const std::string_view> client_help_lines() { return kHelp; }
std::span<const std::string_view> command_names() { return kCommands; }

}  // namespace chat::tui
