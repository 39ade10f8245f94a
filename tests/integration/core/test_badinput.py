#!/usr/bin/env python3
"""chatd over TCP: the line limit (4096 bytes before the LF, CR included) and bad text
(invalid UTF-8, C0 controls but TAB, DEL, C1) refused first and never passed on to anyone."""

import time

import harness as H
from harness import check, check_eq


BAD = [
    b"hi\x1b]0;pwn\x07",  # ESC: a terminal title escape
    b"\x1b[2J\x1b[H clear",
    b"nul\x00byte",
    b"\x00",
    b"bell\x07",
    b"back\x08space",
    b"vt\x0bff\x0c",
    b"a\rb",  # CR other than right before the LF
    b"del\x7f",
    b"\x7f",
    b"c1 csi \xc2\x9b31m",  # U+009B, valid UTF-8 but a C1 control
    b"c1 nel \xc2\x85",
    b"raw c1 \x9b",  # a lone byte 0x9b is not UTF-8
    b"\xc3\x28",  # bad continuation
    b"\x80 lone continuation",
    b"\xc0\xaf overlong slash",
    b"\xe0\x80\xaf overlong",
    b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 above U+10FFFF",
    b"\xff\xfe",
    b"truncated \xe2\x82",
    b"\xf0\x9f\x98",  # truncated emoji at the end of the line
    b"\x1f unit separator",
]


def test_line_limit(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.expect("JOIN bob disponible")
    # Exactly 4096 bytes before the LF: accepted whole.
    a.sendline("x" * 4096)
    b.expect("MSG ana :" + "x" * 4096)
    a.expect("MSG ana :" + "x" * 4096)
    a.send("ñ" * 2048 + "\n")  # 4096 bytes, 2048 code points
    b.expect("MSG ana :" + "ñ" * 2048)
    a.expect("MSG ana :" + "ñ" * 2048)
    a.send("y" * 4095 + "\r\n")  # 4096 with the CR: accepted, CR dropped
    b.expect("MSG ana :" + "y" * 4095)
    a.expect("MSG ana :" + "y" * 4095)
    # 4097 bytes: one ERROR, the connection kept, the next line works.
    a.sendline("z" * 4097)
    a.expect_error("line-too-long")
    a.sendline("after")
    a.expect("MSG ana :after")
    b.expect("MSG ana :after")
    a.send("w" * 4096 + "\r\n")  # 4097 with the CR
    a.expect_error("line-too-long")
    # 200 KB without an LF, in pieces: one ERROR (when passed or at the LF), nothing else.
    a.send("v" * 5000)
    for _ in range(40):
        a.send("v" * 5000)
    a.send("\n")
    a.expect_error("line-too-long")
    a.quiet("after one overlong line")
    # An overlong line followed by a good one in the same segment.
    a.send("u" * 10000 + "\nsame segment\n")
    a.expect_error("line-too-long")
    a.expect("MSG ana :same segment")
    b.expect("MSG ana :same segment")
    # Before login too; the nickname after it is taken.
    c = srv.connect(name="c")
    c.sendline("n" * 5000)
    c.expect_error("line-too-long")
    c.login("carla")
    check_eq(c.nick, "carla")
    b.expect("JOIN carla disponible")
    b.quiet()
    srv.finish()


def test_line_limit_error_when_passed(chatd):
    """The ERROR may come when the limit is passed or at the LF; only one either way."""
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    a.send("q" * 8000)
    time.sleep(0.2)
    a.send("q" * 8000)
    time.sleep(0.2)
    a.send("q\n")
    a.expect_error("line-too-long")
    a.quiet("only one ERROR for one overlong line")
    srv.finish()


def test_bad_text(chatd):
    srv = H.Server(chatd, "--rate", "0")  # some 300 lines: flow control is tested elsewhere
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.expect("JOIN bob disponible")
    for i, bad in enumerate(BAD):
        a.send(bad + b"\n")
        a.expect_error("bad-text")
        # Refused first: in any command position, before login, in a nickname or a status.
        for line in [b"!bob " + bad, b"/msg bob " + bad, b"/estado " + bad, b"/msg nadie " + bad,
                     b"/perfil " + bad, b"/" + bad, b"/ping " + bad, b"/historial " + bad, b"//" + bad,
                     b"/salir " + bad, b"/quit " + bad]:
            a.send(line + b"\n")
            a.expect_error("bad-text")
        a.sendline(f"marker {i}")
        a.expect(f"MSG ana :marker {i}")
        b.expect(f"MSG ana :marker {i}")  # nothing of the bad lines reached bob
    # Before login: bad-text, not nick-invalid; the session may still log in.
    c = srv.connect(name="c")
    for bad in [b"an\x1b[2Ja", b"\xc3", b"x\x00"]:
        c.send(bad + b"\r\n")
        c.expect_error("bad-text")
    c.login("carla")
    a.expect("JOIN carla disponible")
    b.expect("JOIN carla disponible")
    # Bad bytes inside one TCP segment with good lines around them.
    a.send(b"good 1\nbad \x1b[31m red\ngood 2\n\xc3\x28\ngood 3\n")
    a.expect("MSG ana :good 1")
    a.expect_error("bad-text")
    a.expect("MSG ana :good 2")
    a.expect_error("bad-text")
    a.expect("MSG ana :good 3")
    for k in (b, c):
        k.expect("MSG ana :good 1", "MSG ana :good 2", "MSG ana :good 3")
    # Nothing refused was stored either (asked on ana's node: in a cluster run each node has its
    # own memory storage, and the origin's node stores a message).
    a.sendline("/historial 200")
    hist = a.lines_until(lambda l: l.startswith("END HIST"))
    check(all("marker" in h or "good" in h for h in hist[:-1]), f"history holds only the good lines: {hist[:3]}")
    check_eq(hist[-1], f"END HIST {len(BAD) + 3}")
    for k in (a, b, c):
        k.quiet()
    srv.finish()


if __name__ == "__main__":
    H.run([test_line_limit, test_line_limit_error_when_passed, test_bad_text])
