#!/usr/bin/env python3
"""faults_authz_roles: the admin API's authorization matrix, roles x endpoints x own/other
town (issue 20), with raw requests.

usage: faults_authz_roles.py PORT CA COUNTY_TOKEN OWN_GRID OTHER_GRID

As the county admin it registers two towns (OWN_GRID in 迟营镇, OTHER_GRID in 河西镇), makes
two devices per grid and one conflict per grid (a stale edit through raw syncs), then a town
admin of 迟营镇, a viewer, and a town admin it revokes. Then every endpoint is called by
every role on the own and the other town's object, in an order where writes cannot hide each
other, and the status must be the one the matrix says:
  county   everything (201/200; 409 for a conflict another role resolved first)
  town     its town 200/201; the other town's object 404 (never 403); registry/admins 403
  viewer   reads 200 everywhere; every write 403
  revoked  401 everywhere, and no token 401
Lists are checked for what they hold: a town admin's lists name no object of the other town.
Prints "ok NAME" / "not ok NAME: why".
"""
import json
import os
import sys
import time
import urllib.parse

import msgpack

import faultlib

PORT, CA, COUNTY, OWN, OTHER = sys.argv[1:6]
PORT = int(PORT)
TOWN_OWN, TOWN_OTHER = "迟营镇", "河西镇"
fails = 0
checked = 0


def result(name, good, why=""):
    global fails, checked
    checked += 1
    if good:
        print("ok authz_roles_" + name)
    else:
        fails += 1
        print("not ok authz_roles_%s: %s" % (name, why))


def exchange(method, path, body=b"", token=None, ctype="application/json"):
    return faultlib.exchange(PORT, CA, method, path, body, token, ctype)


def admin(token, method, path, body=None):
    raw = json.dumps(body).encode() if body is not None else (b"" if method == "GET" else b"{}")
    st, r = exchange(method, "/v1/admin" + path, raw, token)
    try:
        return st, json.loads(r) if r else None
    except ValueError:
        return st, r


def must(token, method, path, body=None, want=(200, 201)):
    st, r = admin(token, method, path, body)
    if st not in want:
        print("not ok authz_roles_setup: %s %s -> %s %r" % (method, path, st, r))
        sys.exit(1)
    return r


def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def hlc():
    time.sleep(0.002)
    return int(time.time() * 1000) << 16


def sync(dev, changes):
    m = {"v": 1, "dev": dev["id"], "cur": 0, "low": 1, "now": hlc(), "ch": changes}
    st, body = exchange("POST", "/v1/sync", msgpack.packb(m, use_bin_type=True), dev["token"],
                        "application/vnd.msgpack")
    if st != 200:
        print("not ok authz_roles_setup: sync %s %r" % (st, body[:200]))
        sys.exit(1)
    return msgpack.unpackb(body, raw=False)


def q(s):
    return urllib.parse.quote(s, safe="")


# ---- the county sets the scene -------------------------------------------------------------
for town, grid in ((TOWN_OWN, OWN), (TOWN_OTHER, OTHER)):
    must(COUNTY, "POST", "/towns", {"name": town}, (201, 409))
    must(COUNTY, "POST", "/grids", {"code": grid, "name": grid, "village": grid + "村",
                                    "town": town}, (201, 409))
devs, conflicts = {}, {}
for grid in (OWN, OTHER):
    x = must(COUNTY, "POST", "/devices", {"grids": [grid], "name": "x"})
    y = must(COUNTY, "POST", "/devices", {"grids": [grid], "name": "y"})
    rid = uuid7()
    sync(x, [{"seq": 1, "t": "resident", "id": rid, "hlc": hlc(),
              "f": {"grid": [grid, 0], "name": ["原名", 0]}}])
    sync(y, [{"seq": 1, "t": "resident", "id": rid, "hlc": hlc(), "f": {"name": ["改名", 0]}}])
    devs[grid] = x["id"]
    cl = must(COUNTY, "GET", "/conflicts?state=all&grid=" + q(grid))["conflicts"]
    if not cl:
        print("not ok authz_roles_setup: no conflict in %s" % grid)
        sys.exit(1)
    conflicts[grid] = cl[0]["id"]
enrols = {g: must(COUNTY, "POST", "/enrolments", {"grids": [g], "name": "e"})["id"]
          for g in (OWN, OTHER)}
town = must(COUNTY, "POST", "/admins", {"name": "镇管理员", "role": "town", "towns": [TOWN_OWN]})
viewer = must(COUNTY, "POST", "/admins", {"name": "只读", "role": "viewer"})
gone = must(COUNTY, "POST", "/admins", {"name": "已撤销", "role": "town", "towns": [TOWN_OWN]})
must(COUNTY, "POST", "/admins/%s/revoke" % gone["id"])
ROLES = {"town": town["token"], "viewer": viewer["token"], "revoked": gone["token"],
         "none": None, "county": COUNTY}

# ---- the matrix ------------------------------------------------------------------------------
# (name, method, path(grid, town), body(grid, town), {role: (own, other)}); the order of the
# roles is that of ROLE_ORDER, so that a write by one role is not undone by the next.
ROLE_ORDER = ["none", "revoked", "viewer", "town", "county"]
R, W = "read", "write"
N = 999999
MATRIX = [
    ("devices_list", "GET", lambda g, t: "/devices", None,
     {"county": (200, 200), "town": (200, 200), "viewer": (200, 200)}),
    ("status", "GET", lambda g, t: "/status", None,
     {"county": (200, 200), "town": (200, 200), "viewer": (200, 200)}),
    ("conflicts_list", "GET", lambda g, t: "/conflicts?state=all&grid=" + q(g), None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("conflict_show", "GET", lambda g, t: "/conflicts/%d" % conflicts[g], None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("conflict_resolve", "POST", lambda g, t: "/conflicts/%d/resolve" % conflicts[g],
     lambda g, t: {"keep": "winner", "note": "authz"},
     {"county": (409, 200), "town": (200, 404), "viewer": (403, 403)}),
    ("dashboard", "GET", lambda g, t: "/dashboard?grid=" + q(g), None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("warnings", "GET", lambda g, t: "/warnings?grid=" + q(g), None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("export_residents", "GET", lambda g, t: "/records?type=resident&grid=" + q(g), None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("warning_ack", "POST", lambda g, t: "/warnings/0190f5a4-7b3c-7def-8a12-3456789abcde/ack",
     lambda g, t: {"note": "x"}, {"county": (404, 404), "town": (404, 404), "viewer": (403, 403)}),
    ("device_add", "POST", lambda g, t: "/devices", lambda g, t: {"grids": [g], "name": "m"},
     {"county": (201, 201), "town": (201, 404), "viewer": (403, 403)}),
    ("device_revoke", "POST", lambda g, t: "/devices/%s/revoke" % devs[g], None,
     {"county": (200, 200), "town": (200, 404), "viewer": (403, 403)}),
    ("device_rename", "POST", lambda g, t: "/devices/%s/rename" % devs[g],
     lambda g, t: {"name": "改名"},
     {"county": (200, 200), "town": (200, 404), "viewer": (403, 403)}),
    ("enrolment_add", "POST", lambda g, t: "/enrolments",
     lambda g, t: {"grids": [g], "name": "q"},
     {"county": (201, 201), "town": (201, 404), "viewer": (403, 403)}),
    ("enrolments_list", "GET", lambda g, t: "/enrolments", None,
     {"county": (200, 200), "town": (200, 200), "viewer": (200, 200)}),
    ("enrolment_revoke", "POST", lambda g, t: "/enrolments/%s/revoke" % enrols[g], None,
     {"county": (200, 200), "town": (200, 404), "viewer": (403, 403)}),
    ("grids_list", "GET", lambda g, t: "/grids?town=" + q(t), None,
     {"county": (200, 200), "town": (200, 404), "viewer": (200, 200)}),
    ("towns_list", "GET", lambda g, t: "/towns", None,
     {"county": (200, 200), "town": (200, 200), "viewer": (200, 200)}),
    ("grid_add", "POST", lambda g, t: "/grids",
     lambda g, t: {"code": g + "-new-" + os.urandom(3).hex(), "name": "n", "village": "v",
                   "town": t},
     {"county": (201, 201), "town": (403, 403), "viewer": (403, 403)}),
    ("grid_move", "POST", lambda g, t: "/grids/move", lambda g, t: {"code": g, "village": "新村"},
     {"county": (200, 200), "town": (403, 403), "viewer": (403, 403)}),
    ("grid_import", "POST", lambda g, t: "/grids/import",
     lambda g, t: {"grids": [{"code": g, "name": g, "village": "v", "town": t}]},
     {"county": (200, 200), "town": (403, 403), "viewer": (403, 403)}),
    ("town_add", "POST", lambda g, t: "/towns", lambda g, t: {"name": t + os.urandom(3).hex()},
     {"county": (201, 201), "town": (403, 403), "viewer": (403, 403)}),
    ("admins_list", "GET", lambda g, t: "/admins", None,
     {"county": (200, 200), "town": (403, 403), "viewer": (403, 403)}),
    ("admin_add", "POST", lambda g, t: "/admins",
     lambda g, t: {"name": "a" + os.urandom(4).hex(), "role": "town", "towns": [t]},
     {"county": (201, 201), "town": (403, 403), "viewer": (403, 403)}),
    ("admin_revoke", "POST", lambda g, t: "/admins/%s/revoke" % gone["id"], None,
     {"county": (200, 200), "town": (403, 403), "viewer": (403, 403)}),
]
for name, method, path, body, want in MATRIX:
    for role in ROLE_ORDER:
        for side, (g, t) in (("own", (OWN, TOWN_OWN)), ("other", (OTHER, TOWN_OTHER))):
            expect = 401 if role in ("none", "revoked") else want[role][0 if side == "own" else 1]
            b = body(g, t) if body else None
            st, r = admin(ROLES[role], method, path(g, t), b)
            result("%s_%s_%s_%d" % (name, role, side, expect), st == expect,
                   "%s %s -> %s, want %s: %r" % (method, path(g, t), st, expect, r))

# ---- what a town admin's lists hold -----------------------------------------------------------
T = ROLES["town"]
_, r = admin(T, "GET", "/devices")
grids = {g for d in r["devices"] for g in d["grids"]}
result("town_devices_list_own_only", grids == {OWN}, "grids %r" % grids)
_, r = admin(T, "GET", "/status")
result("town_status_own_only", {g["grid"] for g in r["grids"]} == {OWN}, "%r" % r["grids"])
_, r = admin(T, "GET", "/conflicts?state=all")
result("town_conflicts_own_only", {c["grid"] for c in r["conflicts"]} == {OWN}, "%r" % r)
_, r = admin(T, "GET", "/records?type=resident")
result("town_export_own_only", {x["grid"] for x in r["records"]} <= {OWN} and r["records"],
       "%r" % {x["grid"] for x in r["records"]})
_, r = admin(T, "GET", "/dashboard")
result("town_dashboard_own_only", {g["grid"] for g in r["grids"]} <= {OWN}, "%r" % r["grids"])
_, r = admin(T, "GET", "/grids")
result("town_grids_own_only", {g["town"] for g in r["grids"]} == {TOWN_OWN}, "%r" % r["grids"])
_, r = admin(T, "GET", "/enrolments")
eg = {g for e in r["enrolments"] for g in e["grids"]}
result("town_enrolments_own_only", eg == {OWN}, "grids %r" % eg)
_, r = admin(T, "GET", "/towns")
result("town_towns_own_only", [x["name"] for x in r["towns"]] == [TOWN_OWN], "%r" % r["towns"])
_, r = admin(ROLES["viewer"], "GET", "/conflicts?state=all")
result("viewer_conflicts_all_towns", {c["grid"] for c in r["conflicts"]} >= {OWN, OTHER}, "%r" % r)
print("# %d authorization checks: %d roles x %d endpoints x own/other town" %
      (checked, len(ROLE_ORDER), len(MATRIX)))
sys.exit(1 if fails else 0)
