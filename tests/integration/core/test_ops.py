#!/usr/bin/env python3
"""The operator's side of chatd over real sockets:
- /metrics during a short chat: promtool finds nothing to say about the text, and the
  counters move by what was done (logins, messages, deliveries, refusals, bytes);
  404, 405 and 431 for what is not a scrape;
- SIGHUP re-reads the --config file: a new --rate applies to a session already open,
  a name change is logged as needing a restart, a broken file keeps the running config;
- logs: with JOURNAL_STREAM naming stderr, lines carry syslog priorities and no time;
  --log-format json writes one JSON object per line;
- systemd's notify protocol on a fake NOTIFY_SOCKET: READY=1 with a STATUS, WATCHDOG=1
  pings at half of WATCHDOG_USEC, STOPPING=1 at SIGTERM."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness as H
from harness import check, check_eq


def http(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=H.TIMEOUT)
    s.sendall(request)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode(), body.decode()


def scrape(port):
    head, body = http(port, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    check(head.startswith("HTTP/1.1 200 "), f"scrape answered {head.splitlines()[:1]}")
    check("Content-Type: text/plain; version=0.0.4" in head, "the Prometheus content type")
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return body, values


def promtool(text):
    tool = shutil.which("promtool")
    check(tool is not None, "promtool is installed (scripts/install-deps.sh: prometheus)")
    r = subprocess.run([tool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode()
    check(r.returncode == 0 and out.strip() == "", f"promtool check metrics: {out}")


def test_metrics_count_a_short_chat(chatd):
    mport = H.free_port()
    srv = H.Server(chatd, "--metrics-port", mport)
    text, before = scrape(mport)
    promtool(text)
    a = srv.connect("ana")
    b = srv.connect("beto")
    c = H.Client(srv)
    c.sendline("Ana")
    c.expect_error("nick-in-use")
    for i in range(3):
        a.sendline(f"hola {i}")
    a.sendline("!beto en privado")
    for i in range(3):
        b.expect(f"MSG ana :hola {i}")
    b.expect("PRIV ana beto :en privado")
    a.sync()
    text, after = scrape(mport)
    promtool(text)

    def moved(name):
        return after.get(name, 0) - before.get(name, 0)

    check_eq(moved('chatd_logins_total{kind="guest"}'), 2, "guest logins")
    check_eq(moved('chatd_messages_total{kind="public"}'), 3, "public messages")
    check_eq(moved('chatd_messages_total{kind="private"}'), 1, "private messages")
    check_eq(moved("chatd_deliveries_total"), 3 * 2 + 2, "deliveries: 3 MSG to 2 users, a PRIV and its echo")
    check_eq(moved('chatd_refusals_total{reason="nick-in-use"}'), 1, "nick-in-use refusals")
    check_eq(after["chatd_users_online"], 2, "users online")
    check_eq(after['chatd_connections{state="open"}'], 3, "open connections (the refused one still connected)")
    check(moved("chatd_connections_accepted_total") == 3, "accepted connections")
    check(moved("chatd_received_bytes_total") > 40 and moved("chatd_sent_bytes_total") > 200, "bytes in and out")
    check(after["chatd_loop_iteration_duration_seconds_count"] > before["chatd_loop_iteration_duration_seconds_count"],
          "loop turns measured")
    check(after["process_resident_memory_bytes"] > 1 << 20 and after["process_open_fds"] >= 5, "process figures")
    check(after["chatd_storage_database_up"] == 0, "no database in memory storage")
    # Not a scrape.
    head, _ = http(mport, b"GET /other HTTP/1.1\r\n\r\n")
    check(head.startswith("HTTP/1.1 404 "), head)
    head, _ = http(mport, b"DELETE /metrics HTTP/1.1\r\n\r\n")
    check(head.startswith("HTTP/1.1 405 "), head)
    head, _ = http(mport, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000)
    check(head.startswith("HTTP/1.1 431 "), head)
    # A scraper that connects and says nothing holds nothing for long, and chat goes on.
    idle = socket.create_connection(("127.0.0.1", mport))
    a.sendline("/ping sigo")
    a.expect("PONG sigo")
    idle.close()
    srv.finish()


def pings_take(client, n):
    t0 = time.monotonic()
    for i in range(n):
        client.sendline(f"/ping {i}")
    for i in range(n):
        client.expect(f"PONG {i}")
    return time.monotonic() - t0


def test_sighup_rereads_the_config(chatd):
    d = tempfile.mkdtemp(prefix="chatd-it-reload-")
    ini = os.path.join(d, "chatd.ini")
    with open(ini, "w") as f:
        f.write("rate = 2\nburst = 1\n")
    srv = H.Server(chatd, "--config", ini)
    a = srv.connect("ana")
    slow = pings_take(a, 4)  # 1 at once, then one every 0.5 s
    check(slow > 1.2, f"4 lines at --rate 2 --burst 1 took {slow:.2f} s")
    with open(ini, "w") as f:
        f.write("rate = 1000\nburst = 100\nname = otro\n")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_stderr("SIGHUP: rate 2 -> 1000", "the new rate is logged")
    log = srv.wait_stderr("needs a restart", "a new server name is logged as needing a restart")
    check("SIGHUP: burst 1 -> 100" in log, "the new burst is logged")
    quick = pings_take(a, 20)
    check(quick < slow, f"20 lines at --rate 1000 took {quick:.2f} s (4 at --rate 2: {slow:.2f} s)")
    with open(ini, "w") as f:
        f.write("rate = lots\n")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_stderr("configuration not reloaded", "a broken file is refused")
    with open(ini, "w") as f:
        f.write("rate = 1000\nburst = 100\nping-intervall = 5\n")
    srv.proc.send_signal(signal.SIGHUP)
    log = srv.wait_stderr("ping-intervall", "a file with an unknown key is refused, the key named")
    check(log.count("configuration not reloaded") >= 2, "the unknown key refuses the reload")
    a.sendline("/ping todavia")
    a.expect("PONG todavia")
    srv.finish()
    shutil.rmtree(d)


def test_log_lines_for_journald_and_json(chatd):
    srv = H.Server(chatd, journal=True)
    srv.connect("ana")
    log = srv.wait_stderr("login ana", "a login logged")
    lines = [l for l in log.splitlines() if l]
    check(all(re.match(r"<[3467]>", l) for l in lines), f"every line starts with a priority: {lines[:3]}")
    check(any(l.startswith("<6>login ana") for l in lines), "info is <6>, with no time of our own")
    srv.finish()
    srv = H.Server(chatd, "--log-format", "json")
    srv.connect("ana")
    srv.wait_stderr("login ana", "a login logged")
    for line in srv.stderr().splitlines():
        obj = json.loads(line)
        check(set(obj) == {"time", "level", "msg"}, f"keys of {line}")
    srv.finish()


def test_systemd_notify(chatd):
    d = tempfile.mkdtemp(prefix="chatd-it-notify-")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(H.TIMEOUT)
    srv = H.Server(chatd, env_extra={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    first = sock.recv(4096).decode()
    check(first.startswith("READY=1\nSTATUS="), f"the first message: {first!r}")
    check("storage in memory" in first, f"the status says what storage does: {first!r}")
    # Pings every 0.2 s: counted over 1.5 s (they queue in the socket if this test is slow).
    time.sleep(1.5)
    sock.setblocking(False)
    pings = 0
    while True:
        try:
            msg = sock.recv(4096).decode()
        except BlockingIOError:
            break
        pings += msg == "WATCHDOG=1"
    sock.settimeout(H.TIMEOUT)
    check(3 <= pings <= 12, f"{pings} watchdog pings in 1.5 s at one per 0.2 s")
    srv.proc.send_signal(signal.SIGTERM)
    while True:
        msg = sock.recv(4096).decode()
        if msg.startswith("STOPPING=1"):
            break
    check_eq(srv.stop(), 0, "exit code")
    sock.close()
    shutil.rmtree(d)


if __name__ == "__main__":
    H.run([test_metrics_count_a_short_chat, test_sighup_rereads_the_config, test_log_lines_for_journald_and_json,
           test_systemd_notify])
