#!/usr/bin/env python3
"""faults_authz: what a device token may not do, checked with raw requests.

usage: faults_authz.py PORT CA SERVER_DB DEVICE_ID TOKEN OWN_GRID OTHER_GRID OTHER_IDS_HEX,...

With device A's token (enrolled for OWN_GRID only):
  - a pull from cursor 0 returns none of the OTHER_GRID records (ids given) and no change
    whose grid is OTHER_GRID;
  - pushing a new record into OTHER_GRID is rejected (ack ok=false, out_of_scope) and not
    stored; editing one of the OTHER_GRID records is rejected and changes nothing;
  - moving its own new record into OTHER_GRID is rejected too;
  - a visit or care request of OWN_GRID naming a resident of OTHER_GRID is rejected not_found
    with the very message (apart from the id) a resident nobody has gets, naming no grid
    (issue 18, item 7);
  - every admin API path answers 401 or 403.
Prints "ok NAME" / "not ok NAME: why".
"""
import os
import sqlite3
import ssl
import sys
import time

import msgpack

import faultlib

PORT, CA, SDB, DEV, TOKEN, OWN, OTHER, IDS = sys.argv[1:9]
PORT = int(PORT)
OTHER_IDS = {bytes.fromhex(x) for x in IDS.split(",") if x}
CTX = ssl.create_default_context(cafile=CA)
fails = 0


def result(name, good, why=""):
    global fails
    if good:
        print("ok authz_" + name)
    else:
        fails += 1
        print("not ok authz_%s: %s" % (name, why))


def exchange(method, path, body=b"", token=TOKEN, ctype="application/vnd.msgpack"):
    return faultlib.exchange(PORT, CA, method, path, body, token, ctype)


def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def hlc():
    return int(time.time() * 1000) << 16


def records(grid):
    db = sqlite3.connect("file:%s?mode=ro" % SDB, uri=True)
    try:
        return db.execute("SELECT count(*), coalesce(max(version), 0) FROM records WHERE grid = ?",
                          (grid,)).fetchone()
    finally:
        db.close()


def sync(changes, cur=0):
    m = {"v": 1, "dev": DEV, "cur": cur, "low": 1, "now": hlc(), "ch": changes}
    st, body = exchange("POST", "/v1/sync", msgpack.packb(m, use_bin_type=True))
    return st, (msgpack.unpackb(body, raw=False) if st == 200 else body)


# 1. read: a full pull from cursor 0
seen, other_grid_changes, cur, rounds = set(), 0, 0, 0
while rounds < 50:
    rounds += 1
    st, r = sync([], cur)
    if st != 200:
        result("pull_ok", False, "status %s %r" % (st, r[:200]))
        break
    for c in r["ch"]:
        seen.add(c["id"])
        if c["f"].get("grid", [None])[0] == OTHER:
            other_grid_changes += 1
    cur = r["cur"]
    if not r["more"]:
        break
leaked = seen & OTHER_IDS
result("pull_has_no_other_grid_record", not leaked and other_grid_changes == 0 and OTHER_IDS,
       "%d of the other grid's %d records pulled, %d changes with its grid"
       % (len(leaked), len(OTHER_IDS), other_grid_changes))

# 2. write: a new record into the other grid, an edit of its record, a move into it
before = records(OTHER)
seq = 100000 + int(time.time()) % 100000
own = uuid7()
cases = [
    ("push_into_other_grid", {"t": "resident", "id": uuid7(), "f": {"grid": [OTHER, 0],
                                                                  "name": ["越权", 0]}}),
    ("edit_other_grid_record", {"t": "resident", "id": sorted(OTHER_IDS)[0],
                                "f": {"name": ["越权修改", 99]}}),
    ("delete_other_grid_record", {"t": "resident", "id": sorted(OTHER_IDS)[0],
                                  "f": {"deleted": [True, 99]}}),
]
changes = []
for i, (_, c) in enumerate(cases):
    c.update(seq=seq + i, hlc=hlc())
    changes.append(c)
st, r = sync(changes)
if st != 200:
    result("push_answered", False, "status %s %r" % (st, r[:200]))
else:
    for (name, _), a in zip(cases, r["ack"]):
        result(name + "_rejected", a.get("ok") is False, "ack %r" % a)
result("other_grid_unchanged", records(OTHER) == before, "%s -> %s" % (before, records(OTHER)))
# its own record, then moved to the other grid
st, r = sync([{"seq": seq + 10, "t": "resident", "id": own, "hlc": hlc(),
               "f": {"grid": [OWN, 0], "name": ["自己的", 0]}}])
ver = r["ack"][0].get("ver", 0) if st == 200 else 0
st, r = sync([{"seq": seq + 11, "t": "resident", "id": own, "hlc": hlc(),
               "f": {"grid": [OTHER, ver]}}])
result("move_into_other_grid_rejected", st == 200 and r["ack"][0].get("ok") is False,
       "status %s %r" % (st, r))
result("other_grid_still_unchanged", records(OTHER) == before, "%s -> %s" % (before, records(OTHER)))

# 2b. references: a resident of the other grid is answered like one that does not exist
db = sqlite3.connect("file:%s?mode=ro" % SDB, uri=True)
foreign = db.execute("SELECT id FROM records WHERE grid = ? AND tbl = 'resident' LIMIT 1",
                     (OTHER,)).fetchone()[0]
db.close()
ghost = uuid7()
now_s = int(time.time() * 1000)  # ms, like every time field
refs = []
for target in (foreign, ghost):
    refs.append({"t": "visit", "id": uuid7(), "f": {
        "resident": [target, 0], "grid": [OWN, 0], "worker": ["w", 0],
        "visited_at": [now_s, 0], "kind": ["routine", 0]}})
    refs.append({"t": "care", "id": uuid7(), "f": {
        "resident": [target, 0], "grid": [OWN, 0], "category": ["meal", 0],
        "priority": ["normal", 0], "status": ["open", 0], "requested_at": [now_s, 0]}})
for i, c in enumerate(refs):
    c.update(seq=seq + 20 + i, hlc=hlc())
st, r = sync(refs)
if st != 200:
    result("ref_push_answered", False, "status %s %r" % (st, r[:200]))
else:
    def shape(a, target):
        h = target.hex()
        text = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
        return (a.get("ok"), a.get("err"), str(a.get("msg", "")).replace(text, "ID"))
    acks = r["ack"]
    for k, name in ((0, "visit"), (1, "care")):
        a_f, a_g = shape(acks[k], foreign), shape(acks[k + 2], ghost)
        result(name + "_of_other_grid_resident_not_found",
               a_f[0] is False and a_f[1] == "not_found", "ack %r" % acks[k])
        result(name + "_other_grid_same_answer_as_unknown", a_f == a_g, "%r vs %r" % (a_f, a_g))
        result(name + "_other_grid_not_named", OTHER not in a_f[2], "msg %r" % (a_f[2],))
result("other_grid_unchanged_by_refs", records(OTHER) == before,
       "%s -> %s" % (before, records(OTHER)))

# 3. the admin API
for method, path in [("GET", "/v1/admin/devices"), ("GET", "/v1/admin/status"),
                     ("GET", "/v1/admin/conflicts"), ("POST", "/v1/admin/devices"),
                     ("POST", "/v1/admin/devices/%s/revoke" % DEV),
                     ("GET", "/v1/admin/dashboard"), ("GET", "/v1/admin/warnings"),
                     ("GET", "/v1/admin/records?type=visit"),
                     ("POST", "/v1/admin/warnings/0190f5a4-7b3c-7def-8a12-3456789abcde/ack")]:
    body = b'{"grids":["%s"],"name":"x"}' % OTHER.encode() if method == "POST" else b""
    st, r = exchange(method, path, body, ctype="application/json")
    result("admin_%s_%s_refused" % (method.lower(), path.split("?")[0].rsplit("/", 1)[-1]),
           st in (401, 403),
           "status %s %r" % (st, r[:200]))
sys.exit(1 if fails else 0)
