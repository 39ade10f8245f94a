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

    def __init__(self, path):
        self.path, self.port, self.proc = path, 0, None

    def start(self):
        import random
        for _ in range(50):
            port = self.port or random.randrange(20000, 32000)
            log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen([self.path, "--bind", "127.0.0.1", "--port", str(port)],
                                         stdout=subprocess.DEVNULL, stderr=log, env=MEMORY_ENV)
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                log.seek(0)
                if re.search(rb"listening on 127\.0\.0\.1:%d\b" % port, log.read()):
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

        tmux.wait("b", lambda s: s.splitlines()[-1].startswith("nick>"), "the nick prompt")
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
        tmux.wait("a", lambda s: s.splitlines()[-1].rstrip() == "> !Begoña", "the completed nick")
        tmux.text("a", "secreto-xyz")
        tmux.keys("a", "Enter")
        tmux.wait_for("a", "-> Begoña: secreto-xyz")
        tmux.wait_for("b", "<- ana: secreto-xyz")
        tmux.text("b", "fin-del-privado")
        tmux.keys("b", "Enter")
        screen = tmux.wait_for("c", "<Begoña> fin-del-privado")
        check("secreto-xyz" not in screen, "a third user saw the private message", screen)

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
        tmux.wait(b_target := "b", lambda s: s.splitlines()[-1].rstrip() == "> ñandúx", "the emoji erased")
        check(tmux.info(b_target, "#{cursor_x}") == str(2 + 5), "cursor column after erasing the emoji")
        tmux.keys("b", "Home", "Delete")
        tmux.text("b", "¡Ñ")
        tmux.keys("b", "End")
        tmux.text("b", " 中文")
        tmux.wait(b_target, lambda s: s.splitlines()[-1].rstrip() == "> ¡Ñandúx 中文", "the edited line")
        check(tmux.info("b", "#{cursor_x}") == str(2 + 7 + 1 + 4), "cursor column after CJK")
        tmux.keys("b", "Enter")
        tmux.wait_for("a", "<Begoña> ¡Ñandúx 中文")

        # History: Up brings back the line just sent.
        tmux.keys("b", "Up")
        tmux.wait(b_target, lambda s: s.splitlines()[-1].rstrip() == "> ¡Ñandúx 中文", "history Up")
        tmux.keys("b", "C-u")
        tmux.wait(b_target, lambda s: s.splitlines()[-1].rstrip() == ">", "Ctrl-U")

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
        screen = tmux.wait("a", lambda s: "users (" not in s, "the sidebar to hide")
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
        try:
            run(args, tmpdir)
        except Fail as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
