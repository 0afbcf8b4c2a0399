#!/usr/bin/env python3
"""faults_hostile: table-driven hostile requests against a live gridsyncd.

usage: faults_hostile.py PORT CA SERVER_DB DEVICE_ID DEVICE_TOKEN GRID [SLOW_LIMIT_S]

Each case sends raw bytes over TLS (the CA verifies the server, name "localhost") and
expects either a status (the first line of the answer) or "closed" (the server closes the
connection without applying anything: truncated bodies, slow-loris). After every case:
  - GET /v1/health answers 200 on a new connection (the server stayed up);
  - the server's records/changes/pulls/acks/ack_ranges counts are unchanged (nothing applied).
Bad requests carry a VALID change next to the fault, so "nothing applied" means the whole
request was refused, not just its bad part. The last case is a valid request, which must
answer 200 and add exactly one record (the control that shows the counts can move).
Prints "ok NAME" / "not ok NAME: why"; exit 1 if any failed.
"""
import os
import socket
import sqlite3
import ssl
import sys
import time
import zlib

import msgpack

PORT, CA, SDB, DEV, TOKEN, GRID = sys.argv[1:7]
PORT = int(PORT)
SLOW_LIMIT = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0
CTX = ssl.create_default_context(cafile=CA)
fails = 0


def conn(timeout=10.0):
    raw = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    return CTX.wrap_socket(raw, server_hostname="localhost")


def read_answer(s, limit=10.0):
    """The status code of the answer, or 'closed' when the server closes without one."""
    s.settimeout(limit)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    if not data.startswith(b"HTTP/1."):
        return "closed"
    return int(data.split(b" ", 2)[1])


def counts():
    db = sqlite3.connect("file:%s?mode=ro" % SDB, uri=True)
    try:
        return tuple(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                     for t in ("records", "changes", "pulls", "acks", "ack_ranges"))
    finally:
        db.close()


def health():
    try:
        s = conn(5)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        st = read_answer(s, 5)
        s.close()
        return st == 200
    except OSError:
        return False


def uuid7():
    ms = int(time.time() * 1000)
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def hlc():
    return int(time.time() * 1000) << 16


SEQ = [1000]


def change(grid=GRID):
    SEQ[0] += 1
    return {"seq": SEQ[0], "t": "resident", "id": uuid7(), "hlc": hlc(),
            "f": {"grid": [grid, 0], "name": ["恶意测试", 0]}}


def request(**over):
    m = {"v": 1, "dev": DEV, "cur": 0, "low": 1, "now": hlc(), "ch": [change()]}
    m.update(over)
    return msgpack.packb(m, use_bin_type=True)


def http(body, path="/v1/sync", method="POST", headers=None, token=True, ctype=True,
         length=True):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
    if token:
        h.append("Authorization: Bearer " + (token if isinstance(token, str) else TOKEN))
    if ctype:
        h.append("Content-Type: application/vnd.msgpack")
    if length:
        h.append("Content-Length: %d" % len(body))
    h += headers or []
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def nest(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def deflate(b):
    return zlib.compress(b, 6)


def bomb():
    # 64 MiB of zeros inflate from ~64 KiB: the inflated size is over the 8 MiB limit
    z = zlib.compressobj(9)
    out = z.compress(b"\0" * (64 << 20)) + z.flush()
    return out


ok_req = request()
trunc = ok_req[: len(ok_req) // 2]
big_body = b"\x80" * (9 << 20)

CASES = [
    # name, bytes to send (or a callable taking the socket), expected status or "closed"
    ("garbage_request_line", b"HELLO WORLD\r\n\r\n", 400),
    ("binary_noise", bytes(range(256)) * 4, 400),
    ("missing_target", b"GET HTTP/1.1\r\n\r\n", 400),
    ("absolute_target", b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("malformed_version", b"GET /v1/health HTTX/1.1\r\nHost: x\r\n\r\n", 400),
    ("unsupported_version", b"GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("header_without_colon", b"GET /v1/health HTTP/1.1\r\nHost localhost\r\n\r\n", 400),
    ("header_folding", b"GET /v1/health HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400),
    ("nul_in_header", b"GET /v1/health HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400),
    ("oversized_header", b"GET /v1/health HTTP/1.1\r\nX-A: " + b"a" * 20000 + b"\r\n\r\n", 431),
    ("too_many_headers", b"GET /v1/health HTTP/1.1\r\n" + b"X-A: b\r\n" * 2000 + b"\r\n", 431),
    ("bad_content_length", http(ok_req, length=False, headers=["Content-Length: 12x"]), 400),
    ("negative_content_length", http(ok_req, length=False, headers=["Content-Length: -5"]), 400),
    ("two_content_lengths", http(ok_req, headers=["Content-Length: 3"]), 400),
    ("cl_and_chunked", http(ok_req, headers=["Transfer-Encoding: chunked"]), 400),
    ("bad_chunk_size", http(b"zz\r\n" + ok_req + b"\r\n0\r\n\r\n", length=False,
                            headers=["Transfer-Encoding: chunked"]), 400),
    ("no_length", http(ok_req, length=False), 411),
    ("oversized_body_declared", http(b"", length=False,
                                     headers=["Content-Length: %d" % (64 << 20)]), 413),
    ("oversized_body_sent", http(big_body), 413),
    ("deflate_bomb", http(bomb(), headers=["Content-Encoding: deflate"]), 413),
    ("bad_deflate", http(b"\x78\x9c" + os.urandom(200), headers=["Content-Encoding: deflate"]), 400),
    ("deflate_truncated", http(deflate(ok_req)[:-6], headers=["Content-Encoding: deflate"]), 400),
    ("unknown_encoding", http(ok_req, headers=["Content-Encoding: br"]), 415),
    ("no_token", http(ok_req, token=False), 401),
    ("bad_token", http(ok_req, token=DEV + ".AAAAAAAAAAAAAAAAAAAAAAAA"), 401),
    ("token_of_unknown_device", http(ok_req, token="nodev.AAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401),
    ("wrong_device_in_body", http(request(dev="someone-else")), 403),
    ("wrong_content_type", http(ok_req, ctype=False, headers=["Content-Type: text/plain"]), 415),
    ("wrong_method", http(b"", method="GET", ctype=False), 405),
    ("unknown_path", http(ok_req, path="/v1/sink"), 404),
    ("msgpack_not_a_map", http(msgpack.packb([1, 2, 3])), 400),
    ("msgpack_truncated", http(trunc), 400),
    ("msgpack_trailing_bytes", http(ok_req + b"\xc0"), 400),
    ("msgpack_c1_byte", http(b"\x81\xa1v\xc1"), 400),
    ("msgpack_ext", http(request(now=msgpack.ExtType(1, b"abcd"))), 400),
    ("wrong_type_v", http(request(v="1")), 400),
    ("wrong_type_cur_negative", http(request(cur=-1)), 400),
    ("wrong_type_cur_float", http(request(cur=1.0)), 400),
    # issue 18 item 6: bound as int64 it went negative, re-sent the grid, more forever
    ("cur_at_2_63", http(request(cur=1 << 63)), 400),
    ("cur_max_u64", http(request(cur=(1 << 64) - 1)), 400),
    ("wrong_type_ch", http(request(ch={"a": 1})), 400),
    ("wrong_type_id", http(request(ch=[dict(change(), id="not-bin")])), 400),
    ("id_wrong_length", http(request(ch=[change(), dict(change(), id=b"\1" * 15)])), 400),
    ("unknown_field_top", http(request(extra=1)), 400),
    ("unknown_field_change", http(request(ch=[change(), dict(change(), zz=1)])), 400),
    ("missing_field", http(msgpack.packb({"v": 1, "dev": DEV, "ch": [change()]})), 400),
    ("deeply_nested_200", http(request(ch=[change(), dict(change(), f={"name": nest(200)})])), 400),
    ("deeply_nested_top", http(b"\x91" * 5000 + b"\x01"), 400),
    ("huge_declared_array", http(b"\x86\xa1v\x01\xa2ch\xdd\xff\xff\xff\xff"), 400),
    ("huge_declared_str", http(b"\x81\xa3dev\xdb\xff\xff\xff\xf0abc"), 400),
    ("seq_not_increasing", http(request(ch=[change(), dict(change(), seq=1)])), 400),
    ("too_many_changes", http(request(ch=[change() for _ in range(5001)])), 400),
    ("version_too_old", http(request(v=0)), 426),
    ("admin_with_device_token", http(b"", method="GET", path="/v1/admin/devices", ctype=False,
                                     length=False), 401),
    ("truncated_body_then_close", ("close", http(ok_req)[:-10]), "closed"),
    ("slow_loris", ("slow", http(ok_req)), "closed"),
]


def run(name, what, want):
    before = counts()
    t0 = time.monotonic()
    s = conn()
    got = None
    try:
        if isinstance(what, tuple) and what[0] == "close":
            s.sendall(what[1])
            time.sleep(0.2)
            s.close()
            got = "closed"
        elif isinstance(what, tuple) and what[0] == "slow":
            # one byte a second, forever: the server must give up on its own
            s.settimeout(2)
            data = what[1]
            got = "still open"
            for i in range(len(data)):
                try:
                    s.sendall(data[i:i + 1])
                except (OSError, ssl.SSLError):
                    got = "closed"
                    break
                try:
                    r = s.recv(100)
                    got = "closed" if not r else "status %r" % r[:20]
                    break
                except socket.timeout:
                    pass
                except (OSError, ssl.SSLError):
                    got = "closed"
                    break
                if time.monotonic() - t0 > SLOW_LIMIT:
                    break
        else:
            try:
                s.sendall(what)
            except (OSError, ssl.SSLError):
                pass  # the server may answer and close before reading everything
            got = read_answer(s)
    finally:
        s.close()
    secs = time.monotonic() - t0
    after_ok = health()
    after = counts()
    problems = []
    if got != want:
        problems.append("got %s, want %s" % (got, want))
    if not after_ok:
        problems.append("health check failed afterwards")
    if after != before:
        problems.append("counts (records, changes, pulls, acks, ack_ranges) %s -> %s" % (before, after))
    return problems, secs, got


for name, what, want in CASES:
    problems, secs, got = run(name, what, want)
    if problems:
        fails += 1
        print("not ok hostile_%s: %s" % (name, "; ".join(problems)))
    else:
        print("ok hostile_%s (%s in %.1f s)" % (name, got, secs))
    sys.stdout.flush()

# the control: a valid request is applied, so the counts above could have moved
before = counts()
s = conn()
s.sendall(http(request()))
got = read_answer(s)
s.close()
after = counts()
if got == 200 and after[0] == before[0] + 1:
    print("ok hostile_control_valid_request_applied")
else:
    fails += 1
    print("not ok hostile_control_valid_request_applied: status %s, counts %s -> %s"
          % (got, before, after))
print("# %d hostile cases" % len(CASES))
sys.exit(1 if fails else 0)
