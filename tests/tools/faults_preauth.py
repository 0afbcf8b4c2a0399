#!/usr/bin/env python3
"""faults_preauth: large bodies held open against a live gridsyncd (issue 18, finding 2).

usage: faults_preauth.py PORT CA SERVER_PID TOKEN N BUDGET_MB BOUND_MB GRIDSYNC DB

Each attacker connection (spread over 127.0.0.20-69) sends a /v1/sync head declaring
8 MiB and then tries to send all of it but the last byte, and holds the connection:
  phase "no token": a made-up token. The server must answer 401 at the head and close, and
                    its RSS must stay within BOUND_MB of where it started;
  phase "token":    a real (stolen) device token. At most BUDGET_MB of bodies may be
                    admitted at once; the others get 429 busy; RSS growth stays within
                    BUDGET_MB + BOUND_MB. While they are held, the honest device (DB) syncs.
After each phase every connection is closed and the RSS must fall back to within BOUND_MB
of the start (memory is given back). Prints figures, then ok / not ok lines; exit 1 on a
failure.
"""
import os
import resource
import socket
import ssl
import subprocess
import sys
import time

import faultlib

PORT, CA, SPID, TOKEN = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
N, BUDGET_MB, BOUND_MB = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
GRIDSYNC, DB = sys.argv[8], sys.argv[9]
CTX = ssl.create_default_context(cafile=CA)
BODY = 8 * 1024 * 1024


def rss_mb():
    return faultlib.rss_mb(SPID)


CHECKS = faultlib.Checks()
check = CHECKS.check


def attack_one(i, token):
    raw = socket.socket()
    raw.bind(("127.0.0.%d" % (20 + i % 50), 0))
    raw.settimeout(10)
    raw.connect(("127.0.0.1", PORT))
    s = CTX.wrap_socket(raw, server_hostname="localhost")
    s.sendall(("POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/vnd.msgpack\r\nContent-Length: %d\r\n\r\n"
               % (token, BODY)).encode())
    chunk = b"\x00" * 65536
    sent, status = 0, None
    s.settimeout(0.0)
    try:
        while sent < BODY - 1:
            # an early answer (401, 429) means the server will not read the rest
            try:
                got = s.recv(4096)
                if got.startswith(b"HTTP/1.1 "):
                    status = int(got.split(b" ", 2)[1])
                break
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            s.settimeout(10)
            n = min(len(chunk), BODY - 1 - sent)
            s.sendall(chunk[:n])
            sent += n
            s.settimeout(0.0)
    except (OSError, ssl.SSLError):
        pass
    if status is None:
        s.settimeout(0.3)
        try:
            got = s.recv(4096)
            if got.startswith(b"HTTP/1.1 "):
                status = int(got.split(b" ", 2)[1])
        except (OSError, ssl.SSLError):
            pass
    return s, sent, status


def phase(name, token, honest):
    base = rss_mb()
    held, peak, statuses, sent_total = [], base, {}, 0
    for i in range(N):
        try:
            s, sent, st = attack_one(i, token)
            held.append(s)
        except (OSError, ssl.SSLError):
            sent, st = 0, "refused"
        sent_total += sent
        statuses[st] = statuses.get(st, 0) + 1
        peak = max(peak, rss_mb())
    time.sleep(0.5)
    peak = max(peak, rss_mb())
    sync_rc = None
    if honest:
        t0 = time.monotonic()
        sync_rc = subprocess.run([GRIDSYNC, "--db", DB, "sync"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, timeout=120).returncode
        print("# %s: honest sync with the bodies held: exit %d in %.2f s"
              % (name, sync_rc, time.monotonic() - t0))
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    time.sleep(2.0)
    after = rss_mb()
    print("# %s: %d connections declaring 8 MiB, %d MB of body sent, answers %s; server RSS "
          "%.1f MB before, %.1f MB at the peak, %.1f MB 2 s after they closed"
          % (name, N, sent_total // (1024 * 1024), statuses, base, peak, after))
    return base, peak, after, statuses, sync_rc


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, N + 64)), hard))
    base, peak, after, st, _ = phase("no token", TOKEN.split(".")[0] + ".bogus", False)
    check("preauth_no_token_401_at_head", st.get(401, 0) == N, "answers %s" % st)
    check("preauth_no_token_rss_bounded", peak - base <= BOUND_MB,
          "RSS grew %.1f MB, bound %d MB" % (peak - base, BOUND_MB), rss=True)
    base, peak, after, st, rc = phase("token", TOKEN, True)
    check("preauth_token_budget_429", st.get(429, 0) >= N - BUDGET_MB // 8 - 1,
          "answers %s with a %d MB budget" % (st, BUDGET_MB))
    check("preauth_token_rss_bounded", peak - base <= BUDGET_MB + BOUND_MB,
          "RSS grew %.1f MB, bound %d + %d MB" % (peak - base, BUDGET_MB, BOUND_MB), rss=True)
    check("preauth_honest_sync_during_flood", rc == 0, "gridsync sync exit %s" % rc)
    check("preauth_memory_returned", after - base <= BOUND_MB,
          "RSS %.1f MB after, %.1f MB before" % (after, base), rss=True)
    return 1 if CHECKS.fails else 0


if __name__ == "__main__":
    sys.exit(main())
