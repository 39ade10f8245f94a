"""Shared harness for the chatd integration tests: a real chatd process on a free
port and line-oriented clients over real sockets (python3 standard library only).

With CHATD_IT_TLS_DIR set (a directory made by scripts/cert.sh), every test
runs over TLS instead: chatd serves TLS only (--port 0 with a certificate), and
every client verifies the certificate for `localhost` and checks that the server
ends each connection with a TLS close_notify.

With CHATD_IT_CLUSTER set (a comma-separated list of Redis database numbers the
run may flush; the Redis is CHATD_REDIS, its password CHATD_CLUSTER_PASSWORD),
every Server is a cluster instead: 3 chatd nodes on one of those databases, and
each client a test connects goes to the next node in turn. With CHATD_DB set as
well the nodes share a fresh database on that MariaDB, as a deployed cluster
does; without it each keeps its own memory storage (ids, profiles and history
per node). A test about one process is marked single_server(), one that needs
shared storage shared_storage_only(), one a cluster still fails
cluster_deviation(); the cluster run skips them (shared_storage_only ones only
without CHATD_DB) and says why. Without CHATD_REDIS a cluster run exits 77.

Every byte any client receives goes through check_line() (wire_check.py): the server must never
send a control character (C0 other than TAB and the LF that ends a line, DEL,
C1), a CR, invalid UTF-8, or a line outside the grammar of PROTOCOL.md.
"""

import argparse
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

from wire_check import (C1_RE, CONTROL_RE, TIME_RE, VERB_RE, TestFailure, check, check_bytes,  # noqa: F401
                        check_eq, check_line, parse, stats)

# Generous: the same tests run under ASan on a shared 2-core machine.
TIMEOUT = float(os.environ.get("CHATD_IT_TIMEOUT", "15"))


TLS_DIR = os.environ.get("CHATD_IT_TLS_DIR") or None

CLUSTER_DBS = [int(x) for x in os.environ.get("CHATD_IT_CLUSTER", "").replace(",", " ").split()]
CLUSTER = bool(CLUSTER_DBS)
CLUSTER_NODES = 3
REDIS = os.environ.get("CHATD_REDIS", "")
CLUSTER_SHARED_DB = CLUSTER and bool(os.environ.get("CHATD_DB"))
_dbs_in_use = set()


def free_port():
    """A loopback port free a moment ago (for an option that takes a fixed port, or a server a
    test starts and restarts itself)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_context():
    ctx = ssl.create_default_context(cafile=os.path.join(TLS_DIR, "ca.pem"))
    ctx.check_hostname = True
    return ctx


def raw_socket(srv, timeout=None):
    """A connected socket to the server (TLS-wrapped in a TLS run; to the next node in a cluster run),
    for tests that speak bytes."""
    s = socket.create_connection((srv.host, srv.next_port()), timeout=timeout or TIMEOUT)
    if TLS_DIR:
        s = tls_context().wrap_socket(s, server_hostname="localhost")
    return s


def recv_nowait(sock, n=262144):
    """For selector loops: what a readable socket holds now, b"" at its close, None when there
    was nothing after all. Over TLS, also what OpenSSL already holds (a selector cannot see that),
    and a partial record counts as nothing yet."""
    try:
        data = sock.recv(n)
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    except ConnectionResetError:
        return b""
    while data and isinstance(sock, ssl.SSLSocket) and sock.pending():
        data += sock.recv(sock.pending())
    return data


def plain_only(why):
    """Marks a test that is about plain TCP itself; a TLS run skips it and says why."""
    def mark(test):
        test.plain_only = why
        return test
    return mark


def single_server(why):
    """Marks a test that is about one chatd process (its fds, its own limits, its storage, its
    log, its listening port); a cluster run skips it and says why."""
    def mark(test):
        test.single_server = why
        return test
    return mark


def shared_storage_only(why):
    """Marks a test that needs the nodes to share their storage (accounts, profiles, history, user
    ids); a cluster run without CHATD_DB, whose nodes each keep their own memory storage, skips it
    and says why."""
    def mark(test):
        test.shared_storage = f"needs storage shared by the nodes (CHATD_DB is unset: each has memory storage): {why}"
        return test
    return mark


def cluster_deviation(why):
    """Marks a test that a cluster fails, a known deviation from the contract still to be fixed; a
    cluster run skips it and says why."""
    def mark(test):
        test.single_server = f"a known deviation of the cluster: {why}"
        return test
    return mark


# ---------------------------------------------------------------------------
# The server process


def args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chatd", required=True)
    return ap.parse_args()


def listening_ports(pid):
    """TCP ports the process `pid` listens on, from /proc (no race with other tests' servers)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return []
    ports = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for row in f:
                    cols = row.split()
                    if cols[3] == "0A" and cols[9] in inodes:
                        ports.append(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def redis_cli(url, *cmd):
    """redis-cli on `url` (redis://HOST:PORT/DB) with the cluster's password."""
    host, port = url[len("redis://"):].split("/")[0].rsplit(":", 1)
    db = url.split("/")[3] if url.count("/") >= 3 else "0"
    env = dict(os.environ)
    if os.environ.get("CHATD_CLUSTER_PASSWORD"):
        env["REDISCLI_AUTH"] = os.environ["CHATD_CLUSTER_PASSWORD"]
    r = subprocess.run(["redis-cli", "-h", host, "-p", port, "-n", db, *cmd], env=env, capture_output=True,
                       text=True, timeout=10)
    return r.stdout.strip()


class _Node:
    """One chatd process, started with --port 0 unless `port` is given; storage in memory."""

    def __init__(self, chatd, extra, port, bind, nofile, env_extra, journal, tag=""):
        self.log = tempfile.NamedTemporaryFile(prefix=f"chatd-it-{tag}", suffix=".log", delete=False)
        env = dict(os.environ)
        env.pop("CHATD_DB", None)  # --db reads it: these tests want memory storage
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(k, None)  # a test run under systemd must not hand chatd its own
        if journal:  # stderr (the log file) as if it were the journal's stream
            st = os.fstat(self.log.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        env.update(env_extra or {})
        if TLS_DIR:  # TLS only, on the port asked for (or a free one)
            cmd = [chatd, "--bind", bind, "--port", "0", "--tls-port", str(port),
                   "--tls-cert", os.path.join(TLS_DIR, "server.pem"), "--tls-key", os.path.join(TLS_DIR, "server.key"),
                   *[str(x) for x in extra]]
        else:
            cmd = [chatd, "--bind", bind, "--port", str(port), *[str(x) for x in extra]]
        self.cmd = cmd
        self.proc = None
        self.port = None
        # Ports that are not the chat port (the metrics port a test chose).
        not_chat = {int(cmd[i + 1]) for i, a in enumerate(cmd[:-1]) if a == "--metrics-port"}
        limit = None
        if nofile:
            import resource

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env,
                                     preexec_fn=limit)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"chatd exited at start with {self.proc.returncode}:\n{self.stderr()}")
            ports = [p for p in listening_ports(self.proc.pid) if p not in not_chat]
            if ports:
                self.port = ports[0]
                break
            time.sleep(0.01)
        if self.port is None:
            raise TestFailure("chatd did not start listening:\n" + self.stderr())
        if port:
            check_eq(self.port, port, "listening port")

    def stderr(self, tail=200):
        if getattr(self, "log", None) is None:
            return ""
        try:
            with open(self.log.name, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        lines = text.splitlines()
        if tail and len(lines) > tail:
            lines = ["..."] + lines[-tail:]
        return "\n".join(lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()


class Server:
    """One chatd (started with --port 0 unless `port` is given; storage in memory), or in a cluster
    run (CHATD_IT_CLUSTER) 3 nodes on one Redis database, each client going to the next node in
    turn. `proc`, `port`, `cmd` and `log` are those of the first node."""

    def __init__(self, chatd, *extra, port=0, bind="127.0.0.1", nofile=None, env_extra=None, journal=False):
        self.chatd = chatd
        self.host = bind
        self.clients = []
        self.nodes = []
        self.db = None
        self.shared = None  # the nodes' MariaDB database (CLUSTER_SHARED_DB)
        self.journals = []
        self.turn = 0
        if CLUSTER:
            check(not port, "a fixed port in a cluster run (mark the test single_server)")
            free = [d for d in CLUSTER_DBS if d not in _dbs_in_use]
            check(free, f"all the cluster run's Redis databases {CLUSTER_DBS} are in use")
            self.db = free[0]
            _dbs_in_use.add(self.db)
            url = f"{REDIS}/{self.db}"
            redis_cli(url, "FLUSHDB")
            if CLUSTER_SHARED_DB:
                sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "db"))
                import dbtool  # a fresh database on the CHATD_DB server
                self.shared = dbtool.Database()
            for i in range(CLUSTER_NODES):
                storage = []
                if self.shared:
                    self.journals.append(os.path.join(tempfile.gettempdir(), f"{self.shared.name}-n{i + 1}.journal"))
                    storage = ["--db", self.shared.url, "--journal", self.journals[-1]]
                self.nodes.append(None)  # a node that fails to start leaves the others to clean up
                self.nodes[i] = _Node(chatd, [*extra, *storage, "--cluster", url, "--node-name", f"n{i + 1}"], 0, bind,
                                      nofile, env_extra, journal, tag=f"n{i + 1}-")
            # A node answers logins with `ERROR unavailable` until it is in the cluster's order
            # (its presence caught up), a moment after it listens: wait for every node to say so.
            deadline = time.monotonic() + TIMEOUT
            for i, n in enumerate(self.nodes):
                while "cluster: in the order" not in n.stderr():
                    check(n.alive() and time.monotonic() < deadline,
                          f"node n{i + 1} did not join the cluster's order:\n{n.stderr()}")
                    time.sleep(0.01)
        else:
            self.nodes.append(None)
            self.nodes[0] = _Node(chatd, extra, port, bind, nofile, env_extra, journal)
        first = self.nodes[0]
        self.proc, self.port, self.cmd, self.log = first.proc, first.port, first.cmd, first.log
        self.ports = [n.port for n in self.nodes]

    def next_port(self):
        """The port of the node the next client goes to (the one port of a single server)."""
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        return port

    def _nodes(self):
        return [n for n in self.nodes if n is not None]

    def stderr(self):
        """chatd's log; in a cluster every node's, each under a header."""
        nodes = self._nodes()
        if len(nodes) <= 1 and not CLUSTER:
            return nodes[0].stderr() if nodes else ""
        return "\n".join(f"=== node n{i + 1} (port {n.port}) ===\n{n.stderr()}" for i, n in enumerate(nodes))

    def wait_stderr(self, text, what=None, timeout=None):
        """Waits until `text` appears in chatd's log: lines are written by a log thread, so a
        line about an event a client has just seen may land a moment after it."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            log = self.stderr()
            if text in log:
                return log
            check(time.monotonic() < deadline, what or f"no log line with {text!r}")
            time.sleep(0.02)

    def alive(self):
        """Every node still running."""
        nodes = self._nodes()
        return bool(nodes) and all(n.alive() for n in nodes)

    def send_signal(self, sig):
        """Signals chatd (every node)."""
        for n in self._nodes():
            if n.proc.poll() is None:
                n.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals chatd (every node), waits for it, returns its exit code (the first nonzero one)."""
        self.send_signal(sig)
        rcs = []
        for i, n in enumerate(self._nodes()):
            try:
                rcs.append(n.proc.wait(timeout=timeout or TIMEOUT))
            except subprocess.TimeoutExpired:
                self.kill()
                raise TestFailure(f"chatd{f' node n{i + 1}' if CLUSTER else ''} did not exit within "
                                  f"{timeout or TIMEOUT} s of signal {sig}")
        self._release_db()
        return next((rc for rc in rcs if rc != 0), 0)

    def finish(self):
        """The end of every test: chatd still running; on SIGTERM every open connection gets
        `BYE :server shutting down` as its last line (no PART before it), then the close; exit 0.
        In a cluster, every node gets the SIGTERM at once and each client its own node's BYE."""
        for i, n in enumerate(self._nodes()):
            check(n.alive(), f"chatd{f' node n{i + 1}' if CLUSTER else ''} died during the test (exit {n.proc.returncode})")
        self.send_signal(signal.SIGTERM)
        for c in self.clients:
            if c.eof or c.sock.fileno() < 0:
                continue
            rest = c.read_to_eof()
            check(rest and rest[-1] == "BYE :server shutting down",
                  f"{c.name}: last lines before the close at shutdown: {rest[-3:]!r}")
            check(not any(l.startswith("BYE") for l in rest[:-1]), f"{c.name}: one BYE only: {rest!r}")
        rc = self.stop(signal.SIGTERM)
        check_eq(rc, 0, "chatd exit code after SIGTERM")

    def _release_db(self):
        if self.db is not None:
            _dbs_in_use.discard(self.db)
            self.db = None

    def kill(self):
        for n in self._nodes():
            n.kill()
        self._release_db()

    def cleanup(self):
        self.kill()
        for n in self._nodes():
            try:
                os.unlink(n.log.name)
            except (OSError, AttributeError):
                pass
        if self.shared:
            self.shared.drop()
            self.shared = None
        for j in self.journals:
            try:
                os.unlink(j)
            except OSError:
                pass

    def connect(self, nick=None, **kw):
        c = Client(self, **kw)
        if nick is not None:
            c.login(nick)
        return c


# ---------------------------------------------------------------------------
# A line client


class Closed(Exception):
    pass


class Client:
    _count = 0

    def __init__(self, server, source=None, rcvbuf=None, hello=True, name=None):
        Client._count += 1
        self.name = name or f"client{Client._count}"
        self.server = server
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(TIMEOUT)
        self.port = server.next_port()
        self.sock.connect((server.host, self.port))
        self.tls = bool(TLS_DIR)
        self.clean_close = None  # TLS: whether the server's close came with a close_notify
        if self.tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="localhost")
        server.clients.append(self)
        self.buf = b""
        self.eof = False
        self.nick = None
        self.hello = None
        if hello:
            self.hello = self.line()
            check(self.hello.startswith("HELLO "), f"{self.name}: first line is not HELLO: {self.hello!r}")

    def __repr__(self):
        return self.name

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def sendline(self, text):
        self.send((text.encode("utf-8") if isinstance(text, str) else text) + b"\n")

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
            if not data and self.tls:
                self.clean_close = True
        except ConnectionResetError:
            data = b""
        except ssl.SSLEOFError:  # TCP closed without a close_notify
            data = b""
            self.clean_close = False
        except ssl.SSLError as e:
            raise TestFailure(f"{self.name}: TLS error from the server: {e}")
        if not data:
            self.eof = True
            raise Closed()
        check_bytes(data, self.name)
        self.buf += data

    def line(self, timeout=None):
        """The next complete line, decoded; fails on timeout or on EOF."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while b"\n" not in self.buf:
            try:
                self._fill(deadline)
            except socket.timeout:
                raise TestFailure(f"{self.name}: no line within {timeout or TIMEOUT} s (buffer {self.buf[:200]!r})")
            except Closed:
                raise TestFailure(f"{self.name}: connection closed while waiting for a line (rest {self.buf!r})")
        raw, self.buf = self.buf.split(b"\n", 1)
        return check_line(raw, self.name)

    EOF = object()

    def try_line(self, timeout):
        """The next line, None if none came within `timeout`, or Client.EOF at the close."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if self.eof:
                return Client.EOF
            try:
                self._fill(deadline)
            except socket.timeout:
                return None
            except Closed:
                return Client.EOF
        raw, self.buf = self.buf.split(b"\n", 1)
        return check_line(raw, self.name)

    def lines_until(self, pred, timeout=None, limit=100000):
        """Lines up to and including the first one for which pred(line) holds."""
        out = []
        while len(out) < limit:
            ln = self.line(timeout)
            out.append(ln)
            if pred(ln):
                return out
        raise TestFailure(f"{self.name}: no matching line in {limit} lines")

    def expect(self, *want):
        for w in want:
            check_eq(self.line(), w, f"{self.name}: line")

    def expect_prefix(self, prefix):
        ln = self.line()
        check(ln.startswith(prefix), f"{self.name}: expected a line starting {prefix!r}, got {ln!r}")
        return ln

    def expect_error(self, code, arg=None):
        """ERROR <code> [<arg>] :<text>, with exactly the given arg (none when arg is None)."""
        ln = self.line()
        verb, params, trailing = parse(ln)
        want = [code] if arg is None else [code, arg]
        check(verb == "ERROR" and params == want and trailing,
              f"{self.name}: expected ERROR {' '.join(want)} :..., got {ln!r}")
        return ln

    def sync(self):
        """A barrier: /ping with a fresh token; returns every line received before its PONG."""
        token = f"s{time.monotonic_ns() % 10**12}"
        self.sendline(f"/ping {token}")
        got = self.lines_until(lambda l: l == f"PONG {token}")
        return got[:-1]

    def quiet(self, what=""):
        """Nothing is pending for this client (checked with a /ping barrier)."""
        check_eq(self.sync(), [], f"{self.name}: unexpected lines {what}")

    def expect_eof(self, timeout=None):
        """The server closes the connection with no further line."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        try:
            while True:
                self._fill(deadline)
        except socket.timeout:
            raise TestFailure(f"{self.name}: connection not closed within {timeout or TIMEOUT} s (got {self.buf!r})")
        except Closed:
            pass
        self.close()
        check_eq(self.buf, b"", f"{self.name}: bytes before the close")

    def read_to_eof(self, timeout=None):
        """Every remaining line up to the server's close; then closes the socket."""
        deadline = time.monotonic() + (timeout or TIMEOUT)
        out = []
        try:
            while True:
                while b"\n" in self.buf:
                    raw, self.buf = self.buf.split(b"\n", 1)
                    out.append(check_line(raw, self.name))
                self._fill(deadline)
        except socket.timeout:
            raise TestFailure(f"{self.name}: connection not closed within {timeout or TIMEOUT} s (got {out[-5:]!r})")
        except Closed:
            pass
        self.close()
        check_eq(self.buf, b"", f"{self.name}: a partial line before the close")
        if self.tls and out and out[-1].startswith("BYE"):
            check(self.clean_close, f"{self.name}: BYE without a TLS close_notify after it")
        return out

    def login(self, nick):
        """Sends the nick; returns (welcome line, roster lines, hist lines) after END HIST."""
        self.sendline(nick)
        welcome = self.line()
        verb, params, trailing = parse(welcome)
        check(verb == "WELCOME" and len(params) == 2 and params[1].isdigit() and trailing is not None,
              f"{self.name}: login {nick!r}: expected WELCOME, got {welcome!r}")
        self.nick = params[0]
        self.id = int(params[1])
        users = self.lines_until(lambda l: l.startswith("END USERS "))
        check_eq(users[-1], f"END USERS {len(users) - 1}", f"{self.name}: roster count")
        for u in users[:-1]:
            check(u.startswith("USER "), f"{self.name}: roster line {u!r}")
        hist = self.lines_until(lambda l: l.startswith("END HIST "))
        check_eq(hist[-1], f"END HIST {len(hist) - 1}", f"{self.name}: history count")
        for h in hist[:-1]:
            verb, params, trailing = parse(h)
            check(verb == "HIST" and len(params) == 3 and TIME_RE.match(params[0]) and params[2] == "*"
                  and trailing is not None, f"{self.name}: HIST line after WELCOME {h!r}")
        return welcome, users[:-1], hist[:-1]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Closes with an RST (SO_LINGER 0)."""
        import struct
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# ---------------------------------------------------------------------------
# Running a test file


def run(tests):
    """Runs each test function with the parsed args; every Server created is killed at the end.
    Prints the failing server's stderr on failure. Exit code 0 only when all passed."""
    a = args()
    created = []

    real_init = Server.__init__

    def tracking_init(self, *p, **kw):
        created.append(self)
        real_init(self, *p, **kw)

    Server.__init__ = tracking_init
    if CLUSTER and not REDIS:
        print("SKIPPED: a cluster run needs CHATD_REDIS (eval \"$(scripts/redis.sh env)\")", flush=True)
        sys.exit(77)
    failed = skipped = 0
    t_all = time.monotonic()
    for t in tests:
        if TLS_DIR and getattr(t, "plain_only", None):
            print(f"SKIP {t.__name__} over TLS: {t.plain_only}", flush=True)
            skipped += 1
            continue
        why = getattr(t, "single_server", None) or (not CLUSTER_SHARED_DB and getattr(t, "shared_storage", None))
        if CLUSTER and why:
            print(f"SKIP {t.__name__} in a cluster: {why}", flush=True)
            skipped += 1
            continue
        t0 = time.monotonic()
        start = len(created)
        try:
            t(a.chatd)
            print(f"PASS {t.__name__} ({time.monotonic() - t0:.2f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__} ({time.monotonic() - t0:.2f} s)", flush=True)
            traceback.print_exc()
            for s in created[start:]:
                print(f"--- chatd {' '.join(getattr(s, 'cmd', ['?'])[1:])} (running: {s.alive()}) stderr:")
                print(s.stderr())
        finally:
            for s in created[start:]:
                s.cleanup()
    print(f"{len(tests) - failed - skipped}/{len(tests) - skipped} passed{f' ({skipped} skipped)' if skipped else ''} in {time.monotonic() - t_all:.2f} s; "
          f"{stats['lines']} server lines ({stats['bytes']} bytes) checked for control bytes and grammar",
          flush=True)
    sys.exit(1 if failed else 0)
