#!/usr/bin/env bash
# What a SIGKILL of chatd loses: 8 clients send public messages at RATE per
# second in all (default 4000, well within what the database takes) while
# chatd writes to the private MariaDB (scripts/db.sh); chatd is
# killed with SIGKILL in the middle; then every message a client saw echoed is
# looked up in the database. Prints, per run, how many echoed messages are
# missing and how many milliseconds of traffic that is.
#   RATE=4000 scripts/crash-loss.sh [RUNS (3)] [BUILD_DIR (build)] [extra chatd options...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-3}
build=${2:-build}
shift $(( $# > 2 ? 2 : $# )) || true
scripts/db.sh start >/dev/null
eval "$(scripts/db.sh env)"
export CHATD_DB CHATD_DB_PASSWORD
for r in $(seq "$runs"); do
  python3 - "$build/chatd" "$r" "$@" <<'PY'
import os, signal, socket, subprocess, sys, threading, time
sys.path.insert(0, "tests/integration/db")
from dbtool import Database
chatd, run, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
rate = float(os.environ.get("RATE", "4000"))
db = Database()
journal = f"/tmp/chatd-crash-{os.getpid()}.journal"
env = dict(os.environ, CHATD_DB=db.url)
log = open(f"/tmp/chatd-crash-{os.getpid()}.log", "w")
p = subprocess.Popen([chatd, "--port", "0", "--rate", "0", "--journal", journal, *extra], stderr=log, env=env)
port = None
for _ in range(200):
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    for l in out.splitlines():
        if f"pid={p.pid}," in l:
            port = int(l.split()[3].rsplit(":", 1)[1])
    if port: break
    time.sleep(0.05)
assert port, "chatd did not start"
echoed = {}   # text -> time the echo arrived
lock = threading.Lock()
stop = threading.Event()
def client(i):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"crash{i}\n".encode())
    while not f.readline().startswith(b"END HIST"): pass
    n = 0
    buf = b""
    per_tick = max(1, int(rate / 8 / 100))  # every 10 ms
    next_send = time.monotonic()
    s.settimeout(0.002)
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_send:
            batch = "".join(f"c{i}-{n + k}\n" for k in range(per_tick)); n += per_tick
            next_send += 0.01
            try:
                s.sendall(batch.encode())
            except OSError:
                break
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data: break
        buf += data
        *lines, buf = buf.split(b"\n")
        now = time.monotonic()
        with lock:
            for l in lines:
                if l.startswith(f"MSG crash{i} :".encode()):
                    echoed[l.split(b" :", 1)[1].decode()] = now
threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(8)]
for t in threads: t.start()
time.sleep(3)
p.send_signal(signal.SIGKILL)
killed = time.monotonic()
p.wait()
stop.set()
for t in threads: t.join(2)
stored = {r[0] for r in db.sql("SELECT body FROM messages")}
missing = [t for t in echoed if t not in stored]
span = (killed - min(echoed[t] for t in missing)) * 1000 if missing else 0.0
print(f"run {run} ({rate:.0f} msg/s): {len(echoed)} messages echoed, {len(stored)} stored, {len(missing)} echoed but lost "
      f"(the last {span:.1f} ms before the kill)")
db.drop()
for f in (journal, log.name):
    try: os.unlink(f)
    except OSError: pass
PY
done
