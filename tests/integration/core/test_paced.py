#!/usr/bin/env python3
"""chatd over TCP: replies to a client's own request are paced to its reading, never cut
(a roster and a /listar far larger than --max-outbuf, to a reader with a tiny receive buffer);
a line longer than 64 KiB with --max-line raised above it is relayed whole."""

import resource
import selectors
import time

import harness as H
from harness import check, check_eq, parse

CROWD = 1500


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def drain(clients, until, timeout):
    """Reads and discards what the clients get until until(client, bytes_so_far) holds for all."""
    sel = selectors.DefaultSelector()
    seen = {c: b"" for c in clients}
    for c in clients:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    pending = set(clients)
    deadline = time.monotonic() + timeout
    while pending:
        check(time.monotonic() < deadline, f"{len(pending)} clients still waiting, e.g. {sorted(pending, key=str)[:3]}: {[seen[c][-120:] for c in sorted(pending, key=str)[:2]]}")
        for key, _ in sel.select(0.2):
            c = key.data
            data = H.recv_nowait(c.sock)
            if data is None:
                continue
            check(data != b"", f"{c.name}: closed by the server")
            window = seen[c] + data
            if c in pending and until(c, window):
                pending.discard(c)
            seen[c] = window[-4096:]
    sel.close()
    for c in clients:
        c.sock.setblocking(True)
        c.buf = b""


def test_roster_and_list_larger_than_outbuf(chatd):
    raise_nofile(CROWD + 200)
    srv = H.Server(chatd, "--max-outbuf", "4096", "--max-per-ip", "0", "--rate", "0", nofile=CROWD + 200)
    crowd = [srv.connect(name=f"u{i:04d}") for i in range(CROWD)]
    for c in crowd:
        c.sendline(c.name)
    drain(crowd, lambda c, b: b"END HIST" in b, 120)
    # The newcomer reads through a 4 KiB receive buffer and starts reading late: the roster
    # (about 35 KB) cannot sit in the kernel, so it waits in chatd, paced, not cut.
    n = srv.connect(name="newcomer", rcvbuf=4096)
    n.sendline("newcomer")
    time.sleep(1.0)
    welcome, users, hist = read_login(n)
    check(welcome.startswith("WELCOME newcomer "), welcome)
    check_eq(len(users), CROWD + 1, "roster size")
    nicks = [parse(u)[1][0] for u in users]
    check_eq(nicks, sorted(nicks, key=lambda s: s.lower()), "roster order")
    check_eq(hist, [], "history")
    drain(crowd, lambda c, b: b"JOIN newcomer" in b, 60)
    # A /listar, read late too, and a line after it that must come after END USERS.
    n.sendline("/listar")
    n.sendline("/ping after")
    time.sleep(1.0)
    got = n.lines_until(lambda l: l == "PONG after", timeout=60, limit=CROWD + 10)
    check_eq(got[-2], f"END USERS {CROWD + 1}", "end of the list")
    check_eq(sum(1 for l in got if l.startswith("USER ")), CROWD + 1, "listed users")
    # Nobody was cut meanwhile.
    c0 = crowd[0]
    n.sendline("hola")
    check_eq(n.line(), "MSG newcomer :hola", "echo")
    check_eq(c0.lines_until(lambda l: l.startswith("MSG "))[-1], "MSG newcomer :hola", "delivery")
    # A reply that ends while the server writes (the reader keeps up) lets the reader's next line
    # through at once, not at the next unrelated wake-up of the loop (a timer, up to a second).
    r = crowd[1]
    t0 = time.monotonic()
    for i in range(10):
        r.send(f"/listar\n/ping t{i}\n")
        got = r.lines_until(lambda l, i=i: l == f"PONG t{i}", timeout=30, limit=CROWD + 100)
        check(f"END USERS {CROWD + 1}" in got, "a whole list before the PONG")
    spent = time.monotonic() - t0
    check(spent < 3.0, f"10 lists and the line after each took {spent:.2f} s")
    for c in crowd:
        c.close()
    srv.clients = [n]
    srv.finish()


def read_login(c):
    welcome = c.line(timeout=60)
    users = c.lines_until(lambda l: l.startswith("END USERS "), timeout=60, limit=CROWD + 10)
    check_eq(users[-1], f"END USERS {len(users) - 1}", "roster count")
    hist = c.lines_until(lambda l: l.startswith("END HIST "), timeout=60)
    return welcome, users[:-1], hist[:-1]


def test_line_longer_than_64k(chatd):
    srv = H.Server(chatd, "--max-line", "200000", "--rate", "0")
    a = srv.connect("ana")
    b = srv.connect("bob")
    a.expect("JOIN bob disponible")
    text = ("ñandú " * 20000)[:100000]
    a.sendline(text)
    check_eq(a.line(), "MSG ana :" + text, "echo of a 100 KB line")
    check_eq(b.line(), "MSG ana :" + text, "delivery of a 100 KB line")
    b.sendline("!ana " + text)
    check_eq(a.line(), "PRIV bob ana :" + text, "a 100 KB private message")
    b.line()
    # Past the raised limit: refused once, the connection kept.
    a.send(b"x" * 200001 + b"\n")
    a.expect_error("line-too-long")
    a.sendline("sigo")
    check_eq(a.line(), "MSG ana :sigo", "after the long line")
    srv.finish()


if __name__ == "__main__":
    H.run([test_line_longer_than_64k, test_roster_and_list_larger_than_outbuf])
