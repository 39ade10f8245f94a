#!/usr/bin/env python3
"""chatd against a real MariaDB: the rows a scripted chat leaves, byte-exact text,
/perfil and /historial from the database, what survives a restart, and a second
single server on the same database refused."""

import os
import signal
import subprocess
import tempfile

import dbtool
from dbtool import Database

import harness as H
from harness import check, check_eq, parse

EMOJI = "hola 👋🏽 ñandú 漢字 😀"
INJECT = "'; DROP TABLE users; --"


def start(chatd, db, journal):
    return H.Server(chatd, "--db", db.url, "--journal", journal)


def test_rows_history_profile_restart(chatd):
    db = Database()
    try:
        journal = os.path.join(tempfile.mkdtemp(prefix="chatd-db-it-"), "chatd.journal")
        srv = start(chatd, db, journal)
        ana = srv.connect("Ana", name="ana")
        bego = srv.connect("Begoña", name="bego")
        ana.lines_until(lambda l: l.startswith("JOIN Begoña "))
        ana.sendline(EMOJI)
        ana.sendline(INJECT)
        ana.sendline("/msg Begoña secreto 'x' \\ \"y\"")
        ana.sendline("/estado en-reunión")
        ana.lines_until(lambda l: l.startswith("STATUS Ana "))
        ana.sendline("/historial 10")
        hist = ana.lines_until(lambda l: l.startswith("END HIST "))
        check_eq(hist[-1], "END HIST 3", "history right after the messages")
        check_eq([parse(h)[2] for h in hist[:-1]], [EMOJI, INJECT, "secreto 'x' \\ \"y\""], "bodies, oldest first")
        check_eq(parse(hist[2])[1][1:], ["Ana", "Begoña"], "private HIST names both")
        ana_id, bego_id = ana.id, bego.id
        ana.sendline("/salir hasta luego")
        ana.read_to_eof()
        bego.lines_until(lambda l: l.startswith("PART Ana "))
        bego.sync()

        # The rows, as a query shows them.
        check_eq(db.one(f"SELECT nick FROM users WHERE id = {ana_id}"), "Ana", "user row")
        check_eq(db.one(f"SELECT status FROM users WHERE id = {ana_id}"), "en-reunión", "latest status")
        check(db.one(f"SELECT last_seen FROM users WHERE id = {ana_id}") is not None, "last_seen set at logout")
        check_eq(db.one(f"SELECT COUNT(*) FROM users WHERE nick_key = 'begoña'"), "1", "nick_key")
        rows = db.sql(f"SELECT HEX(body), recipient_id FROM messages WHERE sender_id = {ana_id} ORDER BY id")
        check_eq([bytes.fromhex(r[0]).decode() for r in rows], [EMOJI, INJECT, "secreto 'x' \\ \"y\""],
                 "message bodies byte-exact")
        check_eq([r[1] for r in rows], [None, None, str(bego_id)], "recipients")
        sess = db.sql(f"SELECT logout_at IS NOT NULL, reason, address FROM sessions WHERE user_id = {ana_id}")
        check_eq(len(sess), 1, "one session for Ana")
        check(sess[0][0] == "1" and sess[0][1].split(" ")[0] == "quit", f"session end and reason {sess[0]!r}")
        check(sess[0][2].startswith("127.0.0.1"), f"session address {sess[0][2]!r}")
        check_eq(db.one("SELECT COUNT(*) FROM users"), "2", "the users table is still there")

        # /perfil of an offline user comes from the database.
        bego.sendline("/perfil ana")
        prof = bego.expect_prefix("PROFILE Ana ")
        check(f"id={ana_id} " in prof and "status=en-reunión" in prof and "online=no" in prof
              and "last_seen=-" not in prof, f"offline profile {prof!r}")
        srv.finish()

        # Restart: the same ids, creation time, last_seen and history.
        created = db.one(f"SELECT created FROM users WHERE id = {ana_id}")
        srv2 = start(chatd, db, journal)
        a2 = H.Client(srv2, name="ana2")
        welcome, _, recent = a2.login("ANA")
        check_eq(parse(welcome)[1], ["Ana", str(ana_id)], "same user, first spelling, same id after restart")
        check_eq([parse(h)[2] for h in recent], [EMOJI, INJECT], "recent public history loaded at start")
        a2.sendline("/perfil")
        prof = a2.expect_prefix("PROFILE Ana ")
        check("last_seen=-" not in prof, f"last_seen survives: {prof!r}")
        check_eq(db.one(f"SELECT created FROM users WHERE id = {ana_id}"), created, "created unchanged")
        a2.sendline("/historial")
        hist = a2.lines_until(lambda l: l.startswith("END HIST "))
        check_eq(len(hist) - 1, 3, "history after restart, private message included")
        b2 = srv2.connect("begoña", name="bego2")
        check_eq(b2.id, bego_id, "second user's id survives too")
        srv2.finish()
        check_eq(db.one("SELECT COUNT(*) FROM sessions WHERE logout_at IS NULL"), "0",
                 "every session closed at shutdown")
    finally:
        db.drop()


def test_a_second_single_server_is_refused(chatd):
    """Without --cluster a chatd's ids and sessions assume the database is its alone: a second one
    on the same database, or a cluster node, is refused at start, saying what holds it; the lock
    goes with the first."""
    db = Database()
    tmp = tempfile.mkdtemp(prefix="chatd-db-it-")
    try:
        srv = start(chatd, db, os.path.join(tmp, "a.journal"))
        ana = srv.connect("ana")
        r = subprocess.run([chatd, "--port", "0", "--db", db.url, "--journal", os.path.join(tmp, "b.journal")],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "another chatd uses this database" in r.stderr and "--cluster" in r.stderr
              and "KILL " in r.stderr, f"the second single server: exit {r.returncode}, {r.stderr!r}")
        # Nor does a cluster node take a database that a single server holds (the storage says
        # so before the node ever reaches its Redis).
        r = subprocess.run([chatd, "--port", "0", "--db", db.url, "--journal", os.path.join(tmp, "n.journal"),
                            "--cluster", "redis://127.0.0.1:9/0", "--node-name", "n1"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "a single chatd (no --cluster) uses this database" in r.stderr,
              f"a cluster node beside a single server: exit {r.returncode}, {r.stderr!r}")
        ana.sendline("sigo aquí")
        ana.expect("MSG ana :sigo aquí")  # the first goes on as before
        srv.finish()
        # Stopped, it lets go; killed, too: the next one starts at once either way.
        srv2 = start(chatd, db, os.path.join(tmp, "b.journal"))
        srv2.connect("bea")
        srv2.kill()
        srv3 = start(chatd, db, os.path.join(tmp, "c.journal"))
        srv3.connect("carla").sendline("/historial")
        srv3.finish()
        check_eq(db.one("SELECT COUNT(*) FROM messages"), "1", "the one message, written by the first")
    finally:
        db.drop()


if __name__ == "__main__":
    dbtool.skip_without_db()
    H.run([test_rows_history_profile_restart, test_a_second_single_server_is_refused])
