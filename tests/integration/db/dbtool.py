"""A database of its own for each chatd-through-MariaDB test, and queries through
the mariadb command-line client (no Python driver needed).

CHATD_DB (mysql://user@host:port/db) and CHATD_DB_PASSWORD name the server;
without CHATD_DB the tests are skipped (exit 77)."""

import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "core"))
DB_SH = os.path.normpath(os.path.join(HERE, "..", "..", "..", "scripts", "db.sh"))

URL_RE = re.compile(r"^mysql://([^@:/]+)@([^:/?\[]+|\[[^\]]+\])(?::(\d+))?/([^/?]+)(?:\?socket=(.+))?$")


def skip_without_db():
    if not os.environ.get("CHATD_DB"):
        print("SKIPPED: CHATD_DB is unset (eval \"$(scripts/db.sh env)\" to test against the private MariaDB)")
        sys.exit(77)


class Database:
    """A fresh database `chatd_e2e_<pid>_<n>` on the CHATD_DB server, dropped by drop()."""

    count = 0

    def __init__(self):
        m = URL_RE.match(os.environ["CHATD_DB"])
        if not m:
            raise SystemExit(f"cannot parse CHATD_DB={os.environ['CHATD_DB']!r}")
        self.user, self.host, port, base, self.socket = m.groups()
        self.port = int(port or 3306)
        self.client = shutil.which("mariadb") or shutil.which("mysql")
        Database.count += 1
        self.name = f"chatd_e2e_{os.getpid()}_{Database.count}"
        self.sql(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4", db=None)
        host = self.host
        if self.socket:
            self.url = f"mysql://{self.user}@localhost/{self.name}?socket={self.socket}"
        else:
            self.url = f"mysql://{self.user}@{host}:{self.port}/{self.name}"

    def _cmd(self, db):
        cmd = [self.client, "--no-defaults", "--batch", "--skip-column-names", "--raw", "-u", self.user]
        if self.socket:
            cmd += ["--protocol=socket", "-S", self.socket]
        else:
            cmd += ["--protocol=tcp", "-h", self.host.strip("[]"), "-P", str(self.port)]
        if db:
            cmd.append(db)
        return cmd

    def sql(self, query, db=""):
        """Runs `query`; returns rows as lists of str (NULL as None)."""
        env = dict(os.environ)
        env["MYSQL_PWD"] = os.environ.get("CHATD_DB_PASSWORD", "")
        r = subprocess.run(self._cmd(self.name if db == "" else db), input=query.encode(), capture_output=True,
                           env=env, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"SQL failed: {query!r}: {r.stderr.decode(errors='replace')}")
        rows = []
        for line in r.stdout.decode("utf-8").splitlines():
            rows.append([None if c == "NULL" else c for c in line.split("\t")])
        return rows

    def one(self, query):
        rows = self.sql(query)
        return rows[0][0] if rows else None

    def drop(self):
        try:
            self.sql(f"DROP DATABASE IF EXISTS `{self.name}`", db=None)
        except Exception as e:  # the fault test may leave the server down on failure
            print(f"note: could not drop {self.name}: {e}")


def db_sh(*args):
    return subprocess.run([DB_SH, *args], stdout=sys.stderr, stderr=sys.stderr, timeout=120).returncode
