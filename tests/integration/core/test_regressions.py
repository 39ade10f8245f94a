#!/usr/bin/env python3
"""Contract behaviour chatd once got wrong, kept so it stays right:
  python3 test_regressions.py --chatd build/chatd
"""

import selectors
import time

import harness as H
from harness import check, check_eq


def test_prompt_readers_not_cut_by_a_burst(chatd):
    """40 users each paste 8 lines of 4000 bytes at about the same moment (within the default
    burst of 40 lines) and every one of them reads all the time. chatd used to queue a whole loop
    turn of fan-out for a connection before writing any of it, and cut the connection when
    that queue passed --max-outbuf (default 1 MiB): a turn that handles ~33 of these reads
    queues 33 x 8 x 4 KB = 1.05 MB per reader, so users who read promptly (their kernel
    buffers nearly empty) were cut as slow consumers, all in the same millisecond."""
    srv = H.Server(chatd)
    n, per = 40, 8
    cs = [srv.connect(f"u{i:02d}", name=f"u{i:02d}") for i in range(n)]
    body = "x" * 4000
    sel = selectors.DefaultSelector()
    for c in cs:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    for i, c in enumerate(cs):
        c.sock.setblocking(True)
        c.sock.sendall("".join(f"{i:02d}{j:03d} {body}\n" for j in range(per)).encode())
        c.sock.setblocking(False)
    want = n * per
    got = {c: 0 for c in cs}
    other = []
    deadline = time.monotonic() + 60
    while any(v < want for v in got.values()):
        check(time.monotonic() < deadline, f"not all delivered: {sorted(got.values())[:5]}...")
        for key, _ in sel.select(0.5):
            c = key.data
            d = H.recv_nowait(c.sock, 1 << 20)
            if d is None:
                continue
            check(d != b"", f"{c.name} was cut; others saw {other[:3]}")
            c.buf += d
            while b"\n" in c.buf:
                raw, c.buf = c.buf.split(b"\n", 1)
                ln = H.check_line(raw, c.name)
                if ln.startswith("MSG "):
                    got[c] += 1
                elif not ln.startswith("JOIN "):
                    other.append(ln)
    check_eq(other, [], "no PART")
    for c in cs:
        c.sock.setblocking(True)
        c.sock.settimeout(H.TIMEOUT)
    srv.finish()


@H.plain_only("over TLS there is no channel to a connection shed before its handshake")
@H.single_server("about one process's file-descriptor limit")
def test_every_connection_gets_hello_under_fd_exhaustion(chatd):
    """PROTOCOL.md: HELLO is the first line on every connection, and a refusal is ERROR
    server-full + BYE. With a limit of 64 fds, the default --max-clients (32 here) and 100
    connections that stay open, chatd keeps 32, refuses ~23 properly, and then closes the
    remaining ~45 without a single byte (fixed: the reserve-fd path now writes them): the refused connections hold their fds while chatd
    waits (up to 5 s) for the peer's FIN, so the accept path runs out of fds and drops the
    rest through its reserve fd without writing HELLO/ERROR/BYE."""
    import socket

    srv = H.Server(chatd, "--max-per-ip", "0", nofile=64)
    socks = [socket.create_connection((srv.host, srv.port)) for _ in range(100)]
    first = []
    for s in socks:
        s.settimeout(H.TIMEOUT)
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        first.append(data)
    silent = sum(1 for d in first if not d.startswith(b"HELLO "))
    check_eq(silent, 0, "connections closed without HELLO")
    for s in socks:
        s.close()
    srv.finish()


if __name__ == "__main__":
    H.run([test_prompt_readers_not_cut_by_a_burst, test_every_connection_gets_hello_under_fd_exhaustion])
