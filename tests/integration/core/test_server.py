#!/usr/bin/env python3
"""chatd over TCP: graceful shutdown (SIGTERM, SIGINT), the port bound again at once,
and the --config file with the same keys as the options."""

import os
import signal
import socket
import tempfile
import time

import harness as H
from harness import check, check_eq, parse


def test_sigterm(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.expect("JOIN bob disponible")
    fresh = srv.connect(name="fresh")  # HELLO only
    refused = srv.connect(name="refused")
    refused.sendline("-x")
    refused.expect_error("nick-invalid")
    typing = srv.connect("typing", name="typing")
    typing.send("half a li")  # a partial line, never finished
    for k in (a, b):
        k.expect("JOIN typing disponible")
    a.sendline("last message")
    for k in (a, b, typing):
        k.expect("MSG ana :last message")
    port = srv.port
    srv.send_signal(signal.SIGTERM)
    for k in (a, b, fresh, refused, typing):
        # BYE :server shutting down, and no PART before it, then the close. In a cluster the nodes
        # stop one after the other: a node that stopped first has its users part (":closed") on
        # the others, which may come before their own BYE.
        got = k.read_to_eof()
        if H.CLUSTER:
            got = [l for l in got if not (l.startswith("PART ") and l.endswith(" :closed"))]
        check_eq(got, ["BYE :server shutting down"], f"{k.name}: lines at shutdown")
    check_eq(srv.stop(timeout=H.TIMEOUT), 0, "exit code after SIGTERM")
    if H.CLUSTER:  # the port bound again is about one process
        return
    # The port can be bound again at once (TIME_WAIT of the closed connections notwithstanding).
    srv2 = H.Server(chatd, port=port)
    c = srv2.connect("carla")
    check_eq(c.nick, "carla")
    srv2.finish()


def test_sigint_and_a_client_that_does_not_read(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    # A client that never reads: chatd still exits, with 0, in bounded time.
    s = srv.connect("sloth", name="s", rcvbuf=4096)
    a.expect("JOIN sloth disponible")
    a.send("".join(f"{'x' * 1000}\n" for _ in range(30)))
    for _ in range(30):
        a.expect("MSG ana :" + "x" * 1000)
    t0 = time.monotonic()
    srv.send_signal(signal.SIGINT)
    check_eq(a.read_to_eof(), ["BYE :server shutting down"], "ana at SIGINT")
    check_eq(srv.stop(timeout=H.TIMEOUT), 0, "exit code after SIGINT")
    print(f"  exited {time.monotonic() - t0:.2f} s after SIGINT with a client that does not read")
    s.close()


@H.single_server("its max-per-ip = 3 is counted per node")
def test_config_file(chatd):
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write("# chatd test configuration\n"
                "name = testd\n"
                "max-line = 100\n"
                "history = 2\n"
                "login-timeout = 1.5\n"
                "max-per-ip = 3\n"
                "rate = 0\n")
        path = f.name
    try:
        srv = H.Server(chatd, "--config", path)
        a = srv.connect(name="a")
        check_eq(parse(a.hello)[:2], ("HELLO", ["testd", "2"]), "name from the config file")
        a.login("ana")
        a.sendline("x" * 100)
        a.expect("MSG ana :" + "x" * 100)
        a.sendline("x" * 101)  # max-line = 100
        a.expect_error("line-too-long")
        for i in range(4):
            a.sendline(f"m{i}")
            a.expect(f"MSG ana :m{i}")
        b = srv.connect(name="b")
        _, _, hist = b.login("bob")
        check_eq([parse(h)[2] for h in hist], ["m2", "m3"], "history = 2")
        c = srv.connect(name="c")
        refused = srv.connect(name="d")  # max-per-ip = 3
        refused.expect_error("too-many-connections")
        refused.expect_prefix("BYE :")
        refused.expect_eof()
        c.expect_error("login-timeout")  # login-timeout = 1.5
        c.expect_prefix("BYE :")
        c.expect_eof()
        srv.finish()
        # A command-line option overrides the file.
        srv = H.Server(chatd, "--config", path, "--name", "override")
        check_eq(parse(srv.connect().hello)[1][0], "override", "the command line wins")
        srv.finish()
    finally:
        os.unlink(path)


def test_ipv6(chatd):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        print("  no IPv6 loopback here: skipped")
        return
    srv = H.Server(chatd, bind="::1")
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.expect("JOIN bob disponible")
    b.sendline("hola por IPv6")
    for k in (a, b):
        k.expect("MSG bob :hola por IPv6")
    srv.finish()


@H.single_server("starts no server: chatd refuses its options")
def test_bad_options_refused(chatd):
    import subprocess
    for bad in (["--max-line", "1"], ["--no-such-option"], ["--config", "/nonexistent/chatd.ini"],
                ["--log-level", "loud"]):
        r = subprocess.run([chatd, "--port", "0", *bad], stdin=subprocess.DEVNULL, capture_output=True, timeout=H.TIMEOUT)
        check(r.returncode != 0, f"chatd {' '.join(bad)} exits non-zero (got {r.returncode})")
    # A key of the --config file that is no option (a typo) is refused, not ignored.
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write("rate = 5\nmax-per-ipp = 64\n")
        path = f.name
    try:
        r = subprocess.run([chatd, "--port", "0", "--config", path], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=H.TIMEOUT)
        check(r.returncode != 0, f"a --config file with max-per-ipp: non-zero exit (got {r.returncode})")
        check(b"max-per-ipp" in r.stderr, f"the unknown key is named on stderr: {r.stderr!r}")
    finally:
        os.unlink(path)
    # A port in use: an error, non-zero exit, no hang.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([chatd, "--port", str(port)], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=H.TIMEOUT)
        check(r.returncode != 0, "port in use: non-zero exit")


if __name__ == "__main__":
    H.run([test_sigterm, test_sigint_and_a_client_that_does_not_read, test_config_file, test_ipv6,
           test_bad_options_refused])
