#!/usr/bin/env python3
"""chatd keeps chatting while its database goes away, and loses nothing:
- 10 clients send 5,000 messages while the private MariaDB (scripts/db.sh) is
  stopped for a few seconds and started again; every message is then in the
  messages table exactly once and no client saw an error;
- SIGTERM in the middle of traffic: every message chatd accepted (echoed to its
  sender) is in the database after it exits 0."""

import os
import signal
import sys
import tempfile
import threading
import time

import dbtool
from dbtool import Database, db_sh

import harness as H
from harness import check, check_eq, parse


class Reader(threading.Thread):
    """Reads one logged-in client's socket to EOF, keeping every line."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.lines = []
        self.msgs = 0
        self.max_gap = 0.0
        self.lock = threading.Lock()
        self.start()

    def run(self):
        sock = self.client.sock
        sock.settimeout(None)
        buf = self.client.buf
        last = None
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            *done, buf = buf.split(b"\n")
            now = time.monotonic()
            with self.lock:
                for raw in done:
                    ln = H.check_line(raw, self.client.name)
                    self.lines.append(ln)
                    if ln.startswith("MSG "):
                        self.msgs += 1
                        if last is not None:
                            self.max_gap = max(self.max_gap, now - last)
                        last = now

    def errors(self):
        with self.lock:
            return [l for l in self.lines
                    if l.startswith(("ERROR", "PART")) or (l.startswith("BYE") and l != "BYE :server shutting down")]


def wait_for(pred, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise H.TestFailure(f"timed out waiting for {what}")


def test_outage_5000_messages(chatd):
    db = Database()
    try:
        journal = os.path.join(tempfile.mkdtemp(prefix="chatd-db-fault-"), "chatd.journal")
        srv = H.Server(chatd, "--db", db.url, "--journal", journal)
        clients = [srv.connect(f"f{k}", name=f"f{k}") for k in range(10)]
        for c in clients[:-1]:
            c.lines_until(lambda l: l.startswith("JOIN f9 "))
        readers = [Reader(c) for c in clients]
        rounds = 500
        outage = {}

        def stop_and_start():
            outage["t0"] = time.monotonic()
            check_eq(db_sh("stop"), 0, "db.sh stop")
            outage["stopped"] = time.monotonic()
            time.sleep(4)
            check_eq(db_sh("start"), 0, "db.sh start")
            outage["t1"] = time.monotonic()

        bg = threading.Thread(target=stop_and_start)
        for i in range(rounds):
            if i == 100:
                bg.start()
            for k, c in enumerate(clients):
                c.sendline(f"c{k} m{i} ✓")
            time.sleep(0.012)
        bg.join()
        print(f"sent {rounds * 10}; database down {outage['t1'] - outage['t0']:.1f} s "
              f"(stopped after {outage['stopped'] - outage['t0']:.1f} s)", flush=True)
        total = rounds * len(clients)
        wait_for(lambda: all(r.msgs >= total for r in readers), 120, "every client to see every message")
        for r in readers:
            check_eq(r.msgs, total, f"{r.client.name}: MSG lines")
            check_eq(r.errors(), [], f"{r.client.name}: errors or departures during the outage")
        print("longest pause between two messages a client saw: "
              f"{max(r.max_gap for r in readers):.3f} s", flush=True)
        rc = srv.stop(signal.SIGTERM, timeout=60)
        check_eq(rc, 0, "chatd exit code")
        for r in readers:
            r.join(10)
        rows = db.sql("SELECT COUNT(*), COUNT(DISTINCT body), COUNT(DISTINCT id) FROM messages")
        check_eq(rows[0], [str(total)] * 3, "messages rows / distinct bodies / distinct ids")
        want = {f"c{k} m{i} ✓" for k in range(10) for i in range(rounds)}
        got = {r[0] for r in db.sql("SELECT body FROM messages")}
        check(got == want, f"bodies differ: missing {len(want - got)}, unexpected {len(got - want)}")
        check(not os.path.exists(journal) or os.path.getsize(journal) == 0, "journal emptied after replay")
    finally:
        db_sh("start")
        db.drop()


def test_sigterm_mid_traffic(chatd):
    db = Database()
    try:
        journal = os.path.join(tempfile.mkdtemp(prefix="chatd-db-term-"), "chatd.journal")
        srv = H.Server(chatd, "--db", db.url, "--journal", journal)
        clients = [srv.connect(f"t{k}", name=f"t{k}") for k in range(3)]
        for c in clients[:-1]:
            c.lines_until(lambda l: l.startswith("JOIN t2 "))
        readers = [Reader(c) for c in clients]
        stop_sending = threading.Event()

        def sender(k, c):
            try:
                for i in range(100000):
                    if stop_sending.is_set():
                        return
                    c.sendline(f"t{k} n{i}")
                    if i % 50 == 49:
                        time.sleep(0.005)
            except OSError:
                pass  # chatd closed the connection at shutdown

        senders = [threading.Thread(target=sender, args=(k, c), daemon=True) for k, c in enumerate(clients)]
        for s in senders:
            s.start()
        wait_for(lambda: all(r.msgs > 300 for r in readers), 60, "traffic to flow")
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.stop(signal.SIGTERM, timeout=60)
        stop_sending.set()
        check_eq(rc, 0, "chatd exit code after SIGTERM mid-traffic")
        for r in readers:
            r.join(10)
        accepted = set()
        for k, r in enumerate(readers):
            with r.lock:
                for ln in r.lines:
                    if ln.startswith(f"MSG t{k} :"):
                        accepted.add(parse(ln)[2])
        stored = {r[0] for r in db.sql("SELECT body FROM messages")}
        print(f"{len(accepted)} messages echoed before shutdown, {len(stored)} stored", flush=True)
        check(len(accepted) > 300, "traffic was flowing")
        missing = accepted - stored
        check(not missing, f"{len(missing)} accepted messages missing from the database, e.g. {sorted(missing)[:3]}")
        check_eq(db.one("SELECT COUNT(*) FROM sessions WHERE logout_at IS NULL"), "0", "sessions closed")
    finally:
        db.drop()


if __name__ == "__main__":
    dbtool.skip_without_db()
    if db_sh("status") != 0:
        print("SKIPPED: the fault test stops and starts the private database of scripts/db.sh, which is not running")
        sys.exit(77)
    H.run([test_outage_5000_messages, test_sigterm_mid_traffic])
