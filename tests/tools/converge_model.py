#!/usr/bin/env python3
"""converge_model.py: random interleavings of offline edits and syncs on several devices,
checked against a model of the documented merge rules (docs/MERGE.md), with faults if asked.

    converge_model.py --bin BUILD/bin --dir TMP --seed N [--devices 3] [--ops 120] [--faults]
                      [--cluster N --pg PGDIR]

It starts a real gridsyncd (TLS on 127.0.0.1), enrols the devices with gridsync-admin, has
the first one create residents and care requests, and then runs --ops random steps:
  - an edit of one field of a record on one device (values drawn from a small pool, so
    devices often write equal values), or rarely a delete;
  - a sync of one device;
  - with --faults: a sync through linkproxy.py cut after a random number of bytes up or
    down, a sync killed with SIGKILL after a random delay, gridsyncd killed with SIGKILL
    and restarted; and two devices with a wrong clock: one 3 days ahead, one 2 hours
    behind (faketime, wall clock only: a date set on a handheld never moves its monotonic
    clock).
Then, faults off, every device syncs until quiet, and the checks run.

With --cluster N (issue 20) the store is a throwaway PostgreSQL cluster in PGDIR
(tests/tools/pgtmp.sh) and N gridsyncd processes serve it behind haproxy in TCP mode
(round robin); devices and admin reach only haproxy. A sync step is then a burst: up to 30
devices sync at once, so their batches merge concurrently in different processes; one of
the processes is killed with SIGKILL and restarted now and then (syncs in flight fail and
are retried later), and the database is restarted once (pg_ctl restart -m fast) midway.

The model. Every edit is recorded with the HLC it got (read from the device's outbox row
right after the edit: the field's own clock). For a last-writer-wins field the documented
rule (the greater HLC wins, equal HLCs go to the greater device id), together with the HLC's
promise that an edit made after seeing another has the greater clock, makes the final value
a pure function of the edits that were accepted: the one with the greatest (hlc, device).
So the model needs no knowledge of what each device saw, and holds whatever the order of
syncs, cuts and kills. A record is deleted iff a delete of it was accepted (a delete wins
against concurrent updates; devices have no undelete). An edit is accepted unless the
server rejected its change (listed by `gridsync status`): here only clock_ahead from the
device 3 days ahead, for edits made before its first sync taught it the server's time.

Checks (each a line "ok NAME" or "not ok NAME: why", exit 1 on any failure):
  model_values      every live field on the server is the model's value; every record the
                    model deletes is deleted on the server, and no other
  devices_equal     tests/tools/converge.py: every device shows exactly the server's data
                    (values, created and updated times)
  outboxes_empty    nothing pending anywhere
  nothing_doubled   the server applied each (device, seq) at most once
  rejections        only clock_ahead, only from the device ahead
  no_future_clocks  no value on the server carries a clock past the server's drift guard
"""
import argparse
import concurrent.futures
import glob
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsstore  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DRIFT_MS = 300000

RESIDENT_FIELDS = ["name", "address", "phone", "tags"]
CARE_FIELDS = ["assignee", "notes", "resolution", "priority"]
TAGS = ["elderly", "lives_alone", "disabled", "low_income"]
PRIORITIES = ["low", "normal", "urgent"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class World:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.bin = a.bin
        self.dir = a.dir
        self.town = os.path.join(a.dir, "town")
        self.port = free_port()  # what devices reach: gridsyncd, or haproxy (--cluster)
        self.server = None
        self.backends = []       # --cluster: [{"port", "proc"}], one per gridsyncd
        self.haproxy = None
        self.url = None          # --cluster: the store's postgresql:// URL
        self.devices = []     # dicts: name, db, id, skew, proxy, proxy_port
        self.records = []     # (table, id text)
        self.edits = []       # dicts: dev, table, id, field, value, hlc, seq
        self.log = open(os.path.join(a.dir, "model.log"), "w")
        self.counts = {"edits": 0, "syncs": 0, "cuts": 0, "client_kills": 0, "server_kills": 0}

    # ---- processes ------------------------------------------------------------------------

    def note(self, *words):
        print(*words, file=self.log, flush=True)

    def spawn_gridsyncd(self, port, log):
        logf = open(os.path.join(self.dir, log), "a")
        proc = subprocess.Popen(
            [os.path.join(self.bin, "gridsyncd"), "--config", os.path.join(self.town, "gridsyncd.conf"),
             "--listen", "127.0.0.1:%d" % port], stdout=logf, stderr=logf)
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.025)
        raise SystemExit("gridsyncd did not come up: see %s" % logf.name)

    def start_server(self):
        if not self.a.cluster:
            self.server = self.spawn_gridsyncd(self.port, "gridsyncd.log")
            return
        for i in range(self.a.cluster):
            self.backends.append({"port": free_port()})
            self.backends[i]["proc"] = self.spawn_gridsyncd(self.backends[i]["port"], "gridsyncd%d.log" % i)
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            # TCP mode: TLS goes through to gridsyncd; a process that does not accept is
            # marked down within a second and its connections go to another (redispatch)
            f.write("global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 2s\n"
                    "  timeout client 120s\n  timeout server 120s\n  retries 3\n"
                    "  option redispatch\nfrontend devices\n  bind 127.0.0.1:%d\n"
                    "  default_backend gridsyncd\nbackend gridsyncd\n  balance roundrobin\n" % self.port)
            for i, b in enumerate(self.backends):
                f.write("  server g%d 127.0.0.1:%d check inter 300ms fall 1 rise 1\n" % (i, b["port"]))
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.dir, "haproxy.log"), "a"))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.025)
        raise SystemExit("haproxy did not come up")

    def kill_server(self):
        if not self.a.cluster:
            self.server.send_signal(signal.SIGKILL)
            self.server.wait()
            return
        i = self.rng.randrange(len(self.backends))
        b = self.backends[i]
        b["proc"].send_signal(signal.SIGKILL)
        b["proc"].wait()
        self.note("server-killed", i)
        time.sleep(self.rng.random() * 0.5)  # the others serve alone for a while
        b["proc"] = self.spawn_gridsyncd(b["port"], "gridsyncd%d.log" % i)

    def restart_database(self):
        subprocess.run([os.path.join(HERE, "pgtmp.sh"), "restart", self.a.pg], check=True)
        self.note("database-restarted")

    def start_proxy(self, d, cut=None):
        if d.get("proxy"):
            d["proxy"].terminate()
            d["proxy"].wait()
        args = [sys.executable, os.path.join(HERE, "linkproxy.py"), "--listen", str(d["proxy_port"]),
                "--target", str(self.port)]
        if cut:
            args += ["--%s" % cut[0], str(cut[1]), "--cut-conns", "1"]
        d["proxy"] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = d["proxy"].stdout.readline()
        if not line.startswith("listening"):
            raise SystemExit("linkproxy did not start")

    def env(self, d):
        e = dict(os.environ)
        if d["skew"]:
            # libfaketime preloaded directly, not through faketime(1): the wrapper's named
            # semaphore outlives a SIGKILL and a later wrapper with the same pid then fails
            lib = os.environ.get("FAKETIME_LIB") or next(iter(sorted(
                glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
            if not lib:
                raise SystemExit("libfaketime is not installed (set FAKETIME_LIB)")
            e["LD_PRELOAD"] = lib
            e["FAKETIME"] = d["skew"]
            e["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
        return e

    def gs_args(self, d, *args):
        cmd = [os.path.join(self.bin, "gridsync"), "--db", d["db"], *args]
        return cmd

    def gs(self, d, *args, timeout=60):
        return subprocess.run(self.gs_args(d, *args), capture_output=True, text=True,
                              timeout=timeout, env=self.env(d))

    def admin(self, *args):
        token = open(os.path.join(self.dir, "admin.token")).read().strip()
        p = subprocess.run([os.path.join(self.bin, "gridsync-admin"), "--server",
                            "https://localhost:%d" % self.port, "--ca", os.path.join(self.town, "ca.pem"),
                            "--token", token, *args], capture_output=True, text=True, timeout=60)
        if p.returncode:
            raise SystemExit("gridsync-admin %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    # ---- setup ------------------------------------------------------------------------------

    def setup(self):
        store = []
        if self.a.cluster:
            self.url = subprocess.run([os.path.join(HERE, "pgtmp.sh"), "start", self.a.pg], check=True,
                                      capture_output=True, text=True).stdout.strip()
            store = ["--store", self.url]
        p = subprocess.run([os.path.join(self.bin, "gridsyncd"), "init", "--dir", self.town,
                            "--hostname", "localhost", *store], capture_output=True, text=True)
        if p.returncode:
            raise SystemExit("gridsyncd init: " + p.stderr)
        open(os.path.join(self.dir, "admin.token"), "w").write(p.stdout.strip())
        self.start_server()
        skews = [None] * self.a.devices
        if self.a.faults and self.a.devices >= 3:
            skews[1], skews[2] = "+3d", "-2h"
        for i in range(self.a.devices):
            d = {"name": "w%d" % i, "db": os.path.join(self.dir, "w%d.db" % i), "skew": skews[i],
                 "proxy": None, "proxy_port": free_port() if self.a.faults else self.port}
            out = json.loads(self.admin("--json", "device", "add", "--print-token", "--grid", "gridA", "--name", d["name"]))
            d["id"] = out["id"]
            if self.a.faults:
                self.start_proxy(d)
            p = self.gs(d, "init", "--device", out["id"], "--token", out["token"], "--server",
                        "https://localhost:%d" % d["proxy_port"], "--ca", os.path.join(self.town, "ca.pem"),
                        "--grid", "gridA", "--worker", d["name"])
            if p.returncode:
                raise SystemExit("gridsync init: " + p.stderr)
            self.devices.append(d)
        d0 = self.devices[0]
        for i in range(3):
            rid = self.must(d0, "resident", "add", "--name", "居民%d" % i, "--born", "1940").strip()
            self.records.append(("resident", rid))
        for i in range(2):
            cid = self.must(d0, "care", "add", "--resident", self.records[i][1], "--category", "meal").strip()
            self.records.append(("care", cid))
        # a device with a wrong clock records a resident before its first sync: the one
        # 3 days ahead has it refused; both learn the server's time at that sync
        for d in self.devices:
            if d["skew"]:
                rid = self.must(d, "resident", "add", "--name", "离线%s" % d["name"]).strip()
                self.records.append(("resident", rid))
                seq, hlc = self.outbox_clock(d, rid, "name")
                self.edits.append({"dev": d["id"], "table": "resident", "id": rid, "field": "name",
                                   "value": "离线%s" % d["name"], "hlc": hlc, "seq": seq})
            self.sync(d)

    def must(self, d, *args):
        p = self.gs(d, *args)
        if p.returncode:
            raise SystemExit("%s: gridsync %s: exit %d: %s" % (d["name"], " ".join(args), p.returncode, p.stderr))
        return p.stdout

    # ---- steps ------------------------------------------------------------------------------

    def outbox_clock(self, d, rid, field):
        """(seq, hlc) of the field in the record's unsent outbox row, just written; None when
        the edit changed nothing (the value was already there: no change is recorded)."""
        db = sqlite3.connect(d["db"])
        row = db.execute("SELECT seq, hlc, fields FROM outbox WHERE rid = ? AND sent = 0 "
                         "ORDER BY seq DESC LIMIT 1", (uuid.UUID(rid).bytes,)).fetchone()
        db.close()
        if not row:
            return None
        seq, row_hlc, blob = row
        fields = msgpack.unpackb(blob, raw=False)
        if isinstance(fields, dict):  # the wire's "f" map: name -> [value, base(, hlc)]
            entry = fields.get(field)
            if entry is None:
                return None
            return seq, entry[2] if len(entry) > 2 else row_hlc
        for entry in fields:  # rows of earlier versions: [[name, value, base, hlc], ...]
            if entry[0] == field:
                return seq, entry[3] if len(entry) > 3 else row_hlc
        return None

    def edit(self, d):
        table, rid = self.rng.choice(self.records)
        if self.rng.random() < 0.03 and table == "care":
            p = self.gs(d, "delete", rid)
            field, value = "deleted", True
        else:
            field = self.rng.choice(RESIDENT_FIELDS if table == "resident" else CARE_FIELDS)
            if field == "tags":
                value = sorted(self.rng.sample(TAGS, self.rng.randint(1, 3)))
                args = sum((["--tag", t] for t in value), [])
            elif field == "priority":
                value = self.rng.choice(PRIORITIES)
                args = ["--priority", value]
            else:
                value = "%s-%d" % (field, self.rng.randint(0, 4))
                args = ["--" + field, value]
            p = self.gs(d, table, "update", rid, *args)
        if p.returncode == 3:
            return  # deleted on this device (or not pulled yet): a worker could not edit it
        if p.returncode:
            raise SystemExit("%s: edit: exit %d: %s" % (d["name"], p.returncode, p.stderr))
        got = self.outbox_clock(d, rid, field)
        if got is None:
            return  # the value was there already: nothing recorded, nothing to model
        seq, hlc = got
        self.edits.append({"dev": d["id"], "table": table, "id": rid, "field": field,
                           "value": value, "hlc": hlc, "seq": seq})
        self.counts["edits"] += 1
        self.note("edit", d["name"], table, rid, field, value, hlc, seq)

    def sync(self, d, fault=None):
        self.counts["syncs"] += 1
        if fault == "cut":
            self.counts["cuts"] += 1
            cut = (self.rng.choice(["cut-up-after", "cut-down-after"]), self.rng.randint(1, 6000))
            self.start_proxy(d, cut)
            p = self.gs(d, "sync", timeout=120)
            self.note("sync-cut", d["name"], cut, p.returncode)
            self.start_proxy(d)
            if p.returncode not in (0, 4, 6):
                raise SystemExit("%s: cut sync: exit %d: %s" % (d["name"], p.returncode, p.stderr))
            return
        if fault == "kill":
            self.counts["client_kills"] += 1
            proc = subprocess.Popen(self.gs_args(d, "sync"), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=self.env(d))
            time.sleep(self.rng.random() * 0.25)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.note("sync-killed", d["name"], proc.returncode)
            return
        p = self.gs(d, "sync", timeout=120)
        self.note("sync", d["name"], p.returncode)
        # in a cluster's burst a process may die or the database restart under the sync:
        # the server answers 500 (exit 1) or the connection drops (4); nothing is lost
        if p.returncode not in (0, 6) and not (fault == "burst" and p.returncode in (1, 4)):
            raise SystemExit("%s: sync: exit %d: %s" % (d["name"], p.returncode, p.stderr))

    def burst(self):
        devs = self.rng.sample(self.devices, min(len(self.devices), self.rng.randint(2, 30)))
        with concurrent.futures.ThreadPoolExecutor(len(devs)) as ex:
            for f in [ex.submit(self.sync, d, "burst") for d in devs]:
                f.result()

    def run(self):
        for op in range(self.a.ops):
            d = self.rng.choice(self.devices)
            r = self.rng.random()
            if self.a.cluster and op == self.a.ops // 2:
                with concurrent.futures.ThreadPoolExecutor(1) as ex:
                    f = ex.submit(self.burst)  # the restart lands under syncs in flight
                    time.sleep(0.05)
                    self.restart_database()
                    f.result()
            elif self.a.cluster and r < 0.55:
                # several devices edit a few fields each: the next burst carries batches
                # that touch the same records from different processes at once
                for e in self.rng.sample(self.devices, self.rng.randint(1, 10)):
                    for _ in range(self.rng.randint(1, 4)):
                        self.edit(e)
            elif self.a.cluster and r < 0.95:
                self.burst()
            elif self.a.cluster and r < 0.97:
                # killed mid-sync: its retry may reach another process, which must know
                # the batch by its acks in the database (exactly once)
                self.sync(d, "kill")
            elif r < 0.78:
                self.edit(d)
            elif self.a.cluster:
                self.counts["server_kills"] += 1
                with concurrent.futures.ThreadPoolExecutor(1) as ex:
                    f = ex.submit(self.burst)
                    time.sleep(self.rng.random() * 0.3)
                    self.kill_server()
                    f.result()
            elif not self.a.faults or r < 0.92:
                self.sync(d)
            elif r < 0.95:
                self.sync(d, "cut")
            elif r < 0.98:
                self.sync(d, "kill")
            else:
                self.counts["server_kills"] += 1
                self.kill_server()
                self.start_server()
                self.note("server-killed")
        for rnd in range(3):
            for d in self.devices:
                self.sync(d)

    # ---- checks -------------------------------------------------------------------------------

    def rejected(self):
        """{(device id, seq): code} of every change a device keeps as rejected."""
        out = {}
        for d in self.devices:
            st = json.loads(self.must(d, "--json", "status"))
            for r in st["rejected"]:
                out[(d["id"], r["seq"])] = (r["code"], d)
        return out

    def doubled(self, store):
        sql = "SELECT device, seq, count(*) FROM changes GROUP BY device, seq HAVING count(*) > 1"
        if self.url:
            out = subprocess.run(["psql", "-X", "-q", "-At", "-F", " ", self.url, "-c", sql],
                                 check=True, capture_output=True, text=True).stdout
            return [(r.split()[0], int(r.split()[1]), int(r.split()[2])) for r in out.splitlines()]
        db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def check(self):
        fails = []
        store = self.url or os.path.join(self.town, "gridsyncd.db")
        rej = self.rejected()
        accepted = [e for e in self.edits if (e["dev"], e["seq"]) not in rej]
        want, deleted = {}, set()
        for e in accepted:
            if e["field"] == "deleted":
                deleted.add(e["id"])
                continue
            k = (e["id"], e["field"])
            if k not in want or (e["hlc"], e["dev"]) > (want[k]["hlc"], want[k]["dev"]):
                want[k] = e
        recs = {r["id"]: r for r in gsstore.records(store)}
        srv_deleted = {rid for rid, r in recs.items() if r["deleted"]}
        bad = []
        for (rid, field), e in sorted(want.items()):
            if rid in deleted:
                continue
            f = recs.get(rid, {"fields": {}})["fields"].get(field)
            v = f["value"] if f else None
            if isinstance(v, list):
                v = sorted(v)
            if v != e["value"]:
                bad.append("%s.%s: server %r, model %r (hlc %d by %s)" % (rid, field, v, e["value"], e["hlc"], e["dev"]))
        if deleted != srv_deleted:
            bad.append("deleted: server %s, model %s" % (sorted(srv_deleted), sorted(deleted)))
        fails.append(("model_values", bad))
        p = subprocess.run([sys.executable, os.path.join(HERE, "converge.py"), "--server", store,
                            "--gridsync", os.path.join(self.bin, "gridsync")] + [d["db"] for d in self.devices],
                           capture_output=True, text=True)
        fails.append(("devices_equal", [] if p.returncode == 0 else (p.stdout + p.stderr).splitlines()))
        pend = [d["name"] for d in self.devices
                if json.loads(self.must(d, "--json", "status"))["pending"]]
        fails.append(("outboxes_empty", ["pending on " + n for n in pend]))
        dup = self.doubled(store)
        fails.append(("nothing_doubled", ["%s seq %d applied %d times" % r for r in dup]))
        bad = []
        for (dev, seq), (code, d) in sorted(rej.items()):
            if code != "clock_ahead" or d["skew"] != "+3d":
                bad.append("%s seq %d rejected %s" % (d["name"], seq, code))
        fails.append(("rejections", bad))
        limit = (int(time.time() * 1000) + DRIFT_MS) << 16
        fut = sum(1 for r in recs.values() for f in r["fields"].values() if f["hlc"] > limit)
        fails.append(("no_future_clocks", ["%d values stamped past the drift guard" % fut] if fut else []))
        n_fail = 0
        for name, bad in fails:
            if bad:
                n_fail += 1
                print("not ok %s_seed%d: %s" % (name, self.a.seed, "; ".join(bad[:8])))
            else:
                print("ok %s_seed%d" % (name, self.a.seed))
        c = self.counts
        print("# seed %d: %d devices, %d edits (%d rejected), %d syncs, %d cut, %d client kills, "
              "%d server kills" % (self.a.seed, len(self.devices), c["edits"], len(self.edits) - len(accepted),
                                   c["syncs"], c["cuts"], c["client_kills"], c["server_kills"]))
        return n_fail

    def close(self):
        for d in self.devices:
            if d.get("proxy"):
                d["proxy"].terminate()
                d["proxy"].wait()
        for p in [self.server, self.haproxy] + [b.get("proc") for b in self.backends]:
            if p and p.poll() is None:
                p.terminate()
                p.wait()
        if self.url:
            subprocess.run([os.path.join(HERE, "pgtmp.sh"), "stop", self.a.pg])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--devices", type=int, default=3)
    ap.add_argument("--ops", type=int, default=120)
    ap.add_argument("--faults", action="store_true")
    ap.add_argument("--cluster", type=int, default=0, help="gridsyncd processes on PostgreSQL")
    ap.add_argument("--pg", help="--cluster: the folder of its throwaway PostgreSQL cluster")
    a = ap.parse_args()
    if a.cluster and not a.pg:
        ap.error("--cluster needs --pg DIR")
    os.makedirs(a.dir, exist_ok=True)
    w = World(a)
    try:
        w.setup()
        w.run()
        return 1 if w.check() else 0
    finally:
        w.close()


if __name__ == "__main__":
    sys.exit(main())
