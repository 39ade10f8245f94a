#!/usr/bin/env python3
"""End-to-end test of the full-screen client: chatd plus three `chat` programs,
each in its own 100x30 tmux pane, driven with send-keys and read back with
capture-pane.

usage: tmux_test.py --chatd PATH --chat PATH
Every wait is for a condition on the screen (with a generous deadline), never a fixed sleep.
"""
import argparse
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE = 20.0  # seconds to wait for a screen condition; only reached when the test fails


# chatd reads CHATD_DB from the environment; these tests want its in-memory storage, not the
# database `make test` starts (whose fault tests stop it now and then).
MEMORY_ENV = {k: v for k, v in os.environ.items() if k != "CHATD_DB"}


class Fail(Exception):
    pass


class Server:
    """chatd on a port of its own that it keeps across a restart (the reconnect test). The port
    is drawn below the kernel's ephemeral range, so no other test's server started with
    --port 0 can be handed it while this one is down; a port in use is skipped."""

    def __init__(self, path, tls=None):
        # tls: (certificate, key); then the port kept is the TLS one, the only one served.
        self.path, self.port, self.proc, self.tls = path, 0, None, tls

    def start(self):
        import random
        for _ in range(50):
            port = self.port or random.randrange(20000, 32000)
            log = tempfile.TemporaryFile()
            cmd = [self.path, "--bind", "127.0.0.1", "--pw-test-cost", "--port", str(port)]
            listening = rb"listening on 127\.0\.0\.1:%d\b" % port
            if self.tls:
                cmd = [self.path, "--bind", "127.0.0.1", "--pw-test-cost", "--port", "0", "--tls-port", str(port),
                       "--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
                listening = rb"listening for TLS on 127\.0\.0\.1:%d\b" % port
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=MEMORY_ENV)
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                log.seek(0)
                if re.search(listening, log.read()):
                    self.port = port
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            else:
                raise Fail("chatd did not start listening")
            if self.port:  # a restart must get its port back
                log.seek(0)
                raise Fail(f"chatd exited with {self.proc.returncode} on restart:\n"
                           + log.read().decode(errors="replace"))
        raise Fail("no free port for chatd")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Tmux:
    def __init__(self, tmpdir):
        self.name = f"chat-tui-test-{os.getpid()}"
        self.conf = os.path.join(tmpdir, "tmux.conf")
        with open(self.conf, "w") as f:
            # No status line: the pane is the whole 100x30 window.
            f.write("set -g status off\nset -g default-terminal screen\nset -g history-limit 0\n")

    def run(self, *args, check=True):
        r = subprocess.run(["tmux", "-L", self.name, "-f", self.conf, *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise Fail(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def session(self, name, command, cols=100, rows=30):
        self.run("new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), command)

    @staticmethod
    def exact(session):
        # A bare "c" could also match a window whose name starts with "c" in another session.
        return f"={session}:"

    def keys(self, target, *keys):
        self.run("send-keys", "-t", self.exact(target), *keys)

    def text(self, target, s):
        self.run("send-keys", "-t", self.exact(target), "-l", s)

    def capture(self, target):
        return self.run("capture-pane", "-p", "-t", self.exact(target))

    def info(self, target, fmt):
        return self.run("display-message", "-p", "-t", self.exact(target), fmt).strip()

    def resize(self, target, cols, rows):
        self.run("resize-window", "-t", self.exact(target), "-x", str(cols), "-y", str(rows))

    def wait(self, target, pred, what):
        end = time.monotonic() + DEADLINE
        screen = ""
        while time.monotonic() < end:
            screen = self.capture(target)
            if pred(screen):
                return screen
            time.sleep(0.05)
        raise Fail(f"[{target}] waited for {what}; the screen was:\n{screen}")

    def wait_for(self, target, needle):
        return self.wait(target, lambda s: needle in s, repr(needle))

    def kill(self):
        self.run("kill-server", check=False)


def sidebar(screen):
    """The user list: the part of each row right of the separator."""
    return "\n".join(line.split("│", 1)[1] for line in screen.splitlines() if "│" in line)


def sidebar_row(screen, nick):
    for row in sidebar(screen).splitlines():
        if row[2:].split(" ")[0] == nick:  # row[1] is the '*' marking oneself
            return row
    return None


def log_lines(screen):
    return [line.split("│", 1)[0] for line in screen.splitlines()]


def check(cond, msg, screen=""):
    if not cond:
        raise Fail(msg + ("\n" + screen if screen else ""))


def run(args, tmpdir):
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    try:
        server.start()
        port = server.port
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {port}"
        # The panes run a shell so that what the terminal looks like after the client exits can be checked.
        wrap = "printf 'before-chat\\n'; {cmd}; echo chat-exit=$?; exec sleep 600"
        tmux.session("a", "sh -c " + sh_quote(wrap.format(cmd=chat + " --nick ana")))
        tmux.session("b", "sh -c " + sh_quote(wrap.format(cmd=chat)))  # asks for the nick in the UI
        tmux.session("c", "sh -c " + sh_quote(wrap.format(cmd=chat + " --nick carlos")))

        tmux.wait("b", lambda s: last_line(s).startswith("nick>"), "the nick prompt")
        tmux.text("b", "Begoña")
        tmux.keys("b", "Enter")

        # Both sidebars show every user and status.
        for t in "abc":
            screen = tmux.wait_for(t, "users (3)")
            for nick in ("ana", "Begoña", "carlos"):
                row = sidebar_row(screen, nick)
                check(row is not None and "disponible" in row, f"[{t}] sidebar lacks {nick} disponible", screen)
        check(sidebar_row(tmux.capture("a"), "ana")[1] == "*", "own entry is not marked")
        check("ana (disponible) | online" in tmux.capture("a"), "status bar lacks nick, status, state")

        # A public message shows in every log.
        tmux.text("a", "hola a todos 😀 ñandú")
        tmux.keys("a", "Enter")
        for t in "abc":
            tmux.wait(t, lambda s: any("<ana> hola a todos 😀 ñandú" in l for l in log_lines(s)),
                      "the public message")

        # A private one only in the two logs it concerns (Tab completes the nick after '!').
        tmux.text("a", "!Beg")
        tmux.keys("a", "Tab")
        tmux.wait("a", lambda s: last_line(s) == "> !Begoña", "the completed nick")
        tmux.text("a", "secreto-xyz")
        tmux.keys("a", "Enter")
        # Each side's conversation has a window of its own: 2, next to the room's 1. Sending one
        # from the room shows ana hers at once, where the server's echo then lands.
        screen = tmux.wait_for("a", "-> Begoña: secreto-xyz")
        check("[2:Begoña]" in screen, "ana's status bar does not name the query window", screen)
        screen = tmux.wait_for("b", "[Act: 2!]")  # unread, and for Begoña
        check("secreto-xyz" not in screen, "the private message shown in the room's window", screen)
        tmux.keys("b", "M-2")
        screen = tmux.wait_for("b", "<- ana: secreto-xyz")
        check("[Act:" not in screen and "[2:ana]" in screen, "the hotlist after reading", screen)
        # Typing in a query window sends to that person.
        tmux.text("b", "respuesta-privada")
        tmux.keys("b", "Enter")
        tmux.wait_for("b", "-> ana: respuesta-privada")
        tmux.wait_for("a", "<- Begoña: respuesta-privada")
        tmux.keys("a", "C-p")  # back to the room
        tmux.keys("b", "M-1")
        tmux.wait("a", lambda s: "[1:main]" in s, "ana back in the room")
        # ana's conversation got a new line while she was away: the unread marker sits above it.
        tmux.keys("b", "M-2")
        tmux.text("b", "otra-privada")
        tmux.keys("b", "Enter")
        tmux.wait_for("a", "[Act: 2!]")
        tmux.keys("a", "M-2")
        screen = tmux.wait_for("a", "<- Begoña: otra-privada")
        rows = log_lines(screen)
        marker = [i for i, r in enumerate(rows) if "unread" in r and "─" in r]
        old_row = [i for i, r in enumerate(rows) if "<- Begoña: respuesta-privada" in r]
        new_row = [i for i, r in enumerate(rows) if "<- Begoña: otra-privada" in r]
        check(len(marker) == 1 and old_row and new_row and old_row[0] < marker[0] < new_row[0],
              "the unread marker is not between the old and the new line", screen)
        tmux.keys("a", "M-1")
        tmux.keys("b", "M-1")
        tmux.wait("b", lambda s: "[1:main]" in s, "Begoña back in the room")
        tmux.text("b", "fin-del-privado")
        tmux.keys("b", "Enter")
        screen = tmux.wait_for("c", "<Begoña> fin-del-privado")
        check("secreto-xyz" not in screen and "privada" not in screen,
              "a third user saw the private messages", screen)
        # A conversation with someone not online says so when it opens; /close closes it.
        tmux.text("a", "/query zoe")
        tmux.keys("a", "Enter")
        screen = tmux.wait_for("a", "zoe is not online")
        check("[3:zoe]" in screen, "the window for zoe is not shown", screen)
        tmux.text("a", "/close")
        tmux.keys("a", "Enter")
        tmux.wait("a", lambda s: "[1:main]" in s, "ana back in the room after /close")

        # A status change appears in the others' sidebars.
        tmux.text("b", "/estado ocupado")
        tmux.keys("b", "Enter")
        for t in "ac":
            tmux.wait(t, lambda s: (sidebar_row(s, "Begoña") or "").rstrip().endswith("ocupado"),
                      "Begoña ocupado in the sidebar")
        tmux.wait_for("b", "Begoña (ocupado) | online")

        # Non-ASCII text renders and edits by character, wide ones included.
        tmux.text("b", "ñandú😀x")
        screen = tmux.wait_for("b", "> ñandú😀x")
        check(tmux.info("b", "#{cursor_x}") == str(2 + 5 + 2 + 1), "cursor column after ñandú😀x")
        tmux.keys("b", "Left", "BSpace")  # erases the emoji
        tmux.wait(b_target := "b", lambda s: last_line(s) == "> ñandúx", "the emoji erased")
        check(tmux.info(b_target, "#{cursor_x}") == str(2 + 5), "cursor column after erasing the emoji")
        tmux.keys("b", "Home", "Delete")
        tmux.text("b", "¡Ñ")
        tmux.keys("b", "End")
        tmux.text("b", " 中文")
        tmux.wait(b_target, lambda s: last_line(s) == "> ¡Ñandúx 中文", "the edited line")
        check(tmux.info("b", "#{cursor_x}") == str(2 + 7 + 1 + 4), "cursor column after CJK")
        tmux.keys("b", "Enter")
        tmux.wait_for("a", "<Begoña> ¡Ñandúx 中文")

        # History: Up brings back the line just sent.
        tmux.keys("b", "Up")
        tmux.wait(b_target, lambda s: last_line(s) == "> ¡Ñandúx 中文", "history Up")
        tmux.keys("b", "C-u")
        tmux.wait(b_target, lambda s: last_line(s) == ">", "Ctrl-U")

        # Text from the network that tries to drive the terminal is drawn harmlessly.
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall("mallory\n".encode())
            raw.sendall(b"\xc2\x9b31m evil\n")  # a C1 CSI: refused by the server; the client must survive it anyway
            raw.sendall("/quit\n".encode())
            raw.recv(65536)
        tmux.wait_for("a", "mallory left")
        tmux.wait_for("a", "users (3)")

        # Narrow terminal: the sidebar hides without leftovers; it comes back when wide again.
        tmux.resize("a", 50, 30)
        # Both, in one capture: tmux may show a redraw that is still arriving in pieces.
        screen = tmux.wait("a", lambda s: "users (" not in s and "ana (disponible)" in s,
                           "the sidebar to hide and the status bar to show")
        check("│" not in screen, "sidebar separator left on a narrow screen", screen)
        for line in screen.splitlines():
            check(len(line.rstrip()) <= 50, "a row wider than the terminal", screen)
        check(all(sidebar_row(screen, n) is None for n in ("Begoña", "carlos")), "user list drawn", screen)
        check("ana (disponible)" in screen, "status bar missing on a narrow screen", screen)
        tmux.resize("a", 15, 30)
        tmux.wait_for("a", "terminal too")
        tmux.resize("a", 100, 30)
        tmux.wait_for("a", "users (3)")

        # A lost server: the clients say so, retry, and log in again with the same nicks.
        server.stop()
        tmux.wait_for("a", "connection lost")
        tmux.wait_for("a", "reconnecting in")
        server.start()
        screen = tmux.wait_for("a", "ana (disponible) | online")
        for t, nick in (("b", "Begoña"), ("c", "carlos")):
            tmux.wait_for(t, f"{nick} (disponible) | online")
        tmux.wait_for("a", "users (3)")

        # Ctrl-C and /salir give back a clean terminal.
        tmux.keys("c", "C-c")
        tmux.text("a", "/salir")
        tmux.keys("a", "Enter")
        for t in "ac":
            screen = tmux.wait_for(t, "chat-exit=0")
            check("before-chat" in screen, "the shell's earlier output is gone", screen)
            check("users (" not in screen and "│" not in screen, "client drawing left behind", screen)
            check(tmux.info(t, "#{alternate_on}") == "0", "still in the alternate screen")
            check(tmux.info(t, "#{cursor_flag}") == "1", "cursor left hidden")
            check(tmux.info(t, "#{mouse_any_flag}") == "0", "mouse reporting left on")
            check(tmux.info(t, "#{keypad_flag}") == "0", "keypad mode left on")
        screen = tmux.wait_for("b", "ana left (quit")
        tmux.wait_for("b", "users (1)")

        # A terminal that is not UTF-8: non-ASCII text is drawn as '?', nothing breaks.
        c_locale = f"env LANG=C LC_ALL=C {args.chat} --host 127.0.0.1 --port {port} --nick dani"
        tmux.session("d", "sh -c " + sh_quote(wrap.format(cmd=c_locale)))
        tmux.wait_for("d", "users (2)")
        tmux.text("b", "ñandú 😀 fin")
        tmux.keys("b", "Enter")
        tmux.wait_for("d", "<Bego?a> ?and? ? fin")
        tmux.text("d", "ok")
        tmux.keys("d", "Enter")
        tmux.wait_for("b", "<dani> ok")

        # A fatal signal still gives the terminal back before the process dies.
        pane_pid = tmux.info("d", "#{pane_pid}")
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", pane_pid], capture_output=True, text=True)
        pids = children.stdout.split()
        check(len(pids) == 1, f"expected one client process under the pane shell, got {pids}")
        os.kill(int(pids[0]), signal.SIGABRT)
        screen = tmux.wait_for("d", f"chat-exit={128 + signal.SIGABRT}")
        check("users (" not in screen and "│" not in screen, "client drawing left behind", screen)
        check(tmux.info("d", "#{alternate_on}") == "0", "still in the alternate screen after SIGABRT")
        check(tmux.info("d", "#{cursor_flag}") == "1", "cursor left hidden after SIGABRT")
    finally:
        tmux.kill()
        server.stop()


class Proxy:
    """A TCP relay in front of chatd: the clients connect to it, so the test can cut their
    connections (a reconnect) while the server, and the accounts in its memory storage, stay.
    It also keeps every line the clients sent, to check a password went out byte-exact."""

    def __init__(self, target_port):
        import threading
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.held = []  # server sides kept open after hold(): sessions chatd still believes alive
        self.sent = b""  # client -> server bytes, all connections
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, upstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream:
                    with self.lock:
                        self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with self.lock:
                if s in self.held:
                    continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hold(self):
        """Drops the clients' side of every relayed connection but keeps chatd's side open, as a
        network failure chatd has not noticed yet: the old sessions keep their nicks."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
            self.held += [server for _, server in pairs]
        for client, _ in pairs:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    def release(self):
        """chatd notices the held connections are gone."""
        with self.lock:
            held, self.held = self.held, []
        for s in held:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        """Drops every relayed connection, as a network failure would."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def lines_sent(self):
        with self.lock:
            return self.sent.split(b"\n")

    def close(self):
        self.cut()
        self.listener.close()


class Recorded(Tmux):
    """Tmux that keeps every screen it captured, to check afterwards that no password was ever on one."""

    def __init__(self, tmpdir):
        super().__init__(tmpdir)
        self.screens = []

    def capture(self, target):
        screen = super().capture(target)
        self.screens.append((target, screen))
        return screen


def last_line(screen):
    lines = screen.splitlines()
    return lines[-1].rstrip() if lines else ""


def run_accounts(args, tmpdir):
    """Accounts (protocol 2): register with the hidden double prompt (a mismatch sends nothing),
    change the password, log in to the account from another client (a wrong password first),
    re-login after cut connections without asking, a password typed inline kept out of the
    history. No password may ever be on a screen: every capture is checked."""
    pw1, pw2, wrong = "kiwi-Secreto-4821", "pera Secreto 7305 ", "mango-Falso-1111"
    pw3 = "uva-Inline-5150"  # typed inline: on the screen while typed, by the user's choice, never after
    server = Server(args.chatd)
    tmux = Recorded(tmpdir)
    proxy = None
    try:
        server.start()
        proxy = Proxy(server.port)
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {proxy.port}"
        wrap = "{cmd}; echo chat-exit=$?; exec sleep 600"
        tmux.session("r", "sh -c " + sh_quote(wrap.format(cmd=chat + " --nick rosa")))
        tmux.wait_for("r", "rosa (disponible) | online")

        def sent_count(line):
            return proxy.lines_sent().count(line.encode())

        def new_password(command, first, second):
            """Types `command` alone, then the two entries at the hidden prompts."""
            tmux.text("r", command)
            tmux.keys("r", "Enter")
            tmux.wait("r", lambda s: last_line(s) == "new password>", "the new password prompt")
            tmux.text("r", first)
            screen = tmux.wait("r", lambda s: last_line(s) == "new password>", "the prompt, still empty")
            check(first not in screen and "*" not in last_line(screen), "typed password drawn", screen)
            tmux.keys("r", "Enter")
            tmux.wait("r", lambda s: last_line(s) == "new password again>", "the second prompt")
            tmux.text("r", second)
            tmux.keys("r", "Enter")

        # /registrar alone: asked twice, hidden; a mismatch sends nothing.
        new_password("/registrar", pw1, wrong)
        tmux.wait_for("r", "the two passwords differ: nothing was sent")
        check(not any(l.startswith(b"/registrar") for l in proxy.lines_sent()), "a mismatch was sent")
        tmux.wait("r", lambda s: last_line(s) == ">", "the normal prompt back")

        new_password("/registrar", pw1, pw1)
        tmux.wait_for("r", "rosa is now a registered account")
        check(sent_count("/registrar " + pw1) == 1, "the /registrar line sent is not byte-exact")
        tmux.text("r", "/perfil")
        tmux.keys("r", "Enter")
        tmux.wait_for("r", "account=yes")

        # /clave alone: the same prompts; a password with spaces, a trailing one included, is kept as typed.
        new_password("/clave", pw2, pw2)
        tmux.wait_for("r", "the password of rosa is changed")
        check(sent_count("/clave " + pw2) == 1, "the /clave line sent is not byte-exact")
        # Neither command is in the input history.
        tmux.keys("r", "Up")
        tmux.wait("r", lambda s: last_line(s) == "> /perfil", "history Up gives /perfil")
        tmux.keys("r", "Up")
        tmux.text("r", "Z")  # once Z shows, the Up before it was handled: it must have changed nothing
        tmux.wait("r", lambda s: last_line(s) == "> /perfilZ", "/perfil the oldest line of the history")
        tmux.keys("r", "C-u")

        # A cut connection: the client logs in again with the changed password, without asking.
        proxy.cut()
        tmux.wait_for("r", "connection lost")
        screen = tmux.wait("r", lambda s: s.count("sending the kept password") == 1
                           and "rosa (disponible) | online" in s, "the automatic re-login")
        check(sent_count(pw2) == 1, "the kept password was not sent byte-exact after AUTH")
        tmux.text("r", "/salir")
        tmux.keys("r", "Enter")
        tmux.wait_for("r", "chat-exit=0")

        # Another client logs in to the account: asked at the prompt; a wrong password goes back to the nick.
        tmux.session("s", "sh -c " + sh_quote(wrap.format(cmd=chat)))
        tmux.wait("s", lambda s: last_line(s) == "nick>", "the nick prompt")
        tmux.text("s", "rosa")
        tmux.keys("s", "Enter")
        screen = tmux.wait("s", lambda s: last_line(s) == "password>", "the password prompt")
        check("password for rosa" in screen, "status bar does not say whose password", screen)
        tmux.text("s", wrong)
        tmux.keys("s", "Enter")
        tmux.wait_for("s", "bad-password: wrong password for rosa")
        tmux.wait("s", lambda s: last_line(s) == "nick>", "the nick prompt after bad-password")
        tmux.text("s", "rosa")
        tmux.keys("s", "Enter")
        tmux.wait("s", lambda s: last_line(s) == "password>", "the password prompt again")
        tmux.text("s", "x")
        tmux.keys("s", "BSpace", "C-u")  # editing keys work on the hidden line
        tmux.text("s", pw2)
        tmux.keys("s", "Enter")
        tmux.wait_for("s", "rosa (disponible) | online")

        # Re-login after a cut with the password typed at the prompt, kept in memory.
        proxy.cut()
        tmux.wait_for("s", "connection lost")
        tmux.wait(s_target := "s", lambda s: "sending the kept password" in s
                  and "rosa (disponible) | online" in s, "the automatic re-login")
        check(last_line(tmux.capture(s_target)) == ">", "asked for the password again")

        # A password typed inline is sent, confirmed, kept for the next login, not in the history.
        tmux.text("s", "/clave " + pw3)
        tmux.keys("s", "Enter")
        tmux.wait_for("s", "the password of rosa is changed")
        check(sent_count("/clave " + pw3) == 1, "the inline /clave line sent is not byte-exact")
        tmux.keys("s", "Up")
        tmux.text("s", "Z")
        screen = tmux.wait("s", lambda s: last_line(s) == "> Z", "an empty history (Up brings nothing)")
        check(pw3 not in screen, "the inline password is on the screen after Enter", screen)
        tmux.keys("s", "C-u")
        before = sent_count(pw3)
        proxy.cut()
        tmux.wait_for("s", "connection lost")
        tmux.wait("s", lambda s: s.count("sending the kept password") == 2
                  and "rosa (disponible) | online" in s, "the re-login with the inline password")
        check(sent_count(pw3) == before + 1, "the inline password was not the one kept")

        # No password was ever on a screen, in any capture of the whole test.
        for target, screen in tmux.screens:
            for secret in (pw1, pw2, pw2.strip(), wrong, "Secreto"):
                check(secret not in screen, f"[{target}] a password was on the screen", screen)
        check(len(tmux.screens) > 20, "too few screens checked")
    finally:
        tmux.kill()
        if proxy:
            proxy.close()
        server.stop()


def run_tls(args, tmpdir):
    """--tls on the full screen: the status bar names the TLS version, a server restart is
    followed by a new handshake and login; a certificate from an unknown CA is refused on the
    screen, not retried, and repeated on the terminal after Ctrl-C (exit status 1);
    --tls-insecure is flagged in the status bar and the log."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dirs = {d: os.path.join(tmpdir, d) for d in ("tls", "other")}
    for d in dirs.values():
        subprocess.run([os.path.join(repo, "scripts", "cert.sh")], check=True, capture_output=True,
                       env=dict(os.environ, CHATD_TLS_DIR=d))
    server = Server(args.chatd, tls=(os.path.join(dirs["tls"], "server.pem"), os.path.join(dirs["tls"], "server.key")))
    tmux = Tmux(tmpdir)
    try:
        server.start()
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --tls --host 127.0.0.1 --port {server.port}"
        wrap = "{cmd}; echo chat-exit=$?; exec sleep 600"
        tmux.session("t", "sh -c " + sh_quote(wrap.format(cmd=f"{chat} --tls-ca {dirs['tls']}/ca.pem --nick tina")))
        bar = re.compile(r" 127\.0\.0\.1:%d TLSv1\.[23] \| tina \(disponible\) \| online" % server.port)
        t = "t"
        screen = tmux.wait(t, lambda s: bar.search(s), "TLS in the status bar")
        check(re.search(r"--- TLS: TLSv1\.[23] \S+, certificate for localhost", screen), "the TLS line in the log", screen)
        tmux.text(t, "hola cifrado")
        tmux.keys(t, "Enter")
        tmux.wait_for(t, "<tina> hola cifrado")

        # A restart: the client reconnects, with a new handshake, and logs in again.
        server.stop()
        tmux.wait_for(t, "reconnecting in")
        server.start()
        tmux.wait(t, lambda s: bar.search(s) and len(re.findall(r"--- TLS: TLSv1", s)) == 2, "a second handshake")

        tmux.session("u", "sh -c " + sh_quote(wrap.format(cmd=f"{chat} --tls-ca {dirs['other']}/ca.pem --nick uma")))
        screen = tmux.wait_for("u", "the client does not retry")
        flat = " ".join(re.sub(r"│.*", "", screen).split())  # the log's wrapped lines joined
        check("signed by an unknown certificate authority" in flat and "| closed" in screen,
              "the refusal on the screen", screen)
        tmux.keys("u", "C-c")
        screen = tmux.wait_for("u", "chat-exit=1")
        check("chat: TLS: the server's certificate is signed by an unknown" in screen,
              "the refusal repeated on the terminal", screen)

        tmux.session("i", "sh -c " + sh_quote(wrap.format(cmd=f"{chat} --tls-insecure --nick ines")))
        i = "i"
        screen = tmux.wait(i, lambda s: "TLSv1" in s and "UNVERIFIED | ines (disponible) | online" in s,
                           "UNVERIFIED in the status bar")
        check("WARNING: --tls-insecure" in screen, "the warning in the log", screen)
        tmux.keys(i, "C-c")
        tmux.wait_for(i, "chat-exit=0")
    finally:
        tmux.kill()
        server.stop()


def columns_of(tmux, target, needle, rows):
    """(x, y) of each occurrence of `needle` on the screen, in cells as tmux itself placed them
    (copy mode's search), so a wide character or a whole emoji sequence counts as the terminal drew it."""
    tmux.run("copy-mode", "-t", tmux.exact(target))
    found = []
    try:
        # Backwards from the end: search-backward leaves the cursor on a match's first cell.
        tmux.run("send-keys", "-t", tmux.exact(target), "-X", "history-bottom")
        tmux.run("send-keys", "-t", tmux.exact(target), "-X", "end-of-line")
        for _ in range(rows * 3):
            tmux.run("send-keys", "-t", tmux.exact(target), "-X", "search-backward", needle)
            x, y = (int(v) for v in tmux.info(target, "#{copy_cursor_x},#{copy_cursor_y}").split(","))
            if (x, y) in found:
                break  # wrapped around to the first match
            found.append((x, y))
    finally:
        tmux.run("send-keys", "-t", tmux.exact(target), "-X", "cancel")
    return found


def run_widths(args, tmpdir):
    """Emoji sequences on the screen: ZWJ families, VS16, skin tones, flags, keycaps, VS15,
    a spacing mark and Hangul jamo, in messages and in nicknames. Each sequence reaches the
    terminal whole (joiners included), the text after it is where it should be, and every row of
    the sidebar border, and every status in the user list, stays in one column. The client
    measured tmux's widths itself at start (CPR)."""
    family = "\U0001F468\u200D\U0001F469\u200D\U0001F467"
    samples = [family, "\u2764\uFE0F\u200D\U0001F525", "\u2764\uFE0F", "\U0001F44D\U0001F3FD",
               "\U0001F1E6\U0001F1F7", "1\uFE0F\u20E3", "\u2614\uFE0E", "\u0915\u093F",
               "\u1100\u1161\u11A8", "\U0001F469\U0001F3FD\u200D\U0001F4BB", "中文"]
    nicks = ["bea\U0001F1E6\U0001F1F7\U0001F44D\U0001F3FD", "luz\u2764\uFE0F1\uFE0F\u20E3"]
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    bots = []
    try:
        server.start()
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {server.port}"
        tmux.session("w", "sh -c " + sh_quote(chat + " --nick wanda; exec sleep 600"))
        screen = tmux.wait_for("w", "wanda (disponible) | online")
        check("text widths measured on this terminal" in screen, "no width measurement in the log", screen)
        for nick in nicks:
            bot = socket.create_connection(("127.0.0.1", server.port))
            bot.sendall((nick + "\n").encode())
            bots.append(bot)
        tmux.wait_for("w", "users (3)")
        for i, seq in enumerate(samples):
            bots[i % 2].sendall(f"s{i} {seq} fin\n".encode())
        for i, seq in enumerate(samples):
            line = f"<{nicks[i % 2]}> s{i} {seq} fin"
            tmux.wait(w := "w", lambda s: line in s, repr(line))
        tmux.text("w", f"a{family}b")
        tmux.wait(w, lambda s: last_line(s) == f"> a{family}b", "the family typed")
        check(tmux.info(w, "#{cursor_x}") == str(2 + 1 + 2 + 1), "cursor after a family (2 columns in tmux)")
        tmux.keys(w, "BSpace", "BSpace")  # b, then the whole family
        tmux.wait(w, lambda s: last_line(s) == "> a", "the family erased at once")
        check(tmux.info(w, "#{cursor_x}") == "3", "cursor after erasing the family")
        screen = tmux.capture(w)
        check(screen.count("\u200D") >= 4, "joiners lost on the way to the terminal", screen)
        borders = columns_of(tmux, w, "│", 30)
        check(len(borders) >= 28 and len({x for x, _ in borders}) == 1,
              f"the sidebar border is not in one column: {borders}", screen)
        border = borders[0][0]
        found = columns_of(tmux, w, "disponible", 30)
        statuses = [(x, y) for x, y in found if x > border]
        check(len(statuses) == 3 and len({x for x, _ in statuses}) == 1,
              f"the statuses in the user list are not in one column: {found}", screen)
        for nick in nicks:
            check(sidebar_row(screen, nick) is not None, f"{nick} not whole in the user list", screen)
    finally:
        for bot in bots:
            bot.close()
        tmux.kill()
        server.stop()


def run_reconnect(args, tmpdir):
    """A connection that dies without chatd noticing (a relay drops the client's side and keeps
    chatd's): the automatic re-login gets nick-in-use from the old session, and the client keeps
    retrying with a growing delay, saying so in the status bar, instead of asking for another nick.
    Once chatd lets the old session go, the next attempt logs in; the history it brings holds the
    lines already on the screen, and none of them is shown twice."""
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    proxy = None
    try:
        server.start()
        proxy = Proxy(server.port)
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {proxy.port}"
        tmux.session("r", "sh -c " + sh_quote(chat + " --nick rita; exec sleep 600"))
        tmux.wait_for("r", "rita (disponible) | online")
        lines = ["primera línea 1", "segunda línea 2", "tercera línea 3"]
        for text in lines:
            tmux.text("r", text)
            tmux.keys("r", "Enter")
            tmux.wait_for("r", f"<rita> {text}")
        proxy.hold()
        tmux.wait_for("r", "connection lost")
        screen = tmux.wait_for("r", "rita still held by the old session: retrying in")
        check(last_line(screen) == ">", "the nick prompt came back instead of a retry", screen)
        check("rita is still held by the old session" in screen, "no word of the held nick in the log", screen)
        # It goes on retrying (a second nick-in-use, with a longer delay), never asking for a nick.
        tmux.wait(r := "r", lambda s: s.count("rita is still held by the old session") >= 2,
                  "a second attempt while the nick is held")
        check(last_line(tmux.capture(r)) == ">", "the nick prompt came back", tmux.capture(r))
        proxy.release()
        screen = tmux.wait(r, lambda s: "rita (disponible) | online" in s
                           and "were already on screen" in s, "the re-login")
        for text in lines:
            check(screen.count(f"<rita> {text}") == 1, f"{text!r} shown twice after the re-login", screen)
        tmux.text(r, "después")
        tmux.keys(r, "Enter")
        tmux.wait_for(r, "<rita> después")
    finally:
        tmux.kill()
        if proxy:
            proxy.release()
            proxy.close()
        server.stop()


def run_paste(args, tmpdir):
    """Bracketed paste: 5 lines pasted show in the input line (newlines as ↵), Enter asks
    "send 5 lines?", Esc goes back to them, Enter twice sends them, in order, to the other user; a
    TAB inside a paste is text, not completion."""
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    try:
        server.start()
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {server.port}"
        tmux.session("p", "sh -c " + sh_quote(chat + " --nick pablo; exec sleep 600"))
        tmux.session("q", "sh -c " + sh_quote(chat + " --nick quima; exec sleep 600"))
        tmux.wait_for("p", "users (2)")
        lines = [f"pegado {i} ñ😀" for i in range(1, 6)]
        tmux.run("set-buffer", "-b", "five", "\n".join(lines) + "\n")
        tmux.run("paste-buffer", "-p", "-b", "five", "-t", tmux.exact("p"))
        shown = "> " + "\u21B5".join(lines) + "\u21B5"
        screen = tmux.wait("p", lambda s: last_line(s).startswith("> pegado 1 ñ😀\u21B5pegado 2"),
                           "the paste in the input line")
        check("<pablo> pegado" not in screen, "a pasted line was sent before Enter", screen)
        check(shown.startswith(last_line(screen)), "the input line does not show the paste", screen)
        tmux.keys("p", "Enter")
        tmux.wait("p", lambda s: last_line(s).startswith("send 5 lines?"), "the question")
        tmux.keys("p", "Escape")
        tmux.wait("p", lambda s: last_line(s).startswith("> pegado 1"), "the lines back after Esc")
        check("<pablo> pegado" not in tmux.capture("q"), "Esc sent the lines")
        tmux.keys("p", "Enter")
        tmux.wait("p", lambda s: last_line(s).startswith("send 5 lines?"), "the question again")
        tmux.keys("p", "Enter")
        screen = tmux.wait("q", lambda s: all(f"<pablo> {l}" in s for l in lines), "the five lines")
        order = [screen.index(f"<pablo> {l}") for l in lines]
        check(order == sorted(order), "the pasted lines arrived out of order", screen)
        tmux.wait("p", lambda s: last_line(s) == ">", "an empty input line after sending")
        # A TAB in a paste is text: no completion of "q" into "quima".
        tmux.run("set-buffer", "-b", "tab", "q\tfin")
        tmux.run("paste-buffer", "-p", "-b", "tab", "-t", tmux.exact("p"))
        tmux.wait("p", lambda s: last_line(s) == "> q    fin", "the TAB pasted as spaces")
        tmux.keys("p", "Enter")
        tmux.wait_for("q", "<pablo> q    fin")
    finally:
        tmux.kill()
        server.stop()


def run_dates(args, tmpdir):
    """A day change, with the client's clock set a few seconds before midnight (CHAT_FAKE_TIME,
    TZ=UTC): a line before and one after midnight, the day's line between them, in English in
    the C locale and in Spanish with an es_ES.UTF-8 locale built for the test (localedef)."""
    locales = os.path.join(tmpdir, "locales")
    os.makedirs(locales, exist_ok=True)
    spanish = subprocess.run(["localedef", "-i", "es_ES", "-f", "UTF-8", os.path.join(locales, "es_ES.UTF-8")],
                             capture_output=True).returncode == 0 and os.path.isdir(
                                 os.path.join(locales, "es_ES.UTF-8"))
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    try:
        server.start()
        # The fake clock starts when each client does: both a few seconds before midnight.
        base = f"env TZ=UTC CHAT_FAKE_TIME=2026-12-02T23:59:50Z {args.chat} --host 127.0.0.1 --port {server.port}"
        started = time.monotonic()
        tmux.session("e", "sh -c " + sh_quote(f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {base} --nick elena; exec sleep 600"))
        if spanish:
            tmux.session("s", "sh -c " + sh_quote(
                f"env LOCPATH={locales} LANG=es_ES.UTF-8 LC_ALL=es_ES.UTF-8 {base} --nick sara; exec sleep 600"))
        tmux.wait_for("e", "users (2)" if spanish else "users (1)")
        tmux.text("e", "antes de medianoche")
        tmux.keys("e", "Enter")
        tmux.wait_for("e", "23:59 <elena> antes de medianoche")
        # The one wait for time itself: the fake clock has to pass midnight (10 s after the start).
        time.sleep(max(0.0, started + 11 - time.monotonic()))
        tmux.text("e", "después de medianoche")
        tmux.keys("e", "Enter")
        screen = tmux.wait_for("e", "00:00 <elena> después de medianoche")
        rows = log_lines(screen)
        before = [i for i, r in enumerate(rows) if "antes de medianoche" in r]
        day = [i for i, r in enumerate(rows) if "--- Thursday, December 3, 2026 ---" in r]
        after = [i for i, r in enumerate(rows) if "después de medianoche" in r]
        check(before and day and after and before[0] < day[0] < after[0],
              "the day's line is not between the lines of the two days", screen)
        if spanish:
            screen = tmux.wait_for("s", "<elena> después de medianoche")
            check("--- jueves 3 de diciembre de 2026 ---" in screen, "the day's line is not in Spanish", screen)
    finally:
        tmux.kill()
        server.stop()


def run_search(args, tmpdir):
    """/buscar in a long scrollback: the newest hit shown and highlighted, Ctrl-R to the older
    one (scrolled off the screen before), Ctrl-S back, Esc back to the bottom."""
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    bot = None
    try:
        server.start()
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {server.port}"
        tmux.session("f", "sh -c " + sh_quote(chat + " --nick fede; exec sleep 600"))
        tmux.wait_for("f", "fede (disponible) | online")
        bot = socket.create_connection(("127.0.0.1", server.port))
        bot.sendall(b"gil\n")
        lines = ["una Manzana roja"] + [f"relleno {i}" for i in range(40)] + ["manzana verde"] + \
                [f"final {i}" for i in range(5)]
        bot.sendall("".join(l + "\n" for l in lines).encode())
        screen = tmux.wait_for("f", "<gil> final 4")
        check("Manzana roja" not in screen, "the old line should be off the screen", screen)
        tmux.text("f", "/buscar manzana")
        tmux.keys("f", "Enter")
        screen = tmux.wait_for("f", 'search "manzana" 1/2')
        rows = log_lines(screen)
        check(any("<gil> manzana verde" in r for r in rows[-8:-2]), "the newest hit not at the bottom", screen)
        colored = tmux.run("capture-pane", "-p", "-e", "-t", tmux.exact("f"))
        row = next((r for r in colored.splitlines() if "verde" in r), "")
        check(re.search(r"\x1b\[[0-9;]*7[0-9;]*mmanzana", row), "the hit is not highlighted", repr(row))
        tmux.keys("f", "C-r")
        screen = tmux.wait_for("f", 'search "manzana" 2/2')
        check("<gil> una Manzana roja" in screen, "Ctrl-R did not show the older hit", screen)
        tmux.keys("f", "C-s")
        tmux.wait_for("f", 'search "manzana" 1/2')
        tmux.keys("f", "Escape")
        screen = tmux.wait(r := "f", lambda s: "search" not in s and "<gil> final 4" in s, "the search ended")
    finally:
        if bot:
            bot.close()
        tmux.kill()
        server.stop()


def run_big_room(args, tmpdir):
    """A room longer than the user list: the title counts everyone and says which ones are shown,
    the last row how many more; F12 and F11 page through it."""
    server = Server(args.chatd)
    tmux = Tmux(tmpdir)
    bots = []
    try:
        server.start()
        for i in range(60):
            bot = socket.create_connection(("127.0.0.1", server.port))
            bot.sendall(f"u{i:02d}\n".encode())
            bots.append(bot)
        chat = f"env LANG=C.UTF-8 LC_ALL=C.UTF-8 {args.chat} --host 127.0.0.1 --port {server.port}"
        tmux.session("g", "sh -c " + sh_quote(chat + " --nick zz; exec sleep 600"))
        screen = tmux.wait_for("g", "users (61) 1-26")
        check("+35 more (F12)" in sidebar(screen), "the last row does not count the others", screen)
        check(sidebar_row(screen, "u00") is not None, "the first user is not shown", screen)
        tmux.keys("g", "F12")
        screen = tmux.wait_for("g", "users (61) 27-52")
        check(sidebar_row(screen, "u00") is None and sidebar_row(screen, "u26") is not None,
              "F12 did not page the user list", screen)
        tmux.keys("g", "F12", "F12")
        screen = tmux.wait_for("g", "users (61) 35-61")
        check(sidebar_row(screen, "zz") is not None, "the last page lacks the last user", screen)
        tmux.keys("g", "F11", "F11", "F11")
        tmux.wait_for("g", "users (61) 1-26")
    finally:
        for bot in bots:
            bot.close()
        tmux.kill()
        server.stop()


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--chat", required=True)
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmpdir:
        # No chat.ini of the user's may change what these tests run (the tmux server inherits this).
        os.environ["XDG_CONFIG_HOME"] = tmpdir
        try:
            run(args, tmpdir)
            run_widths(args, tmpdir)
            run_reconnect(args, tmpdir)
            run_paste(args, tmpdir)
            run_dates(args, tmpdir)
            run_search(args, tmpdir)
            run_big_room(args, tmpdir)
            run_accounts(args, tmpdir)
            run_tls(args, tmpdir)
        except Fail as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
