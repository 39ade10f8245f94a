#!/usr/bin/env python3
"""chatd over TCP: HELLO, login (WELCOME, roster, history), JOIN, nickname rules,
case-insensitive nicknames with the first spelling kept, CRLF, blank lines, TCP framing."""

import time

import harness as H
from harness import check, check_eq, parse


def test_hello_login_roster_join(chatd):
    srv = H.Server(chatd)
    a = srv.connect(name="a")
    check_eq(parse(a.hello)[:2], ("HELLO", ["chatd", "2"]), "HELLO <server> <version>")
    check(parse(a.hello)[2], "HELLO has a text")
    a.send("\n   \n\t \r\n\r\n")  # blank lines are ignored, also before login
    a.send("  Ana  \r\n")  # spaces around a nickname are ignored, CR dropped
    w = a.line()
    verb, params, trailing = parse(w)
    check(verb == "WELCOME" and params[0] == "Ana" and params[1].isdigit() and trailing is not None, w)
    a_id = params[1]
    a.expect("USER Ana disponible", "END USERS 1", "END HIST 0")
    a.quiet("after login")

    b = srv.connect(name="b")
    b.sendline("bob")
    w = b.line()
    check(w.startswith("WELCOME bob "), w)
    if not H.CLUSTER:  # ids come from storage, which each node of the cluster run has of its own
        check(parse(w)[1][1] != a_id, f"a second user has its own id: {w}")
    b.expect("USER Ana disponible", "USER bob disponible", "END USERS 2", "END HIST 0")
    a.expect("JOIN bob disponible")
    b.quiet()
    a.quiet()
    srv.finish()


def test_nick_rules(chatd):
    srv = H.Server(chatd)
    a = srv.connect("Ana", name="a")
    c = srv.connect(name="c")
    bad = ["-x", ".x", "a b", "ab!", "a:b", ":x", "/ana", "!ana", "a" * 33, "ñ" * 33, "x\u200b", "x\u2000",
           "x\u206f", "\u3000x", "x\ufeff", "é\u00bf", "a\tb", "x" + "\U0001F600" * 32]
    for nick in bad:
        c.sendline(nick)
        c.expect_error("nick-invalid")
    # In use, whatever the ASCII case; the connection stays open for another try.
    for nick in ["Ana", "ANA", "ana", " aNa "]:
        c.sendline(nick)
        c.expect_error("nick-in-use")
    a.quiet("while others tried nicknames")
    good = ["a" * 32, "ñ" * 32, "\U0001F600" * 32, "李小龍", "Begoña", "BEGOÑA", "x-1.y_z", "_u", "Zed", "9lives",
            "\u00c0", "a\u2070"]
    clients = [c]
    c.login(good[0])
    a.expect("JOIN " + good[0] + " disponible")
    for nick in good[1:]:
        k = srv.connect(nick, name=nick)
        check_eq(k.nick, nick, "nickname spelled as sent")
        a.expect("JOIN " + nick + " disponible")
        clients.append(k)
    # Begoña and BEGOÑA are two users (no folding beyond ASCII).
    a.sendline("/listar")
    users = a.lines_until(lambda l: l.startswith("END USERS"))
    check("USER Begoña disponible" in users and "USER BEGOÑA disponible" in users, users)
    # The roster is sorted by the bytes of the nick with ASCII letters lowered.
    nicks = [parse(u)[1][0] for u in users[:-1]]
    key = lambda n: bytes(ch + 32 if 65 <= ch <= 90 else ch for ch in n.encode("utf-8"))
    check_eq(nicks, sorted(nicks, key=key), "roster order")
    check(nicks.index("_u") < nicks.index("Zed"), "'_u' sorts before 'Zed' (zed) when letters are lowered")
    check_eq(users[-1], f"END USERS {len(good) + 1}")
    srv.finish()


@H.shared_storage_only("the first spelling and the id are the user's record")
def test_first_spelling_kept(chatd):
    srv = H.Server(chatd)
    b = srv.connect("bob", name="b")
    a = srv.connect("Ana", name="a")
    b.expect("JOIN Ana disponible")
    first_id = a.id
    a.sendline("/salir")
    a.expect_prefix("BYE :")
    a.expect_eof()
    b.expect("PART Ana :quit")
    a2 = srv.connect(name="a2")
    a2.sendline("aNA")
    w = a2.line()
    check_eq(parse(w)[1], ["Ana", str(first_id)], "same user, first spelling, same id")
    a2.lines_until(lambda l: l.startswith("END HIST"))
    b.expect("JOIN Ana disponible")
    a2.sendline("hola")
    b.expect("MSG Ana :hola")
    a2.expect("MSG Ana :hola")
    b.sendline("!ANA hi")
    a2.expect("PRIV bob Ana :hi")
    b.expect("PRIV bob Ana :hi")
    b.sendline("/perfil aNa")
    check(b.line().startswith(f"PROFILE Ana id={first_id} "), "profile under the first spelling")
    srv.finish()


def test_nickname_free_once_bye_came(chatd):
    """A user who quits and logs in again at once (on any node) gets the nickname."""
    srv = H.Server(chatd)
    for i in range(20):
        a = srv.connect(f"q{i}", name=f"a{i}")
        a.sendline("/salir")
        a.expect_prefix("BYE :")
        a.expect_eof()
        b = srv.connect(name=f"b{i}")  # in a cluster, on the next node
        b.sendline(f"q{i}")
        check(b.line().startswith(f"WELCOME q{i} "), f"q{i} free again once its BYE came")
        b.lines_until(lambda l: l.startswith("END HIST"))
    srv.finish()


def test_recent_history_after_welcome(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.line()  # JOIN bob
    sent = []
    for i in range(25):
        text = f"m{i}  con  espacios: y :dos puntos, ñ 😀" if i % 5 == 0 else f"m{i}"
        if i == 13:
            a.sendline("!bob private, not in the public history")
        a.sendline(text)
        sent.append(text)
    a.lines_until(lambda l: l == "MSG ana :" + sent[-1])
    c = srv.connect(name="c")
    _, users, hist = c.login("carla")
    check_eq(users, ["USER ana disponible", "USER bob disponible", "USER carla disponible"])
    check_eq(len(hist), 20, "the 20 most recent public messages")
    for h, text in zip(hist, sent[5:]):
        verb, params, trailing = parse(h)
        check_eq((params[1], params[2], trailing), ("ana", "*", text), "HIST line")
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    check(all(parse(h)[1][0] <= t for h in hist), "times are UTC, not in the future")
    srv.finish()


def test_framing(chatd):
    srv = H.Server(chatd)
    a = srv.connect(name="a")
    b = srv.connect("bob", name="b")
    # The nickname and the lines after it in one segment: taken in order.
    a.send("ana\r\nuno\r\n\r\n  \ndos\n")
    a.lines_until(lambda l: l.startswith("END HIST"))
    b.expect("JOIN ana disponible", "MSG ana :uno", "MSG ana :dos")
    # A line split across segments, byte by byte for a multibyte character.
    for piece in [b"ho", b"la \xc3", b"\xb1", b"\xf0\x9f", b"\x98\x80", b"\r", b"\n"]:
        a.send(piece)
        time.sleep(0.02)
    b.expect("MSG ana :hola ñ😀")
    # Many lines in one segment.
    a.send("".join(f"l{i}\r\n" for i in range(30)))
    for i in range(30):
        b.expect(f"MSG ana :l{i}")
    # A CR only right before the LF is dropped; elsewhere it is a control character.
    a.send("x\r\r\n")
    a.lines_until(lambda l: l == "MSG ana :l29")
    a.expect_error("bad-text")
    b.quiet()
    srv.finish()


if __name__ == "__main__":
    H.run([test_hello_login_roster_join, test_nick_rules, test_first_spelling_kept, test_nickname_free_once_bye_came,
           test_recent_history_after_welcome, test_framing])
