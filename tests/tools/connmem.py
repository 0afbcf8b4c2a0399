#!/usr/bin/env python3
"""connmem: the server's memory cost of one held connection.

usage: connmem.py PORT CA SERVER_PID N

Opens N connections with a completed TLS handshake and no request (the most a holder of a
slot costs the server), spread over 127.0.0.100-199 so that the per-address cap is not hit
(keep N <= 100 x max_connections_per_address), and prints one JSON line: the server's RSS
before and with them, and the difference per connection in kB.
"""
import json
import resource
import socket
import ssl
import sys
import time

PORT, CA, PID, N = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=CA)


def rss():
    with open("/proc/%d/status" % PID) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, N + 64)), hard))
before = rss()
held = []
for i in range(N):
    raw = socket.socket()
    raw.bind(("127.0.0.%d" % (100 + i % 100), 0))
    raw.connect(("127.0.0.1", PORT))
    held.append(ctx.wrap_socket(raw, server_hostname="localhost"))
time.sleep(0.5)
during = rss()
print(json.dumps({"connections": N, "rss_before_kb": before, "rss_held_kb": during,
                  "kb_per_connection": round((during - before) / N, 1)}))
