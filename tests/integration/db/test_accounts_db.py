#!/usr/bin/env python3
"""Accounts through a real MariaDB: registered accounts survive a restart, the
version-1 schema is migrated in place with nothing lost, and the operator's
`chatd account ...` commands manage a closed server. Hashing at libsodium's
minimum cost (--pw-test-cost), except where the stored parameters are checked."""

import os
import subprocess
import tempfile

import dbtool
from dbtool import Database

import harness as H
from harness import check, check_eq, parse

HERE = os.path.dirname(os.path.abspath(__file__))
SECRETS = ["clave de ana 1", "clave nueva de ana", "clave-de-zoe", "zoe-otra-vez"]


def start(chatd, db, journal, *extra):
    return H.Server(chatd, "--db", db.url, "--journal", journal, "--pw-test-cost", *extra)


def journal_path():
    return os.path.join(tempfile.mkdtemp(prefix="chatd-acct-it-"), "chatd.journal")


def no_secret_in(text, where):
    for s in SECRETS:
        check(s not in text, f"a password in {where}")


def auth_login(srv, nick, password, name=None):
    c = H.Client(srv, name=name)
    c.sendline(nick)
    c.expect_prefix("AUTH ")
    welcome, _, _ = c.login(password)
    return c, welcome


def test_register_restart_login_change(chatd):
    db = Database()
    try:
        journal = journal_path()
        srv = start(chatd, db, journal)
        ana = srv.connect("Ana")
        ana_id = ana.id
        ana.sendline("hola antes de registrarme")
        ana.expect("MSG Ana :hola antes de registrarme")
        ana.sendline("/registrar " + SECRETS[0])
        check(ana.line().startswith("OK register :"), "OK register")
        # Durable before OK: the row has the hash now.
        h = db.one(f"SELECT password_hash FROM users WHERE id = {ana_id}")
        check(h is not None and h.startswith("$argon2id$"), f"an Argon2id hash is stored: {h!r}")
        check(db.one(f"SELECT password_set FROM users WHERE id = {ana_id}") is not None, "password_set")
        srv.finish()

        srv = start(chatd, db, journal)
        c = H.Client(srv)
        c.sendline("ana")
        c.expect_prefix("AUTH Ana ")
        c.sendline("clave equivocada")
        c.expect_error("bad-password")
        c.sendline("ana")
        c.expect_prefix("AUTH Ana ")
        welcome, _, recent = c.login(SECRETS[0])
        check_eq(parse(welcome)[1], ["Ana", str(ana_id)], "the account keeps the user's id")
        check("hola antes de registrarme" in [parse(r)[2] for r in recent], "and its history")
        c.sendline("/clave " + SECRETS[1])
        check_eq(c.line(), "OK password :password changed", "OK password")
        srv.finish()

        srv = start(chatd, db, journal)
        c = H.Client(srv)
        c.sendline("ana")
        c.expect_prefix("AUTH Ana ")
        c.sendline(SECRETS[0])
        c.expect_error("bad-password")
        auth_login(srv, "ana", SECRETS[1])
        log = srv.stderr()
        srv.finish()
        no_secret_in(log, "chatd's log")
        if os.path.exists(journal):
            with open(journal, "rb") as f:
                no_secret_in(f.read().decode("utf-8", "replace"), "the journal")
    finally:
        db.drop()


def test_weak_hash_is_rehashed_at_login(chatd):
    db = Database()
    try:
        journal = journal_path()
        srv = start(chatd, db, journal)  # --pw-test-cost: a weak hash
        a = srv.connect("rosa")
        a.sendline("/registrar " + SECRETS[0])
        check(a.line().startswith("OK register :"), "OK register")
        srv.finish()
        weak = db.one("SELECT password_hash FROM users WHERE nick = 'rosa'")
        check("m=8,t=1" in weak, f"test cost: {weak[:30]!r}")
        srv = H.Server(chatd, "--db", db.url, "--journal", journal)  # the real default cost
        auth_login(srv, "rosa", SECRETS[0])
        srv.finish()
        strong = db.one("SELECT password_hash FROM users WHERE nick = 'rosa'")
        check(strong != weak and "m=65536,t=2" in strong, f"rehashed at INTERACTIVE: {strong[:32]!r}")
    finally:
        db.drop()


def test_migrate_version_1(chatd):
    db = Database()
    try:
        with open(os.path.join(HERE, "fixtures", "schema_v1.sql")) as f:
            db.sql(f.read())
        db.sql("INSERT INTO users (id, nick, nick_key, created, last_login, last_seen, status) VALUES "
               "(7, 'Begoña', 'begoña', 1700000000, 1700000100, 1700000200, 'ocupado'), "
               "(9, 'luis', 'luis', 1700000300, NULL, NULL, 'disponible')")
        db.sql("INSERT INTO sessions (id, user_id, login_at, logout_at, address, reason) VALUES "
               "(1700000100000000, 7, 1700000100, 1700000200, '127.0.0.1', 'quit')")
        db.sql("INSERT INTO messages (id, at, sender_id, recipient_id, body) VALUES "
               "(1700000150000000, 1700000150, 7, NULL, 'antes de la versión 2'), "
               "(1700000160000000, 1700000160, 7, 9, 'privado')")
        before = db.sql("SELECT * FROM users ORDER BY id") + db.sql("SELECT * FROM sessions") + \
            db.sql("SELECT * FROM messages ORDER BY id")
        check_eq(db.one("SELECT version FROM schema_version"), "1", "a version-1 database")
        srv = start(chatd, db, journal_path())
        check_eq(db.one("SELECT version FROM schema_version"), "2", "migrated to version 2")
        check("migrating it to version 2" in srv.stderr(), "the migration is logged")
        users = db.sql("SELECT id, nick, nick_key, created, last_login, last_seen, status FROM users ORDER BY id")
        check_eq(users, [r[:7] for r in before[:2]], "user rows unchanged, ids kept")
        check_eq(db.sql("SELECT * FROM sessions") + db.sql("SELECT * FROM messages ORDER BY id"), before[2:],
                 "sessions and messages unchanged")
        check_eq(db.sql("SELECT password_hash FROM users"), [[None], [None]], "everyone is a guest")
        b = srv.connect("Begoña")
        check_eq(b.id, 7, "the same user after the migration")
        b.sendline("/historial")
        hist = b.lines_until(lambda l: l.startswith("END HIST "))
        check_eq([parse(h)[2] for h in hist[:-1]], ["antes de la versión 2", "privado"], "history kept")
        srv.finish()
        # A second start finds version 2 and changes nothing.
        srv = start(chatd, db, journal_path())
        check("migrating" not in srv.stderr(), "no second migration")
        srv.finish()
        db.sql("UPDATE schema_version SET version = 3")
        r = subprocess.run([chatd, "--port", "0", "--db", db.url], capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "schema version 3" in r.stderr, f"an unknown version is refused: {r.stderr!r}")
    finally:
        db.drop()


def account(chatd, db, *args, stdin=""):
    env = dict(os.environ)
    env.pop("CHATD_DB", None)
    r = subprocess.run([chatd, "--db", db.url, "--pw-test-cost", "account", *args], input=stdin,
                       capture_output=True, text=True, timeout=60, env=env)
    no_secret_in(r.stdout + r.stderr, "chatd account's output")
    return r


def test_account_tool_on_a_closed_server(chatd):
    db = Database()
    try:
        r = account(chatd, db, "add", "Zoe", stdin=SECRETS[2] + "\n")
        check_eq(r.returncode, 0, f"account add: {r.stderr}")
        check("account Zoe created" in r.stdout, r.stdout)
        r = account(chatd, db, "add", "zoe", stdin=SECRETS[2] + "\n")
        check(r.returncode == 1 and "an account already" in r.stderr, f"add twice: {r.returncode} {r.stderr}")
        r = account(chatd, db, "passwd", "nadie", stdin=SECRETS[2] + "\n")
        check(r.returncode == 1 and "no account nadie" in r.stderr, f"passwd of no account: {r.stderr}")
        r = account(chatd, db, "add", ".mal", stdin=SECRETS[2] + "\n")
        check_eq(r.returncode, 2, f"a bad nickname: {r.stderr}")
        r = account(chatd, db, "add", "corto", stdin="corta\n")
        check(r.returncode == 1 and "8 to 128 bytes" in r.stderr, f"a short password: {r.stderr}")
        r = account(chatd, db, "add", "vacio", stdin="")
        check(r.returncode == 1, f"no password on stdin: {r.stderr}")
        r = subprocess.run([chatd, "account", "list"], capture_output=True, text=True, timeout=10,
                           env={k: v for k, v in os.environ.items() if k != "CHATD_DB"})
        check(r.returncode == 2 and "--db" in r.stderr, f"without --db: {r.stderr}")

        srv = start(chatd, db, journal_path(), "--registration", "closed", "--require-account")
        g = H.Client(srv)
        g.sendline("invitado")
        g.expect_error("account-required")
        z, welcome = auth_login(srv, "zoe", SECRETS[2])
        check_eq(parse(welcome)[1][0], "Zoe", "the operator's account logs in")
        z.sendline("/registrar otra-clave")
        z.expect_error("registration-closed")
        z.sendline("/salir")
        z.read_to_eof()

        r = account(chatd, db, "passwd", "ZOE", stdin=SECRETS[3] + "\n")
        check_eq(r.returncode, 0, f"account passwd: {r.stderr}")
        auth_login(srv, "zoe", SECRETS[3])[0].close()
        r = account(chatd, db, "list")
        check(r.returncode == 0 and "Zoe" in r.stdout and "corto" not in r.stdout, f"list: {r.stdout}")
        # The columns line up under a nick with letters of two bytes.
        r = account(chatd, db, "add", "Núñez", stdin=SECRETS[2] + "\n")
        check_eq(r.returncode, 0, f"account add Núñez: {r.stderr}")
        rows = {line.split()[0]: line for line in account(chatd, db, "list").stdout.splitlines() if line}
        check_eq(len(rows["Núñez"]), len(rows["Zoe"]), f"list columns: {rows}")
        # An existing guest becomes an account with its id.
        db.sql("INSERT INTO users (nick, nick_key, created, status) VALUES ('Pablo', 'pablo', 1, 'disponible')")
        pid = db.one("SELECT id FROM users WHERE nick_key = 'pablo'")
        r = account(chatd, db, "add", "pablo", stdin=SECRETS[2] + "\n")
        check(r.returncode == 0 and "is an account now" in r.stdout, f"guest to account: {r.stdout} {r.stderr}")
        check_eq(auth_login(srv, "pablo", SECRETS[2])[0].id, int(pid), "same id")
        r = account(chatd, db, "remove", "zoe")
        check_eq(r.returncode, 0, f"account remove: {r.stderr}")
        r = account(chatd, db, "remove", "zoe")
        check_eq(r.returncode, 1, "remove twice")
        g = H.Client(srv)
        g.sendline("zoe")
        g.expect_error("account-required")  # a guest nickname now, and guests are refused here
        log = srv.stderr()
        srv.finish()
        no_secret_in(log, "chatd's log")
    finally:
        db.drop()


if __name__ == "__main__":
    dbtool.skip_without_db()
    H.run([test_register_restart_login_change, test_weak_hash_is_rehashed_at_login, test_migrate_version_1,
           test_account_tool_on_a_closed_server])
