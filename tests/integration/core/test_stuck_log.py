#!/usr/bin/env python3
"""chatd over TCP with a stuck stderr: a pipe that nobody reads (a stuck journald, a paused
terminal). Logging must never stall the reactor: well over the pipe's 64 KiB and the log ring's
1 MiB of log lines later, a fresh client still gets HELLO, logs in and chats at once. Lines that
did not fit are dropped and counted; when stderr is read again a "N log lines dropped" line comes
first. SIGTERM with stderr stuck again: chatd still exits 0 promptly (the exit flush gives up)."""

import fcntl
import re
import socket
import subprocess
import threading
import time

import harness as H
from harness import check, check_eq

LINE_RE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info |warn |error) ")
DROPPED_RE = re.compile(rb"^\S+ warn  (\d+) log lines dropped$", re.M)


class StuckServer(H.Server):
    """A chatd whose stderr is a pipe the test reads only when it chooses to."""

    def __init__(self, chatd, *extra):
        real = subprocess.Popen

        def popen(cmd, **kw):
            kw["stderr"] = subprocess.PIPE
            return real(cmd, **kw)

        subprocess.Popen = popen
        try:
            super().__init__(chatd, *extra)
        finally:
            subprocess.Popen = real
        self.err = self.proc.stderr.fileno()
        self.pipe_size = fcntl.fcntl(self.err, fcntl.F_GETPIPE_SZ)


def bad_text_flood(srv, lines, per_batch=500):
    """One raw connection sends `lines` lines of bad text (each logs "#N: bad text refused"),
    reading every ERROR reply; fails if the replies stall (a reactor blocked on its log)."""
    s = H.raw_socket(srv)
    buf = b""
    while b"\n" not in buf:
        buf += s.recv(65536)
    check(buf.startswith(b"HELLO "), f"flood connection: {buf[:80]!r}")
    buf = buf.split(b"\n", 1)[1]
    sent = got = 0
    t0 = time.monotonic()
    while got < lines:
        if sent < lines and sent - got < 2 * per_batch:
            n = min(per_batch, lines - sent)
            s.sendall(b"\x01\n" * n)
            sent += n
        try:
            data = s.recv(65536)
        except socket.timeout:
            raise H.TestFailure(f"chatd stopped answering after {got} of {lines} bad-text lines "
                                f"({time.monotonic() - t0:.1f} s): is the reactor blocked on its log?")
        check(data != b"", f"flood connection closed after {got} replies")
        buf += data
        whole = buf[:buf.rfind(b"\n") + 1]  # a reply may end inside a line (TLS records split anywhere)
        got += whole.count(b"\n")
        check(whole.count(b"ERROR bad-text") == whole.count(b"\n"), f"unexpected reply {whole[:120]!r}")
        buf = buf[len(whole):]
    s.close()
    return time.monotonic() - t0


def connect_storm(srv, n):
    """n connections one after the other: HELLO, then a close (each logs its connect)."""
    for i in range(n):
        s = H.raw_socket(srv)
        try:
            data = s.recv(4096)
        except socket.timeout:
            raise H.TestFailure(f"connection {i}: no HELLO within {H.TIMEOUT} s")
        check(data.startswith(b"HELLO "), f"connection {i}: {data[:80]!r}")
        s.close()


def fresh_client_chats(srv, tag, within=5.0):
    t0 = time.monotonic()
    a = srv.connect(f"fresh{tag}", name=f"fresh{tag}")
    b = srv.connect(f"other{tag}", name=f"other{tag}")
    a.expect(f"JOIN other{tag} disponible")
    a.sendline(f"hola {tag}")
    b.expect(f"MSG fresh{tag} :hola {tag}")
    a.expect(f"MSG fresh{tag} :hola {tag}")
    elapsed = time.monotonic() - t0
    check(elapsed < within, f"a fresh client took {elapsed:.2f} s to log in and chat with stderr stuck")
    return a, b, elapsed


class Reader:
    """Drains the stderr pipe on a thread until stop()."""

    def __init__(self, fd):
        self.fd = fd
        self.data = bytearray()
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import os
        import select
        while not self.stopping:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return
                with self.lock:
                    self.data += chunk

    def wait_for(self, regex, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                m = regex.search(self.data)
            if m:
                return m
            time.sleep(0.02)
        return None

    def stop(self):
        self.stopping = True
        self.thread.join()
        with self.lock:
            return bytes(self.data)


def check_log_lines(data, what):
    lines = data.split(b"\n")
    check_eq(lines[-1], b"", f"{what}: the log ends in a partial line")
    for ln in lines[:-1]:
        check(LINE_RE.match(ln) is not None, f"{what}: not a log line: {ln[:120]!r}")
    return lines[:-1]


@H.single_server("about one process's stderr")
def test_stuck_stderr(chatd):
    srv = StuckServer(chatd, "--log-level", "debug", "--rate", "0", "--max-per-ip", "0")
    # Phase 1: nobody reads stderr. ~50 bytes of log per bad-text line: 40000 of them are
    # about 2 MB, twice the ring plus the pipe; the connects add more.
    connect_storm(srv, 1000)
    secs = bad_text_flood(srv, 40000)
    print(f"  1000 connects and 40000 bad-text lines answered in {secs:.2f} s with stderr unread")
    a, b, elapsed = fresh_client_chats(srv, "1")
    print(f"  a fresh client logged in and chatted in {elapsed:.3f} s")

    # Phase 2: stderr is read again. The writer catches up; the loss is reported first.
    reader = Reader(srv.err)
    m = reader.wait_for(DROPPED_RE, H.TIMEOUT)
    check(m is not None, "no 'N log lines dropped' line once stderr was read again")
    dropped = int(m.group(1))
    # 41000+ lines were logged, the ring and the pipe hold at most ~25000 of ~50 bytes.
    check(10000 <= dropped <= 45000, f"{dropped} log lines dropped: implausible")
    a2, b2, _ = fresh_client_chats(srv, "2")
    check(reader.wait_for(re.compile(rb"login fresh2 "), H.TIMEOUT) is not None,
          "the log lines after the drop are not written")
    early = reader.stop()
    lines = check_log_lines(early, "stderr while read")
    check(any(b"chatd starting" in ln for ln in lines[:5]), "the first log lines are missing")
    at = next(i for i, ln in enumerate(lines) if DROPPED_RE.match(ln))
    check(any(b"login fresh2 " in ln for ln in lines[at:]), "login fresh2 logged before the dropped line")
    print(f"  stderr read again: {len(early)} bytes, {dropped} log lines dropped")

    # Phase 3: stuck again, with several pipe-fulls of lines waiting in the ring, then SIGTERM.
    bad_text_flood(srv, 4 * srv.pipe_size // 40)
    t0 = time.monotonic()
    srv.finish()  # BYE to every client, exit code 0
    took = time.monotonic() - t0
    check(took < 8.0, f"chatd took {took:.2f} s to exit with stderr stuck")
    rest = srv.proc.stderr.read()
    srv.proc.stderr.close()
    check_log_lines(rest, "stderr at exit")
    check(b"chatd stopped" not in rest, "the exit lines reached stderr: it was not stuck at exit")
    print(f"  SIGTERM with stderr stuck: exit 0 after {took:.2f} s; {len(rest)} bytes left in the pipe")
    check(DROPPED_RE.search(early + rest) is not None, "no dropped line in the whole log")


if __name__ == "__main__":
    H.run([test_stuck_stderr])
