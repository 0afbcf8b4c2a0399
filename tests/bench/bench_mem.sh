#!/usr/bin/env bash
# bench_mem.sh: the client's memory on a handheld (issue 21, item 5), end to end against a
# real gridsyncd on 127.0.0.1 over TLS, with the data of tests/bench/gen_visits.py (fixed
# seeds). One JSON line per figure on stdout:
#
#   client_mem_initial_10000   memsync (tests/bench/memsync.c, the CLI's sync through
#                              libgridsync) on 10,000 visits + 50 residents: the split of
#                              the peak into gridsync's heap, SQLite's, the other libraries'
#                              heap, and each shared library's pages
#   client_mem_push_100000     the same for 100,000 pending changes (BENCH_BIG overrides)
#   client_mem_pull_100000     a second device of the same grid pulling those changes
#   client_mem_cli             `gridsync --json sync` itself on the 10,000 visits: peak RSS
#                              (/usr/bin/time -v) and wall time, median of ROUNDS; with
#                              BENCH_BASE_BUILD=DIR (another build's folder, e.g. of the
#                              commit before) the same syncs with DIR/bin/gridsync, in
#                              alternating rounds on copies of the same files, and the ratio
#
# Each sync runs on a copy of a snapshot (server folder + device file) taken after the
# import, so every round syncs the same bytes. Figures: docs/BENCHMARKS.md.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
. tests/integration/lib.sh
BIG=${BENCH_BIG:-100000}
ROUNDS=${BENCH_MEM_ROUNDS:-5}
GEN=tests/bench/gen_visits.py
MEMSYNC=$(cd "$BUILD/bench" && pwd)/memsync
[ -x "$MEMSYNC" ] || { echo "bench_mem: $MEMSYNC is not built (make bench builds it)" >&2; exit 1; }

t_setup bench_mem

now_s() { date +%s.%N; }
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

# snapshot NAME JSONL: a fresh server and an enrolled device with JSONL imported, kept in
# $T/snap.NAME (the server stopped, so its files are whole)
snapshot() {
    t_server_stop
    rm -rf "$T/town"
    PORT=
    t_server_init
    t_server_start
    local db=$T/dev.db
    rm -f "$db"*
    t_enroll "$db" 东风村3组 张三
    "$GRIDSYNC" --db "$db" import "$2" >/dev/null || { echo "import failed" >&2; exit 1; }
    t_server_stop
    rm -rf "$T/snap.$1"
    mkdir -p "$T/snap.$1"
    cp -a "$T/town" "$T/snap.$1/town"
    cp -a "$db"* "$T/snap.$1/"
    echo "$PORT $ADMIN_TOKEN" >"$T/snap.$1/server"
}

# restore NAME: the snapshot's files back in place, server started; sets DB
restore() {
    t_server_stop
    rm -rf "$T/town" "$T"/dev.db*
    cp -a "$T/snap.$1/town" "$T/town"
    cp -a "$T/snap.$1"/dev.db* "$T/"
    DB=$T/dev.db
    read -r PORT ADMIN_TOKEN <"$T/snap.$1/server"
    t_server_use "$T/town" "$ADMIN_TOKEN"
    t_server_start
}

python3 "$GEN" 10000 >"$T/v10k.jsonl"
python3 "$GEN" "$BIG" --seed 7 >"$T/vbig.jsonl"

# ---- the split, 10,000 visits ----
snapshot s10k "$T/v10k.jsonl"
restore s10k
"$MEMSYNC" initial_10000 "$DB" || exit 1

# ---- the split, 100,000 changes up, then the same changes down to a second device ----
snapshot sbig "$T/vbig.jsonl"
restore sbig
"$MEMSYNC" push_$BIG "$DB" || exit 1
DB2=$T/dev2.db
rm -f "$DB2"*
t_enroll "$DB2" 东风村3组 李四
"$MEMSYNC" pull_$BIG "$DB2" || exit 1

# ---- the CLI itself: peak RSS and wall time, against another build in the same run ----
cli_sync() { # BIN OUTPREFIX: one timed sync of a fresh copy; prints "secs rss_kb"
    restore s10k
    local t0 t1
    t0=$(now_s)
    /usr/bin/time -v "$1" --db "$DB" --json sync >"$2.json" 2>"$2.time" ||
        { echo "sync failed: $(cat "$2.time")" >&2; exit 1; }
    t1=$(now_s)
    echo "$(python3 -c "print('%.3f' % ($t1 - $t0))") $(rss_of "$2.time")"
}
BASE=${BENCH_BASE_BUILD:-}
[ -n "$BASE" ] && BASE=$(cd "$BASE/bin" && pwd)/gridsync
: >"$T/cli.txt"
for r in $(seq 1 "$ROUNDS"); do
    if [ -n "$BASE" ]; then
        echo "base $(cli_sync "$BASE" "$T/b$r")" >>"$T/cli.txt"
    fi
    echo "this $(cli_sync "$GRIDSYNC" "$T/c$r")" >>"$T/cli.txt"
done
t_server_stop
python3 - "$T/cli.txt" "$ROUNDS" "${BENCH_BASE_BUILD:-}" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def med(who, i):
    v = [float(r[i]) for r in rows if r[0] == who]
    return statistics.median(v) if v else None
out = {"bench": "client_mem_cli", "visits": 10000, "rounds": int(sys.argv[2]),
       "wall_s": med("this", 1), "peak_rss_kb": int(med("this", 2))}
if sys.argv[3]:
    out.update({"base_build": sys.argv[3], "base_wall_s": med("base", 1),
                "base_peak_rss_kb": int(med("base", 2)),
                "wall_ratio_to_base": round(med("this", 1) / med("base", 1), 3),
                "all_wall_s": {w: [float(r[1]) for r in rows if r[0] == w] for w in ("base", "this")}})
print(json.dumps(out))
PY
t_done
