#!/usr/bin/env python3
"""proto_gen_vectors.py: writes the protocol test vectors (proto/vectors/) and the libFuzzer
seed corpus (tests/fuzz/corpus/proto/). Run from the repository root:

    /usr/bin/python3 tests/integration/proto_gen_vectors.py   # needs python3-msgpack

Output is deterministic: running it twice gives the same files, so `git status` shows any
change. Valid vectors are written by python3-msgpack (an implementation independent of the
C codec); tests/unit/test_proto.c checks that the C encoder produces the same bytes.
Invalid and non-canonical ("lax") vectors are assembled by hand with enc() below, which
can write duplicate keys, odd key orders and wide int encodings that packb() never makes.
See proto/vectors/README.md for the layout and the JSON conventions.
"""
import hashlib
import json
import os
import random
import shutil
import struct
import sys

import msgpack

ROOT = os.environ.get("GS_ROOT", ".")
VEC = os.path.join(ROOT, "proto", "vectors")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "proto")

# ---- encoding helpers -------------------------------------------------------------------


class Raw(bytes):
    """Bytes placed into a message as they are."""


class Pairs(list):
    """A map as a list of (key, value): allows duplicate keys and any order."""


def map_hdr(n):
    if n < 16:
        return bytes([0x80 | n])
    if n < 65536:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


def arr_hdr(n):
    if n < 16:
        return bytes([0x90 | n])
    if n < 65536:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def enc(o):
    if isinstance(o, Raw):
        return bytes(o)
    if isinstance(o, Pairs):
        return map_hdr(len(o)) + b"".join(enc(k) + enc(v) for k, v in o)
    if isinstance(o, dict):
        return map_hdr(len(o)) + b"".join(enc(k) + enc(v) for k, v in o.items())
    if isinstance(o, (list, tuple)):
        return arr_hdr(len(o)) + b"".join(enc(x) for x in o)
    return msgpack.packb(o, use_bin_type=True)


def wire(j):
    """JSON meaning -> the Python object msgpack writes."""
    if isinstance(j, dict):
        if list(j.keys()) == ["$bin"]:
            return bytes.fromhex(j["$bin"])
        return {k: wire(v) for k, v in j.items()}
    if isinstance(j, list):
        return [wire(x) for x in j]
    return j


# wide encodings of ints, for lax vectors
def u8(v): return Raw(b"\xcc" + struct.pack(">B", v))
def u16(v): return Raw(b"\xcd" + struct.pack(">H", v))
def u32(v): return Raw(b"\xce" + struct.pack(">I", v))
def u64(v): return Raw(b"\xcf" + struct.pack(">Q", v))
def i8(v): return Raw(b"\xd0" + struct.pack(">b", v))
def i16(v): return Raw(b"\xd1" + struct.pack(">h", v))
def i32(v): return Raw(b"\xd2" + struct.pack(">i", v))
def i64(v): return Raw(b"\xd3" + struct.pack(">q", v))
def f32(v): return Raw(b"\xca" + struct.pack(">f", v))
def str16(s): b = s.encode(); return Raw(b"\xda" + struct.pack(">H", len(b)) + b)
def str32(s): b = s.encode(); return Raw(b"\xdb" + struct.pack(">I", len(b)) + b)
def bin32(h): b = bytes.fromhex(h); return Raw(b"\xc6" + struct.pack(">I", len(b)) + b)
def arr32(items): return Raw(b"\xdd" + struct.pack(">I", len(items)) + b"".join(enc(x) for x in items))
def map16(pairs): return Raw(b"\xde" + struct.pack(">H", len(pairs)) + b"".join(enc(k) + enc(v) for k, v in pairs))


def B(h):
    return {"$bin": h}


# ---- the data ------------------------------------------------------------------------------

MS = 1764201600000                   # 2025-11-27T00:00:00Z
def hlc(ms_after, counter=0): return ((MS + ms_after) << 16) | counter

RES1 = "019ac5e0a0007a1b8c2d3e4f50617283"
RES2 = "019ac5e0a4e87b2c9d3e4f5061728394"
VIS1 = "019ac5e1c2107c3da04f5061728394a5"
CARE1 = "019ac5e2f8a07d4eb15061728394a5b6"
VIS2 = "019ac5e3000a7e5fc26172839405b6c7"


def req(ch, **kw):
    m = {"v": 1, "dev": "hh-0042", "cur": kw.get("cur", 0), "low": kw.get("low", 1),
         "now": kw.get("now", hlc(60000))}
    if kw.get("max"):
        m["max"] = kw["max"]
    m["ch"] = ch
    return m


def change(seq, t, rid, h, f, ct=None):
    c = {}
    if seq is not None:
        c["seq"] = seq
    c.update({"t": t, "id": B(rid), "hlc": h})
    if ct is not None:
        c["ct"] = ct
    c["f"] = f
    return c


VISIT_CREATE = change(1, "visit", VIS1, hlc(1000, 0), {
    "resident": [B(RES1), 0],
    "grid": ["dongshan-03", 0],
    "worker": ["张伟", 0],
    "visited_at": [MS + 1000, 0],
    "kind": ["elderly_checkin", 0],
    "notes": ["李奶奶血压正常，需要送药。", 0],
    "follow_up": [True, 0],
    "lat": [29.5630, 0],
    "lon": [106.5516, 0],
})

RESIDENT_CREATE = change(2, "resident", RES2, hlc(2000, 3), {
    "name": ["王秀英", 0],
    "address": ["东山村3组12号", 0],
    "born": [1941, 0],
    "grid": ["dongshan-03", 0],
    "tags": [["lives_alone", "elderly", "chronic_illness"], 0],
})

CARE_UPDATE = change(3, "care", CARE1, hlc(3000, 1), {
    "status": ["done", 41],
    "assignee": [None, 40],
    "resolution": ["已送餐", 0],
})

DELETE = change(4, "visit", VIS2, hlc(4000), {"deleted": [True, 57]})

VALID = {}   # name -> JSON meaning
LAX = {}     # name -> (bytes, JSON meaning)
INVALID = {} # name -> (bytes, error code, why)

# the two examples annotated byte by byte in PROTOCOL.md section 7
VALID["req_example"] = {"v": 1, "dev": "hh-7", "cur": 120, "low": 4, "now": hlc(0, 1),
                        "ch": [change(4, "visit", VIS1, hlc(0), {"kind": ["routine", 0],
                                                                 "lat": [29.5, 0]})]}
VALID["req_empty"] = req([])
VALID["req_visit_create"] = req([VISIT_CREATE])
VALID["req_resident_tags"] = req([dict(RESIDENT_CREATE, seq=1)])
VALID["req_care_update_clear"] = req([dict(CARE_UPDATE, seq=1)], cur=57)
VALID["req_delete"] = req([dict(DELETE, seq=1)], cur=57)
VALID["req_batch"] = req([dict(VISIT_CREATE, seq=7), dict(RESIDENT_CREATE, seq=8),
                          dict(CARE_UPDATE, seq=10)], low=7, cur=1234, max=200)
VALID["req_version_2"] = dict(req([]), v=2)
VALID["req_int_extremes"] = req([change(1, "visit", VIS1, 2**63 - 1, {
    "a": [-(2**63), 2**63 - 1], "b": [2**63 - 1, 0], "c": [-1, 1], "d": [-32, 127],
    "e": [-33, 128], "g": [-129, 256], "h": [-32769, 65536], "i": [-(2**31) - 1, 2**32],
    "j": [0, 0]})], cur=2**63 - 1, low=1, now=2**63 - 1)
VALID["req_value_kinds"] = req([change(1, "visit", VIS1, hlc(1), {
    "nil": [None, 0], "t": [True, 0], "f": [False, 0], "zero": [0.0, 0], "negzero": [-0.0, 0],
    "pi": [3.141592653589793, 0], "tiny": [5e-324, 0], "huge": [1.7976931348623157e308, 0],
    "empty": ["", 0], "list0": [[], 0], "ref": [B(RES1), 0], "str31": ["x" * 31, 0],
    "str32": ["y" * 32, 0], "str255": ["z" * 255, 0], "str256": ["w" * 256, 0]})])
VALID["req_limits"] = dict(req([change(1, "t" * 64, VIS1, hlc(1), {
    ("f%02d" % i) + "_" * 61: [i, i] for i in range(64)})]), dev="d" * 64)
VALID["req_limits_values"] = req([change(1, "visit", VIS1, hlc(1), {
    "notes": ["文" * 1333 + "x", 0], "tags": [["t%02d" % i + "x" * 61 for i in range(32)], 0],
    "n" * 64: [None, 0]})])

ACK_OK = {"seq": 7, "ok": True, "ver": 1301}
ACK_LOST = {"seq": 8, "ok": True, "ver": 1302,
            "lost": {"address": ["东山村3组14号", 1299], "tags": [["elderly"], 1300]}}
ACK_REJ = {"seq": 10, "ok": False, "err": "out_of_scope",
           "msg": "care record is in grid xishan-01, not one of this device's grids"}

PULL1 = change(None, "resident", RES1, hlc(500, 2), {
    "name": ["刘建国", 880], "grid": ["dongshan-03", 880], "born": [1950, 912]})
PULL2 = change(None, "care", CARE1, hlc(3500), {
    "status": ["in_progress", 1288], "priority": ["urgent", 1288], "due_at": [MS + 86400000, 1290]})
PULL3 = change(None, "visit", VIS2, hlc(4500), {"deleted": [True, 1295]})


def resp(acks, ch, cur, more, now=hlc(61000, 5)):
    return {"v": 1, "now": now, "ack": acks, "ch": ch, "cur": cur, "more": more}


VALID["resp_example"] = resp([{"seq": 4, "ok": True, "ver": 121}],
                             [change(None, "care", CARE1, hlc(-5000), {"status": ["done", 119]})],
                             121, False, now=hlc(2, 0))
VALID["resp_empty"] = resp([], [], 0, False)
VALID["resp_acks"] = resp([ACK_OK, ACK_LOST, ACK_REJ], [], 1302, False)
VALID["resp_pull"] = resp([], [PULL1, PULL2, PULL3], 1295, True)
VALID["resp_mixed"] = resp([ACK_OK], [PULL1], 1301, False)
VALID["resp_rejections"] = resp([
    {"seq": s, "ok": False, "err": e, "msg": m} for s, e, m in [
        (1, "invalid", "visit.kind: 'walk' is not one of routine, elderly_checkin"),
        (2, "clock_ahead", "device clock is 3 h 0 min 12 s ahead of the server (at most 300 s "
                           "allowed): set the date and time on the handheld, then retry the change"),
        (3, "not_found", ""), (4, "immutable", "care.resident cannot change")]], [], 9, False)
VALID["resp_version_2_big_cursor"] = resp([], [], 2**63 - 1, True, now=2**63 - 1)
VALID["resp_version_2_big_cursor"]["v"] = 2
VALID["resp_version_2_big_cursor"]["clk"] = 2**48 - 1

# version 2: one clock per field. A device edited care1's resolution at +10 s and its notes at
# +30 s before syncing: one change (hlc = its first edit), notes carrying its own clock.
VALID["req_v2_field_clocks"] = dict(req([change(5, "care", CARE1, hlc(10000), {
    "resolution": ["已送餐", 41], "notes": ["下周再去", 40, hlc(30000)]})], low=5, cur=41), v=2)


def resp2(acks, ch, cur, more, clk, fix=None, now=hlc(61000, 5)):
    m = dict(resp(acks, ch, cur, more, now=now), v=2, clk=clk)
    if fix:
        m["fix"] = fix
    return m


# the answer: resolution lost to another device's later edit (with that edit's clock), a
# pulled record whose fields came from two edits (and its creation clock, ct), and the
# server's state of a record whose change was refused, and of one the server never had
VALID["resp_v2_clocks_and_fix"] = resp2(
    [{"seq": 5, "ok": True, "ver": 60, "lost": {"resolution": ["已上门", 58, hlc(20000)]}},
     {"seq": 6, "ok": False, "err": "clock_ahead",
      "msg": "device clock is 3 days 0 h 0 min 2 s ahead of the server (at most 300 s allowed): "
             "set the date and time on the handheld, then retry the change"},
     {"seq": 7, "ok": False, "err": "invalid", "msg": "resident.name: is required"}],
    [change(None, "resident", RES1, hlc(25000), {
        "name": ["刘建国", 59, hlc(500)], "phone": ["13800000000", 59]}, ct=hlc(500))],
    60, False, MS + 61000,
    fix=[{"t": "visit", "id": B(VIS1), "ct": hlc(1000),
          "f": {"kind": ["routine", 12, hlc(1000)], "notes": ["好", 13, hlc(1500)],
                "deleted": [False, 14, hlc(1600)]}},
         {"t": "resident", "id": B(RES2), "f": {}}])

# version 3: the store's epoch "ep" after clk (PROTOCOL.md 2.9), here with a record state
VALID["resp_v3_epoch"] = dict(resp2([{"seq": 8, "ok": True, "ver": 61}], [], 61, False, MS + 62000),
                              v=3)
VALID["resp_v3_epoch"]["ep"] = 2**62 - 5
VALID["resp_v3_epoch"]["fix"] = [{"t": "resident", "id": B(RES2), "f": {}}]

VALID["error_too_large"] = {"err": "too_large", "msg": "body of 9000000 bytes, at most 8388608 allowed"}
VALID["error_upgrade_required"] = {"err": "upgrade_required",
                                   "msg": "protocol version 1 is no longer accepted; update the app",
                                   "min_v": 2}
VALID["error_auth"] = {"err": "auth", "msg": "令牌已被撤销，请重新登记设备"}
VALID["error_empty_msg"] = {"err": "server", "msg": ""}

# ---- lax: valid, but not how our encoder writes them ---------------------------------------

BASE = req([change(5, "visit", VIS1, 1000, {"kind": ["routine", 0], "lat": [0.5, 9]})], low=5)

LAX["req_wide_ints"] = (enc(Pairs([
    ("v", u64(1)), ("dev", "hh-0042"), ("cur", u32(0)), ("low", i8(5)), ("now", u16(hlc(60000) & 0xFFFF)),
    ("ch", [Pairs([("seq", i64(5)), ("t", "visit"), ("id", Raw(enc(wire(B(VIS1))))),
                   ("hlc", u64(1000)), ("f", Pairs([("kind", ["routine", u8(0)]), ("lat", [0.5, i16(9)])]))])])])),
    dict(BASE, now=hlc(60000) & 0xFFFF))
LAX["req_keys_reordered"] = (enc(Pairs([
    ("ch", [Pairs([("f", {"kind": ["routine", 0], "lat": [0.5, 9]}), ("hlc", 1000),
                   ("id", Raw(enc(wire(B(VIS1))))), ("t", "visit"), ("seq", 5)])]),
    ("now", BASE["now"]), ("low", 5), ("cur", 0), ("dev", "hh-0042"), ("v", 1)])), BASE)
LAX["req_float32"] = (enc(Pairs([
    ("v", 1), ("dev", "hh-0042"), ("cur", 0), ("low", 5), ("now", BASE["now"]),
    ("ch", [Pairs([("seq", 5), ("t", "visit"), ("id", Raw(enc(wire(B(VIS1))))), ("hlc", 1000),
                   ("f", Pairs([("kind", ["routine", 0]), ("lat", [f32(0.5), 9])]))])])])), BASE)
_f32_third = struct.unpack(">f", struct.pack(">f", 1 / 3))[0]
LAX["req_float32_inexact"] = (enc(Pairs([
    ("v", 1), ("dev", "hh-0042"), ("cur", 0), ("low", 5), ("now", BASE["now"]),
    ("ch", [Pairs([("seq", 5), ("t", "visit"), ("id", Raw(enc(wire(B(VIS1))))), ("hlc", 1000),
                   ("f", Pairs([("kind", ["routine", 0]), ("lat", [f32(1 / 3), 9])]))])])])),
    req([change(5, "visit", VIS1, 1000, {"kind": ["routine", 0], "lat": [_f32_third, 9]})], low=5))
LAX["req_wide_containers"] = (enc(Pairs([
    ("v", 1), ("dev", str32("hh-0042")), ("cur", 0), ("low", 5), ("now", BASE["now"]),
    ("ch", arr32([map16([("seq", 5), ("t", str16("visit")), ("id", bin32(VIS1)), ("hlc", 1000),
                         ("f", map16([("kind", [str16("routine"), 0]), ("lat", [0.5, 9])]))])]))])),
    BASE)
LAX["req_max_zero"] = (enc(Pairs([
    ("v", 1), ("dev", "hh-0042"), ("cur", 0), ("low", 1), ("now", BASE["now"]), ("max", 0),
    ("ch", [])])), req([]))
LAX["req_tags_wide"] = (enc(Pairs([
    ("v", 1), ("dev", "hh-0042"), ("cur", 0), ("low", 1), ("now", BASE["now"]),
    ("ch", [Pairs([("seq", 1), ("t", "resident"), ("id", Raw(enc(wire(B(RES2))))), ("hlc", 7),
                   ("f", {"tags": [arr32([str16("elderly"), "veteran"]), 0]})])])])),
    req([change(1, "resident", RES2, 7, {"tags": [["elderly", "veteran"], 0]})]))
LAX["resp_lost_empty"] = (enc(Pairs([
    ("v", 1), ("now", 5), ("ack", [Pairs([("seq", 3), ("ok", True), ("ver", 9), ("lost", {})])]),
    ("ch", []), ("cur", 9), ("more", False)])),
    resp([{"seq": 3, "ok": True, "ver": 9}], [], 9, False, now=5))
LAX["resp_keys_reordered"] = (enc(Pairs([
    ("more", True), ("cur", 1302), ("ch", [Pairs([("f", {"grid": ["dongshan-03", 880]}), ("t", "resident"),
                                                   ("hlc", 12), ("id", Raw(enc(wire(B(RES1)))))])]),
    ("ack", [Pairs([("msg", "no"), ("err", "invalid"), ("ok", False), ("seq", u16(10))]),
             Pairs([("ver", 1302), ("lost", {"name": ["x", 1]}), ("ok", True), ("seq", 11)])]),
    ("now", u64(5)), ("v", u8(1))])),
    resp([{"seq": 10, "ok": False, "err": "invalid", "msg": "no"},
          {"seq": 11, "ok": True, "ver": 1302, "lost": {"name": ["x", 1]}}],
         [change(None, "resident", RES1, 12, {"grid": ["dongshan-03", 880]})], 1302, True, now=5))
LAX["error_min_v_zero"] = (enc(Pairs([("err", "busy"), ("msg", "later"), ("min_v", 0)])),
                           {"err": "busy", "msg": "later"})
LAX["error_reordered_wide"] = (enc(Pairs([("min_v", u32(2)), ("msg", str16("update")),
                                          ("err", str32("upgrade_required"))])),
                               {"err": "upgrade_required", "msg": "update", "min_v": 2})

# ---- invalid -------------------------------------------------------------------------------

GOOD_REQ = enc(wire(VALID["req_visit_create"]))
GOOD_RESP = enc(wire(VALID["resp_acks"]))
GOOD_ERR = enc(wire(VALID["error_upgrade_required"]))


def req_with(ch=None, drop=(), **top):
    """A request like req_visit_create with top-level keys replaced (values may be Raw)."""
    base = wire(VALID["req_visit_create"])
    pairs = Pairs()
    for k, v in base.items():
        if k in drop:
            continue
        if k == "ch" and ch is not None:
            v = ch
        pairs.append((k, top.pop(k, v)))
    for k, v in top.items():
        pairs.append((k, v))
    return enc(pairs)


def one_change(**kw):
    """The visit change with keys replaced, removed (value DROP) or added."""
    c = Pairs()
    base = wire(VISIT_CREATE)
    for k, v in base.items():
        if k in kw:
            v = kw.pop(k)
            if v is DROP:
                continue
        c.append((k, v))
    for k, v in kw.items():
        c.append((k, v))
    return [c]


def with_field(name, pair):
    f = dict(wire(VISIT_CREATE)["f"])
    f[name] = pair
    return one_change(f=f)


DROP = object()
VID = wire(B(VIS1))


def bad(name, data, code, why):
    INVALID[name] = (data, code, why)


# not MessagePack, or not a map at the top
bad("req_byte_c1", b"\xc1", "malformed", "0xc1 is never used in MessagePack")
bad("req_c1_inside", GOOD_REQ[:20] + b"\xc1" + GOOD_REQ[21:], "malformed", "0xc1 in the middle")
bad("req_top_array", enc([1, "hh-0042"]), "malformed", "top object is an array, not a map")
bad("req_top_int", b"\x01", "malformed", "top object is an int")
bad("req_json_text", b'{"v":1,"dev":"hh-0042"}', "malformed", "JSON instead of MessagePack")
bad("resp_top_nil", b"\xc0", "malformed", "top object is nil")
bad("error_top_str", enc("too_large"), "malformed", "top object is a str")
# duplicate keys
bad("req_dup_top_key", enc(Pairs([("v", 1), ("v", 1)] + list(wire(VALID["req_empty"]).items())[1:])),
    "malformed", "key v given twice")
bad("req_dup_change_key", req_with(ch=[Pairs(list(wire(VISIT_CREATE).items()) + [("t", "visit")])]),
    "malformed", "change key t given twice")
bad("req_dup_field", req_with(ch=one_change(f=Pairs([("kind", ["routine", 0]), ("kind", ["dispute", 0])]))),
    "malformed", "field kind given twice in f")
bad("resp_dup_lost_field", enc(wire(resp([{"seq": 1, "ok": True, "ver": 2, "lost": Raw(enc(Pairs([
    ("a", [1, 1]), ("a", [2, 2])])))}], [], 2, False))), "malformed", "lost field given twice")
bad("error_dup_key", enc(Pairs([("err", "busy"), ("msg", "a"), ("msg", "b")])), "malformed",
    "msg given twice")
# protocol order rules
bad("req_seq_not_rising", enc(wire(req([dict(VISIT_CREATE, seq=5), dict(DELETE, seq=5)]))),
    "malformed", "seq 5 twice in one batch")
bad("req_seq_falling", enc(wire(req([dict(VISIT_CREATE, seq=6), dict(DELETE, seq=2)]))),
    "malformed", "seq 2 after seq 6")
bad("req_seq_below_low", enc(wire(req([dict(VISIT_CREATE, seq=3)], low=4))), "malformed",
    "seq 3 is below low 4, so already settled")
bad("resp_ack_seq_not_rising", enc(wire(resp([ACK_LOST, ACK_OK], [], 9, False))), "malformed",
    "acks out of request order")
# wrong types
bad("req_v_str", req_with(v="1"), "wrong_type", "v is a str")
bad("req_v_negative", req_with(v=-1), "wrong_type", "v is a negative int")
bad("req_v_float", req_with(v=1.0), "wrong_type", "v is a float")
bad("req_cur_nil", req_with(cur=None), "wrong_type", "cur is nil")
bad("req_dev_bin", req_with(dev=b"hh-0042"), "wrong_type", "dev is bin, not str")
bad("req_ch_map", req_with(ch={}), "wrong_type", "ch is a map")
bad("req_change_not_map", req_with(ch=[[1, 2]]), "wrong_type", "a change is an array")
bad("req_id_15_bytes", req_with(ch=one_change(id=VID[:15])), "wrong_type", "id is bin 15")
bad("req_id_17_bytes", req_with(ch=one_change(id=VID + b"\x00")), "wrong_type", "id is bin 17")
bad("req_id_str", req_with(ch=one_change(id=VIS1)), "wrong_type", "id is the hex text, not bin")
bad("req_seq_negative", req_with(ch=one_change(seq=-5)), "wrong_type", "seq is negative")
bad("req_hlc_float", req_with(ch=one_change(hlc=1.5)), "wrong_type", "hlc is a float")
bad("req_f_array", req_with(ch=one_change(f=[["kind", "routine", 0]])), "wrong_type", "f is an array")
bad("req_field_not_pair", req_with(ch=with_field("kind", "routine")), "wrong_type",
    "field value not wrapped in [value, base]")
bad("req_field_quad", req_with(ch=with_field("kind", ["routine", 0, 0, 0])), "wrong_type",
    "field is [value, base, hlc, extra]")
bad("req_field_hlc_str", req_with(ch=with_field("kind", ["routine", 0, "now"])), "wrong_type",
    "a field's clock is a str")
bad("req_ct_pushed", req_with(ch=one_change(ct=5)), "unknown_field",
    "ct (the record's creation clock) is only in pulled changes")
V3 = VALID["resp_v3_epoch"]
bad("resp_v3_no_ep", enc(wire({k: v for k, v in V3.items() if k != "ep"})), "missing_field",
    "a version 3 response without ep")
bad("resp_v3_ep_zero", enc(wire(dict(V3, ep=0))), "over_limit", "an epoch is never 0")
bad("resp_v3_ep_str", enc(wire(dict(V3, ep="1"))), "wrong_type", "ep is a uint")
V2 = VALID["resp_v2_clocks_and_fix"]
bad("resp_v2_no_clk", enc(wire({k: v for k, v in V2.items() if k != "clk"})), "missing_field",
    "a version 2 response without clk")
bad("resp_fix_pair", enc(wire(dict(V2, fix=[{"t": "visit", "id": B(VIS1), "ct": 3,
                                              "f": {"kind": ["routine", 12]}}]))), "wrong_type",
    "a record state's field without its clock")
bad("resp_fix_hlc", enc(wire(dict(V2, fix=[{"t": "visit", "id": B(VIS1), "hlc": 3, "f": {}}]))),
    "unknown_field", "a record state has no change clock")
bad("resp_fix_seq", enc(wire(dict(V2, fix=[{"seq": 1, "t": "visit", "id": B(VIS1), "f": {}}]))),
    "unknown_field", "a record state has no seq")
bad("resp_fix_not_array", enc(wire(dict(V2, fix={}))), "wrong_type", "fix is a map")
bad("req_field_single", req_with(ch=with_field("kind", ["routine"])), "wrong_type",
    "field is [value] without base")
bad("req_base_negative", req_with(ch=with_field("kind", ["routine", -1])), "wrong_type",
    "base is negative")
bad("req_base_nil", req_with(ch=with_field("kind", ["routine", None])), "wrong_type", "base is nil")
bad("req_value_map", req_with(ch=with_field("kind", [{"a": 1}, 0])), "wrong_type", "value is a map")
bad("req_value_ext", req_with(ch=with_field("kind", [Raw(b"\xd4\x01\x00"), 0])), "wrong_type",
    "value is an ext")
bad("req_value_timestamp", req_with(ch=with_field("visited_at", [Raw(b"\xd6\xff\x69\x27\x6b\x00"), 0])),
    "wrong_type", "value is a MessagePack timestamp (ext -1), not int ms")
bad("req_value_bin_15", req_with(ch=with_field("resident", [VID[:15], 0])), "wrong_type",
    "a bin value is 15 bytes")
bad("req_tags_int_item", req_with(ch=with_field("tags", [["elderly", 3], 0])), "wrong_type",
    "an int inside a string list")
bad("req_tags_bin_item", req_with(ch=with_field("tags", [[b"elderly"], 0])), "wrong_type",
    "a bin inside a string list")
bad("req_top_key_int", enc(Pairs([(1, 1)] + list(wire(VALID["req_empty"]).items()))), "wrong_type",
    "a map key is an int")
bad("req_field_name_int", req_with(ch=one_change(f=Pairs([(7, ["routine", 0])]))), "wrong_type",
    "a field name is an int")
bad("resp_more_int", enc(wire(dict(VALID["resp_empty"], more=0))), "wrong_type", "more is 0, not false")
bad("resp_ok_str", enc(wire(resp([{"seq": 1, "ok": "true", "ver": 3}], [], 3, False))), "wrong_type",
    "ok is a str")
bad("resp_ack_array", enc(wire(dict(VALID["resp_empty"], ack={}))), "wrong_type", "ack is a map")
bad("error_min_v_str", enc({"err": "upgrade_required", "msg": "", "min_v": "2"}), "wrong_type",
    "min_v is a str")
bad("error_err_nil", enc({"err": None, "msg": ""}), "wrong_type", "err is nil")
# missing keys
for k in ["v", "dev", "cur", "low", "now", "ch"]:
    bad("req_missing_" + k, req_with(drop=(k,)), "missing_field", "no " + k)
for k in ["seq", "t", "id", "hlc", "f"]:
    bad("req_change_missing_" + k, req_with(ch=one_change(**{k: DROP})), "missing_field",
        "change without " + k)
for k in ["v", "now", "ack", "ch", "cur", "more"]:
    m = dict(wire(VALID["resp_empty"]))
    del m[k]
    bad("resp_missing_" + k, enc(m), "missing_field", "no " + k)
bad("resp_ack_ok_missing_ver", enc(wire(resp([{"seq": 1, "ok": True}], [], 1, False))),
    "missing_field", "accepted ack without ver")
bad("resp_ack_rejected_missing_err", enc(wire(resp([{"seq": 1, "ok": False, "msg": "x"}], [], 1, False))),
    "missing_field", "rejected ack without err")
bad("resp_ack_missing_ok", enc(wire(resp([{"seq": 1, "ver": 3}], [], 1, False))), "missing_field",
    "ack without ok")
bad("resp_change_missing_hlc", enc(wire(resp([], [{k: v for k, v in PULL1.items() if k != "hlc"}], 1, False))),
    "missing_field", "pulled change without hlc")
bad("error_missing_msg", enc({"err": "busy"}), "missing_field", "no msg")
bad("error_missing_err", enc({"msg": "x"}), "missing_field", "no err")
# unknown keys
bad("req_unknown_top_key", req_with(x=1), "unknown_field", "top-level key x")
bad("req_unknown_change_key", req_with(ch=one_change(base=0)), "unknown_field", "change key base")
bad("req_key_case", enc(Pairs([("V", 1)] + list(wire(VALID["req_empty"]).items())[1:])), "unknown_field",
    "V is not v: keys are case-sensitive")
bad("resp_pulled_change_with_seq", enc(wire(resp([], [dict(PULL1, seq=1)], 1, False))), "unknown_field",
    "seq is not sent in a pulled change")
bad("resp_ok_ack_with_err", enc(wire(resp([dict(ACK_OK, err="invalid")], [], 1, False))), "unknown_field",
    "an accepted ack carries err")
bad("resp_rejected_ack_with_ver", enc(wire(resp([dict(ACK_REJ, ver=3)], [], 1, False))), "unknown_field",
    "a rejected ack carries ver")
bad("resp_unknown_key", enc(wire(dict(VALID["resp_empty"], page=1))), "unknown_field", "top-level key page")
bad("error_unknown_key", enc({"err": "busy", "msg": "", "retry": 5}), "unknown_field", "key retry")
# limits
bad("req_v_over_u32", req_with(v=2**32), "over_limit", "v does not fit 32 bits")
bad("req_max_over_u32", req_with(max=2**32), "over_limit", "max does not fit 32 bits")
bad("req_dev_empty", req_with(dev=""), "over_limit", "dev is empty")
bad("req_dev_65", req_with(dev="d" * 65), "over_limit", "dev of 65 bytes")
bad("req_table_65", req_with(ch=one_change(t="t" * 65)), "over_limit", "t of 65 bytes")
bad("req_field_name_65", req_with(ch=with_field("n" * 65, [None, 0])), "over_limit",
    "field name of 65 bytes")
bad("req_str_4001", req_with(ch=with_field("notes", ["x" * 4001, 0])), "over_limit",
    "str value of 4001 bytes")
bad("req_tag_65", req_with(ch=with_field("tags", [["t" * 65], 0])), "over_limit", "tag of 65 bytes")
bad("req_tags_33", req_with(ch=with_field("tags", [["t%d" % i for i in range(33)], 0])), "over_limit",
    "33 tags")
bad("req_fields_65", req_with(ch=one_change(f={"f%d" % i: [i, 0] for i in range(65)})), "over_limit",
    "65 fields in one change")
bad("req_f_empty", req_with(ch=one_change(f={})), "over_limit", "a change with no field")
bad("req_seq_zero", req_with(ch=one_change(seq=0)), "over_limit", "seq 0")
bad("req_int_over_int64", req_with(ch=with_field("born", [2**63, 0])), "over_limit",
    "int value 2^63 does not fit int64")
bad("req_changes_5001", req_with(ch=[None] * 5001), "over_limit",
    "5001 entries in ch (the entries themselves are nil: the count is refused first)")
bad("resp_acks_5001", enc(Pairs([("v", 1), ("now", 1), ("ack", [None] * 5001)])), "over_limit",
    "5001 acks")
bad("resp_ack_seq_zero", enc(wire(resp([dict(ACK_OK, seq=0)], [], 1, False))), "over_limit", "ack seq 0")
bad("resp_lost_65", enc(wire(resp([dict(ACK_OK, lost={"f%d" % i: [i, 1] for i in range(65)})], [], 1, False))),
    "over_limit", "65 lost fields")
bad("error_err_empty", enc({"err": "", "msg": ""}), "over_limit", "empty err")
bad("error_msg_4001", enc({"err": "server", "msg": "m" * 4001}), "over_limit", "msg of 4001 bytes")
bad("error_min_v_over_u32", enc({"err": "upgrade_required", "msg": "", "min_v": 2**32}), "over_limit",
    "min_v does not fit 32 bits")
# versions
bad("req_v_0", req_with(v=0), "version", "v 0 is below the oldest version, 1")
bad("resp_v_0", enc(wire(dict(VALID["resp_empty"], v=0))), "version", "v 0 in a response")
# truncation
bad("req_empty_body", b"", "truncated", "no bytes at all")
bad("req_cut_in_half", GOOD_REQ[:len(GOOD_REQ) // 2], "truncated", "first half of req_visit_create")
bad("req_cut_last_byte", GOOD_REQ[:-1], "truncated", "req_visit_create without its last byte")
bad("req_cut_in_header", b"\x81\xda\x00", "truncated", "ends inside the str 16 header of the first key")
bad("req_str_len_past_end", b"\x81\xa3dev\xdb\xff\xff\xff\xff" + b"x" * 8, "truncated",
    "a str 32 claims 4 GiB")
bad("req_map_count_past_end", b"\xdf\x00\x00\x10\x00", "truncated",
    "a map 32 claims 4096 entries with no bytes left")
bad("resp_cut", GOOD_RESP[:-3], "truncated", "resp_acks without its last 3 bytes")
bad("error_cut", GOOD_ERR[:-1], "truncated", "error_upgrade_required without its last byte")
# trailing bytes
bad("req_trailing_zero", GOOD_REQ + b"\x00", "trailing_bytes", "one 0x00 after the message")
bad("req_two_messages", GOOD_REQ + GOOD_REQ, "trailing_bytes", "the message twice")
bad("req_trailing_newline", GOOD_REQ + b"\n", "trailing_bytes", "a newline after the message")
bad("resp_trailing", GOOD_RESP + b"\xc0", "trailing_bytes", "nil after the message")
bad("error_trailing", GOOD_ERR + b"\x90", "trailing_bytes", "an empty array after the message")
# depth
bad("req_depth_7", req_with(ch=with_field("tags", [[Raw(b"\x90")], 0])), "too_deep",
    "an empty array inside a tag list: 7 levels")
bad("req_depth_7_in_map", req_with(ch=with_field("kind", [Raw(b"\x81\xa1a\x90"), 0])), "too_deep",
    "a map holding an array as a value: 7 levels")
bad("req_depth_40", req_with(ch=with_field("tags", [Raw(b"\x91" * 39 + b"\xc0"), 0])), "too_deep",
    "40 nested arrays: deeper than msgpack-c's parse stack (32)")
bad("req_depth_10000", b"\x81\xa1v" + b"\x91" * 10000 + b"\xc0", "too_deep",
    "10000 nested arrays at the top")
bad("resp_depth_7", enc(wire(resp([dict(ACK_OK, lost={"a": [Raw(b"\x91\x91\x90"), 1]})], [], 1, False))),
    "too_deep", "nested arrays inside a lost value")
bad("error_depth_7", enc({"err": "x", "msg": Raw(b"\x91\x91\x91\x91\x91\x91\xc0")}), "too_deep",
    "7 levels in an error")


# ---- output --------------------------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def dump(obj):
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode()


def main():
    for d in ("valid", "lax", "invalid"):
        shutil.rmtree(os.path.join(VEC, d), ignore_errors=True)
    out = {}
    for name, meaning in VALID.items():
        data = msgpack.packb(wire(meaning), use_bin_type=True)
        if data != enc(wire(meaning)):
            sys.exit("enc() and packb() disagree on " + name)
        write(os.path.join(VEC, "valid", name + ".msgpack"), data)
        write(os.path.join(VEC, "valid", name + ".json"), dump(meaning))
        out["valid/" + name] = data
    for name, (data, meaning) in LAX.items():
        if data == msgpack.packb(wire(meaning), use_bin_type=True):
            sys.exit("lax vector %s is canonical: put it in VALID" % name)
        write(os.path.join(VEC, "lax", name + ".msgpack"), data)
        write(os.path.join(VEC, "lax", name + ".json"), dump(meaning))
        out["lax/" + name] = data
    for name, (data, code, why) in INVALID.items():
        write(os.path.join(VEC, "invalid", name + ".msgpack"), data)
        write(os.path.join(VEC, "invalid", name + ".json"), dump({"error": code, "why": why}))
    # the seed corpus: every valid and lax vector, and a few mutations of each
    shutil.rmtree(CORPUS, ignore_errors=True)
    rng = random.Random(20251127)
    for name, data in out.items():
        if len(data) > 65536:
            continue  # over the fuzzer's -max_len
        base = name.replace("/", "_")
        write(os.path.join(CORPUS, base), data)
        for i in range(3):
            m = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                m[rng.randrange(len(m))] = rng.randrange(256)
            write(os.path.join(CORPUS, "%s_mut%d" % (base, i)), bytes(m))
        write(os.path.join(CORPUS, base + "_cut"), data[: rng.randrange(1, len(data))])
    print("%d valid, %d lax, %d invalid vectors; corpus %d files" % (
        len(VALID), len(LAX), len(INVALID), len(os.listdir(CORPUS))))


if __name__ == "__main__":
    main()
