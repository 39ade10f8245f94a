#!/usr/bin/env python3
"""End-to-end test of `chat --plain` against a real chatd: lines from standard
input are sent, events come out as readable lines, end of input quits.

usage: plain_test.py --chatd PATH --chat PATH
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import time

DEADLINE = 20.0


# chatd reads CHATD_DB from the environment; these tests want its in-memory storage, not the
# database `make test` starts (whose fault tests stop it now and then).
MEMORY_ENV = {k: v for k, v in os.environ.items() if k != "CHATD_DB"}


class Fail(Exception):
    pass


def start_server(path, *extra):
    """chatd on port 0: returns (process, the port it reports), never another test's server."""
    import tempfile
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([path, "--bind", "127.0.0.1", "--port", "0", *extra],
                            stdout=subprocess.DEVNULL, stderr=log, env=MEMORY_ENV)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        log.seek(0)
        m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", log.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            raise Fail(f"chatd exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise Fail("chatd did not start listening")


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def plain(chat, port, stdin_text, *extra, env_extra=None):
    env = dict(os.environ, LC_ALL="C.UTF-8")
    env.update(env_extra or {})
    r = subprocess.run([chat, "--plain", "--host", "127.0.0.1", "--port", str(port), *extra],
                       input=stdin_text.encode(), capture_output=True, timeout=DEADLINE, env=env)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def expect(cond, msg, out=""):
    if not cond:
        raise Fail(msg + ("\n--- output:\n" + out if out else ""))


def run(args):
    server, port = start_server(args.chatd)
    try:
        # Lines typed ahead of the login are sent after it; end of input quits cleanly.
        rc, out = plain(args.chat, port, "hola desde plain 😀\n/estado ausente\n!ana nota\n/ayuda\n",
                        "--nick", "ana")
        expect(rc == 0, f"exit status {rc}", out)
        lines = out.splitlines()
        expect(any(l.endswith(" <ana> hola desde plain 😀") for l in lines), "own public message", out)
        expect(any(l.endswith(" --- ana is now ausente") for l in lines), "status change", out)
        expect(any(l.endswith(" -> ana: nota") for l in lines), "private message to oneself", out)
        expect(any("client: /clear" in l for l in lines), "client help after the server's", out)
        expect("server closes the connection" in lines[-1], "BYE last", out)
        expect(all("\x1b" not in l for l in lines), "escape sequence in plain output", out)

        # Without --nick the first line is the nickname; a refused one is reported and the next is tried.
        rc, out = plain(args.chat, port, "-mal\nzoe\nhola\n")
        expect(rc == 0, f"exit status {rc}", out)
        expect("!!! nick-invalid" in out, "the refused nick is reported", out)
        expect(" <zoe> hola" in out, "the second nick logged in and spoke", out)

        # A non-UTF-8 locale does not break it.
        rc, out = plain(args.chat, port, "hola\n", "--nick", "Begoña", env_extra={"LC_ALL": "C"})
        expect(rc == 0 and "<Begoña> hola" in out, f"C locale: exit status {rc}", out)

        # An invalid --nick is refused before connecting.
        rc, out = plain(args.chat, port, "", "--nick", ".dot")
        expect(rc == 2, f"invalid --nick: exit status {rc}", out)

        # Losing the server ends --plain with a non-zero status.
        env = dict(os.environ, LC_ALL="C.UTF-8")
        client = subprocess.Popen([args.chat, "--plain", "--port", str(port), "--nick", "eva"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        try:
            end = time.monotonic() + DEADLINE
            seen = b""
            while b"eva" not in seen and time.monotonic() < end:
                seen += client.stdout.readline()
            expect(b"eva" in seen, "no welcome for eva", seen.decode("utf-8", "replace"))
            stop(server)
            rc = client.wait(DEADLINE)
            rest = client.stdout.read().decode("utf-8", "replace")
            expect(rc == 1, f"lost server: exit status {rc}", rest)
            expect("connection lost" in rest, "lost server is reported", rest)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            client.stdin.close()
            client.stdout.close()

        # Nothing listening: --plain gives up at once.
        rc, out = plain(args.chat, port, "", "--nick", "eva")
        expect(rc == 1 and "no connection" in out, f"no server: exit status {rc}", out)
    finally:
        stop(server)


def read_until(fd, data, marker, what):
    """Reads the pipe `fd` onto `data` (bytes) until `marker` is in it; returns the bytes."""
    import select
    end = time.monotonic() + DEADLINE
    while marker not in data:
        left = end - time.monotonic()
        expect(left > 0, f"{what}: not seen within {DEADLINE} s", data[-2000:].decode("utf-8", "replace"))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 1 << 20)
            expect(chunk != b"", f"{what}: the client ended first", data[-2000:].decode("utf-8", "replace"))
            data += chunk
    return data


def run_long_lines(args):
    """A server line far over the old 16 KiB client limit (chatd --max-line goes up to 1 MiB)
    is shown in full: a 100 KiB message from a raw socket client appears whole in --plain."""
    server, port = start_server(args.chatd, "--max-line", "200000")
    env = dict(os.environ, LC_ALL="C.UTF-8")
    client = subprocess.Popen([args.chat, "--plain", "--host", "127.0.0.1", "--port", str(port), "--nick", "eva"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    raw = None
    try:
        out = read_until(client.stdout.fileno(), b"", b"eva", "eva's welcome")
        raw = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        raw.sendall(b"bob\n")
        got = b""
        while b"END HIST" not in got:
            chunk = raw.recv(65536)
            expect(chunk != b"", "bob's login: connection closed", got.decode("utf-8", "replace"))
            got += chunk
        text = "".join(f"palabra{i} " for i in range(12000))[: 100 * 1024].rstrip()
        expect(len(text) > 100000, "a 100 KiB message")
        raw.sendall(text.encode() + b"\nfin\n")
        out = read_until(client.stdout.fileno(), out, b"<bob> fin", "bob's last line")
        lines = out.decode("utf-8", "replace").splitlines()
        expect(any(l.endswith(" <bob> " + text) for l in lines), "the 100 KiB message in full",
               "\n".join(l[:200] for l in lines))
        expect(not any("was dropped" in l for l in lines), "no line dropped", "\n".join(l[:200] for l in lines))
        client.stdin.close()
        rc = client.wait(DEADLINE)
        expect(rc == 0, f"exit status {rc}")
    finally:
        if raw is not None:
            raw.close()
        if client.poll() is None:
            client.kill()
            client.wait()
        if not client.stdin.closed:
            client.stdin.close()
        client.stdout.close()
        stop(server)


def run_accounts(args):
    """Accounts (protocol 2) in --plain: register inline, log in from --password-file, from
    CHAT_PASSWORD and from the next input line, a wrong password, /clave asked twice, a mismatch,
    a group-readable file refused, and no echo of a password typed at a terminal. No password
    may appear in any output."""
    import tempfile
    pw_a, pw_b, wrong = "Secreto-Plano-4711", "otra clave  larga ", "Falso-Falso-0000"
    server, port = start_server(args.chatd)
    outputs = []

    def run(stdin_text, *extra, env_extra=None):
        env = dict(os.environ, LC_ALL="C.UTF-8")
        env.pop("CHAT_PASSWORD", None)
        env.update(env_extra or {})
        r = subprocess.run([args.chat, "--plain", "--host", "127.0.0.1", "--port", str(port), *extra],
                           input=stdin_text.encode(), capture_output=True, timeout=DEADLINE, env=env)
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        outputs.append(out + err)
        return r.returncode, out, err

    try:
        with tempfile.TemporaryDirectory() as tmp:
            # A guest registers with the password inline.
            rc, out, _ = run(f"/registrar {pw_a}\n/perfil\n", "--nick", "pepa")
            expect(rc == 0, f"register: exit status {rc}", out)
            expect("pepa is now a registered account" in out, "register confirmed", out)
            expect("account=yes" in out, "PROFILE account=yes", out)

            # --password-file: the first line, its CRLF removed.
            path = os.path.join(tmp, "pw")

            def write_private(data):
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, 0o600)

            write_private(pw_a.encode() + b"\r\nsecond line\n")
            rc, out, _ = run("hola desde el fichero\n", "--nick", "pepa", "--password-file", path)
            expect(rc == 0 and " <pepa> hola desde el fichero" in out, f"--password-file: exit status {rc}", out)
            expect("sending the kept password" in out, "the file's password sent on AUTH", out)

            # A file others can read is refused before connecting.
            os.chmod(path, 0o644)
            rc, out, err = run("", "--nick", "pepa", "--password-file", path)
            expect(rc == 2 and "chmod 600" in err, f"readable password file: exit status {rc}", out + err)
            expect("connecting" not in out, "connected with a refused file", out)

            # CHAT_PASSWORD.
            rc, out, _ = run("hola desde el entorno\n", "--nick", "pepa", env_extra={"CHAT_PASSWORD": pw_a})
            expect(rc == 0 and " <pepa> hola desde el entorno" in out, f"CHAT_PASSWORD: exit status {rc}", out)

            # A wrong password from the file or the environment ends plain mode: status 1.
            write_private(wrong.encode() + b"\n")
            rc, out, _ = run("esto no se envía\n", "--nick", "pepa", "--password-file", path)
            expect(rc == 1 and "bad-password" in out, f"wrong file password: exit status {rc}", out)
            expect("was refused" in out, "the refused file is named", out)
            expect("esto no se envía" not in out, "a line was sent after a refused password", out)

            # Without them, the next input line is the password; a wrong one goes back to the nickname.
            rc, out, _ = run(f"{wrong}\npepa\n{pw_a}\nhola a mano\n", "--nick", "pepa")
            expect(rc == 0, f"typed password: exit status {rc}", out)
            expect("bad-password: wrong password for pepa" in out, "bad-password explained", out)
            expect(" <pepa> hola a mano" in out, "logged in with the second try", out)

            # /clave alone reads the new password from the next two lines; a password with spaces.
            rc, out, _ = run(f"{pw_a}\n/clave\n{pw_b}\n{pw_b}\n", "--nick", "pepa")
            expect(rc == 0 and "the password of pepa is changed" in out, f"/clave: exit status {rc}", out)
            rc, out, _ = run("con la nueva\n", "--nick", "pepa", env_extra={"CHAT_PASSWORD": pw_b})
            expect(rc == 0 and " <pepa> con la nueva" in out, f"new password: exit status {rc}", out)

            # A mismatch sends nothing: the guest is still a guest afterwards.
            rc, out, _ = run("/registrar\nuno-uno-uno-1\ndos-dos-dos-2\n", "--nick", "quique")
            expect(rc == 0 and "the two passwords differ" in out, f"mismatch: exit status {rc}", out)
            rc, out, _ = run("sigo siendo invitado\n/clave Alguna-Clave-9\n", "--nick", "quique")
            expect(" <quique> sigo siendo invitado" in out and "registered account" not in out,
                   "a mismatched /registrar registered the nick", out)
            expect("not-registered: quique is a guest nickname" in out, "not-registered explained", out)

            # The other refusals of /registrar and /clave, in plain words.
            rc, out, _ = run("/registrar Otra-Clave-Mas\n/clave corta\n", "--nick", "pepa",
                             env_extra={"CHAT_PASSWORD": pw_b})
            expect("already-registered: pepa is already a registered account" in out, "already-registered", out)
            expect("password-invalid: the password was refused: it must be 8 to 128 bytes" in out,
                   "password-invalid explained", out)

            # End of input while the password is wanted: status 1, said so.
            rc, out, _ = run("", "--nick", "pepa")
            expect(rc == 1 and "end of input while the password" in out, f"no password: exit status {rc}", out)

        run_password_on_a_terminal(args, port, pw_b, outputs)
        for out in outputs:
            for secret in (pw_a, pw_b, pw_b.strip(), wrong, "uno-uno-uno-1", "dos-dos-dos-2"):
                expect(secret not in out, "a password in the output", out)
    finally:
        stop(server)


def run_closed_servers(args):
    """A server that takes no registrations, and one that takes accounts only: said plainly."""
    server, port = start_server(args.chatd, "--registration", "closed")
    try:
        r = subprocess.run([args.chat, "--plain", "--host", "127.0.0.1", "--port", str(port), "--nick", "lola"],
                           input=b"/registrar Clave-Cerrada-1\n", capture_output=True, timeout=DEADLINE,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        out = r.stdout.decode("utf-8", "replace")
        expect(r.returncode == 0 and "registration-closed: this server does not let its users register" in out,
               f"registration closed: exit status {r.returncode}", out)
        expect("Clave-Cerrada-1" not in out, "a password in the output", out)
    finally:
        stop(server)
    server, port = start_server(args.chatd, "--require-account")
    try:
        r = subprocess.run([args.chat, "--plain", "--host", "127.0.0.1", "--port", str(port), "--nick", "lola"],
                           input=b"", capture_output=True, timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8"))
        out = r.stdout.decode("utf-8", "replace")
        expect(r.returncode == 1 and "account-required: this server accepts registered accounts only" in out,
               f"accounts only: exit status {r.returncode}", out)
    finally:
        stop(server)


def run_password_on_a_terminal(args, port, password, outputs):
    """--plain with its input on a terminal: the password line is not echoed, the chat lines are."""
    import pty
    import select
    master, slave = pty.openpty()
    env = dict(os.environ, LC_ALL="C.UTF-8")
    env.pop("CHAT_PASSWORD", None)
    client = subprocess.Popen([args.chat, "--plain", "--host", "127.0.0.1", "--port", str(port), "--nick", "pepa"],
                              stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen = b""

    def read_until(marker, what):
        nonlocal seen
        end = time.monotonic() + DEADLINE
        while marker not in seen:
            left = end - time.monotonic()
            expect(left > 0, f"{what}: not seen", seen.decode("utf-8", "replace"))
            r, _, _ = select.select([master], [], [], left)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                expect(chunk != b"", f"{what}: the client ended first", seen.decode("utf-8", "replace"))
                seen += chunk

    try:
        read_until(b"type its password", "the password request")
        os.write(master, password.encode() + b"\n")
        # The recent history after WELCOME holds an earlier message: once it is out, the echo is back.
        read_until("<pepa> hola a mano".encode(), "the login history")
        os.write(master, "eco visible\n".encode())
        read_until(b"<pepa> eco visible", "the public message")
        os.write(master, b"\x04")  # Ctrl-D: end of input
        rc = client.wait(DEADLINE)
        try:
            while True:
                r, _, _ = select.select([master], [], [], 0.5)
                if not r:
                    break
                chunk = os.read(master, 65536)
                if not chunk:
                    break
                seen += chunk
        except OSError:
            pass
        text = seen.decode("utf-8", "replace")
        outputs.append(text)
        expect(rc == 0, f"terminal: exit status {rc}", text)
        expect(text.count("eco visible") >= 2, "the chat line is echoed (and shown as sent)", text)
        expect(password not in text and password.strip() not in text, "the password was echoed", text)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        os.close(master)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--chat", required=True)
    args = ap.parse_args()
    try:
        run(args)
        run_long_lines(args)
        run_accounts(args)
        run_closed_servers(args)
    except (Fail, subprocess.TimeoutExpired) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
