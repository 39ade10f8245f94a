#!/usr/bin/env python3
"""chatd over TCP: the login timeout and the idle PING / timeout, with short intervals."""

import time

import harness as H
from harness import check, check_eq, parse


def test_login_timeout(chatd):
    srv = H.Server(chatd, "--login-timeout", "1")
    t0 = time.monotonic()
    quiet = srv.connect(name="quiet")
    busy = srv.connect(name="busy")
    k = srv.connect("keeper", name="keeper")  # logged in: not subject to it
    # Whatever it sends meanwhile: refused nicknames, bad text, blank lines, an overlong line.
    busy.sendline("-bad")
    busy.expect_error("nick-invalid")
    busy.send(b"\x1b\n\n   \n")
    busy.expect_error("bad-text")
    busy.sendline("keeper")
    busy.expect_error("nick-in-use")
    for c in (quiet, busy):
        c.expect_error("login-timeout")
        c.expect_prefix("BYE :")
        c.expect_eof()
    check(time.monotonic() - t0 >= 0.9, "not before the login timeout")
    time.sleep(0.3)
    k.sendline("still here")
    k.expect("MSG keeper :still here")
    srv.finish()


def test_idle_ping_and_timeout(chatd):
    srv = H.Server(chatd, "--ping-interval", "0.4", "--ping-timeout", "0.6")
    a = srv.connect("ana", name="a")  # answers every PING with /pong
    t_b = time.monotonic()
    b = srv.connect("bob", name="b")  # never answers
    c = srv.connect("carla", name="c")  # answers every PING with an empty line
    a.expect("JOIN bob disponible", "JOIN carla disponible")
    b.expect("JOIN carla disponible")

    # All three at once: ana answers each PING with /pong, carla with an empty line, bob never.
    seen = {a: [], b: [], c: []}
    pings = {a: 0, b: 0, c: 0}
    b_cut = None
    first_ping_b = None
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline or b_cut is None or min(pings[a], pings[c]) < 3:
        check(time.monotonic() < deadline + H.TIMEOUT, f"PINGs seen: {pings}, bob cut: {b_cut}")
        for k in (a, b, c):
            if k is b and b_cut is not None:
                continue
            ln = k.try_line(0.02)
            if ln is None:
                continue
            if ln is H.Client.EOF:
                check(k is b, f"{k.name} was cut")
                b_cut = time.monotonic() - t_b
                b.close()
                continue
            if ln.startswith("PING "):
                verb, params, trailing = parse(ln)
                check(len(params) == 1 and trailing is None, f"PING <token>: {ln!r}")
                pings[k] += 1
                if k is b and first_ping_b is None:
                    first_ping_b = time.monotonic() - t_b
                if k is a:
                    a.sendline("/pong " + params[0])
                elif k is c:
                    c.sendline("")
            else:
                seen[k].append(ln)
    check(first_ping_b is not None and first_ping_b >= 0.39, f"bob's PING not before the interval: {first_ping_b}")
    check(b_cut >= 0.99, f"bob not cut before interval + timeout: {b_cut}")
    check_eq(pings[b], 1, "bob got one PING")
    check(not any(l.startswith("MSG") for l in seen[b]), f"bob's other lines: {seen[b]}")
    check_eq(seen[a], ["PART bob :timeout"], "ana's lines besides PING (nothing for /pong)")
    check_eq(seen[c], ["PART bob :timeout"], "carla's lines besides PING")
    a.sendline("/listar")
    a.lines_until(lambda l: l == "USER ana disponible")
    a.expect("USER carla disponible", "END USERS 2")
    srv.finish()


def test_any_line_answers(chatd):
    """A refused line (bad text, unknown command, no such user) or a blank one counts as an answer too."""
    srv = H.Server(chatd, "--ping-interval", "0.3", "--ping-timeout", "0.4")
    a = srv.connect("ana", name="a")
    t0 = time.monotonic()
    for ans, err in [(b"\x1b\n", "bad-text"), (b"/nope\n", "unknown-command"), (b"   \n", None),
                     (b"!nadie x\n", "no-such-user"), (b"z" * 5000 + b"\n", "line-too-long"), (b"\n", None)]:
        ping = a.line()
        check(ping.startswith("PING "), f"PING expected, got {ping!r}")
        a.send(ans)
        if err:
            a.expect_prefix("ERROR " + err + " ")
    check(a.line().startswith("PING "), "still connected, PINGed again")
    check(time.monotonic() - t0 >= 1.5, "more than interval + timeout went by")
    srv.finish()


if __name__ == "__main__":
    H.run([test_login_timeout, test_idle_ping_and_timeout, test_any_line_answers])
