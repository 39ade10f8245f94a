"""chatd as a cluster: 3 nodes on loopback sharing the private Redis (CHATD_REDIS,
CHATD_CLUSTER_PASSWORD; scripts/test.sh starts it), each test on a Redis database
of its own. The Redis-restart test runs a redis-server of its own, so it can stop
it under traffic. Exit 77 (skipped) without CHATD_REDIS.

Nodes run with --cluster-ttl 1.5: a killed node's users PART within 2 s, not 20.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "db"))
from harness import Client, Server, check, check_eq, free_port, parse, plain_only, run  # noqa: E402
import dbtool  # noqa: E402

REDIS = os.environ.get("CHATD_REDIS", "")
PASSWORD = os.environ.get("CHATD_CLUSTER_PASSWORD", "")
TTL = "1.5"


def redis_cli(url, *cmd):
    host, port = url[len("redis://"):].split("/")[0].rsplit(":", 1)
    db = url.split("/")[3] if url.count("/") >= 3 else "0"
    env = dict(os.environ, REDISCLI_AUTH=PASSWORD) if PASSWORD else dict(os.environ)
    return subprocess.run(["redis-cli", "-h", host, "-p", port, "-n", db, *cmd], env=env, capture_output=True,
                          text=True, timeout=10).stdout.strip()


def cluster_url(db):
    url = f"{REDIS}/{db}"
    redis_cli(url, "FLUSHDB")
    return url


def nodes(chatd, url, n=3, ttl=TTL, db=None):
    """n nodes; with db (a dbtool.Database) they share it, each with a journal of its own."""
    extra = []
    out = []
    for i in range(n):
        if db:
            extra = ["--db", db.url, "--journal", os.path.join(tempfile.gettempdir(), f"{db.name}-n{i + 1}.journal"),
                     "--pw-test-cost"]
        out.append(Server(chatd, "--cluster", url, "--node-name", f"n{i + 1}", "--cluster-ttl", ttl, *extra))
    return out


def shared_db():
    """A fresh database on the private MariaDB when CHATD_DB names one, else None (memory storage)."""
    return dbtool.Database() if os.environ.get("CHATD_DB") else None


def msgs(lines):
    return [l for l in lines if l.startswith("MSG ")]


def until(client, want, timeout=10):
    """Lines up to and including `want`."""
    return client.lines_until(lambda l: l == want, timeout=timeout)


def test_presence_and_nicknames_across_nodes(chatd):
    db = shared_db()
    n1, n2, n3 = nodes(chatd, cluster_url(1), db=db)
    ana = n1.connect("Ana")
    other = n2.connect()
    other.sendline("ANA")  # logged in on another node, whatever the case
    other.expect_error("nick-in-use")
    _, users, _ = other.login("bob")
    check_eq(users, ["USER Ana disponible", "USER bob disponible"], "bob's roster covers every node")
    ana.expect("JOIN bob disponible")
    _, users, _ = n3.connect().login("Begoña")
    check_eq(len(users), 3, "the third node's roster")
    ana.expect("JOIN Begoña disponible")
    c = n1.connect()
    _, users, _ = c.login("BEGOÑA")  # no folding beyond ASCII: another user
    check_eq(len(users), 4, "BEGOÑA is a fourth user")
    ana.expect("JOIN BEGOÑA disponible")
    other.sendline("/estado ocupado")
    other.expect("JOIN Begoña disponible", "JOIN BEGOÑA disponible", "STATUS bob ocupado")
    ana.expect("STATUS bob ocupado")
    ana.sendline("/listar")
    check_eq(until(ana, "END USERS 4"), ["USER Ana disponible", "USER BEGOÑA disponible", "USER Begoña disponible",
                                         "USER bob ocupado", "END USERS 4"], "/listar on node 1")
    if db:  # profiles are shared through the database
        ana.sendline("/perfil bob")
        prof = ana.expect_prefix("PROFILE bob ")
        check(" status=ocupado " in prof and " online=yes " in prof, f"profile of a user on another node: {prof!r}")
    for s in (n1, n2, n3):
        s.finish()
    if db:
        db.drop()


def test_two_nodes_racing_to_create_the_same_user(chatd):
    db = shared_db()
    if not db:
        print("SKIP test_two_nodes_racing_to_create_the_same_user: CHATD_DB is unset")
        return
    n1, n2 = nodes(chatd, cluster_url(6), n=2, db=db)
    for nick in ("zed", "yan", "xia"):
        a, b = n1.connect(), n2.connect()
        a.sendline(nick)
        b.sendline(nick.upper())
        la, lb = a.line(), b.line()
        won = [c for c, l in ((a, la), (b, lb)) if l.startswith("WELCOME ")]
        check_eq(len(won), 1, f"one of two logins of {nick} at once wins: {la!r} {lb!r}")
        lost = b if won[0] is a else a
        check((lb if lost is b else la).startswith("ERROR nick-in-use "), f"the other is in use: {la!r} {lb!r}")
        check_eq(db.one(f"SELECT COUNT(*) FROM users WHERE nick_key = '{nick}'"), "1", f"one user {nick}")
        won_id = int(parse(la if won[0] is a else lb)[1][1])
        won[0].lines_until(lambda l: l.startswith("END HIST"))
        won[0].sendline("/salir")
        won[0].read_to_eof()
        deadline = time.monotonic() + 10
        while True:  # the PART travels through the order before the nickname is free everywhere
            lost.sendline(nick)
            ln = lost.line()
            if ln.startswith("WELCOME "):
                break
            check(time.monotonic() < deadline, f"{nick} not free again: {ln!r}")
            time.sleep(0.05)
        check_eq(int(parse(ln)[1][1]), won_id, f"{nick} is the same user on the other node")
    for s in (n1, n2):
        s.finish()
    db.drop()


def test_one_order_three_senders_three_nodes(chatd):
    servers = nodes(chatd, cluster_url(2))
    senders = [s.connect(f"s{i}") for i, s in enumerate(servers)]
    listeners = [s.connect(f"l{i}") for i, s in enumerate(servers)]
    count = 40
    for k in range(count):
        for i, c in enumerate(senders):
            c.sendline(f"m{i}-{k}")
    seen = {}
    for c in senders + listeners:
        got = []
        while len(got) < 3 * count:
            ln = c.line(timeout=20)
            if ln.startswith("MSG "):
                got.append(ln)
        seen[c.nick] = got
    first = seen["s0"]
    for nick, got in seen.items():
        check_eq(got, first, f"{nick}'s order against s0's")
    for i in range(3):  # each sender's own order, echo included
        mine = [l for l in first if l.startswith(f"MSG s{i} ")]
        check_eq(mine, [f"MSG s{i} :m{i}-{k}" for k in range(count)], f"s{i}'s messages in its order")
    for s in servers:
        s.finish()


def test_accounts_across_nodes(chatd):
    """An account registered on one node is an account on every node: AUTH, the password, the same id."""
    db = shared_db()
    if not db:
        print("SKIP test_accounts_across_nodes: CHATD_DB is unset")
        return
    n1, n2 = nodes(chatd, cluster_url(8), n=2, db=db)
    ana = n1.connect("Ana")
    ana.sendline("/registrar clave-de-ana")
    check(ana.line().startswith("OK register :"), "OK register")
    c = Client(n2)
    c.sendline("ana")
    c.expect_error("nick-in-use")  # online on node 1, before any AUTH
    ana.sendline("/salir")
    ana.read_to_eof()
    deadline = time.monotonic() + 10
    while True:
        c.sendline("ana")
        ln = c.line()
        if ln.startswith("AUTH Ana "):
            break
        check(time.monotonic() < deadline, f"no AUTH on the other node: {ln!r}")
        time.sleep(0.05)
    c.sendline("clave equivocada")
    c.expect_error("bad-password")
    c.sendline("ana")
    c.expect_prefix("AUTH Ana ")
    welcome, _, _ = c.login("clave-de-ana")
    check_eq(parse(welcome)[1][1], str(ana.id), "the same user on the other node")
    for s in (n1, n2):
        s.finish()
    db.drop()


def test_history_the_same_on_every_node(chatd):
    """/historial on any node shows a message as soon as that node delivered it, public or private,
    though the sender's node writes its own batches: the same history everywhere."""
    db = shared_db()
    if not db:
        print("SKIP test_history_the_same_on_every_node: CHATD_DB is unset")
        return
    n1, n2 = nodes(chatd, cluster_url(11), n=2, db=db)
    ana, bob = n1.connect("ana"), n2.connect("Bob")
    ana.sync(), bob.sync()
    for i in range(10):
        ana.sendline(f"!bob secreto {i}")
        bob.expect(f"PRIV ana Bob :secreto {i}")
        bob.sendline("/historial 1")
        hist = bob.lines_until(lambda l: l.startswith("END HIST"))
        check(hist[0].startswith("HIST ") and hist[0].endswith(f" ana Bob :secreto {i}"),
              f"bob's node shows the private message it delivered: {hist}")
        ana.sendline(f"para todos {i}")
        bob.expect(f"MSG ana :para todos {i}")
        bob.sendline("/historial 1")
        hist = bob.lines_until(lambda l: l.startswith("END HIST"))
        check(hist[0].endswith(f" ana * :para todos {i}"), f"bob's node shows the public message: {hist}")
    ana.sendline("/historial 20")
    hist = [l for l in ana.lines_until(lambda l: l.startswith("END HIST")) if l.startswith("HIST ")]
    check_eq(len(hist), 20, f"each message stored once: {hist}")
    for s in (n1, n2):
        s.finish()
    check_eq(db.one("SELECT COUNT(*) FROM messages"), "20", "stored once, whichever nodes wrote it")
    db.drop()


@plain_only("chat-load speaks plain TCP")
def test_chat_load_one_order_across_nodes(chatd):
    """chat-load --ports spreads its clients over the nodes and compares every receiver's order."""
    load = os.path.join(os.path.dirname(os.path.abspath(chatd)), "chat-load")
    if not os.access(load, os.X_OK):
        print(f"SKIP test_chat_load_one_order_across_nodes: no {load}")
        return
    servers = nodes(chatd, cluster_url(7))
    ports = ",".join(str(s.port) for s in servers)
    r = subprocess.run([load, "-s", "fanout", "-c", "30", "--senders", "3", "-r", "150", "-d", "1", "--warmup", "0.5",
                        "--ports", ports, "-q", "--json"], capture_output=True, text=True, timeout=120)
    check_eq(r.returncode, 0, f"chat-load across nodes:\n{r.stderr}")
    check('"order_mismatches": 0' in r.stdout, f"every receiver saw one order: {r.stdout}")
    check('"logged_in": 30' in r.stdout, f"every client logged in: {r.stdout}")
    for s in servers:
        s.finish()


def test_private_messages_and_quit_across_nodes(chatd):
    n1, n2, n3 = nodes(chatd, cluster_url(3))
    ana, bob, carla = n1.connect("ana"), n2.connect("bob"), n3.connect("carla")
    ana.sync(), bob.sync()
    ana.sendline("!BOB hola bob")
    ana.expect("PRIV ana bob :hola bob")  # the echo, spelled as bob first logged in
    bob.expect("PRIV ana bob :hola bob")
    bob.sendline("/msg ana y tú")
    bob.expect("PRIV bob ana :y tú")
    ana.expect("PRIV bob ana :y tú")
    check_eq([l for l in carla.sync() if l.startswith("PRIV")], [], "carla sees no private message")
    bob.sendline("/salir hasta luego")
    bob.expect("BYE :adios")
    bob.expect_eof()
    until(ana, "PART bob :quit hasta luego")
    until(carla, "PART bob :quit hasta luego")
    again = n3.connect()
    again.login("Bob")  # free again, on any node
    for s in (n1, n2, n3):
        s.finish()


def test_sigterm_node_parts_its_users_at_once(chatd):
    n1, n2, n3 = nodes(chatd, cluster_url(4))
    ana = n1.connect("ana")
    n2.connect("bob")
    dan = n3.connect("dan")
    eva = n3.connect("eva")
    ana.sync()
    t0 = time.monotonic()
    n3.proc.send_signal(signal.SIGTERM)
    for c in (dan, eva):
        rest = c.read_to_eof()
        check_eq(rest[-1], "BYE :server shutting down", f"{c.nick}'s last line")
    got = ana.lines_until(lambda l: l == "PART eva :closed", timeout=5)
    check("PART dan :closed" in got, f"dan's PART: {got!r}")
    check(time.monotonic() - t0 < 5, "PART within 5 s of SIGTERM")
    check_eq(n3.stop(), 0, "the stopped node's exit code")
    n2.connect("dan")  # free again
    for s in (n1, n2):
        s.finish()


def test_sigkill_node_parts_within_the_ttl_and_frees_its_nicknames(chatd):
    n1, n2, n3 = nodes(chatd, cluster_url(5))
    ana = n1.connect("ana")
    bob = n2.connect("bob")
    n3.connect("dan")
    ana.sync(), bob.sync()
    t0 = time.monotonic()
    n3.kill()
    for c in (ana, bob):
        c.lines_until(lambda l: l == "PART dan :closed", timeout=10)
    took = time.monotonic() - t0
    check(took < 2 * float(TTL) + 1, f"PART {took:.1f} s after the kill (TTL {TTL} s)")
    # Once on each, in the same place of the order: both then see the same next line.
    ana.sendline("despues")
    until(ana, "MSG ana :despues")
    check_eq(bob.line(), "MSG ana :despues", "bob's next line after the PART")
    n1.connect("Dan")
    for s in (n1, n2):
        s.finish()


class OwnRedis:
    """A redis-server of this test's own, with the same password as the shared one."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chatd-it-redis-")
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        conf = f"port {self.port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {self.dir}\n"
        if PASSWORD:
            conf += f"requirepass {PASSWORD}\n"
        self.proc = subprocess.Popen(["redis-server", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.proc.stdin.write(conf.encode())
        self.proc.stdin.close()
        deadline = time.monotonic() + 10
        while redis_cli(self.url(), "PING") != "PONG":
            check(time.monotonic() < deadline, "own redis-server did not start")
            time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_redis_restarted_under_traffic(chatd):
    redis = OwnRedis()
    try:
        n1, n2 = nodes(chatd, redis.url(), n=2)
        ana, bob = n1.connect("ana"), n2.connect("bob")
        listener = n2.connect("lis")
        ana.sync()
        echoed, refused = [], 0
        for k in range(60):
            if k == 20:
                redis.stop()
            if k == 40:
                redis.start()
                time.sleep(0.5)
            ana.sendline(f"x{k}")  # its echo (or refusal) comes before the PONG
            ana.sendline(f"/ping p{k}")
            got = ana.lines_until(lambda l: l == f"PONG p{k}", timeout=10)
            for ln in got:
                if ln.startswith("MSG ana :x"):
                    echoed.append(ln)
                elif ln.startswith("ERROR unavailable"):
                    refused += 1
            time.sleep(0.05)
        check(refused > 0, "messages were refused while Redis was away")
        check(ana.sock.fileno() >= 0 and bob.sock.fileno() >= 0, "clients stay connected")
        # Messages work again after the return, through the whole cluster.
        deadline = time.monotonic() + 10
        while True:
            ana.sendline("vuelta")
            got = ana.lines_until(lambda l: l.startswith("MSG ana :vuelta") or l.startswith("ERROR unavailable"))
            if got[-1].startswith("MSG"):
                break
            check(time.monotonic() < deadline, "no message went through after Redis came back")
            time.sleep(0.2)
        seen = msgs(listener.lines_until(lambda l: l == "MSG ana :vuelta", timeout=10))
        check_eq(len(seen), len(set(seen)), "no message delivered twice")
        for ln in echoed:  # echoed is never lost
            check(ln in seen, f"{ln!r} was echoed to its sender but never reached the other node")
        for ln in seen:
            check(ln == "MSG ana :vuelta" or ln in echoed, f"{ln!r} reached the other node without an echo")
        for s in (n1, n2):
            s.finish()
    finally:
        redis.cleanup()


if __name__ == "__main__":
    if not REDIS:
        print("SKIPPED: CHATD_REDIS is unset (eval \"$(scripts/redis.sh env)\")")
        sys.exit(77)
    run([
        test_presence_and_nicknames_across_nodes,
        test_one_order_three_senders_three_nodes,
        test_chat_load_one_order_across_nodes,
        test_private_messages_and_quit_across_nodes,
        test_sigterm_node_parts_its_users_at_once,
        test_sigkill_node_parts_within_the_ttl_and_frees_its_nicknames,
        test_redis_restarted_under_traffic,
        test_two_nodes_racing_to_create_the_same_user,
        test_accounts_across_nodes,
        test_history_the_same_on_every_node,
    ])
