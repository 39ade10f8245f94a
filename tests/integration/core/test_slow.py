#!/usr/bin/env python3
"""chatd over TCP: a client that never reads is cut as a slow consumer once its unsent output
passes --max-outbuf; the others get PART <nick> :slow-consumer and keep chatting."""

import socket
import time

import harness as H
from harness import check, check_eq


def test_slow_consumer(chatd):
    # --history 2: the 4 KB lines replayed after WELCOME stay under the small --max-outbuf.
    srv = H.Server(chatd, "--max-outbuf", "65536", "--rate", "0", "--history", "2")
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    # A small receive buffer keeps the kernel's share small; the client logs in, then never reads.
    s = srv.connect("sloth", name="s", rcvbuf=4096)
    a.expect("JOIN bob disponible", "JOIN sloth disponible")
    b.expect("JOIN sloth disponible")

    body = "0123456789abcdef" * 250  # 4000 bytes
    sent = 0
    parts = {a: [], b: []}
    got = {a: 0, b: 0}
    for k in (a, b):
        k.sock.setblocking(False)
    deadline = time.monotonic() + 60
    i = 0
    while not (parts[a] and parts[b]):
        check(time.monotonic() < deadline, f"no slow-consumer cut after {sent} bytes")
        check(sent < 64 * 1024 * 1024, f"no slow-consumer cut after {sent} bytes")
        if not parts[a]:
            a.sock.setblocking(True)
            a.send(f"{i:06d} {body}\n")
            a.sock.setblocking(False)
            sent += 4008
            i += 1
        for k in (a, b):
            while True:
                ln = k.try_line(0.001 if parts[a] == [] else 0.05)
                if ln is None:
                    break
                check(ln is not H.Client.EOF, f"{k.name} was cut too")
                if ln.startswith("MSG ana :"):
                    check_eq(ln[9:], f"{got[k]:06d} {body}", f"{k.name}: messages in order")
                    got[k] += 1
                else:
                    parts[k].append(ln)
    for k in (a, b):
        k.sock.setblocking(True)
        k.sock.settimeout(H.TIMEOUT)
        check_eq(parts[k], ["PART sloth :slow-consumer"], f"{k.name}: lines besides the messages")
    print(f"  cut after {i} messages of 4008 bytes ({sent} bytes) with --max-outbuf 65536")
    # Messages sent before the PART reached a and b; the rest come now, in order.
    for k in (a, b):
        while got[k] < i:
            check_eq(k.line(), f"MSG ana :{got[k]:06d} {body}", f"{k.name}: the rest, in order")
            got[k] += 1
    # The others keep chatting.
    a.sendline("still chatting")
    a.expect("MSG ana :still chatting")  # before bob's: two senders at once are in either order
    b.sendline("yes")
    a.expect("MSG bob :yes")
    b.expect("MSG ana :still chatting", "MSG bob :yes")
    a.sendline("/listar")
    a.expect("USER ana disponible", "USER bob disponible", "END USERS 2")
    # The slow client gets what the kernel held, then the close; nothing past its cut, no bad bytes.
    s.sock.settimeout(H.TIMEOUT)
    data = b""
    while True:
        try:
            chunk = s.sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    H.check_bytes(data, "sloth")
    lines = data.split(b"\n")
    check(len(data) < sent, "the cut client did not get everything")
    for raw in lines[:-1]:
        H.check_line(raw, "sloth")
    # The nick is free again.
    s2 = srv.connect("SLOTH", name="s2")
    if not H.CLUSTER:  # the first spelling is the user's record: each node of a cluster run has its own
        check_eq(s2.nick, "sloth")
    srv.finish()


if __name__ == "__main__":
    H.run([test_slow_consumer])
