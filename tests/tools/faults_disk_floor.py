#!/usr/bin/env python3
"""faults_disk_floor.py URL CA DEV TOKEN GRID: with min_free_disk_bytes above the free space
(issue 18, finding 4), a sync with changes is answered 503 disk_low with Retry-After and
nothing is applied, while a sync without changes (a pull) is still answered 200."""
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import pyclient  # noqa: E402

url, ca, dev, tok, grid = sys.argv[1:6]
srv = pyclient.Server(url, ca, tok)
t = pyclient.table(pyclient.fetch_schema(srv), "resident")
d = pyclient.Device(srv, "/dev/null.x", dev, grid)
h = d.clock.now()
vals = pyclient.new_record(t, {"name": "x"}, grid, "W", h >> 16)
ch = [d.change(d.seq(), "resident", pyclient.uuid7(), {k: (v, 0) for k, v in vals.items()}, h)]
status, hdrs, data = srv.request("POST", "/v1/sync", body=d.body(ch))
e = pyclient.unpack(data) if data else {}
print("upload", status, hdrs.get("retry-after"), e.get("err"))
if status != 503 or e.get("err") != "disk_low" or not hdrs.get("retry-after"):
    sys.exit(1)
r = d.exchange(d.body([], low=d.st["next_seq"]))
print("pull 200, acks", len(r["ack"]))
