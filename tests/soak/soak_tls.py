"""The soak's TLS clients (soak.py runs chatd with a TLS port beside the plain
one): a handshake trickled a byte a second, half a ClientHello and then
silence (both must be cut by the 10 s handshake timeout), garbage on the TLS
port (closed at once), and real TLS clients that log in, chat and leave."""

import asyncio
import os
import random
import socket
import ssl
import subprocess
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def make_certs():
    d = tempfile.mkdtemp(prefix="chatd-soak-tls-")
    subprocess.run([os.path.join(ROOT, "scripts", "cert.sh")], env={**os.environ, "CHATD_TLS_DIR": d},
                   check=True, stdout=subprocess.DEVNULL)
    return d


def client_context(certs):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    ctx.check_hostname = True
    return ctx


def client_hello(ctx):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


async def raw(host, port, src):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((src, 0))
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), 5)
    except BaseException:
        sock.close()
        raise
    return sock


async def wait_closed(sock, limit):
    """Seconds until the server closes `sock` (reading and dropping what it sends), or None."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        while loop.time() - t0 < limit:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), limit)
            if not chunk:
                return loop.time() - t0
    except (ConnectionError, OSError):
        return loop.time() - t0
    except asyncio.TimeoutError:
        pass
    return None


async def tls_hostile(S, guarded, check_line, host, port, certs, tag, deadline):
    ctx = client_context(certs)
    hello = client_hello(ctx)
    loop = asyncio.get_running_loop()

    async def one(k):
        kind = k % 4
        src = "127.0.13.%d" % (tag + 1)
        if kind == 3:  # a real client: login, a message and its echo, /salir
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost",
                                                                  local_addr=(src, 0)), 10)
            try:
                nick = ("tls%d-%d" % (tag, k))[:32]
                w.write(nick.encode() + b"\nhola por TLS\n/salir\n")
                seen = []
                while True:
                    line = await asyncio.wait_for(r.readline(), 15)
                    if not line:
                        break
                    seen.append(check_line(line.rstrip(b"\n"), "tls"))
                if "MSG %s :hola por TLS" % nick in seen and seen and seen[-1].startswith("BYE"):
                    S.inc("tls logins chatted")
                elif any(t.startswith("ERROR server-full") or t.startswith("ERROR too-many") for t in seen):
                    S.inc("tls logins refused (limits)")
                else:
                    S.fail("a TLS client got %r" % [t[:50] for t in seen[-4:]])
            finally:
                w.close()
            return
        sock = await raw(host, port, src)
        try:
            t0 = loop.time()
            if kind == 0:  # trickled: no handshake finishes within 10 s at a byte a second
                for b in hello:
                    await loop.sock_sendall(sock, bytes([b]))
                    closed = await wait_closed(sock, 1.0)
                    if closed is not None:
                        break
                took = loop.time() - t0
                S.inc("tls trickled handshakes cut")
                if took > 13:
                    S.fail("a trickled TLS handshake lived %.1f s" % took)
            elif kind == 1:  # half a ClientHello, then nothing
                await loop.sock_sendall(sock, hello[: len(hello) // 2])
                took = await wait_closed(sock, 14)
                if took is None:
                    S.fail("a half-finished TLS handshake was not cut within 14 s")
                else:
                    S.inc("tls half handshakes cut")
            else:  # garbage where a ClientHello should be
                await loop.sock_sendall(sock, os.urandom(random.randint(1, 600)))
                took = await wait_closed(sock, 12)
                if took is None:
                    S.fail("garbage on the TLS port did not close the connection")
                else:
                    S.inc("tls garbage closed")
        finally:
            sock.close()

    await guarded("tls", one, deadline)
