#!/usr/bin/env python3
"""faults_conflict_flood.py URL CA DEV_A TOKEN_A DEV_B TOKEN_B GRID N: conflict floods (issue 18,
finding 5). Device A creates 50 residents; device B then sends one request of N changes at
base 0 to them (each resident contested N/50 times on the same field). Prints the
conflicts table afterwards is checked by the shell script (at most one open conflict per
(record, field))."""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import pyclient  # noqa: E402

url, ca, dev_a, tok_a, dev_b, tok_b, grid, n = sys.argv[1:9]
n = int(n)
srv_a = pyclient.Server(url, ca, tok_a)
schema = pyclient.fetch_schema(srv_a)
t = pyclient.table(schema, "resident")
text = next(f["name"] for f in t["fields"] if f["type"] == "text" and not f["scope"]
            and not f["implicit"] and not f["from_device"] and f["name"] != "id")
a = pyclient.Device(srv_a, "/dev/null.a", dev_a, grid)
a.st["cur"] = 0
rids, ch = [], []
for i in range(50):
    rid = pyclient.uuid7()
    h = a.clock.now()
    vals = pyclient.new_record(t, {text: "a%d" % i}, grid, "A", h >> 16)
    ch.append(a.change(a.seq(), "resident", rid, {k: (v, 0) for k, v in vals.items()}, h))
    rids.append(rid)
r = a.exchange(a.body(ch))
assert all(x.get("ok", 1) for x in r["ack"]), r["ack"][:3]
srv_b = pyclient.Server(url, ca, tok_b)
b = pyclient.Device(srv_b, "/dev/null.b", dev_b, grid)
ch = []
for i in range(n):
    # older clocks than A's edits: every change loses its field, each one a conflict
    ch.append(b.change(b.seq(), "resident", rids[i % 50], {text: ("b%d" % i, 0, 1 << 16)},
                       1 << 16))
body = b.body(ch)
t0 = __import__("time").monotonic()
r = b.exchange(body)
ms = (__import__("time").monotonic() - t0) * 1000
print("acks", len(r["ack"]), "ok", sum(1 for x in r["ack"] if x.get("ok", 1)),
      "request %.0f ms" % ms)
