#!/usr/bin/env python3
"""pyclient.py: a gridsync device written from proto/PROTOCOL.md alone, in another language
than gridsync's own client (python3, python3-msgpack, the standard library's ssl and
http.client), to show that the document is a complete contract.

It reads no gridsync source, header or store: its record types, fields, limits, enums and
defaults come from GET /v1/schema (PROTOCOL.md 10), the wire from sections 1, 2 and 7, the
merge rules from section 5. Its state (the device's "database": seq, low, cur, ep, clock,
the records it holds with each field's version) is one JSON file.

    pyclient.py schema  --url U --ca CA --token T
    pyclient.py phase1  --url U --ca CA --token T --grid G --state FILE
    pyclient.py phase2  --url U --ca CA --token T --state FILE --other-address A --other-phone P
    pyclient.py phase3  --url U --ca CA --token T --state FILE
    pyclient.py statuses --url U --ca CA --token T

phase1 creates a resident and a visit of it in one batch (the reference within a batch),
with a gap in its seqs, plus a visit of a resident nobody has (rejected not_found, with
its "fix"), retries the same request (answered from the stored acks), and pulls every page.
phase2 runs after another device changed the resident's address and phone: it pushes a
concurrent edit of both with its old bases, the address with an older clock (it must come
back in "lost" with the other device's value) and the phone with the same value (equal:
no conflict, but "lost" with the server's version), then pulls. phase3 pushes a last address
that wins (it saw the current version). statuses sends raw requests that the status table
of section 1 describes and checks status, err code and error body type. Each check prints "ok NAME" or "not ok NAME: why";
the exit code is 1 when one failed, 2 on a usage or transport error.
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

import msgpack

CONTENT_TYPE = "application/vnd.msgpack"
VERSION = 3  # section 2.1: the version this client speaks (version 2 keys, "ep" in answers)
FAILS = 0


def ok(name):
    print("ok pyclient_" + name)


def notok(name, why):
    global FAILS
    FAILS += 1
    print("not ok pyclient_%s: %s" % (name, why))


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        notok(name, why)
    return cond


# ---- transport (section 1) -------------------------------------------------------------


class Server:
    """One keep-alive HTTPS connection, verified against the enrolment CA."""

    def __init__(self, url, ca, token):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "https":
            raise SystemExit("pyclient: the server URL must be https://")
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)  # verification cannot be turned off
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.token = token
        self.conn = None

    def request(self, method, path, body=None, headers=None, token=None):
        """(status, headers dict with lower-case names, body bytes); one reconnect when the
        server closed an idle keep-alive connection (section 1)."""
        h = {"Authorization": "Bearer " + (self.token if token is None else token)}
        if body is not None:
            h["Content-Type"] = CONTENT_TYPE
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                        timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, hdrs, data
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def unpack(data):
    # str keys only, bin stays bytes, no ext: section 7.1
    return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)


def error_of(status, hdrs, data):
    """The Error body (2.6) of a non-200 answer, or None when it is not MessagePack."""
    if hdrs.get("content-type", "").split(";")[0].strip().lower() != CONTENT_TYPE:
        return None
    e = unpack(data)
    if not isinstance(e, dict) or not {"err", "msg"} <= set(e) or not set(e) <= {"err", "msg", "min_v"}:
        raise ValueError("not an Error body: %r" % (e,))
    return e


# ---- ids and clocks (2.2, 5) ------------------------------------------------------------


def uuid7():
    """A UUIDv7 as 16 bytes: 48-bit ms timestamp, version 7, variant 10."""
    ms = int(time.time() * 1000)
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def uuid_text(b):
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


class Clock:
    """Hybrid logical clock: physical ms << 16 | a 16-bit counter; never goes back."""

    def __init__(self, last=0):
        self.last = last

    def now(self):
        wall = int(time.time() * 1000) << 16
        self.last = wall if wall > self.last else self.last + 1
        return self.last

    def recv(self, remote):
        if remote > self.last:
            self.last = remote


# ---- the schema (section 10) ------------------------------------------------------------

FIELD_KEYS = {"name", "type", "label", "policy", "required", "scope", "immutable", "implicit",
              "from_device", "default_now", "ref_scoped", "device_edit", "max_len", "min", "max",
              "ref_table", "default", "enums"}
TYPES = {"text", "int", "bool", "real", "time", "enum", "ref", "tags"}


def fetch_schema(srv):
    status, hdrs, data = srv.request("GET", "/v1/schema")
    if status != 200 or hdrs.get("content-type") != CONTENT_TYPE:
        raise SystemExit("pyclient: GET /v1/schema answered %d %s" % (status, hdrs.get("content-type")))
    return unpack(data)


def table(schema, name):
    for t in schema["tables"]:
        if t["name"] == name:
            return t
    raise KeyError(name)


def field(t, name):
    for f in t["fields"]:
        if f["name"] == name:
            return f
    raise KeyError(name)


def check_value(f, v):
    """What the server would reject `invalid` (section 10: a client checks locally): None
    when v fits field f, else why."""
    ty = f["type"]
    if v is None:
        return "is required" if f["required"] else None
    if ty == "text":
        if not isinstance(v, str):
            return "not text"
        if len(v.encode()) > f["max_len"]:
            return "longer than %d bytes" % f["max_len"]
    elif ty in ("int", "time"):
        if not isinstance(v, int) or isinstance(v, bool):
            return "not an int"
    elif ty == "real":
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return "not a number"
    elif ty == "bool":
        if not isinstance(v, bool):
            return "not a bool"
    elif ty == "enum":
        if v not in [e["name"] for e in f["enums"]]:
            return "%r is not one of its values" % v
    elif ty == "ref":
        if not isinstance(v, bytes) or len(v) != 16:
            return "not a record id"
    elif ty == "tags":
        names = [e["name"] for e in f["enums"]]
        if len(v) > f["max_len"] or any(x not in names for x in v) or len(set(v)) != len(v):
            return "bad tag list"
    if ty in ("int", "time", "real") and f["min"] is not None and not f["min"] <= v <= f["max"]:
        return "outside %s..%s" % (f["min"], f["max"])
    return None


def new_record(t, given, grid, worker, now_ms):
    """The fields of a new record of table t: the given ones, then every required field the
    schema says how to fill (from_device, default_now, default)."""
    out = dict(given)
    for f in t["fields"]:
        n = f["name"]
        if n in out or f["implicit"]:
            continue
        if f["scope"]:
            out[n] = grid
        elif f["from_device"] and f["type"] == "text":
            out[n] = worker
        elif f["default_now"]:
            out[n] = now_ms
        elif f["default"] is not None:
            out[n] = f["default"]
        elif f["required"] and f["type"] == "enum":
            out[n] = f["enums"][0]["name"]  # this test's choice: the first value
    for f in t["fields"]:
        if f["implicit"]:
            continue
        why = check_value(f, out.get(f["name"]))
        if why:
            raise ValueError("%s.%s %s" % (t["name"], f["name"], why))
    return out


def cmd_schema(srv, args):
    s = fetch_schema(srv)
    check("schema_top_keys", set(s) == {"v", "limits", "tables"}, sorted(s))
    check("schema_version", s["v"] >= VERSION, s["v"])
    check("schema_limits", s["limits"]["changes"] == 5000 and s["limits"]["body"] == 8 << 20,
          s["limits"])
    names = [t["name"] for t in s["tables"]]
    check("schema_tables", {"resident", "visit", "care", "warning"} <= set(names), names)
    bad = []
    for t in s["tables"]:
        scopes = [f["name"] for f in t["fields"] if f["scope"]]
        if scopes != ["grid"]:
            bad.append("%s: scope %s" % (t["name"], scopes))
        if t["fields"][-1]["name"] != "deleted" or not t["fields"][-1]["implicit"]:
            bad.append("%s: tombstone not last" % t["name"])
        for f in t["fields"]:
            if set(f) != FIELD_KEYS or f["type"] not in TYPES:
                bad.append("%s.%s: keys %s" % (t["name"], f["name"], sorted(set(f) ^ FIELD_KEYS)))
            if f["type"] in ("enum", "tags") and not f["enums"]:
                bad.append("%s.%s: no enums" % (t["name"], f["name"]))
            for e in f["enums"]:
                if not e["label"]["zh"] or not e["label"]["en"]:
                    bad.append("%s.%s.%s: no label" % (t["name"], f["name"], e["name"]))
    check("schema_every_table_well_formed", not bad, "; ".join(bad[:5]))
    status = field(table(s, "dispute"), "status")
    paths = {e["name"]: e.get("next") for e in status["enums"]}
    check("schema_status_path", paths.get("resolved") == ["reported"], paths)
    care = table(s, "care")
    check("schema_immutable", field(care, "resident")["immutable"] and
          field(care, "resident")["ref_table"] == "resident")
    # errors of section 1: MessagePack bodies, 401 for none or a wrong token, 405 for POST
    st, h, d = srv.request("GET", "/v1/schema", token="d-000000000000.nope")
    e = error_of(st, h, d)
    check("schema_401_msgpack", st == 401 and e and e["err"] == "auth", (st, e))
    st, h, d = srv.request("POST", "/v1/schema", body=b"\x80")
    e = error_of(st, h, d)
    check("schema_405", st == 405 and e and e["err"] == "method" and h.get("allow") == "GET",
          (st, e, h.get("allow")))
    print(json.dumps({"tables": names, "bytes": len(msgpack.packb(s))}))


# ---- the device (sections 2, 4, 5) --------------------------------------------------------


class Device:
    def __init__(self, srv, path, dev_id=None, grid=None):
        self.srv, self.path = srv, path
        if os.path.exists(path):
            with open(path) as fh:  # bin values as {"$bin": hex}, as in PROTOCOL.md 9
                st = json.load(fh, object_hook=lambda o: bytes.fromhex(o["$bin"])
                               if set(o) == {"$bin"} else o)
        else:
            st = {"dev": dev_id, "grid": grid, "next_seq": 1, "cur": 0, "ep": None,
                  "clock": 0, "server_v": None, "records": {}, "ids": {}}
        self.st = st
        self.clock = Clock(st["clock"])

    def save(self):
        self.st["clock"] = self.clock.last
        with open(self.path, "w") as fh:
            json.dump(self.st, fh, ensure_ascii=False, indent=1,
                      default=lambda b: {"$bin": b.hex()})

    def seq(self, skip=0):
        """The next seq; skip > 0 leaves a gap (section 2.1: gaps are allowed)."""
        self.st["next_seq"] += skip
        s = self.st["next_seq"]
        self.st["next_seq"] += 1
        return s

    def rec(self, rid_hex):
        return self.st["records"].setdefault(rid_hex, {"t": None, "f": {}})

    def change(self, seq, t, rid, fields, hlc):
        """A pushed change (2.2): fields name -> (value, base[, own hlc])."""
        f = {}
        for n, spec in fields.items():
            f[n] = list(spec)
        return {"seq": seq, "t": t, "id": rid, "hlc": hlc, "f": f}

    def body(self, changes, low=None):
        if low is None:
            low = min([c["seq"] for c in changes], default=self.st["next_seq"])
        return msgpack.packb({"v": VERSION, "dev": self.st["dev"], "cur": self.st["cur"],
                              "low": low, "now": self.clock.now(), "ch": changes},
                             use_bin_type=True)

    def exchange(self, body):
        status, hdrs, data = self.srv.request("POST", "/v1/sync", body=body,
                                              headers={"Accept-Encoding": "deflate"})
        if status != 200:
            raise SystemExit("pyclient: sync answered %d: %r" % (status, error_of(status, hdrs, data)))
        if hdrs.get("content-encoding") == "deflate":
            import zlib
            data = zlib.decompress(data)  # zlib-wrapped DEFLATE, RFC 1950 (section 1)
        r = unpack(data)
        keys = {"v", "now", "ack", "ch", "cur", "more", "clk", "ep", "fix"}
        need = {"v", "now", "ack", "ch", "cur", "more"} | ({"clk"} if r.get("v", 0) >= 2 else set()) \
            | ({"ep"} if r.get("v", 0) >= 3 else set())
        if not set(r) <= keys or not need <= set(r):
            raise SystemExit("pyclient: a SyncResponse with keys %s" % sorted(r))
        return r

    def apply(self, req_changes, r):
        """Step 3 of section 4: acks (with lost), pulled changes, fix, cur, ep."""
        self.clock.recv(r["now"])
        if self.st["ep"] is None:
            self.st["ep"] = r["ep"]
        self.st["server_v"] = r["v"]
        pending = {c["seq"]: c for c in req_changes}
        for a in r["ack"]:
            c = pending[a["seq"]]
            rec = self.rec(c["id"].hex())
            rec["t"] = c["t"]
            if not a["ok"]:
                rec["rejected"] = [a["err"], a["msg"]]
                continue
            for n, spec in c["f"].items():
                rec["f"][n] = [spec[0], a["ver"], spec[2] if len(spec) > 2 else c["hlc"]]
            for n, spec in a.get("lost", {}).items():
                rec["f"][n] = [spec[0], spec[1], spec[2] if len(spec) > 2 else c["hlc"]]
        for c in r["ch"]:
            rec = self.rec(c["id"].hex())
            rec["t"] = c["t"]
            for n, spec in c["f"].items():
                rec["f"][n] = [spec[0], spec[1], spec[2] if len(spec) > 2 else c["hlc"]]
            g = rec["f"].get("grid")
            if g and g[0] != self.st["grid"]:  # a departure (section 5, "Grid moves")
                del self.st["records"][c["id"].hex()]
        for s in r.get("fix", []):
            if "ct" not in s:
                self.st["records"].pop(s["id"].hex(), None)
            else:
                rec = self.rec(s["id"].hex())
                rec["f"] = {n: list(v) for n, v in s["f"].items()}
        self.st["cur"] = r["cur"]

    def pull_all(self):
        """Empty pushes until more is false (section 4, step 4); the pulled changes."""
        got = []
        while True:
            r = self.exchange(self.body([]))
            got += r["ch"]
            self.apply([], r)
            if not r["more"]:
                return got


def value_json(v):
    return uuid_text(v) if isinstance(v, bytes) else v


def cmd_phase1(srv, args):
    schema = fetch_schema(srv)
    dev_id = args.token.split(".", 1)[0]  # section 1: the device id is the token up to its '.'
    d = Device(srv, args.state, dev_id, args.grid)
    res_t, visit_t = table(schema, "resident"), table(schema, "visit")
    now_ms = int(time.time() * 1000)
    rid, vid, orphan_vid, nobody = uuid7(), uuid7(), uuid7(), uuid7()
    res = new_record(res_t, {"name": "python 居民", "address": "东关村 1 组"}, args.grid,
                     "py-worker", now_ms)
    ref = [f["name"] for f in visit_t["fields"] if f["type"] == "ref" and f["ref_table"] == "resident"][0]
    vis = new_record(visit_t, {ref: rid, "lat": 29.5, "notes": "探访 ok"}, args.grid,
                     "py-worker", now_ms)
    orphan = new_record(visit_t, {ref: nobody}, args.grid, "py-worker", now_ms)
    h1 = d.clock.now()
    h2 = d.clock.now()
    h3 = d.clock.now()
    changes = [d.change(d.seq(), "resident", rid, {n: (v, 0) for n, v in res.items()}, h1),
               d.change(d.seq(), "visit", vid, {n: (v, 0) for n, v in vis.items()}, h2),
               d.change(d.seq(skip=1), "visit", orphan_vid, {n: (v, 0) for n, v in orphan.items()}, h3)]
    body = d.body(changes)
    check("phase1_first_low_is_1", unpack(body)["low"] == 1, unpack(body)["low"])
    r = d.exchange(body)
    acks = {a["seq"]: a for a in r["ack"]}
    seqs = [c["seq"] for c in changes]
    check("phase1_seq_gap_accepted", seqs == [1, 2, 4] and sorted(acks) == seqs, (seqs, sorted(acks)))
    a1, a2, a3 = (acks[s] for s in seqs)
    check("phase1_resident_accepted", a1["ok"] and "lost" not in a1, a1)
    check("phase1_visit_refers_within_batch", a2["ok"] and a2["ver"] > a1["ver"], a2)
    check("phase1_unknown_reference_not_found", not a3["ok"] and a3["err"] == "not_found", a3)
    fix = {s["id"]: s for s in r.get("fix", [])}
    s3 = fix.get(orphan_vid)
    check("phase1_fix_of_rejected", s3 is not None and "ct" not in s3 and s3["f"] == {}, r.get("fix"))
    check("phase1_epoch", r["v"] >= 3 and 1 <= r["ep"] < 1 << 64, (r["v"], r.get("ep")))
    check("phase1_clk", abs(r["clk"] - int(time.time() * 1000)) < 60000, r["clk"])
    # section 4, exactly once: the same request again is answered from the stored acks
    r2 = d.exchange(body)
    check("phase1_retry_same_acks", [(a["seq"], a["ok"], a.get("ver")) for a in r2["ack"]] ==
          [(a["seq"], a["ok"], a.get("ver")) for a in r["ack"]], (r["ack"], r2["ack"]))
    d.apply(changes, r)
    pulled = d.pull_all()
    mine = [c for c in pulled if c["id"] in (rid, vid)]
    check("phase1_pull_excludes_own_writes", not mine, mine)
    d.st["ids"] = {"resident": uuid_text(rid), "visit": uuid_text(vid), "rid": rid.hex(),
                   "vid": vid.hex(), "h1": h1}
    d.save()
    print(json.dumps({"resident": uuid_text(rid), "visit": uuid_text(vid), "cur": d.st["cur"],
                      "ep": d.st["ep"], "ref_field": ref,
                      "visit_fields": {n: value_json(v) for n, v in vis.items()}}, ensure_ascii=False))


def cmd_phase2(srv, args):
    d = Device(srv, args.state)
    rid_hex = d.st["ids"]["rid"]
    rid = bytes.fromhex(rid_hex)
    rec = d.rec(rid_hex)
    base_addr = rec["f"]["address"][1]
    # an edit made (by its clock) before the other device's: one ms after the creation
    old = d.st["ids"]["h1"] + (1 << 16)
    c = d.change(d.seq(), "resident", rid,
                 {"address": ("python 的旧地址", base_addr), "phone": (args.other_phone, 0)}, old)
    r = d.exchange(d.body([c]))
    a = r["ack"][0]
    lost = a.get("lost", {})
    check("phase2_accepted", a["ok"], a)
    la = lost.get("address")
    check("phase2_older_edit_lost", la is not None and la[0] == args.other_address and la[1] > base_addr,
          lost)
    lp = lost.get("phone")
    check("phase2_equal_value_in_lost", lp is not None and lp[0] == args.other_phone and lp[1] != a["ver"]
          and lp[1] > 0, lost)
    d.apply([c], r)
    d.pull_all()
    f = d.rec(rid_hex)["f"]
    check("phase2_holds_server_values", f["address"][0] == args.other_address and
          f["phone"][0] == args.other_phone, f)
    d.save()


def cmd_phase3(srv, args):
    d = Device(srv, args.state)
    rid_hex = d.st["ids"]["rid"]
    f = d.rec(rid_hex)["f"]
    c = d.change(d.seq(), "resident", bytes.fromhex(rid_hex),
                 {"address": ("python 的新地址", f["address"][1])}, d.clock.now())
    r = d.exchange(d.body([c]))
    a = r["ack"][0]
    check("phase3_fast_forward", a["ok"] and "lost" not in a, a)
    d.apply([c], r)
    d.save()


# ---- the status table (section 1) ---------------------------------------------------------


def raw(srv, head, body=b""):
    """One request written byte for byte on a fresh TLS connection: (status, headers, body)."""
    import socket
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        with srv.ctx.wrap_socket(sock, server_hostname=srv.host) as tls:
            tls.sendall(head + body)
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    h, _, rest = data.partition(b"\r\n\r\n")
                    n = [int(x.split(b":", 1)[1]) for x in h.split(b"\r\n")
                         if x.lower().startswith(b"content-length:")]
                    if n and len(rest) >= n[0]:
                        break
    h, _, rest = data.partition(b"\r\n\r\n")
    lines = h.decode("latin-1").split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
    return int(lines[0].split()[1]), hdrs, rest


def cmd_statuses(srv, args):
    auth = "Authorization: Bearer %s\r\n" % srv.token
    host = "Host: %s\r\n" % srv.host
    cases = [  # name, request head, status, err, error body type
        ("431_header_too_large", "GET /v1/schema HTTP/1.1\r\n" + host + "X-Pad: " + "a" * 17000 + "\r\n\r\n",
         431, "header_too_large", CONTENT_TYPE),
        ("431_too_many_fields", "GET /v1/schema HTTP/1.1\r\n" + host +
         "".join("X-%d: 1\r\n" % i for i in range(70)) + "\r\n", 431, "header_too_large", CONTENT_TYPE),
        ("414_uri_too_long", "GET /v1/schema?" + "a" * 9000 + " HTTP/1.1\r\n" + host + "\r\n",
         414, "uri_too_long", "application/json"),  # no request line read: JSON
        ("417_expectation", "POST /v1/sync HTTP/1.1\r\n" + host + auth +
         "Expect: something\r\nContent-Length: 1\r\n\r\n", 417, "expectation", CONTENT_TYPE),
        ("501_transfer_coding", "POST /v1/sync HTTP/1.1\r\n" + host + auth +
         "Transfer-Encoding: gzip\r\n\r\n", 501, "not_implemented", CONTENT_TYPE),
        ("501_long_method", "A" * 30 + " /v1/sync HTTP/1.1\r\n" + host + "\r\n", 501, "method",
         "application/json"),
        ("505_http_version", "GET /v1/schema HTTP/1.2\r\n" + host + "\r\n", 505, "http_version",
         "application/json"),
        ("411_length_required", "POST /v1/sync HTTP/1.1\r\n" + host + auth +
         "Content-Type: application/vnd.msgpack\r\n\r\n", 411, "length_required", CONTENT_TYPE),
        ("400_no_host", "GET /v1/schema HTTP/1.1\r\n" + auth + "\r\n", 400, "malformed", CONTENT_TYPE),
        ("404_unknown_path", "GET /v1/nothing HTTP/1.1\r\n" + host + auth + "\r\n", 404, "not_found",
         CONTENT_TYPE),
        ("431_other_path_json", "GET /v1/nothing HTTP/1.1\r\n" + host + "X-Pad: " + "a" * 17000 +
         "\r\n\r\n", 431, "header_too_large", "application/json"),
    ]
    for name, head, want, err, ctype in cases:
        st, h, body = raw(srv, head.encode())
        got_type = h.get("content-type", "")
        if got_type == CONTENT_TYPE:
            e = unpack(body).get("err")
        elif got_type == "application/json":
            e = json.loads(body).get("err")
        else:
            e = None
        check("status_" + name, st == want and e == err and got_type == ctype and
              (st < 400 or st in (404,) or h.get("connection") == "close"),
              "status %d err %s %s connection %s" % (st, e, got_type, h.get("connection")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["schema", "phase1", "phase2", "phase3", "statuses"])
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--grid")
    ap.add_argument("--state")
    ap.add_argument("--other-address")
    ap.add_argument("--other-phone")
    args = ap.parse_args()
    srv = Server(args.url, args.ca, args.token)
    {"schema": cmd_schema, "phase1": cmd_phase1, "phase2": cmd_phase2, "phase3": cmd_phase3,
     "statuses": cmd_statuses}[args.cmd](srv, args)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
