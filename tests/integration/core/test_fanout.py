#!/usr/bin/env python3
"""chatd over TCP: 500 concurrent clients; every one receives every message of several senders,
and all see public messages and presence events in one server-wide order."""

import selectors
import time

import harness as H
from harness import check, check_eq, parse

N = 500
SENDERS = 5
PER_SENDER = 20


def pump(clients, done, timeout):
    """Reads every client with a selector until done(client) holds for all of them.
    Lines collect in client.got."""
    sel = selectors.DefaultSelector()
    pending = set()
    for c in clients:
        if not done(c):
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, c)
            pending.add(c)
    deadline = time.monotonic() + timeout
    while pending:
        check(time.monotonic() < deadline, f"{len(pending)} clients still waiting, e.g. {sorted(pending, key=str)[:3]}")
        for key, _ in sel.select(0.2):
            c = key.data
            data = H.recv_nowait(c.sock)
            if data is None:
                continue
            check(data != b"", f"{c.name}: connection closed")
            H.check_bytes(data, c.name)
            c.buf += data
            while b"\n" in c.buf:
                raw, c.buf = c.buf.split(b"\n", 1)
                c.got.append(H.check_line(raw, c.name))
            if done(c):
                sel.unregister(c.sock)
                pending.discard(c)
    sel.close()
    for c in clients:
        c.sock.setblocking(True)
        c.sock.settimeout(H.TIMEOUT)


def test_500_clients_one_order(chatd):
    srv = H.Server(chatd)  # default limits; 125 connections from each of four loopback addresses
    t0 = time.monotonic()
    clients = [srv.connect(source=f"127.0.1.{1 + i % 4}", name=f"u{i:03d}") for i in range(N)]
    for c in clients:
        c.got = []
        c.sendline(c.name)
    pump(clients, lambda c: any(l.startswith("END HIST") for l in c.got[-N - 2:]), 120)
    t_login = time.monotonic() - t0

    # Login replies: WELCOME, the roster at that moment (sorted), END USERS, END HIST.
    first = None
    for c in clients:
        check(c.got[0].startswith(f"WELCOME {c.name} "), f"{c.name}: {c.got[0]}")
        i_end = c.got.index(next(l for l in c.got if l.startswith("END USERS")))
        roster = [parse(l)[1][0] for l in c.got[1:i_end]]
        check_eq(c.got[i_end], f"END USERS {len(roster)}")
        check(c.name in roster and roster == sorted(roster), f"{c.name}: roster {roster[:5]}")
        check_eq(c.got[i_end + 1], "END HIST 0", f"{c.name}: after the roster")
        check(all(l.startswith("JOIN ") for l in c.got[i_end + 2:]), f"{c.name}: after END HIST")
        c.login_lines = i_end + 2
        if len(roster) == 1:
            first = c
    check(first is not None, "one client logged in first")

    # Everyone has logged in; JOINs may still be in flight. The senders send at once.
    senders = clients[::N // SENDERS][:SENDERS]
    for s in senders:
        s.send("".join(f"{s.name} m{j:02d} {'ñ😀' * (j % 3)}\n" for j in range(PER_SENDER)))
    total = SENDERS * PER_SENDER
    pump(clients, lambda c: sum(1 for l in c.got if l.startswith("MSG ")) == total, 120)
    t_all = time.monotonic() - t0

    # Every client: every message, each sender's in its order, and one order for all.
    order = None
    for c in clients:
        msgs = [l for l in c.got if l.startswith("MSG ")]
        if order is None:
            order = msgs
        check_eq(msgs, order, f"{c.name}: order of public messages")
    for s in senders:
        mine = [l for l in order if l.startswith(f"MSG {s.name} :")]
        check_eq(mine, [f"MSG {s.name} :{s.name} m{j:02d} {'ñ😀' * (j % 3)}" for j in range(PER_SENDER)],
                 f"{s.name}: its messages in its order")

    # Presence and messages in one order: each client's events (every line after its END HIST)
    # are the first client's events after that client's own JOIN. Every login was handled before
    # the first message was sent, so every JOIN comes before every message.
    for c in clients:
        c.events = c.got[c.login_lines:]
    ref = first.events
    check_eq(len(ref), N - 1 + total, f"{first.name}: every JOIN and every message")
    pos = {l: i for i, l in enumerate(ref)}
    for c in clients:
        if c is first:
            continue
        own = pos.get(f"JOIN {c.name} disponible")
        check(own is not None, f"{first.name} saw {c.name}'s JOIN")
        check_eq(c.events, ref[own + 1:], f"{c.name}: events in the one order")
    print(f"  {N} clients logged in in {t_login:.2f} s; {total} messages to each, {N * total} deliveries, "
          f"all in {t_all:.2f} s")
    srv.finish()  # and all 500 get BYE :server shutting down


if __name__ == "__main__":
    H.run([test_500_clients_one_order])
