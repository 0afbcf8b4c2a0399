#!/usr/bin/env python3
"""converge.py: does every device show exactly the server's data?

    converge.py --server STORE.db --gridsync BIN DEVICE.db...

For each device: every live record of its grids on the server is live on the device with
the same field values and the same created/updated times (the physical part of the HLCs),
and the device shows no live record the server does not have live in its grids. A device
with pending changes (gridsync status) cannot be compared and is an error: sync it first.

The server side is read straight from gridsyncd's SQLite store (tests/tools/gsstore.py:
the records table, values decoded with python3-msgpack): an implementation independent of
the C code under test. The device side is what the worker
sees: `gridsync --json list TYPE` (every type, deleted records left out).

Prints one line per difference and exits 1 when there is any; prints "converged: ..." and
exits 0 otherwise.
"""
import argparse
import datetime
import json
import sqlite3
import subprocess
import sys
import uuid

import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsstore  # noqa: E402

TYPES = {"resident": "residents", "visit": "visits", "care": "care"}


def iso_ms(text):
    """'2026-11-27T01:30:00.120Z' or '...:00Z' -> ms since 1970."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    dt = datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000


def server_value(v):
    if isinstance(v, bytes) and len(v) == 16:
        return str(uuid.UUID(bytes=v))
    return v


def same(dev, srv):
    """A device's JSON value against the server's decoded one."""
    if isinstance(srv, int) and not isinstance(srv, bool) and isinstance(dev, str):
        try:
            return iso_ms(dev) == srv  # a time field
        except ValueError:
            return False
    if isinstance(srv, list) and isinstance(dev, list):
        return sorted(srv) == sorted(dev)  # tags compare as sets
    if isinstance(srv, float) or isinstance(dev, float):
        return isinstance(dev, (int, float)) and isinstance(srv, (int, float)) and float(dev) == float(srv)
    return dev == srv


def server_records(store, grids):
    out = {}
    for r in gsstore.records(store, grids):
        if r["deleted"]:
            continue
        fields = {}
        for name, f in r["fields"].items():
            v = server_value(f["value"])
            if name != "deleted" and v is not None:
                fields[name] = v
        out[r["id"]] = {"type": r["tbl"], "created": r["created"] >> 16,
                        "updated": r["updated"] >> 16, "fields": fields}
    return out


def gs(binary, dbpath, *args):
    p = subprocess.run([binary, "--db", dbpath, "--json", *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("gridsync %s on %s: exit %d: %s" % (" ".join(args), dbpath, p.returncode, p.stderr))
    return json.loads(p.stdout)


def device_records(binary, dbpath):
    out = {}
    for tbl, plural in TYPES.items():
        for rec in gs(binary, dbpath, "list", plural, "--limit", "1000000"):
            out[rec["id"]] = rec
    return out


def compare(name, dev, srv):
    diffs = []
    for rid in sorted(set(srv) - set(dev)):
        diffs.append("%s: lacks %s %s (live on the server)" % (name, srv[rid]["type"], rid))
    for rid in sorted(set(dev) - set(srv)):
        diffs.append("%s: shows %s %s, which the server does not have live in its grids"
                     % (name, dev[rid]["type"], rid))
    for rid in sorted(set(dev) & set(srv)):
        d, s = dev[rid], srv[rid]
        for f in sorted(set(s["fields"]) | {k for k in d if k not in ("type", "id", "created", "updated")}):
            dv, sv = d.get(f), s["fields"].get(f)
            if sv is None and dv is None:
                continue
            if sv is None or dv is None or not same(dv, sv):
                diffs.append("%s: %s %s.%s = %r, server %r" % (name, s["type"], rid, f, dv, sv))
        for k in ("created", "updated"):
            if k not in d or iso_ms(d[k]) != s[k]:
                diffs.append("%s: %s %s %s = %s, server %d" % (name, s["type"], rid, k, d.get(k), s[k]))
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--gridsync", required=True)
    ap.add_argument("devices", nargs="+")
    a = ap.parse_args()
    diffs, n_records = [], 0
    for dbpath in a.devices:
        st = gs(a.gridsync, dbpath, "status")
        name = st.get("device") or dbpath
        if st["pending"]:
            diffs.append("%s: %d changes still pending: sync first" % (name, st["pending"]))
            continue
        srv = server_records(a.server, st["grids"])
        dev = device_records(a.gridsync, dbpath)
        n_records += len(dev)
        diffs += compare(name, dev, srv)
    for d in diffs:
        print(d)
    if diffs:
        return 1
    print("converged: %d devices, %d records shown, equal to the server" % (len(a.devices), n_records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
