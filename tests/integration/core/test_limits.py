#!/usr/bin/env python3
"""chatd over TCP: connection limits (--max-clients, --max-per-ip) and the ways a peer leaves
(close, reset, half-close)."""

import socket
import time

import harness as H
from harness import check, check_eq


def refused(c, code):
    c.expect_error(code)
    c.expect_prefix("BYE :")
    c.expect_eof()


@H.single_server("--max-clients and --max-per-ip are counted per node")
def test_max_clients_and_per_ip(chatd):
    # Sources 127.0.0.2.. reach a server on 127.0.0.1 over loopback: several "addresses" on one host.
    srv = H.Server(chatd, "--max-clients", "3", "--max-per-ip", "2")
    a1 = srv.connect(source="127.0.0.2", name="a1")
    a2 = srv.connect(source="127.0.0.2", name="a2")
    a3 = srv.connect(source="127.0.0.2", name="a3")  # a third from one address
    refused(a3, "too-many-connections")
    b1 = srv.connect(source="127.0.0.3", name="b1")
    c1 = srv.connect(source="127.0.0.4", name="c1")  # a fourth connection
    refused(c1, "server-full")
    # Logged in or not, every connection counts; the refused ones leave no trace.
    a1.login("ana")
    b1.login("bob")
    a1.expect("JOIN bob disponible")
    a2.sendline("/listar")  # not logged in: a nickname attempt
    a2.expect_error("nick-invalid")
    # A freed slot can be taken again.
    a2.close()
    deadline = time.monotonic() + H.TIMEOUT
    while True:
        k = srv.connect(source="127.0.0.4", name="c2")
        k.sendline("carla")
        ln = k.line()
        if ln.startswith("ERROR server-full"):  # the close of a2 may not have been seen yet
            k.expect_prefix("BYE :")
            k.expect_eof()
            check(time.monotonic() < deadline, "the slot of a closed connection is never freed")
            time.sleep(0.05)
            continue
        check(ln.startswith("WELCOME carla "), ln)
        k.lines_until(lambda l: l.startswith("END HIST"))
        break
    a1.expect("JOIN carla disponible")
    a1.sendline("/listar")
    a1.expect("USER ana disponible", "USER bob disponible", "USER carla disponible", "END USERS 3")
    srv.finish()


@H.single_server("the default --max-per-ip is counted per node")
def test_per_ip_default_and_zero(chatd):
    # Default: 256 per address. Each kept connection must end with the shutdown BYE (finish()).
    srv = H.Server(chatd)
    ks = [srv.connect(source="127.0.0.5", name=f"k{i}") for i in range(256)]
    refused(srv.connect(source="127.0.0.5", name="k256"), "too-many-connections")
    ks[-1].login("k255")
    srv.connect("other", source="127.0.0.6")
    ks[-1].expect("JOIN other disponible")
    srv.finish()
    srv = H.Server(chatd, "--max-per-ip", "0")  # 0: no per-address limit
    ks = [srv.connect(source="127.0.0.5", name=f"m{i}") for i in range(300)]
    ks[-1].login("m299")
    srv.finish()


@H.plain_only("a connection shed for lack of fds is told so in plain text; a TLS one is closed before any handshake")
@H.single_server("about one process's file-descriptor limit")
def test_fd_exhaustion(chatd):
    """With a file-descriptor limit of 64 and the default --max-clients (what the limit allows),
    100 connections that stay open: chatd stays up, the ones it keeps work, and once they close
    new clients are served."""
    srv = H.Server(chatd, "--max-per-ip", "0", nofile=64)
    socks = []
    first = []
    for _ in range(100):
        s = socket.create_connection((srv.host, srv.port))
        s.settimeout(H.TIMEOUT)
        socks.append(s)
    for s in socks:
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        H.check_bytes(data, "fd")
        first.append(data.split(b"\n", 1)[0])
    hello = [f for f in first if f.startswith(b"HELLO ")]
    check(len(hello) >= 16, f"chatd keeps some clients under a low fd limit: {len(hello)}")
    check(all(f.startswith(b"HELLO ") or f == b"" for f in first), f"first lines: {set(first)}")
    check(srv.alive(), "chatd survives fd exhaustion")
    for s in socks:
        s.close()
    deadline = time.monotonic() + H.TIMEOUT
    while True:  # the closes are seen asynchronously; until then a new one may be refused
        k = H.Client(srv, hello=False, name="after")
        k.sendline("ana")
        ln = k.try_line(H.TIMEOUT)
        if ln is not None and ln is not H.Client.EOF and ln.startswith("HELLO "):
            ln = k.line()
            if ln.startswith("WELCOME ana "):
                break
            check(ln.startswith("ERROR server-full"), ln)
        k.close()
        check(time.monotonic() < deadline, "slots freed after the clients closed")
        time.sleep(0.1)
    print(f"  with 64 fds: {len(hello)} of 100 connections got HELLO, "
          f"{sum(1 for f in first if f == b'')} were closed without a line")
    srv.finish()


def test_peer_close_reset_halfclose(chatd):
    srv = H.Server(chatd)
    w = srv.connect("watcher", name="w")
    x = srv.connect("closer", name="x")
    w.expect("JOIN closer disponible")
    x.close()
    w.expect("PART closer :closed")
    y = srv.connect("resetter", name="y")
    w.expect("JOIN resetter disponible")
    y.reset()
    w.expect("PART resetter :closed")
    # Half-close: lines sent before the FIN are taken, then the user is gone.
    z = srv.connect("half", name="z")
    w.expect("JOIN half disponible")
    z.send("last words\n")
    z.sock.shutdown(socket.SHUT_WR)
    w.expect("MSG half :last words", "PART half :closed")
    z.close()
    # A connection that never logged in leaves no PART.
    n = srv.connect(name="n")
    n.sendline("-bad")
    n.expect_error("nick-invalid")
    n.close()
    # Closing in the middle of a line: the partial line is not delivered.
    p = srv.connect("partial", name="p")
    w.expect("JOIN partial disponible")
    p.send("half a li")
    p.close()
    w.expect("PART partial :closed")
    w.quiet()
    w.sendline("/listar")
    w.expect("USER watcher disponible", "END USERS 1")
    srv.finish()


if __name__ == "__main__":
    H.run([test_max_clients_and_per_ip, test_per_ip_default_and_zero, test_fd_exhaustion,
           test_peer_close_reset_halfclose])
