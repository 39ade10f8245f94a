#!/usr/bin/env python3
"""Writes the hand-made seed corpus of each fuzz target (corpus/<target>/seed-*).
Run again after changing a target's input format; libFuzzer adds its own finds
beside these when scripts/fuzz.sh is run with FUZZ_MERGE=1."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- framer: max_line byte, then (len, bytes) chunks
def chunks(max_line, stream, sizes):
    out = bytearray([max_line - 1])
    i = 0
    k = 0
    while i < len(stream):
        n = min(sizes[k % len(sizes)], len(stream) - i)
        out.append(n)
        out += stream[i:i + n]
        i += n
        k += 1
    return bytes(out)


write("framer", "lines", chunks(16, b"hola\nque tal\r\n\n\r\nx", [3, 1, 7]))
write("framer", "toolong", chunks(8, b"0123456789abcdef\nok\n0123456789", [5, 31]))
write("framer", "exact", chunks(4, b"abcd\nabc\r\nabcde\r\n\n", [1]))
write("framer", "bytewise", chunks(32, b"x" * 40 + b"\n" + b"y" * 10 + b"\n", [1, 2]))

# ---- utf8: raw strings
for i, s in enumerate([
        "hola", "Begoña 🎉 日本", "\t", "\x7f", "\u0085", "\u009b31m", "\ufeff", "\u2028",
]):
    write("utf8", "text%d" % i, s.encode("utf-8", "surrogatepass"))
for i, b in enumerate([b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x8e",
                       b"\xff", b"\xc2\x80", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf", b"a\x00b"]):
    write("utf8", "bytes%d" % i, b)

# ---- command: one clean line each
for i, s in enumerate([
        "hola a todos", "//x", "!!y", "!ana hola  ", "/msg ana   a b ", "/msg", "!", "!ana", "/estado ocupado",
        "/ESTADO en-reunión", "/estado a b", "/estado", "/status -x", "/listar", "/WHO", "/perfil", "/perfil ana",
        "/historial", "/historial 0", "/historial 999999999999", "/history 12x", "/ayuda", "/ping", "/ping a.b_c-9",
        "/ping ~", "/pong 3", "/salir", "/quit hasta  luego ", "/desconectar", "/nope", "/", "/ x", "/:x",
        "/msg\tana hi", "  leading", "ñ/x",
]):
    write("command", "cmd%d" % i, s.encode())

# ---- server_line: flag byte, then verb\0param...\0trailing
write("server_line", "msg", b"\x01MSG\x00ana\x00hola a todos")
write("server_line", "priv", b"\x01PRIV\x00ana\x00bob\x00:-) ok ")
write("server_line", "user", b"\x00USER\x00ana\x00disponible")
write("server_line", "empty", b"\x01BYE\x00")
write("server_line", "colon", b"\x01ERROR\x00:x\x00no-such-user\x00 a : b")
write("server_line", "raw", b"\x00  PING   7  :x y\r")

# ---- core: 3 limit bytes, then ops (op, conn, operands...)
OPEN, RAW, WORD, GONE, TIME, PUMP, DOWN = 0, 2, 3, 6, 7, 8, 9


def core(limits, *ops):
    out = bytearray(limits)
    for op in ops:
        out += bytes(op)
    return bytes(out)


def op_open(k, ip=0):
    return [OPEN, k, ip]


def op_text(k, s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 48
    return [RAW, k, len(b)] + list(b)


def op_gone(k, slow=0):
    return [GONE, k, slow]


def op_time(k, t):
    return [TIME, k, t]


def op_pump():
    return [PUMP, 0]


def op_down(v):
    return [DOWN, 0, v]


# limits: a -> max_line 16 + a%64; b -> rate/burst; c -> max_clients c%9, max_per_ip (c>>4)%5, history c&1
NORMAL = [60, 0xF1, 9]    # max_line 76, rate 65/s, burst 16; no client limits; history 3
NOFLOW = [60, 0, 9]
write("core", "chat", core(NORMAL,
                           op_open(0), op_text(0, "ana\n"), op_pump(), op_open(1, 1), op_text(1, "Bob\n"), op_pump(),
                           op_text(0, "hola a todos\n"), op_text(1, "!ana hi\n"), op_text(0, "/listar\n"),
                           op_text(0, "/perfil bob\n"), op_text(0, "/historial 5\n"), op_pump(),
                           op_text(1, "/estado ocupado\n"), op_text(1, "/quit bye\n"), op_pump(),
                           op_open(2), op_text(2, "bob\n"), op_pump(), op_text(0, "/perfil zed\n"), op_pump()))
write("core", "timeouts", core(NORMAL,
                               op_open(0), op_open(1), op_text(1, "ana\n"), op_pump(), op_time(0, 140),
                               op_time(0, 200), op_time(0, 200), op_time(0, 255), op_time(0, 255), op_pump()))
write("core", "flood", core([60, 1 + (0 << 2) + (1 << 4), 1],
                            op_open(0), op_text(0, "ana\n"), op_pump(), op_open(1), op_text(1, "bob\n"), op_pump(),
                            *[op_text(0, "m%d\n" % i) for i in range(12)], op_time(0, 50), op_pump(),
                            op_time(0, 100), op_pump(), op_gone(0)))
write("core", "limits", core([60, 0, 3 + (2 << 4)], *[op_open(k, k % 2) for k in range(8)],
                             op_text(0, "ana\n"), op_pump(), op_gone(0), op_open(7, 2)))
write("core", "storage_down", core(NORMAL, op_down(1), op_open(0), op_text(0, "ana\n"), op_pump(),
                                   op_down(0), op_text(0, "ana\n"), op_open(1), op_text(1, "bob\n"),
                                   op_text(1, "/historial\n"), op_down(1), op_pump(), op_text(1, "/perfil ana\n"),
                                   op_text(0, "/perfil bob\n"), op_text(0, "/perfil zed\n"), op_pump()))
write("core", "hostile", core([0, 0, 0], op_open(0), op_text(0, b"x" * 30), op_text(0, b"y" * 5 + b"\n"),
                              op_text(0, b"\x1b[2J\n"), op_text(0, b"\xc2\x9b\n"), op_text(0, b"\xff\n"),
                              op_text(0, "ana\n"), op_pump(), op_text(0, b"a\tb\n"), op_text(0, b"\x00\n"),
                              op_text(0, "/estado \t\n"), op_text(0, b"z" * 40), op_text(0, b"\n"), op_pump()))
write("core", "gone_while_waiting", core(NORMAL, op_open(0), op_text(0, "ana\n"), op_gone(0), op_open(1),
                                         op_text(1, "ana\n"), op_pump(), op_text(1, "/historial\n"),
                                         op_gone(1, 1), op_pump(), op_open(2), op_text(2, "ANA\n"), op_pump()))
write("core", "same_nick", core(NOFLOW, op_open(0), op_open(1), op_text(0, "ana\n"), op_text(1, "ANA\n"),
                                op_pump(), op_text(1, "ANA\n"), op_text(0, "/salir\n"), op_text(1, "ANA\n"),
                                op_pump(), op_text(1, "!ana yo\n"), op_text(1, "/perfil ana\n"), op_pump()))
