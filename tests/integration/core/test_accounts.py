#!/usr/bin/env python3
"""Accounts over real sockets (PROTOCOL.md, "Accounts"), memory storage, the
real Argon2id pool at libsodium's minimum cost (--pw-test-cost): registering,
AUTH and the password line byte-exact, /clave, throttling, tls-required for a
peer that is not loopback, --require-account, --registration closed. No
password may appear in chatd's log."""

import socket

import harness as H
from harness import check, check_eq, parse

PASSWORDS = ["una clave  larga ", "otra-clave-2", "incorrecta"]


def server(chatd, *extra, **kw):
    return H.Server(chatd, "--pw-test-cost", *extra, **kw)


def no_password_in_log(srv):
    log = srv.stderr()
    for p in PASSWORDS:
        check(p.strip() not in log, f"a password in chatd's log: {p!r}")


def register(srv, nick, password):
    c = srv.connect(nick)
    c.sendline(f"/registrar {password}")
    check(c.line().startswith("OK register :"), "OK register")
    c.sendline("/salir")
    c.read_to_eof()


@H.shared_storage_only("an account is a record in storage")
def test_register_login_wrong_change(chatd):
    srv = server(chatd)
    a = srv.connect("Ana")
    check_eq(parse(a.hello)[1][1], "2", "HELLO says protocol version 2")
    a.sendline("/perfil")
    check(a.expect_prefix("PROFILE Ana ").endswith(" account=no"), "a guest: account=no")
    a.sendline("/registrar " + PASSWORDS[0])  # spaces inside and at the end are part of it
    check(a.line().startswith("OK register :"), "OK register")
    a.sendline("/perfil")
    check(a.expect_prefix("PROFILE Ana ").endswith(" account=yes"), "an account: account=yes")
    a.sendline("/registrar otra-clave-2")
    a.expect_error("already-registered")
    a.sendline("/salir")
    a.read_to_eof()

    b = H.Client(srv)
    b.sendline("ANA")
    check_eq(b.line(), "AUTH Ana :this nickname is an account; send its password", "AUTH, first spelling")
    b.sendline(PASSWORDS[0].rstrip())  # without the trailing space: another password
    b.expect_error("bad-password")
    b.sendline("ana")
    b.expect_prefix("AUTH Ana ")
    welcome, _, _ = b.login(PASSWORDS[0])
    check_eq(parse(welcome)[1][0], "Ana", "logged in to the account")

    b.sendline("/clave corta")
    b.expect_error("password-invalid")
    b.sendline("/clave " + PASSWORDS[1])
    check_eq(b.line(), "OK password :password changed", "OK password")
    b.sendline("/salir")
    b.read_to_eof()
    c = H.Client(srv)
    c.sendline("ana")
    c.expect_prefix("AUTH Ana ")
    c.sendline(PASSWORDS[0])
    c.expect_error("bad-password")
    c.sendline("ana")
    c.expect_prefix("AUTH Ana ")
    c.login(PASSWORDS[1])
    no_password_in_log(srv)
    srv.finish()


@H.shared_storage_only("an account is a record in storage")
def test_throttle_five_per_account(chatd):
    srv = server(chatd)
    register(srv, "bea", "la-buena-1")
    c = H.Client(srv)
    for _ in range(5):
        c.sendline("bea")
        c.expect_prefix("AUTH bea ")
        c.sendline(PASSWORDS[2])
        c.expect_error("bad-password")
    c.sendline("bea")
    c.expect_prefix("AUTH bea ")
    c.sendline("la-buena-1")  # not checked: the account is throttled
    c.expect_error("too-many-attempts")
    c.sendline("otro")  # the connection goes on; a guest nickname logs in
    welcome = c.line()
    check(welcome.startswith("WELCOME otro "), f"a guest after the throttle: {welcome!r}")
    no_password_in_log(srv)
    srv.finish()


@H.shared_storage_only("an account is a record in storage")
def test_waiting_for_password_refusals(chatd):
    srv = server(chatd, "--max-line", "64")
    register(srv, "cora", "la-buena-1")
    c = H.Client(srv)
    c.sendline("cora")
    c.expect_prefix("AUTH cora ")
    c.sendline("   ")  # ignored
    c.send(b"mal\x01\n")
    c.expect_error("bad-text")
    c.sendline("x" * 100)
    c.expect_error("line-too-long")
    c.login("la-buena-1")
    srv.finish()


def other_address():
    """An address of this machine that is not loopback, or None."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        ip = s.getsockname()[0]
        s.close()
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


@H.shared_storage_only("an account is a record in storage")
def test_tls_required_off_loopback(chatd):
    ip = other_address()
    if ip is None:
        print("note: no address other than loopback here; tls-required from afar checked in the unit tests only")
        return
    srv = server(chatd, bind="0.0.0.0")
    register(srv, "dani", "la-buena-1")
    srv.host = ip
    far = H.Client(srv)
    far.sendline("dani")
    if H.TLS_DIR:  # over TLS passwords are taken from anywhere
        far.expect_prefix("AUTH dani ")
        far.login("la-buena-1")
        srv.host = "127.0.0.1"
        srv.finish()
        return
    far.expect_error("tls-required")  # instead of AUTH: no password is taken in clear from afar
    far.login("lejano")
    far.sendline("/registrar la-buena-2")
    far.expect_error("tls-required")
    far.sendline("/clave la-buena-2")
    far.expect_error("tls-required")
    srv.host = "127.0.0.1"
    near = H.Client(srv)
    near.sendline("dani")
    near.expect_prefix("AUTH dani ")
    srv.finish()


def test_require_account_and_closed_registration(chatd):
    srv = server(chatd, "--registration", "closed")
    a = srv.connect("eva")
    a.sendline("/registrar la-buena-1")
    a.expect_error("registration-closed")
    srv.finish()
    srv = server(chatd, "--require-account")
    b = H.Client(srv)
    b.sendline("invitado")
    b.expect_error("account-required")
    b.sendline("/ayuda")  # still at the nickname step: not a valid nickname
    b.expect_error("nick-invalid")
    srv.finish()


@H.single_server("starts no server: chatd refuses its options")
def test_bad_cost_options(chatd):
    import subprocess
    for bad, says in ((["--pw-mem", "8"], "below the minimum 19 MiB"), (["--pw-ops", "1"], "below the minimum 2"),
                      (["--registration", "maybe"], "registration")):
        r = subprocess.run([chatd, "--port", "0", *bad], capture_output=True, text=True, timeout=10)
        check(r.returncode != 0, f"{bad} refused")
        check(says in r.stderr, f"{bad}: says why: {r.stderr!r}")


if __name__ == "__main__":
    H.run([test_register_login_wrong_change, test_throttle_five_per_account, test_waiting_for_password_refusals,
           test_tls_required_off_loopback, test_require_account_and_closed_registration, test_bad_cost_options])
