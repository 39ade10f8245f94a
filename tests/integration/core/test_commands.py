#!/usr/bin/env python3
"""chatd over TCP: every command and alias with its exact lines, every ERROR code with its arg,
byte-exact message text."""

import harness as H
from harness import TIME_RE, check, check_eq, parse


def three(srv):
    a = srv.connect("ana", name="ana")
    b = srv.connect("Bob", name="Bob")
    c = srv.connect("carla", name="carla")
    a.expect("JOIN Bob disponible", "JOIN carla disponible")
    b.expect("JOIN carla disponible")
    return a, b, c


def test_public_messages_byte_exact(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    cases = [
        ("hola a todos  ", "hola a todos  "),
        ("   leading and trailing   ", "   leading and trailing   "),
        ("  /no es comando", "  /no es comando"),
        ("  !bob tampoco", "  !bob tampoco"),
        ("//estado ocupado", "/estado ocupado"),
        ("!!bob hi", "!bob hi"),
        ("//", "/"),
        ("!!", "!"),
        (":colon first", ":colon first"),
        ("a :b :: c:", "a :b :: c:"),
        ("¡Hola, 世界! ñandú Ünïcödé", "¡Hola, 世界! ñandú Ünïcödé"),
        ("emoji 😀👍🏽 👨‍👩‍👧 🇪🇸", "emoji 😀👍🏽 👨‍👩‍👧 🇪🇸"),
        ("tab\tinside\t", "tab\tinside\t"),
        ("ana", "ana"),  # after login a nickname-like line is a message
        ("x" * 300, "x" * 300),
        ("\u2028\u00a0\ufeff", "\u2028\u00a0\ufeff"),  # printable as far as the contract goes
    ]
    for sent, text in cases:
        a.sendline(sent)
        for k in (a, b, c):
            k.expect("MSG ana :" + text)
    b.send("crlf kept  \r\n")
    for k in (a, b, c):
        k.expect("MSG Bob :crlf kept  ")
    for k in (a, b, c):
        k.quiet()
    srv.finish()


def test_private_messages(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    a.sendline("!bob  hola   bob ")
    a.expect("PRIV ana Bob :hola   bob ")
    b.expect("PRIV ana Bob :hola   bob ")
    a.sendline("/MSG carla qué tal :) ")
    a.expect("PRIV ana carla :qué tal :) ")
    c.expect("PRIV ana carla :qué tal :) ")
    a.sendline("/msg BOB 😀")
    b.expect("PRIV ana Bob :😀")
    a.expect("PRIV ana Bob :😀")
    b.sendline("!Ana respuesta")
    a.expect("PRIV Bob ana :respuesta")
    b.expect("PRIV Bob ana :respuesta")
    a.sendline("!ana yo")  # to oneself: delivered once
    a.expect("PRIV ana ana :yo")
    a.quiet("after a private message to oneself")
    # Errors: usage is checked first, then the recipient.
    a.sendline("!nadie hola")
    a.expect_error("no-such-user", "nadie")
    for line in ["!bob", "! hola", "!", "/msg", "/msg bob", "/msg  bob    ", "!bob    ", "/msg nadie", "/MSG"]:
        a.sendline(line)
        a.expect_error("usage", "msg")
    a.sendline("!:x hola")
    a.expect_error("no-such-user", "?")
    a.sendline("/msg NADIE2 hola")
    a.expect_error("no-such-user", "NADIE2")
    # A known user that is offline is not a recipient.
    c.sendline("/quit")
    c.expect_prefix("BYE :")
    c.expect_eof()
    a.expect("PART carla :quit")
    b.expect("PART carla :quit")
    a.sendline("!carla sigues?")
    a.expect_error("no-such-user", "carla")
    # Nobody else ever saw a private line.
    a.sendline("marker")
    b.expect("MSG ana :marker")
    a.expect("MSG ana :marker")
    srv.finish()


def test_private_not_seen_by_third(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    a.sendline("!bob secreto")
    a.expect("PRIV ana Bob :secreto")
    b.sendline("!ana otro")
    b.expect("PRIV ana Bob :secreto", "PRIV Bob ana :otro")
    a.sendline("publico")
    c.expect("MSG ana :publico")  # carla's next line: nothing private before it
    c.quiet()
    srv.finish()


def test_status(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    for line, status in [("/estado ocupado", "ocupado"), ("/STATUS ocupado", "ocupado"),
                         ("/Estado   en-reunión  ", "en-reunión"), ("/status -x.y_z", "-x.y_z"),
                         ("/estado " + "s" * 32, "s" * 32), ("/estado 😀", "😀"), ("/status ausente", "ausente")]:
        a.sendline(line)
        for k in (a, b, c):  # to everyone, the changer included, even when unchanged
            k.expect(f"STATUS ana {status}")
    for line in ["/estado", "/status", "/estado   ", "/ESTADO"]:
        a.sendline(line)
        a.expect_error("usage", "status")
    for line in ["/estado a b", "/estado a!", "/status " + "s" * 33, "/estado :x", "/estado a\tb", "/estado x\u200b",
                 "/estado \u00bf"]:
        a.sendline(line)
        a.expect_error("status-invalid")
    b.quiet()
    c.sendline("/listar")
    c.expect("USER ana ausente", "USER Bob disponible", "USER carla disponible", "END USERS 3")
    srv.finish()


def test_list_aliases(chatd):
    srv = H.Server(chatd)
    z = srv.connect("zoe")
    srv.connect("Bob")
    srv.connect("alba")
    srv.connect("_x")
    d = srv.connect("Ñu")
    z.lines_until(lambda l: l == "JOIN Ñu disponible")
    # '_' (0x5f) sorts before the lowered letters, 'Ñ' (0xc3 0x91) after them.
    want = ["USER _x disponible", "USER alba disponible", "USER Bob disponible", "USER zoe disponible",
            "USER Ñu disponible", "END USERS 5"]
    for cmd in ["/listar", "/list", "/who", "/WHO", "/Listar", "/list extra words"]:
        d.sendline(cmd)
        d.expect(*want)
    srv.finish()


def profile_fields(line, nick):
    verb, params, trailing = parse(line)
    check(verb == "PROFILE" and params[0] == nick and trailing is None, f"PROFILE line {line!r}")
    keys = [p.split("=", 1)[0] for p in params[1:]]
    check_eq(keys, ["id", "status", "created", "last_login", "last_seen", "online", "account"], "PROFILE keys in order")
    f = dict(p.split("=", 1) for p in params[1:])
    for k in ("created", "last_login"):
        check(TIME_RE.match(f[k]), f"{k} is a time: {line}")
    check(f["last_seen"] == "-" or TIME_RE.match(f["last_seen"]), line)
    return f


@H.shared_storage_only("/perfil reads the user's record")
def test_profile(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    a.sendline("/perfil")
    f = profile_fields(a.line(), "ana")
    check_eq((f["id"], f["status"], f["last_seen"], f["online"]), (str(a.id), "disponible", "-", "yes"))
    check(f["created"] <= f["last_login"], "created <= last_login")
    b.sendline("/estado ocupado")
    for k in (a, b, c):
        k.expect("STATUS Bob ocupado")
    for cmd in ["/profile BOB", "/perfil bob", "/PERFIL Bob extra"]:
        a.sendline(cmd)
        f = profile_fields(a.line(), "Bob")
        check_eq((f["id"], f["status"], f["online"]), (str(b.id), "ocupado", "yes"))
    b.sendline("/salir")
    b.expect_prefix("BYE :")
    b.expect_eof()
    a.expect("PART Bob :quit")
    a.sendline("/perfil bob")
    f = profile_fields(a.line(), "Bob")
    check_eq((f["id"], f["status"], f["online"]), (str(b.id), "ocupado", "no"), "offline: the last status")
    check(TIME_RE.match(f["last_seen"]) and f["last_seen"] >= f["last_login"], f"last_seen set: {f}")
    a.sendline("/perfil nadie")
    a.expect_error("no-such-user", "nadie")
    a.sendline("/profile :x")
    a.expect_error("no-such-user", "?")
    # Back again: a new session starts disponible; last_seen is the end of the last finished session.
    b2 = srv.connect("BOB", name="b2")
    check_eq(b2.nick, "Bob")
    b2.sendline("/perfil")
    g = profile_fields(b2.line(), "Bob")
    check_eq((g["id"], g["status"], g["online"], g["last_seen"], g["created"]),
             (str(b.id), "disponible", "yes", f["last_seen"], f["created"]))
    check(g["last_login"] >= f["last_seen"], "last_login is the current session")
    srv.finish()


@H.shared_storage_only("/historial reads the stored messages")
def test_history(chatd):
    srv = H.Server(chatd)
    a, b, c = three(srv)
    # One after the other (each waits for its echo), so the order is known.
    a.sendline("uno")
    a.expect("MSG ana :uno")
    b.sendline("!carla secreto")
    b.lines_until(lambda l: l == "PRIV Bob carla :secreto")
    a.sendline("!bob para bob")
    a.expect("PRIV ana Bob :para bob")
    c.sendline("dos  :x")
    c.expect("MSG ana :uno", "PRIV Bob carla :secreto", "MSG carla :dos  :x")
    a.expect("MSG carla :dos  :x")
    b.expect("PRIV ana Bob :para bob", "MSG carla :dos  :x")

    def hist(k, cmd):
        k.sendline(cmd)
        got = k.lines_until(lambda l: l.startswith("END HIST "))
        check_eq(got[-1], f"END HIST {len(got) - 1}", "END HIST count")
        out = []
        for h in got[:-1]:
            verb, params, trailing = parse(h)
            check(verb == "HIST" and len(params) == 3 and TIME_RE.match(params[0]), h)
            out.append((params[1], params[2], trailing))
        return out

    want_b = [("ana", "*", "uno"), ("Bob", "carla", "secreto"), ("ana", "Bob", "para bob"), ("carla", "*", "dos  :x")]
    for cmd in ["/historial", "/history", "/HISTORIAL 20", "/history 4", "/historial 200", "/historial 201",
                "/historial 99999999999999999999999", "/historial 004", "/history 4 extra words"]:
        check_eq(hist(b, cmd), want_b, cmd)
    check_eq(hist(b, "/historial 2"), want_b[2:], "last 2")
    check_eq(hist(a, "/historial"), [want_b[0], want_b[2], want_b[3]], "ana's view")
    check_eq(hist(c, "/history"), [want_b[0], want_b[1], want_b[3]], "carla's view")
    for bad in ["0", "-1", "x", "1.5", "+3", "3x", "٣", "00"]:
        a.sendline("/historial " + bad)
        a.expect_error("usage", "history")
    # Above 200 counts as 200.
    a.send("".join(f"h{i}\n" for i in range(30)))
    a.lines_until(lambda l: l == "MSG ana :h29")
    srv2 = H.Server(chatd, "--rate", "0")
    k = srv2.connect("k")
    k.send("".join(f"p{i}\n" for i in range(205)))
    k.lines_until(lambda l: l == "MSG k :p204")
    got = hist(k, "/historial 250")
    check_eq(len(got), 200, "at most 200")
    check_eq(got[0], ("k", "*", "p5"))
    check_eq(got[-1], ("k", "*", "p204"))
    srv2.finish()
    srv.finish()


def test_help(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana")
    a.sendline("/ayuda")
    got = a.lines_until(lambda l: l.startswith("END HELP "))
    check(len(got) > 2, "some help")
    check_eq(got[-1], f"END HELP {len(got) - 1}")
    for h in got[:-1]:
        check(h.startswith("HELP :"), h)
    for cmd in ["/help", "/AYUDA", "/Help me"]:
        a.sendline(cmd)
        a.expect(*got)
    srv.finish()


def test_ping_pong_unknown(chatd):
    srv = H.Server(chatd)
    a = srv.connect("ana")
    for line, want in [("/ping abc.1_-Z", "PONG abc.1_-Z"), ("/ping", "PONG -"), ("/PING t extra words", "PONG t"),
                       ("/ping    spaced   ", "PONG spaced"), ("/ping " + "t" * 32, "PONG " + "t" * 32)]:
        a.sendline(line)
        a.expect(want)
    for line in ["/ping no!", "/ping " + "t" * 33, "/ping ñ", "/ping :x", "/ping a/b"]:
        a.sendline(line)
        a.expect_error("usage", "ping")
    for line in ["/pong 5", "/pong", "/PONG whatever it is", "/pong !!"]:
        a.sendline(line)
    a.quiet("after /pong")
    for line, arg in [("/bailar ya", "bailar"), ("/BAILAR", "BAILAR"), ("/ñandú", "ñandú"), ("/", "?"),
                      ("/:x", "?"), ("/ estado", "?"), ("/salirr", "salirr"), ("/msgx bob hi", "msgx"),
                      ("/?", "?"), ("/💥 boom", "💥")]:
        a.sendline(line)
        a.expect_error("unknown-command", arg)
    srv.finish()


def test_quit_aliases(chatd):
    srv = H.Server(chatd)
    w = srv.connect("watcher")
    for i, (line, reason) in enumerate([("/salir", "quit"), ("/desconectar", "quit"), ("/quit", "quit"),
                                        ("/SALIR me voy  a comer ", "quit me voy  a comer "),
                                        ("/Desconectar    adiós 👋", "quit adiós 👋"), ("/QUIT :)", "quit :)")]):
        k = srv.connect(f"u{i}")
        w.expect(f"JOIN u{i} disponible")
        k.sendline(line)
        k.expect_prefix("BYE :")
        k.expect_eof()
        w.expect(f"PART u{i} :{reason}")
    # Pending output is sent before the close; lines after the quit are not taken.
    k = srv.connect("last")
    w.expect("JOIN last disponible")
    k.send("/listar\n/historial 200\n/salir bye\nnot sent\n")
    k.expect("USER last disponible", "USER watcher disponible", "END USERS 2", "END HIST 0")
    k.expect_prefix("BYE :")
    k.expect_eof()
    w.expect("PART last :quit bye")
    w.sendline("/listar")
    w.expect("USER watcher disponible", "END USERS 1")
    srv.finish()


@H.shared_storage_only("/perfil of another user reads that user's record")
def test_own_lines_in_order(chatd):
    """Replies that need storage (/perfil, /historial) and public messages come in the order sent."""
    srv = H.Server(chatd)
    a = srv.connect("ana", name="a")
    b = srv.connect("bob", name="b")
    a.expect("JOIN bob disponible")
    a.send("uno\n/historial 1\ndos\n/perfil bob\n/estado ocupado\n/historial 2\ntres\n/listar\n!bob p\n"
           "/perfil\ncuatro\n")
    got = a.lines_until(lambda l: l == "MSG ana :cuatro")
    kinds = [parse(l)[0] + ("" if not l.startswith(("HIST", "MSG", "PRIV")) else " " + (parse(l)[2] or ""))
             for l in got]
    check_eq(kinds, ["MSG uno", "HIST uno", "END", "MSG dos", "PROFILE", "STATUS", "HIST uno", "HIST dos", "END",
                     "MSG tres", "USER", "USER", "END", "PRIV p", "PROFILE", "MSG cuatro"], "ana's lines in order")
    check(got[-2].startswith("PROFILE ana ") and " status=ocupado " in got[-2], got[-2])
    b.expect("MSG ana :uno", "MSG ana :dos", "STATUS ana ocupado", "MSG ana :tres", "PRIV ana bob :p",
             "MSG ana :cuatro")
    srv.finish()


if __name__ == "__main__":
    H.run([test_public_messages_byte_exact, test_private_messages, test_private_not_seen_by_third, test_status,
           test_list_aliases, test_profile, test_history, test_help, test_ping_pong_unknown, test_quit_aliases,
           test_own_lines_in_order])
