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


def start_server(path, *extra, tls=False):
    """chatd on port 0: returns (process, the port it reports), never another test's server.
    With tls, `extra` names the certificate and the port returned is the TLS one (the only one)."""
    import tempfile
    log = tempfile.TemporaryFile()
    tls_args = ["--tls-port", "0"] if tls else []
    # Passwords at libsodium's minimum cost: at the real one, a hash on a loaded machine can
    # outlast the 2 s that --plain waits at the end of its input for the server's answers.
    proc = subprocess.Popen([path, "--bind", "127.0.0.1", "--port", "0", "--pw-test-cost", *tls_args, *extra],
                            stdout=subprocess.DEVNULL, stderr=log, env=MEMORY_ENV)
    pattern = rb"listening for TLS on 127\.0\.0\.1:(\d+)" if tls else rb"listening on 127\.0\.0\.1:(\d+)"
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        log.seek(0)
        m = re.search(pattern, log.read())
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

        # A configuration file ($XDG_CONFIG_HOME/chat/chat.ini): host, port and nick from it; the
        # command line wins; an unknown key, or a bad value, is a usage error.
        import tempfile
        with tempfile.TemporaryDirectory() as xdg:
            os.makedirs(os.path.join(xdg, "chat"))
            ini = os.path.join(xdg, "chat", "chat.ini")
            with open(ini, "w") as f:
                f.write(f"# chat's options\nhost = 127.0.0.1\nport = {port}\nnick = desde-ini\ncolors = off\n")
            env = {"XDG_CONFIG_HOME": xdg}
            r = subprocess.run([args.chat, "--plain"], input=b"hola ini\n", capture_output=True,
                               timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8", **env))
            out = r.stdout.decode("utf-8", "replace")
            expect(r.returncode == 0 and "<desde-ini> hola ini" in out, f"config file: exit status {r.returncode}", out)
            r = subprocess.run([args.chat, "--plain", "--nick", "linea"], input=b"gana\n", capture_output=True,
                               timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8", **env))
            out = r.stdout.decode("utf-8", "replace")
            expect(r.returncode == 0 and "<linea> gana" in out, "the command line does not win over the file", out)
            # --config names another file; a key the client does not know is refused, not ignored.
            other = os.path.join(xdg, "other.ini")
            with open(other, "w") as f:
                f.write(f"port = {port}\nnick = otro\nnik = typo\n")
            r = subprocess.run([args.chat, "--plain", "--config", other], input=b"", capture_output=True,
                               timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8", **env))
            expect(r.returncode >= 100 and b"nik" in r.stderr, f"an unknown key: exit status {r.returncode}",
                   r.stderr.decode())
            with open(ini, "w") as f:
                f.write(f"port = {port}\ncolors = purple\n")
            r = subprocess.run([args.chat, "--plain", "--nick", "x"], input=b"", capture_output=True,
                               timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8", **env))
            expect(r.returncode >= 100, f"colors = purple: exit status {r.returncode}", r.stderr.decode())

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
        # A name that does not resolve (looked up on the client's lookup thread): the same, with the lookup's words.
        r = subprocess.run([args.chat, "--plain", "--host", "no-such-host.invalid", "--port", str(port), "--nick", "eva"],
                           input=b"", capture_output=True, timeout=DEADLINE, env=dict(os.environ, LC_ALL="C.UTF-8"))
        out = r.stdout.decode("utf-8", "replace")
        expect(r.returncode == 1 and "connecting to no-such-host.invalid" in out and "no connection: " in out,
               f"an unknown host: exit status {r.returncode}", out)
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


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_certs(tmp):
    """scripts/cert.sh's CA and server certificate in tmp/tls (CHATD_TLS_DIR), a second, unrelated CA
    in tmp/other, and two more server certificates signed by the first CA: one for "otherhost" only
    and one for 127.0.0.1 that has expired. Returns a dict of paths."""
    for d in ("tls", "other"):
        subprocess.run([os.path.join(REPO, "scripts", "cert.sh")], check=True, capture_output=True,
                       env=dict(os.environ, CHATD_TLS_DIR=os.path.join(tmp, d)))
    ca = os.path.join(tmp, "tls")

    def leaf(name, san, days):
        key, csr, ext, pem = (os.path.join(tmp, name + suffix) for suffix in (".key", ".csr", ".ext", ".pem"))
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", "/CN=" + name, "-keyout", key, "-out", csr],
                       check=True, capture_output=True)
        with open(ext, "w") as f:
            f.write(f"basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n")
        # -days -1: valid from now until yesterday, which OpenSSL reports as expired.
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(ca, "ca.pem"),
                        "-CAkey", os.path.join(ca, "ca.key"), "-days", str(days), "-extfile", ext, "-out", pem],
                       check=True, capture_output=True)
        return pem, key

    return {"ca": os.path.join(ca, "ca.pem"), "good": (os.path.join(ca, "server.pem"), os.path.join(ca, "server.key")),
            "other_ca": os.path.join(tmp, "other", "ca.pem"), "otherhost": leaf("otherhost", "DNS:otherhost", 30),
            "expired": leaf("expired", "IP:127.0.0.1", -1)}


def run_tls(args):
    """chat --tls against chatd serving TLS (certificates from scripts/cert.sh in a temporary
    CHATD_TLS_DIR): chat and accounts work over it, a 100 KB line comes back whole (many records
    buffered inside OpenSSL); a certificate for another host, from an unknown CA (another --tls-ca,
    or the system store), expired, and a plain TCP port are each refused with exit status 1 and the
    reason in plain words, on standard output and stderr, without a retry or a line sent;
    --tls-insecure connects and warns; option mistakes are usage errors."""
    import tempfile

    def chat(port, stdin_text, *extra, host="127.0.0.1", env_extra=None):
        env = dict(os.environ, LC_ALL="C.UTF-8")
        env.pop("CHAT_PASSWORD", None)
        env.update(env_extra or {})
        r = subprocess.run([args.chat, "--plain", "--host", host, "--port", str(port), *extra],
                           input=stdin_text.encode(), capture_output=True, timeout=DEADLINE, env=env)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def refused(port, ca_args, words, what):
        rc, out, err = chat(port, "esto no debe salir\n", "--tls", *ca_args, "--nick", "ana")
        expect(rc == 1, f"{what}: exit status {rc}", out + err)
        expect(words in out, f"{what}: the reason on standard output", out)
        expect(words in err and err.startswith("chat: TLS: "), f"{what}: the reason on stderr", err)
        expect("retrying" not in out and "esto no debe salir" not in out, f"{what}: retried or sent", out)
        expect("chatd: welcome" not in out, f"{what}: went on after the refusal", out)

    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certs(tmp)
        ca = ["--tls-ca", certs["ca"]]
        servers = []

        def serve(cert, *extra):
            proc, port = start_server(args.chatd, "--tls-cert", cert[0], "--tls-key", cert[1], *extra, tls=True)
            servers.append(proc)
            return port

        try:
            port = serve(certs["good"], "--max-line", "200000")
            big = "tls" + "x" * 100000
            rc, out, err = chat(port, f"hola por tls\n{big}\n", "--tls", *ca, "--nick", "ana")
            expect(rc == 0, f"TLS: exit status {rc}", out + err)
            expect(f"connecting to 127.0.0.1:{port} over TLS" in out, "TLS: the attempt says TLS", out)
            expect(re.search(r"--- TLS: TLSv1\.[23] \S+, certificate for localhost, 127\.0\.0\.1, ::1 from "
                             r"chatd test CA, verified\n", out), "TLS: version, cipher and certificate logged", out)
            expect(" <ana> hola por tls" in out, "TLS: the public message", out)
            expect(f" <ana> {big}\n" in out, "TLS: the 100 KB line came back whole", out[-300:])
            expect("server closes the connection" in out.splitlines()[-1], "TLS: BYE last", out[-300:])
            expect(err == "", "TLS: something on stderr", err)

            # A host name: checked against the DNS names and sent as SNI (where localhost is 127.0.0.1).
            if socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)[0][4][0] == "127.0.0.1":
                rc, out, err = chat(port, "hola localhost\n", "--tls", *ca, "--nick", "leo", host="localhost")
                expect(rc == 0 and " <leo> hola localhost" in out, f"--host localhost: exit status {rc}", out + err)

            # Accounts over TLS: register, then log in with the password from the environment.
            rc, out, err = chat(port, "/registrar Clave-Por-TLS-77\n", "--tls", *ca, "--nick", "pepa")
            expect(rc == 0 and "pepa is now a registered account" in out, f"TLS register: exit status {rc}", out)
            rc, out, err = chat(port, "dentro con cuenta\n", "--tls", *ca, "--nick", "pepa",
                                env_extra={"CHAT_PASSWORD": "Clave-Por-TLS-77"})
            expect(rc == 0 and " <pepa> dentro con cuenta" in out, f"TLS login: exit status {rc}", out + err)
            expect("Clave-Por-TLS-77" not in out + err, "a password in the output", out + err)

            # Not the CA that signed it: another private one, or the system's store.
            refused(port, ["--tls-ca", certs["other_ca"]], "signed by an unknown certificate authority", "other CA")
            refused(port, [], "signed by an unknown certificate authority", "system store")

            # A certificate for another host name, and an expired one.
            refused(serve(certs["otherhost"]), ca, "not for the address 127.0.0.1 (it is for otherhost)", "wrong host")
            refused(serve(certs["expired"]), ca, "the server's certificate has expired", "expired")

            # --tls-insecure takes even the wrong host, and says so loudly.
            rc, out, err = chat(serve(certs["otherhost"]), "sin verificar\n", "--tls", "--tls-insecure", "--nick", "ana")
            expect(rc == 0 and " <ana> sin verificar" in out, f"--tls-insecure: exit status {rc}", out + err)
            expect("!!! WARNING: --tls-insecure: the server's certificate is NOT verified" in out,
                   "--tls-insecure: the warning in the log", out)
            expect(err.startswith("chat: WARNING: --tls-insecure"), "--tls-insecure: the warning on stderr", err)
            expect("NOT VERIFIED (--tls-insecure)" in out, "--tls-insecure: the TLS line says so", out)

            # A plain TCP server answered with TLS.
            plain_server, plain_port = start_server(args.chatd)
            servers.append(plain_server)
            rc, out, err = chat(plain_port, "hola\n", "--tls", *ca, "--nick", "ana")
            expect(rc == 1 and "did not answer in TLS" in out, f"TLS to plain: exit status {rc}", out + err)
            expect("chatd: welcome" not in out, "TLS to plain: fell back to plain TCP", out)

            # Option mistakes, before connecting.
            for extra, words in ((ca, "--tls-ca needs --tls"), (["--tls-insecure"], "--tls-insecure needs --tls"),
                                 (["--tls", "--tls-insecure", *ca], "contradict"),
                                 (["--tls", "--tls-ca", os.path.join(tmp, "missing.pem")], "No such file"),
                                 (["--tls", "--tls-ca", os.path.join(tmp, "otherhost.ext")], "no PEM certificate")):
                rc, out, err = chat(port, "", *extra, "--nick", "ana")
                expect(rc == 2 and words in err and "connecting" not in out, f"{extra}: exit status {rc}", out + err)

            # Losing a TLS server: it says BYE and sends close_notify, so the end is a clean one. A
            # server of its own: the first one's history holds the 100 KB line, more than a pipe holds.
            port = serve(certs["good"])
            client = subprocess.Popen([args.chat, "--plain", "--tls", *ca, "--port", str(port), "--nick", "eva"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      env=dict(os.environ, LC_ALL="C.UTF-8"))
            try:
                seen = read_until(client.stdout.fileno(), b"", b"hola eva", "TLS: eva's welcome")
                stop(servers[-1])
                rc = client.wait(DEADLINE)
                rest = (seen + client.stdout.read()).decode("utf-8", "replace")
                expect(rc == 1 and "connection lost: the server closed the connection" in rest,
                       f"lost TLS server: exit status {rc}", rest)
                expect("close_notify" not in rest, "lost TLS server: no close_notify", rest)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait()
                client.stdin.close()
                client.stdout.close()
        finally:
            for proc in servers:
                stop(proc)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--chat", required=True)
    args = ap.parse_args()
    # No chat.ini of the user's may change what these tests run (the config test sets its own).
    import tempfile
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="chat-test-xdg-")
    try:
        run(args)
        run_long_lines(args)
        run_accounts(args)
        run_closed_servers(args)
        run_tls(args)
    except (Fail, subprocess.TimeoutExpired) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
