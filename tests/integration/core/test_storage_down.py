#!/usr/bin/env python3
"""chatd whose database cannot be reached (no MariaDB needed):
- started against a port where nothing listens, it serves: HELLO, logins answered
  `ERROR unavailable` (the connection kept, the nickname free again), and it stops
  with exit 0 on SIGTERM;
- SIGTERM while the storage thread is stuck connecting to a server that never answers
  and a login waits in its queue: chatd exits 0 (under ASan: no use after free of the
  reactor the storage thread notifies)."""

import socket
import threading
import time

import harness as H
from harness import check, check_eq


@H.single_server("about one process's storage being down")
def test_starts_and_serves_without_its_database(chatd):
    port = H.free_port()
    journal = f"/tmp/chatd-it-journal-{port}"
    srv = H.Server(chatd, "--db", f"mysql://chatd@127.0.0.1:{port}/chatd", "--journal", journal)
    a = srv.connect(name="a")
    for _ in range(2):
        a.sendline("ana")
        a.expect_error("unavailable")
    b = srv.connect(name="b")
    b.sendline("ana")  # the nickname was not kept by the failed login
    b.expect_error("unavailable")
    a.sendline("/listar")  # still before login: taken as a nickname attempt, refused as such
    a.expect_error("nick-invalid")
    srv.finish()
    check("storage" in srv.stderr(), "the log says what storage is doing")


class SilentServer(threading.Thread):
    """Accepts TCP connections and never says a word: a database that hangs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@H.single_server("about one process's storage hanging")
def test_sigterm_with_a_request_queued_while_storage_hangs(chatd):
    silent = SilentServer()
    try:
        for delay in (0.0, 1.0):
            srv = H.Server(chatd, "--db", f"mysql://chatd@127.0.0.1:{silent.port}/chatd", "--journal",
                           f"/tmp/chatd-it-journal-silent-{silent.port}")
            a = srv.connect(name="a")
            a.sendline("ana")  # queued behind a connect attempt that hangs
            time.sleep(delay)
            rc = srv.stop(timeout=30)
            check_eq(rc, 0, f"exit code after SIGTERM with a queued login (delay {delay})")
            err = srv.stderr()
            check("AddressSanitizer" not in err and "runtime error" not in err, err[-2000:])
    finally:
        silent.close()


if __name__ == "__main__":
    H.run([test_starts_and_serves_without_its_database, test_sigterm_with_a_request_queued_while_storage_hangs])
