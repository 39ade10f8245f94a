#!/usr/bin/env python3
"""Soak test of chatd: well-behaved clients that check delivery and order,
TLS clients good and bad (soak_tls.py),
hostile clients of every kind, and a sampler of chatd's RSS, fds and CPU.

Traffic goes only to 127.0.0.1 (clients bind source addresses in 127/8 so the
per-address limit can be aimed at). Every loop is bounded by the deadline and
every network wait by a timeout; chatd and every socket are closed at the end.
Exit status 0 when every check held, 1 when one failed, 2 on a setup error.
"""
import argparse
import asyncio
import csv
import logging
import os
import random
import re
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

import soak_tls

HOST = "127.0.0.1"


class Stats:
    def __init__(self):
        self.c = {}
        self.failures = []

    def inc(self, key, n=1):
        self.c[key] = self.c.get(key, 0) + n

    def fail(self, msg):
        if len(self.failures) < 50:
            self.failures.append(msg)


S = Stats()


class Window:
    """What in-memory storage keeps by design, seen through good00's eyes: every public
    message (a window of the last 100 000) and every user ever logged in. The memory
    check subtracts it, so a growing window is not taken for a leak."""
    MAX = 100000
    MSG_OVERHEAD = 112   # deque slot, ids, times, string header and malloc rounding
    USER_OVERHEAD = 320  # two hash-map nodes, the record and its strings

    def __init__(self):
        self.sizes = []
        self.users = set()
        self.enabled = True

    def kib(self):
        if not self.enabled:
            return 0
        last = self.sizes[-self.MAX:]
        return (sum(last) + self.MSG_OVERHEAD * len(last) + self.USER_OVERHEAD * len(self.users)) // 1024


WINDOW = Window()
CTRL = re.compile("[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]")


def check_line(raw, who):
    """Every line chatd sends anyone: UTF-8, no control character (TAB allowed in text)."""
    S.inc("lines received")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        S.inc("bad lines")
        S.fail("%s got invalid UTF-8: %r" % (who, raw[:80]))
        return ""
    if CTRL.search(text):
        S.inc("bad lines")
        S.fail("%s got a control character: %r" % (who, raw[:80]))
    return text


async def open_conn(port, src, timeout=5.0, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((src, 0))
        sock.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (HOST, port)), timeout)
        return await asyncio.open_connection(sock=sock, limit=1 << 20)
    except BaseException:
        sock.close()
        raise


def abort(w):
    try:
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.transport.abort()
    except Exception:
        pass


async def read_line(r, timeout):
    line = await asyncio.wait_for(r.readline(), timeout)
    if not line:
        raise EOFError
    return line.rstrip(b"\n")


async def read_until(r, who, pred, timeout):
    """Reads lines until pred(text) holds; returns the lines read."""
    end = time.monotonic() + timeout
    seen = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise asyncio.TimeoutError
        text = check_line(await read_line(r, left), who)
        seen.append(text)
        if pred(text):
            return seen


async def login(port, src, nick, timeout=10.0, rcvbuf=None):
    r, w = await open_conn(port, src, rcvbuf=rcvbuf)
    try:
        await read_until(r, nick, lambda t: t.startswith("HELLO "), timeout)
        w.write(nick.encode() + b"\n")
        lines = await read_until(r, nick, lambda t: t.startswith("END HIST") or t.startswith("ERROR "), timeout)
        if not lines[-1].startswith("END HIST"):
            raise ConnectionError("%s refused: %s" % (nick, lines[-1]))
        return r, w
    except BaseException:
        abort(w)
        raise


async def drain_reader(r, who, deadline):
    """Reads and checks everything until EOF or the deadline."""
    loop = asyncio.get_running_loop()
    try:
        while loop.time() < deadline:
            try:
                await read_line(r, min(1.0, max(0.01, deadline - loop.time())))
            except asyncio.TimeoutError:
                continue
    except (EOFError, ConnectionError, OSError):
        pass


# ---------------------------------------------------------------- good clients

class Good:
    def __init__(self, i, port):
        self.i = i
        self.nick = "good%02d" % i
        self.src = "127.0.1.%d" % (i + 1)
        self.port = port
        self.got = []        # (sender, seq) of good messages, in arrival order
        self.next_seq = {}   # sender -> next expected seq
        self.sent = 0
        self.cut = None

    async def start(self):
        self.r, self.w = await login(self.port, self.src, self.nick)

    async def reader(self):
        while True:
            try:
                raw = await self.r.readline()
            except (ConnectionError, OSError) as e:
                self.cut = str(e)
                break
            if not raw:
                self.cut = "EOF"
                break
            text = check_line(raw.rstrip(b"\n"), self.nick)
            if self.i == 0:
                if text.startswith("MSG "):
                    WINDOW.sizes.append(len(raw) - raw.find(b" :") - 3)
                elif text.startswith("JOIN "):
                    WINDOW.users.add(text.split(" ")[1].lower())
            if text.startswith("MSG good"):
                m = re.match(r"MSG (good\d\d) :good\d\d (\d+)$", text)
                if not m:
                    S.fail("%s: malformed good message %r" % (self.nick, text))
                    continue
                sender, seq = m.group(1), int(m.group(2))
                want = self.next_seq.get(sender, 0)
                if seq != want:
                    S.fail("%s: from %s got #%d, expected #%d" % (self.nick, sender, seq, want))
                self.next_seq[sender] = seq + 1
                self.got.append((sender, seq))
            elif text.startswith("PING "):
                self.w.write(b"/pong " + text[5:].encode() + b"\n")
            elif text.startswith("PART ") and text.endswith(":slow-consumer") and self.i == 0:
                S.inc("slow consumers cut")
            elif text.startswith("BYE"):
                self.cut = text

    async def sender(self, stop_at, rate):
        loop = asyncio.get_running_loop()
        while loop.time() < stop_at and self.cut is None:
            self.w.write(("%s %d\n" % (self.nick, self.sent)).encode())
            self.sent += 1
            await asyncio.sleep(random.uniform(0.5, 1.5) / rate)


async def probe(port, deadline, lat):
    """A logged-in client that sends /ping every second and wants its PONG within 2 s."""
    r, w = await login(port, "127.0.0.2", "probe")
    loop = asyncio.get_running_loop()
    n = 0
    try:
        while loop.time() < deadline:
            n += 1
            t0 = loop.time()
            w.write(b"/ping p%d\n" % n)
            try:
                await read_until(r, "probe", lambda t, n=n: t == "PONG p%d" % n, 2.0)
                lat.append(loop.time() - t0)
                S.inc("probe pongs")
            except asyncio.TimeoutError:
                S.inc("probe misses")
                S.fail("no PONG within 2 s at t=%.0f" % (loop.time() - START))
            await asyncio.sleep(max(0.0, 1.0 - (loop.time() - t0)))
    finally:
        abort(w)


# ---------------------------------------------------------------- hostile clients

async def guarded(name, coro_fn, deadline):
    """Runs one hostile behaviour again and again until the deadline; errors are expected."""
    loop = asyncio.get_running_loop()
    k = 0
    while loop.time() < deadline:
        k += 1
        try:
            await asyncio.wait_for(coro_fn(k), max(0.1, deadline - loop.time()))
        except (asyncio.TimeoutError, EOFError, ConnectionError, OSError) as e:
            S.inc("%s ended by %s" % (name, type(e).__name__))
        await asyncio.sleep(0.05)


def nick(kind, tag, k):
    return ("%s%d-%d" % (kind, tag, k))[:32]


async def slowloris(port, tag, deadline):
    async def one(k):
        r, w = await open_conn(port, "127.0.5.%d" % (tag + 1))
        try:
            S.inc("slowloris connections")
            gap = 0.4 if tag % 2 == 0 else 3.0  # the slow half cannot beat the login timeout
            reader = asyncio.ensure_future(collect_verbs(r, "slowloris"))
            for b in nick("slow", tag, k).encode() + b"\nhola despacio\n":
                if reader.done():
                    break
                w.write(bytes([b]))
                await asyncio.sleep(gap)
            await asyncio.sleep(1)
            reader.cancel()
        finally:
            abort(w)
    await guarded("slowloris", one, deadline)


async def collect_verbs(r, kind):
    try:
        while True:
            text = check_line(await read_line(r, 60), kind)
            if text.startswith("WELCOME"):
                S.inc(kind + " logged in")
            elif text.startswith("ERROR login-timeout"):
                S.inc(kind + " login timeouts")
            elif text.startswith("ERROR line-too-long"):
                S.inc(kind + " line-too-long errors")
            elif text.startswith("ERROR bad-text"):
                S.inc(kind + " bad-text errors")
    except (EOFError, ConnectionError, OSError, asyncio.TimeoutError):
        pass


async def never_reads(port, tag, deadline):
    async def one(k):
        r, w = await login(port, "127.0.6.%d" % (tag + 1), nick("deaf", tag, k), rcvbuf=4096)
        S.inc("never-read logins")
        try:
            # Asks for big answers (the history holds the floods' long lines) and never reads
            # them; chatd must cut it as a slow consumer and go on serving everyone else.
            loop = asyncio.get_running_loop()
            stop = loop.time() + 30
            while loop.time() < stop:
                w.write(b"/historial 200\n/ayuda\n")
                await asyncio.sleep(0.2)
        finally:
            abort(w)
    await guarded("never-read", one, deadline)


async def flood(port, tag, deadline):
    async def one(k):
        r, w = await login(port, "127.0.7.%d" % (tag + 1), nick("flood", tag, k))
        S.inc("flood logins")
        loop = asyncio.get_running_loop()
        reader = asyncio.ensure_future(drain_reader(r, "flood", deadline))
        try:
            stop = min(deadline, loop.time() + 20)
            while loop.time() < stop:
                batch = b"".join(b"F" * random.randint(20, 4000) + b"\n" for _ in range(50))
                w.write(batch)
                S.inc("flood lines sent", 50)
                await asyncio.wait_for(w.drain(), 10)
            w.write(b"/salir flood over\n")
            await asyncio.sleep(0.5)
        finally:
            reader.cancel()
            abort(w)
    await guarded("flood", one, deadline)


async def resets(port, tag, deadline):
    async def one(k):
        r, w = await login(port, "127.0.8.%d" % (tag + 1), nick("rst", tag, k))
        S.inc("abrupt resets")
        w.write(b"half a line without its end")
        await asyncio.sleep(random.uniform(0, 0.3))
        abort(w)
        await asyncio.sleep(0.2)
    await guarded("reset", one, deadline)


async def half_closed(port, tag, deadline):
    # A plain socket, not a StreamReader: a refused connection that had sent data may end
    # in a reset, and the lines before it must still be read (asyncio drops them).
    loop = asyncio.get_running_loop()

    async def one(k):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.9.%d" % (tag + 1), 0))
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, (HOST, port)), 5)
            await loop.sock_sendall(sock, nick("half", tag, k).encode() + b"\n/listar\n")
            sock.shutdown(socket.SHUT_WR)
            S.inc("half-closed sockets")
            data = b""
            try:
                while True:
                    chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionError, OSError):
                pass
            seen = [check_line(l, "half-closed") for l in data.split(b"\n")[:-1]]
            lists = sum(t.startswith("END USERS") for t in seen)
            refused = any(t.startswith("ERROR server-full") or t.startswith("ERROR too-many") for t in seen)
            # The roster after WELCOME, then the answer to /listar.
            if refused:
                S.inc("half-closed refused (limits)")
            elif not seen:
                S.inc("half-closed shed (fd limit)")
            elif lists == 2:
                S.inc("half-closed answered")
            else:
                S.inc("half-closed unanswered")
                S.fail("a half-closed client got %d of 2 user lists at t=%.0f; it read %r"
                       % (lists, loop.time() - START, [t[:60] for t in seen[:6]]))
            await asyncio.sleep(1)
        finally:
            sock.close()
    await guarded("half-closed", one, deadline)


async def overlong(port, tag, deadline):
    async def one(k):
        r, w = await login(port, "127.0.10.%d" % (tag + 1), nick("long", tag, k))
        reader = asyncio.ensure_future(collect_verbs(r, "overlong"))
        try:
            for _ in range(10):
                for _ in range(5):
                    w.write(b"L" * 4000)
                    await asyncio.wait_for(w.drain(), 10)
                w.write(b"\n")
                S.inc("overlong lines sent")
                await asyncio.sleep(1)
        finally:
            reader.cancel()
            abort(w)
    await guarded("overlong", one, deadline)


async def garbage(port, tag, deadline):
    async def one(k):
        r, w = await open_conn(port, "127.0.11.%d" % (tag + 1))
        reader = asyncio.ensure_future(collect_verbs(r, "garbage"))
        try:
            for _ in range(20):
                w.write(os.urandom(random.randint(1, 600)) + (b"\n" if random.random() < 0.7 else b""))
                S.inc("garbage chunks sent")
                await asyncio.wait_for(w.drain(), 10)
                await asyncio.sleep(0.1)
        finally:
            reader.cancel()
            abort(w)
    await guarded("garbage", one, deadline)


async def reconnect_storm(port, tag, deadline):
    async def quick(k, j):
        try:
            r, w = await login(port, "127.0.12.%d" % (j + 1), nick("storm", tag, k * 100 + j))
        except (asyncio.TimeoutError, EOFError, ConnectionError, OSError):
            S.inc("storm failed logins")
            return
        S.inc("storm logins")
        if j % 2:
            w.write(b"/salir\n")
            await asyncio.sleep(0.05)
        abort(w)

    async def one(k):
        await asyncio.gather(*(quick(k, j) for j in range(15)))
        await asyncio.sleep(1)
    await guarded("storm", one, deadline)


async def limits_wave(port, deadline, per_ip, fd_limit, every):
    """Connections past --max-per-ip (one address), then past --max-clients and the fd limit
    (many addresses), all held open for a while so they pile up."""
    loop = asyncio.get_running_loop()

    async def hold(src, bucket, hold_s):
        try:
            r, w = await open_conn(port, src, timeout=5)
        except (asyncio.TimeoutError, OSError):
            bucket["connect failed"] = bucket.get("connect failed", 0) + 1
            return
        outcome = "no answer"
        try:
            text = check_line(await read_line(r, 5), "wave")
            outcome = "accepted"
            if text.startswith("HELLO"):
                try:
                    text2 = check_line(await read_line(r, 0.5), "wave")
                    if text2.startswith("ERROR "):
                        outcome = text2.split()[1]
                except asyncio.TimeoutError:
                    pass
            await asyncio.sleep(hold_s)
        except (EOFError, ConnectionError, OSError):
            outcome = "closed without HELLO (shed)" if outcome == "no answer" else outcome
        except asyncio.TimeoutError:
            pass
        finally:
            abort(w)
        bucket[outcome] = bucket.get(outcome, 0) + 1

    await asyncio.sleep(min(5, every / 4))
    while loop.time() < deadline - 10:
        S.inc("limit waves")
        b1, b2 = {}, {}
        n = fd_limit + 100
        await asyncio.gather(*(hold("127.0.0.99", b1, 3) for _ in range(per_ip + 10)),
                             *(hold("127.0.%d.%d" % (20 + j // 200, 1 + j % 200), b2, 6) for j in range(n)))
        for k, v in b1.items():
            S.inc("per-ip wave: " + k, v)
        for k, v in b2.items():
            S.inc("fd wave: " + k, v)
        await asyncio.sleep(every)


# ---------------------------------------------------------------- sampler

def read_proc(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return rss, fds, ticks


async def sampler(pid, deadline, rows):
    loop = asyncio.get_running_loop()
    hz = os.sysconf("SC_CLK_TCK")
    last = None
    while loop.time() < deadline:
        try:
            rss, fds, ticks = read_proc(pid)
        except OSError:
            S.fail("chatd vanished at t=%.0f" % (loop.time() - START))
            return
        now = loop.time()
        cpu = 0.0
        if last:
            cpu = 100.0 * (ticks - last[1]) / hz / max(1e-3, now - last[0])
        last = (now, ticks)
        rows.append((round(now - START, 1), rss, fds, round(cpu, 1), WINDOW.kib()))
        await asyncio.sleep(1)


# ---------------------------------------------------------------- main

START = 0.0


async def run(args, port, pid, tls_port=None, certs=None):
    global START
    loop = asyncio.get_running_loop()
    START = loop.time()
    deadline = START + args.seconds
    send_stop = deadline - 5
    rows, lat = [], []

    goods = [Good(i, port) for i in range(args.good)]
    for g in goods:
        await g.start()
    tasks = [asyncio.ensure_future(g.reader()) for g in goods]
    tasks.append(asyncio.ensure_future(sampler(pid, deadline + 3, rows)))
    tasks.append(asyncio.ensure_future(probe(port, deadline, lat)))
    tasks += [asyncio.ensure_future(g.sender(send_stop, args.rate)) for g in goods]
    hostile_end = send_stop
    for t in range(6):
        tasks.append(asyncio.ensure_future(slowloris(port, t, hostile_end)))
    for t in range(3):
        tasks.append(asyncio.ensure_future(never_reads(port, t, hostile_end)))
    for t in range(2):
        tasks.append(asyncio.ensure_future(flood(port, t, hostile_end)))
    for t in range(2):
        tasks.append(asyncio.ensure_future(resets(port, t, hostile_end)))
    tasks.append(asyncio.ensure_future(half_closed(port, 0, hostile_end)))
    tasks.append(asyncio.ensure_future(overlong(port, 0, hostile_end)))
    for t in range(2):
        tasks.append(asyncio.ensure_future(garbage(port, t, hostile_end)))
    tasks.append(asyncio.ensure_future(reconnect_storm(port, 0, hostile_end)))
    if tls_port:
        for t in range(3):
            tasks.append(asyncio.ensure_future(
                soak_tls.tls_hostile(S, guarded, check_line, HOST, tls_port, certs, t, hostile_end)))
    tasks.append(asyncio.ensure_future(limits_wave(port, hostile_end, args.max_per_ip, args.fd_limit,
                                                   max(15, args.seconds // 6))))
    await asyncio.sleep(max(0, deadline - loop.time()))

    # Every message sent must have reached every good client; wait for the tail.
    total = sum(g.sent for g in goods)
    wait_end = loop.time() + 15
    while loop.time() < wait_end and any(len(g.got) < total and g.cut is None for g in goods):
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.5 - min(3.5, loop.time() - deadline))  # last samples
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for g in goods:
        abort(g.w)

    if S.c.get("never-read logins") and not S.c.get("slow consumers cut"):
        S.fail("no client that never reads was cut as a slow consumer")
    # Delivery and order.
    S.inc("good messages sent", total)
    ref = goods[0].got
    for g in goods:
        S.inc("good messages checked", len(g.got))
        if g.cut is not None:
            S.fail("%s was disconnected: %s" % (g.nick, g.cut))
        if len(g.got) != total:
            S.fail("%s received %d of %d good messages" % (g.nick, len(g.got), total))
        if g.got != ref:
            S.fail("%s saw the good messages in another order than %s" % (g.nick, goods[0].nick))
    return rows, lat


def verdict_memory(rows, args):
    rss = [r[1] - r[4] for r in rows]
    if len(rss) < 8:
        S.fail("too few samples (%d)" % len(rss))
        return
    q = len(rss) // 4
    second, last = statistics.median(rss[q:2 * q]), statistics.median(rss[3 * q:])
    S.c["RSS less storage window, median 2nd quarter (MiB)"] = round(second / 1024, 1)
    S.c["RSS less storage window, median last quarter (MiB)"] = round(last / 1024, 1)
    S.c["storage window at the end (MiB, estimated)"] = round(rows[-1][4] / 1024, 1)
    cap = args.rss_cap_mb * 1024
    if max(r[1] for r in rows) > cap:
        S.fail("RSS %d MiB passed the cap of %d MiB" % (max(r[1] for r in rows) // 1024, args.rss_cap_mb))
    if not args.sanitized and last > second * (1 + args.rss_growth / 100.0) + 2048:
        S.fail("RSS grows: last-quarter median %.1f MiB vs second quarter %.1f MiB (> %d%% + 2 MiB)"
               % (last / 1024, second / 1024, args.rss_growth))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chatd", required=True)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--csv", default="var/soak/samples.csv")
    ap.add_argument("--good", type=int, default=20)
    ap.add_argument("--rate", type=float, default=2.0, help="messages per second per good client")
    ap.add_argument("--fd-limit", type=int, default=512)
    ap.add_argument("--max-clients", type=int, default=300)
    ap.add_argument("--max-per-ip", type=int, default=20)
    ap.add_argument("--rss-growth", type=int, default=25, help="percent")
    ap.add_argument("--rss-cap-mb", type=int, default=512)
    ap.add_argument("--sanitized", action="store_true", help="ASan build: no growth check, higher cap")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    # asyncio warns about writes to sockets chatd has cut; that is what the hostile clients are for.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    if args.seconds < 30:
        ap.error("--seconds must be at least 30")
    if args.sanitized:
        args.rss_cap_mb = max(args.rss_cap_mb, 2048)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.fd_limit + 400:
        print("soak: this process may open %d fds, need %d" % (want, args.fd_limit + 400), file=sys.stderr)
        return 2

    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.fd_limit, args.fd_limit))
        os.setsid()
        # chatd dies with this script, even if the script is killed.
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    log_path = os.path.splitext(args.csv)[0] + ".chatd.log"
    log = open(log_path, "wb")
    certs = soak_tls.make_certs()
    # With a certificate, --port 0 would mean "TLS only": the plain port is picked here.
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        plain_port = probe.getsockname()[1]
    cmd = [args.chatd, "--bind", HOST, "--port", str(plain_port), "--tls-port", "0",
           "--tls-cert", os.path.join(certs, "server.pem"), "--tls-key", os.path.join(certs, "server.key"),
           "--max-clients", str(args.max_clients),
           "--max-per-ip", str(args.max_per_ip), "--login-timeout", "10", "--max-outbuf", "262144",
           "--log-level", "info"]
    # Storage: in memory, or the database CHATD_DB names (chatd reads it from the environment).
    WINDOW.enabled = not os.environ.get("CHATD_DB")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit_fds)
    rc_chatd = None
    try:
        port = tls_port = None
        t_end = time.monotonic() + 20
        while time.monotonic() < t_end and not (port and tls_port):
            line = proc.stderr.readline()
            if not line:
                break
            log.write(line)
            m = re.search(rb"listening on \S+?:(\d+)", line)
            if m:
                port = int(m.group(1))
            m = re.search(rb"listening for TLS on \S+?:(\d+)", line)
            if m:
                tls_port = int(m.group(1))
        if not (port and tls_port):
            print("soak: chatd did not start (see %s)" % log_path, file=sys.stderr)
            return 2
        # The rest of chatd's log goes to the file without blocking it.
        pump = subprocess.Popen(["cat"], stdin=proc.stderr, stdout=log)
        print("soak: chatd pid %d on port %d (TLS %d), fd limit %d, %d s, seed %d"
              % (proc.pid, port, tls_port, args.fd_limit, args.seconds, seed), flush=True)
        rows, lat = asyncio.run(run(args, port, proc.pid, tls_port, certs))
        proc.send_signal(signal.SIGTERM)
        try:
            rc_chatd = proc.wait(15)
        except subprocess.TimeoutExpired:
            S.fail("chatd did not exit within 15 s of SIGTERM")
        pump.wait(5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    if rc_chatd not in (0, None):
        S.fail("chatd exited with %d after SIGTERM (see %s)" % (rc_chatd, log_path))

    with open(args.csv, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["t_s", "rss_kib", "fds", "cpu_pct", "storage_window_kib"])
        wr.writerows(rows)
    verdict_memory(rows, args)

    rss = [r[1] for r in rows] or [0]
    fds = [r[2] for r in rows] or [0]
    cpu = [r[3] for r in rows[1:]] or [0]
    S.c["RSS min/max (MiB)"] = "%.1f / %.1f" % (min(rss) / 1024, max(rss) / 1024)
    S.c["open fds min/max"] = "%d / %d" % (min(fds), max(fds))
    S.c["CPU % mean/max"] = "%.1f / %.1f" % (statistics.mean(cpu), max(cpu))
    if lat:
        S.c["probe PONG latency ms median/max"] = "%.1f / %.1f" % (statistics.median(lat) * 1000, max(lat) * 1000)
    S.c["samples"] = len(rows)
    S.c["chatd exit code"] = rc_chatd

    width = max(len(k) for k in S.c) + 2
    print("\n%-*s %s" % (width, "soak summary", "value"))
    print("-" * (width + 20))
    for k in sorted(S.c):
        print("%-*s %s" % (width, k, S.c[k]))
    print("samples: %s, chatd log: %s" % (args.csv, log_path))
    if S.failures:
        print("\nFAILED:")
        for f in S.failures:
            print("  " + f)
        return 1
    print("\nsoak: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
