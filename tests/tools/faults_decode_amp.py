#!/usr/bin/env python3
"""faults_decode_amp: decode amplification against a live gridsyncd (issue 18, finding 3).

usage: faults_decode_amp.py PORT CA SERVER_PID DEVICE_ID TOKEN PARALLEL BOUND_MB

The request of the finding: a deflated body of ~60 KB that inflates to just under 8 MiB:
3,201 changes x 64 invented fields x lists of 32 empty strings (about 7 M MessagePack
objects). PARALLEL copies are sent at once with a real device token. Each must be answered
400 (refused before msgpack-c builds the tree), server RSS must grow at most BOUND_MB, and a
valid request sent afterwards must still answer 200. Prints figures, then ok / not ok lines.
"""
import os
import socket
import ssl
import sys
import threading
import time
import zlib

import faultlib
import msgpack

PORT, CA, SPID, DEV, TOKEN = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
PARALLEL, BOUND_MB = int(sys.argv[6]), int(sys.argv[7])
CTX = ssl.create_default_context(cafile=CA)


def rss_mb():
    return faultlib.rss_mb(SPID)


CHECKS = faultlib.Checks()
check = CHECKS.check


def hlc():
    return int(time.time() * 1000) << 16


def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def body(n_changes, n_fields, n_tags):
    h = hlc()
    fields = {"x%02d" % j: [[""] * n_tags, 1, h] for j in range(n_fields)}
    ch = [{"seq": i + 1, "t": "resident", "id": uuid7(), "hlc": h, "f": fields}
          for i in range(n_changes)]
    return msgpack.packb({"v": 1, "dev": DEV, "cur": 0, "low": 1, "now": h, "ch": ch},
                         use_bin_type=True)


def post(raw, deflated, out, i):
    try:
        s = CTX.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=60),
                            server_hostname="localhost")
        s.sendall(("POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/vnd.msgpack\r\n%sContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n"
                   % (TOKEN, "Content-Encoding: deflate\r\n" if deflated else "", len(raw))
                   ).encode() + raw)
        data = b""
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
        s.close()
        out[i] = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else "closed"
    except (OSError, ssl.SSLError) as e:
        out[i] = "error %s" % e


def main():
    raw = body(2500, 64, 32)
    z = zlib.compress(raw, 9)
    base = rss_mb()
    out, peak = [None] * PARALLEL, [base]
    threads = [threading.Thread(target=post, args=(z, True, out, i)) for i in range(PARALLEL)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.005)
    secs = time.monotonic() - t0
    print("# %d at once: %d bytes deflated, %d inflated; answers %s in %.2f s; server RSS "
          "%.1f MB before, %.1f MB at the peak" % (PARALLEL, len(z), len(raw), out, secs, base,
                                                   peak[0]))
    check("decode_amp_refused_400", all(st in (400, 413) for st in out), "answers %s" % out)
    check("decode_amp_rss_bounded", peak[0] - base <= BOUND_MB,
          "RSS grew %.1f MB, bound %d MB" % (peak[0] - base, BOUND_MB), rss=True)
    ok = [None]
    # a valid change: a resident with its grid and name
    h = hlc()
    good = msgpack.packb({"v": 1, "dev": DEV, "cur": 0, "low": 1, "now": h,
                          "ch": [{"seq": 1, "t": "resident", "id": uuid7(), "hlc": h,
                                  "f": {"grid": [os.environ.get("GRID", "东风村3组"), 0],
                                        "name": ["解码测试", 0]}}]}, use_bin_type=True)
    post(good, False, ok, 0)
    check("decode_amp_valid_request_still_200", ok[0] == 200, "answer %s" % ok[0])
    return 1 if CHECKS.fails else 0


if __name__ == "__main__":
    sys.exit(main())
