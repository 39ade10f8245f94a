#!/usr/bin/env python3
"""chatd over TCP: flow control. A client sending 500 lines at once gets every one delivered,
in order, slowed to its budget (--rate 100 --burst 40 here), never cut; others are not held up."""

import time

import harness as H
from harness import check, check_eq


def test_flood_slowed_not_dropped(chatd):
    rate, burst, n = 100, 40, 500
    srv = H.Server(chatd, "--rate", str(rate), "--burst", str(burst))
    a = srv.connect("flooder", name="a")
    b = srv.connect("bob", name="b")
    c = srv.connect("carla", name="c")
    a.expect("JOIN bob disponible", "JOIN carla disponible")
    b.expect("JOIN carla disponible")
    time.sleep(burst / rate)  # let the login lines' tokens refill: a full burst to start with
    flood = "".join(f"n{i:03d} {'·' * (i % 7)}\n" for i in range(n)).encode()
    t0 = time.monotonic()
    a.send(flood)

    # After 100 ms no more than the burst plus 100 ms of rate (and a wide margin) can be through.
    early = []
    while time.monotonic() - t0 < 0.1:
        ln = b.try_line(max(0.001, 0.1 - (time.monotonic() - t0)))
        if ln is not None:
            early.append(ln)
    n_early = len(early)
    check(n_early < n // 2, f"not slowed: {len(early)} of {n} delivered in the first 100 ms")

    # Meanwhile bob is not held up: his line comes before the end of the flood.
    b.sendline("bob no espera")
    got_b = list(early)
    bob_at = None
    while len([l for l in got_b if l.startswith("MSG flooder")]) < n:
        ln = b.line()
        if ln == "MSG bob :bob no espera":
            bob_at = len(got_b)
        got_b.append(ln)
    elapsed = time.monotonic() - t0
    check(bob_at is not None and bob_at < len(got_b) - 10, f"bob's line waited for the flood (at {bob_at})")
    msgs = [l for l in got_b if l.startswith("MSG flooder")]
    check_eq(msgs, [f"MSG flooder :n{i:03d} {'·' * (i % 7)}" for i in range(n)], "all 500, in order")
    # (n - burst) lines at `rate` per second cannot take less than this; generous either way.
    check(elapsed >= 0.8 * (n - burst) / rate, f"500 lines through in {elapsed:.2f} s: not slowed")
    print(f"  {n} lines delivered in {elapsed:.2f} s at --rate {rate} --burst {burst}; "
          f"{n_early} in the first 100 ms")
    # Everyone else got the same lines in the same order; the flooder its echoes.
    got_c = c.lines_until(lambda l: l == f"MSG flooder :n{n - 1:03d} {'·' * ((n - 1) % 7)}")
    check_eq(got_c, [l for l in got_b if l.startswith("MSG ")], "carla's lines")
    got_a = a.lines_until(lambda l: l == f"MSG flooder :n{n - 1:03d} {'·' * ((n - 1) % 7)}")
    check_eq([l for l in got_a if l.startswith("MSG flooder")], msgs, "the flooder's echoes")
    a.sendline("still here")
    for k in (a, b, c):
        k.expect("MSG flooder :still here")
    srv.finish()


def test_rate_zero_is_off(chatd):
    srv = H.Server(chatd, "--rate", "0")
    a = srv.connect("ana")
    t0 = time.monotonic()
    a.send("".join(f"x{i}\n" for i in range(2000)))
    got = a.lines_until(lambda l: l == "MSG ana :x1999")
    check_eq(len(got), 2000, "all echoed")
    print(f"  2000 lines with --rate 0 in {time.monotonic() - t0:.2f} s")
    srv.finish()


if __name__ == "__main__":
    H.run([test_flood_slowed_not_dropped, test_rate_zero_is_off])
