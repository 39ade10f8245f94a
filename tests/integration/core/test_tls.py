#!/usr/bin/env python3
"""What only TLS has (PROTOCOL.md, "TLS"): HELLO right after the handshake, the
10 s handshake timeout, garbage and resets during the handshake, a ClientHello
trickled byte by byte, SIGHUP with a new certificate (and with a broken one),
a key that does not match, BYE then close_notify. The rest of the contract
runs over TLS in the it-core-*-tls tests."""

import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import harness as H
from harness import check, check_eq, parse

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def make_certs(name):
    d = tempfile.mkdtemp(prefix=f"chatd-tls-{name}-")
    subprocess.run([os.path.join(ROOT, "scripts", "cert.sh")], env={**os.environ, "CHATD_TLS_DIR": d},
                   check=True, stdout=subprocess.DEVNULL)
    return d


class TlsServer(H.Server):
    """chatd serving TLS only, from cert files in `workdir` that a test may replace."""

    def __init__(self, chatd, certs, *extra):
        self.workdir = tempfile.mkdtemp(prefix="chatd-tls-run-")
        self.install(certs)
        self.cert = os.path.join(self.workdir, "server.pem")
        self.key = os.path.join(self.workdir, "server.key")
        saved = H.TLS_DIR
        H.TLS_DIR = None  # the arguments are ours
        try:
            super().__init__(chatd, "--tls-port", "0", "--tls-cert", self.cert, "--tls-key", self.key,
                             *extra)
        finally:
            H.TLS_DIR = saved
        self.certs = certs

    def install(self, certs):
        for f in ("server.pem", "server.key"):
            shutil.copy(os.path.join(certs, f), os.path.join(self.workdir, f + ".new"))
            os.replace(os.path.join(self.workdir, f + ".new"), os.path.join(self.workdir, f))


def ctx_for(certs):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    ctx.check_hostname = True
    return ctx


def tls_connect(srv, certs):
    s = socket.create_connection((srv.host, srv.port), timeout=H.TIMEOUT)
    return ctx_for(certs).wrap_socket(s, server_hostname="localhost")


def read_line(s):
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise H.TestFailure(f"closed before a line: {buf!r}")
        buf += chunk
    return buf.split(b"\n", 1)[0].decode()


def closed_within(s, seconds):
    """Waits for the server to close the raw socket `s`; returns (seconds taken, bytes received)."""
    t0 = time.monotonic()
    got = b""
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise H.TestFailure(f"not closed within {seconds} s")
    return time.monotonic() - t0, got


def test_hello_after_handshake_and_close_notify(chatd):
    certs = make_certs("a")
    srv = TlsServer(chatd, certs)
    s = tls_connect(srv, certs)
    check(s.version() in ("TLSv1.2", "TLSv1.3"), f"TLS version {s.version()}")
    check(read_line(s).startswith("HELLO chatd 2 "), "HELLO is the first line after the handshake")
    s.sendall(b"ana\n")
    check(read_line(s).startswith("WELCOME ana "), "login over TLS")
    s.sendall(b"/salir\n")
    rest = b""
    while True:
        try:
            chunk = s.recv(4096)
        except ssl.SSLEOFError:
            raise H.TestFailure("the server closed without a close_notify after BYE")
        if not chunk:
            break
        rest += chunk
    check(rest.decode().splitlines()[-1] == "BYE :adios", f"BYE last: {rest!r}")
    s.close()
    srv.finish()


def test_min_version_1_3(chatd):
    """--tls-min-version 1.3: a client that offers TLS 1.2 at most is refused; 1.3 is served."""
    certs = make_certs("v")
    srv = TlsServer(chatd, certs, "--tls-min-version", "1.3")
    old = ctx_for(certs)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((srv.host, srv.port), timeout=H.TIMEOUT)
    try:
        old.wrap_socket(raw, server_hostname="localhost")
        raise H.TestFailure("a TLS 1.2 handshake succeeded with --tls-min-version 1.3")
    except ssl.SSLError:
        pass
    finally:
        raw.close()
    s = tls_connect(srv, certs)
    check_eq(s.version(), "TLSv1.3", "TLS 1.3 is served")
    check(read_line(s).startswith("HELLO "), "HELLO over TLS 1.3")
    s.close()
    srv.finish()


def test_handshake_timeout_garbage_reset(chatd):
    certs = make_certs("b")
    mport = H.free_port()
    srv = TlsServer(chatd, certs, "--metrics-port", mport)
    silent = socket.create_connection((srv.host, srv.port))
    garbage = socket.create_connection((srv.host, srv.port))
    garbage.sendall(b"GET / HTTP/1.0\r\n\r\n")
    took, got = closed_within(garbage, 5)
    check(took < 2 and b"HELLO" not in got, f"garbage: closed after {took:.2f} s with {got[:40]!r}")
    # A reset in the middle of a ClientHello.
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx_for(certs).wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    r = socket.create_connection((srv.host, srv.port))
    r.sendall(hello[: len(hello) // 2])
    r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    r.close()
    H.TLS_DIR = certs  # harness clients verify with this CA
    try:
        ok = srv.connect("despues")  # the server goes on
        took, got = closed_within(silent, 14)
        check(8.5 < took < 12.5 and got == b"", f"a silent connection: closed after {took:.2f} s with {got!r}")
        log = srv.wait_stderr("handshake not finished in 10 s", "the timeout is logged")
        check(log.count("TLS handshake from") >= 3, "each failed handshake is logged once")
        counts = tls_handshake_counts(mport)
        check(counts["failed"] == 3 and counts["ok"] == 1, f"chatd_tls_handshakes_total: {counts}")
        ok.sendline("/ping x")
        ok.expect("PONG x")
        srv.finish()
    finally:
        H.TLS_DIR = None


def tls_handshake_counts(mport):
    s = socket.create_connection(("127.0.0.1", mport), timeout=H.TIMEOUT)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    counts = {}
    for m in re.finditer(rb'^chatd_tls_handshakes_total\{result="(\w+)"\} (\d+)$', data, re.M):
        counts[m.group(1).decode()] = int(m.group(2))
    return counts


def test_client_hello_trickled(chatd):
    certs = make_certs("c")
    srv = TlsServer(chatd, certs)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx_for(certs).wrap_bio(inc, out, server_hostname="localhost")
    s = socket.create_connection((srv.host, srv.port), timeout=H.TIMEOUT)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    for b in out.read():  # byte by byte, ~2 s in all
        s.sendall(bytes([b]))
        time.sleep(0.004)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = out.read()
            if pending:
                s.sendall(pending)
            data = s.recv(65536)
            check(data != b"", "closed during a trickled handshake")
            inc.write(data)
    pending = out.read()
    if pending:
        s.sendall(pending)
    buf = b""
    while b"\n" not in buf:
        try:
            buf += obj.read(4096)
        except ssl.SSLWantReadError:
            inc.write(s.recv(65536))
    check(buf.startswith(b"HELLO chatd 2 "), f"HELLO after a trickled ClientHello: {buf[:40]!r}")
    s.close()
    srv.finish()


def test_sighup_reloads_the_certificate(chatd):
    a, b = make_certs("old"), make_certs("new")
    srv = TlsServer(chatd, a)
    H.TLS_DIR = a
    old = srv.connect("vieja")
    H.TLS_DIR = None
    srv.install(b)
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_stderr("TLS certificate reloaded", "no reload logged after SIGHUP")
    # The old connection lives on; new handshakes present the new certificate.
    old.sendline("sigo aquí")
    old.expect("MSG vieja :sigo aquí")
    s = tls_connect(srv, b)
    check(read_line(s).startswith("HELLO "), "a new connection with the new certificate")
    s.close()
    try:
        tls_connect(srv, a).close()
        raise H.TestFailure("the old certificate is still presented after SIGHUP")
    except ssl.SSLCertVerificationError:
        pass
    # A broken file is refused; the certificate in use stays.
    with open(srv.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_stderr("not reloaded", "no refusal logged for a broken certificate")
    s = tls_connect(srv, b)
    check(read_line(s).startswith("HELLO "), "still serving with the last good certificate")
    s.close()
    H.TLS_DIR = a  # `old` was made with CA a: finish() reads it to its close_notify
    try:
        srv.finish()
    finally:
        H.TLS_DIR = None


def test_bad_certificate_options(chatd):
    a, b = make_certs("k1"), make_certs("k2")
    for args, says in (
        (["--tls-cert", os.path.join(a, "server.pem"), "--tls-key", os.path.join(b, "server.key")],
         "does not belong"),
        (["--tls-cert", "/nonexistent.pem"], "cannot load the certificate"),
        (["--tls-key", os.path.join(a, "server.key")], "--tls-key needs --tls-cert"),
    ):
        r = subprocess.run([chatd, "--port", "0", "--tls-port", "0", *args], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode != 0 and says in r.stderr, f"{args}: exit {r.returncode}, {r.stderr!r}")


if __name__ == "__main__":
    H.run([test_hello_after_handshake_and_close_notify, test_min_version_1_3, test_handshake_timeout_garbage_reset,
           test_client_hello_trickled, test_sighup_reloads_the_certificate, test_bad_certificate_options])
