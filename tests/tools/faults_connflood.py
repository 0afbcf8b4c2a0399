#!/usr/bin/env python3
"""faults_connflood: a connection-slot flood against a live gridsyncd while honest devices sync.

usage: faults_connflood.py PORT CA SERVER_PID GRIDSYNC SECONDS N_ONE N_MANY DB...

Attackers (asyncio, every one reconnecting as soon as the server closes it, for SECONDS):
  N_ONE connections from 127.0.0.2 alone, and N_MANY spread over 50 addresses 127.0.0.10 to
  127.0.0.59 (Linux routes all of 127/8 to loopback). They cycle through four behaviours:
    silent     TCP connect, then nothing
    slowhello  a TLS record header sent one byte a second (a slow-loris handshake)
    tlsidle    a full TLS handshake, then nothing
    slowhead   a full TLS handshake, then a request head one byte a second
Honest devices: one thread per DB runs `GRIDSYNC --db DB sync` in a loop (127.0.0.1) for as
long as the flood lasts; every sync must exit 0. Prints the sync count, p50/p99/max seconds,
the attack's connection attempts, and the server's RSS with the flood at its height, then
"ok NAME" / "not ok NAME: why" lines; exit 1 if any check failed.
"""
import asyncio
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time

PORT, CA, SPID, GRIDSYNC = sys.argv[1:5]
PORT, SPID = int(PORT), int(SPID)
SECONDS, N_ONE, N_MANY = float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
DBS = sys.argv[8:]
CTX = ssl.create_default_context(cafile=CA)
KINDS = ("silent", "slowhello", "tlsidle", "slowhead")
stats = {"attempts": 0, "tls_up": 0, "refused": 0}
stop_at = 0.0
fails = 0


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def ok(name):
    print("ok %s" % name)


def notok(name, why):
    global fails
    fails += 1
    print("not ok %s: %s" % (name, why))


async def connect(src, tls):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((src, 0))
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", PORT))
    if not tls:
        return asyncio.open_connection(sock=sock)
    return asyncio.open_connection(sock=sock, ssl=CTX, server_hostname="localhost",
                                   ssl_handshake_timeout=30)


async def attacker(src, kind):
    """One slot of the flood: holds a connection the cheapest way it knows, again and again."""
    while time.monotonic() < stop_at:
        stats["attempts"] += 1
        writer = None
        try:
            opener = await connect(src, kind in ("tlsidle", "slowhead"))
            reader, writer = await opener
            if kind in ("tlsidle", "slowhead"):
                stats["tls_up"] += 1
            drip = {"slowhello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                    "slowhead": b"POST /v1/sync HTTP/1.1\r\nHost: localhost\r\n"}.get(kind, b"")
            i = 0
            while time.monotonic() < stop_at:
                if drip:
                    writer.write(drip[i % len(drip):i % len(drip) + 1])
                    i += 1
                try:
                    got = await asyncio.wait_for(reader.read(4096), 1.0)
                    if not got:
                        break  # the server closed us
                except asyncio.TimeoutError:
                    pass
        except (OSError, ssl.SSLError, ConnectionError, asyncio.TimeoutError, EOFError):
            stats["refused"] += 1
        finally:
            if writer is not None:
                writer.transport.abort()
        await asyncio.sleep(0.05)


def honest(db, times, errors):
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        r = subprocess.run([GRIDSYNC, "--db", db, "sync"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120)
        times.append(time.monotonic() - t0)
        if r.returncode != 0:
            errors.append("%s exit %d: %s" % (os.path.basename(db), r.returncode,
                                              r.stderr.decode(errors="replace").strip()[:200]))
        time.sleep(0.2)


async def flood(peak):
    tasks = []
    for i in range(N_ONE):
        tasks.append(asyncio.create_task(attacker("127.0.0.2", KINDS[i % 4])))
    for i in range(N_MANY):
        tasks.append(asyncio.create_task(attacker("127.0.0.%d" % (10 + i % 50), KINDS[(i // 50) % 4])))
    while time.monotonic() < stop_at:
        await asyncio.sleep(0.5)
        peak[0] = max(peak[0], rss_kb(SPID))
    await asyncio.gather(*tasks, return_exceptions=True)


def main():
    global stop_at
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N_ONE + N_MANY + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    rss_before = rss_kb(SPID)
    stop_at = time.monotonic() + SECONDS
    times, errors, peak = [], [], [0]
    threads = [threading.Thread(target=honest, args=(db, times, errors)) for db in DBS]
    # the flood first, so that honest devices meet it at its height
    t_flood = threading.Thread(target=lambda: asyncio.run(flood(peak)))
    t_flood.start()
    time.sleep(min(2.0, SECONDS / 4))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_flood.join()
    times.sort()
    n = len(times)
    p = lambda q: times[min(n - 1, int(q * n))] if n else -1
    print("# honest syncs %d, p50 %.2f s, p99 %.2f s, max %.2f s; attack attempts %d "
          "(TLS up %d, failed %d); server RSS %d kB before, %d kB at the flood's height"
          % (n, p(0.5), p(0.99), times[-1] if n else -1, stats["attempts"], stats["tls_up"],
             stats["refused"], rss_before, peak[0]))
    if n >= len(DBS) and not errors:
        ok("connflood_every_honest_sync_succeeds")
    else:
        notok("connflood_every_honest_sync_succeeds",
              "%d of %d failed; first: %s" % (len(errors), n, errors[0] if errors else "no sync ran"))
    # the flood must really have pressed on the caps, or the test proves nothing
    if stats["attempts"] > N_ONE + N_MANY:
        ok("connflood_attack_was_turned_over")
    else:
        notok("connflood_attack_was_turned_over",
              "%d attempts for %d attackers: the server never closed one"
              % (stats["attempts"], N_ONE + N_MANY))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
