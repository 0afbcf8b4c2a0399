#!/usr/bin/env python3
"""cluster_load.py: load for bench_cluster.sh (issue 20 figures), through one URL (haproxy in
front of one or more gridsyncd). Devices speak the wire of proto/PROTOCOL.md through
tests/tools/pyclient.py's classes; every request body is encoded before the clock starts.

    cluster_load.py --url U --ca CA --admin-token T --label L --processes N

Prints one JSON line per figure:
  cluster_merge  D devices (own grid each, so no answer carries pulled changes) push C
                 changes each at once, in batches of B: changes merged per second, wall time
  cluster_pull   a device of a grid holding P changes pulls them from 0: changes per second
  cluster_sync   S devices each make one sync of a few changes at the same moment (new TLS
                 connection, handshake included): p50 and p99 of a sync's time
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import pyclient  # noqa: E402


class Admin:
    def __init__(self, url, ca, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.token = u.hostname, u.port, token
        self.ctx = ssl.create_default_context(cafile=ca)

    def device(self, name, grids):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
        c.request("POST", "/v1/admin/devices", body=json.dumps({"name": name, "grids": grids}),
                  headers={"Authorization": "Bearer " + self.token,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status != 201:
            raise SystemExit("cluster_load: device add answered %d: %s" % (r.status, data[:200]))
        return json.loads(data)["token"]


def batches(dev, schema, grid, n, batch):
    """n changes as request bodies of up to `batch`: each a resident and visits of it."""
    res_t, visit_t = pyclient.table(schema, "resident"), pyclient.table(schema, "visit")
    now_ms = int(time.time() * 1000)
    out = []
    while n > 0:
        k = min(batch, n)
        rid = pyclient.uuid7()
        res = pyclient.new_record(res_t, {"name": "居民%d" % n, "address": "东风村3组"}, grid,
                                  "bench", now_ms)
        ch = [dev.change(dev.seq(), "resident", rid, {f: (v, 0) for f, v in res.items()},
                         dev.clock.now())]
        for i in range(k - 1):
            vis = pyclient.new_record(visit_t, {"resident": rid, "notes": "血压正常，已提醒按时服药 %d" % i},
                                      grid, "bench", now_ms)
            ch.append(dev.change(dev.seq(), "visit", pyclient.uuid7(),
                                 {f: (v, 0) for f, v in vis.items()}, dev.clock.now()))
        out.append(dev.body(ch, low=1))
        n -= k
    return out


def new_device(a, admin, name, grid):
    token = admin.device(name, [grid])
    srv = pyclient.Server(a.url, a.ca, token)
    dev = pyclient.Device(srv, os.devnull + ".none", token.split(".", 1)[0], grid)
    return srv, dev


def post(srv, body):
    t0 = time.monotonic()
    status, hdrs, data = srv.request("POST", "/v1/sync", body=body)
    if status != 200:
        raise SystemExit("cluster_load: sync answered %d: %r" % (status, data[:200]))
    return time.monotonic() - t0, pyclient.unpack(data)


def run_threads(fns):
    errs = []

    def wrap(f):
        try:
            f()
        except BaseException as e:  # noqa: BLE001 - reported below
            errs.append(e)
    ts = [threading.Thread(target=wrap, args=(f,)) for f in fns]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise SystemExit("cluster_load: %s" % errs[0])
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    for k in ("--url", "--ca", "--admin-token", "--label"):
        ap.add_argument(k, required=True)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--pull", type=int, default=5000)
    ap.add_argument("--sync-devices", type=int, default=200)
    a = ap.parse_args()
    admin = Admin(a.url, a.ca, a.admin_token)
    base = {"store": a.label, "processes": a.processes}

    # merge: every device its own grid
    devs = [new_device(a, admin, "m%d" % i, "M-%03d" % i) for i in range(a.devices)]
    schema = pyclient.fetch_schema(devs[0][0])
    work = [(srv, batches(dev, schema, dev.st["grid"], a.changes, a.batch)) for srv, dev in devs]
    wall = run_threads([lambda s=s, bs=bs: [post(s, b) for b in bs] for s, bs in work])
    total = a.devices * a.changes
    print(json.dumps(dict(base, bench="cluster_merge", devices=a.devices, changes=total,
                          batch=a.batch, wall_s=round(wall, 3),
                          changes_per_s=round(total / wall))))

    # pull: one device fills a grid, another pulls it all
    srv, dev = new_device(a, admin, "p-writer", "P-1")
    for b in batches(dev, schema, "P-1", a.pull, 1000):
        post(srv, b)
    srv, dev = new_device(a, admin, "p-reader", "P-1")
    t0 = time.monotonic()
    pulled = len(dev.pull_all())
    wall = time.monotonic() - t0
    print(json.dumps(dict(base, bench="cluster_pull", changes=pulled, wall_s=round(wall, 3),
                          changes_per_s=round(pulled / wall))))

    # many syncs at once: each device one new connection, one small batch
    devs = [new_device(a, admin, "s%d" % i, "S-%03d" % (i % 50)) for i in range(a.sync_devices)]
    bodies = [(srv, batches(dev, schema, dev.st["grid"], 5, 5)[0]) for srv, dev in devs]
    times = []
    lock = threading.Lock()
    go = threading.Event()

    def one(srv, body):
        go.wait()
        t, _ = post(srv, body)
        with lock:
            times.append(t)
    ts = [threading.Thread(target=one, args=sb) for sb in bodies]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join()
    times.sort()
    if len(times) != a.sync_devices:
        raise SystemExit("cluster_load: %d of %d syncs answered" % (len(times), a.sync_devices))
    print(json.dumps(dict(base, bench="cluster_sync", devices=a.sync_devices,
                          p50_ms=round(1000 * times[len(times) // 2]),
                          p99_ms=round(1000 * times[int(len(times) * 0.99) - 1]),
                          max_ms=round(1000 * times[-1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
