#!/usr/bin/env bash
# bench_pouchdb.sh: issue 14's headline figure. The same initial sync of 10,000 visits (+50
# residents, tests/bench/gen_visits.py) by gridsync and by PouchDB 9, alternately in one run
# on the same machine, ROUNDS times each (default 3); the medians and their ratio.
#
#   gridsync: a real gridsyncd on 127.0.0.1 over TLS, a device that imported the file, one
#             `gridsync --json sync` (process start and TLS handshake included);
#   PouchDB:  express-pouchdb 4.2 (CouchDB's replication protocol, LevelDB) on 127.0.0.1 over
#             plain HTTP, and a node process whose local PouchDB (LevelDB) got the same
#             records in one bulkDocs, timed over replicate.to() alone (node's start and the
#             load are not counted): tests/bench/pouchdb/. Versions pinned in its
#             package-lock.json, installed with `npm ci` into $BUILD/pouchdb.
# Both sides write every record durably on the server; PouchDB is spared TLS and its
# process start, so the ratio is conservative. One JSON line; when node or npm is missing
# the line says so ("skipped") and the script exits 0.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
. tests/integration/lib.sh
ROUNDS=${ROUNDS:-3}
N=${BENCH_VISITS:-10000}
PDIR=$BUILD/pouchdb

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo '{"bench":"sync_initial_vs_pouchdb","skipped":"node or npm is not installed"}'
    exit 0
fi
mkdir -p "$PDIR"
cp tests/bench/pouchdb/package.json tests/bench/pouchdb/package-lock.json tests/bench/pouchdb/*.js "$PDIR/"
if [ ! -d "$PDIR/node_modules/pouchdb-node" ] || ! cmp -s tests/bench/pouchdb/package-lock.json "$PDIR/.installed-lock"; then
    (cd "$PDIR" && npm ci --no-audit --no-fund >npm.log 2>&1) || {
        echo "{\"bench\":\"sync_initial_vs_pouchdb\",\"skipped\":\"npm ci failed: see $PDIR/npm.log\"}"
        exit 0
    }
    cp tests/bench/pouchdb/package-lock.json "$PDIR/.installed-lock"
fi

t_setup bench_pouchdb
"$PY" tests/bench/gen_visits.py "$N" >"$T/v.jsonl"

# Each round prints "wall requests bytes_up bytes_down" into a file: run in $(...) the
# server it starts would belong to a subshell and outlive the script.
gs_round() {
    t_server_stop; rm -rf "$T/town"; PORT=; t_server_init; t_server_start
    DB=$T/gs.db; rm -f "$DB"*
    t_enroll "$DB" 东风村3组 张三
    "$GRIDSYNC" --db "$DB" import "$T/v.jsonl" >/dev/null || { echo "import failed" >&2; exit 1; }
    local t0 t1 out
    t0=$(date +%s.%N)
    out=$("$GRIDSYNC" --db "$DB" --json sync) || { echo "gridsync sync failed: $out" >&2; exit 1; }
    t1=$(date +%s.%N)
    "$PY" -c 'import json,sys; s=json.loads(sys.argv[3]); print("%.3f %d %d %d" % (float(sys.argv[2])-float(sys.argv[1]), s["requests"], s["bytes_up"], s["bytes_down"]))' "$t0" "$t1" "$out"
}

pdb_round() {
    local port pid out
    rm -rf "$T/psrv" "$T/pdev"; mkdir -p "$T/psrv" "$T/pdev"
    port=$(t_free_port)
    (cd "$PDIR" && exec node server.js "$port" "$T/psrv") >"$T/psrv.out" 2>&1 &
    pid=$!
    T_PIDS+=("$pid")
    for _ in $(seq 1 200); do grep -q listening "$T/psrv.out" && break; sleep 0.05; done
    out=$(cd "$PDIR" && node client.js "http://127.0.0.1:$port" "$T/pdev" "$T/v.jsonl") || {
        echo "pouchdb client failed: $out" >&2; exit 1; }
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    "$PY" -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["ok"] and s["docs_written"] > 0; print("%.3f %d %d %d" % (s["wall_s"], s["requests"], s["bytes_up"], s["bytes_down"]))' "$out"
}

gs=() pd=()
for _ in $(seq 1 "$ROUNDS"); do
    gs_round >"$T/round" || exit 1
    gs+=("$(cat "$T/round")")
    pdb_round >"$T/round" || exit 1
    pd+=("$(cat "$T/round")")
done
t_server_stop
"$PY" - "$N" "${gs[@]}" -- "${pd[@]}" <<'PY'
import json, statistics, sys
n = int(sys.argv[1]); rest = sys.argv[2:]; i = rest.index("--")
gs = [list(map(float, r.split())) for r in rest[:i]]
pd = [list(map(float, r.split())) for r in rest[i + 1:]]
med = lambda rows, k: statistics.median(r[k] for r in rows)
g, p = med(gs, 0), med(pd, 0)
print(json.dumps({"bench": "sync_initial_vs_pouchdb", "visits": n, "rounds": len(gs),
                  "gridsync_wall_s": g, "pouchdb_wall_s": p, "ratio": round(p / g, 1),
                  "gridsync_walls": [r[0] for r in gs], "pouchdb_walls": [r[0] for r in pd],
                  "gridsync_requests": int(med(gs, 1)), "pouchdb_requests": int(med(pd, 1)),
                  "gridsync_bytes_up": int(med(gs, 2)), "pouchdb_bytes_up": int(med(pd, 2)),
                  "gridsync_bytes_down": int(med(gs, 3)), "pouchdb_bytes_down": int(med(pd, 3)),
                  "note": "gridsync over TLS with its process start; PouchDB over HTTP, replication only"}))
PY
