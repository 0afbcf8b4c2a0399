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
#                              (/usr/bin/time -v), wall, client and server CPU time, medians of
#                              ROUNDS (BENCH_MEM_ROUNDS, 5); with
#                              BENCH_BASE_BUILD=DIR (another build's folder, e.g. of the
#                              commit before) the same syncs with DIR/bin/gridsync, in
#                              alternating rounds on copies of the same files, and the ratio;
#                              when DIR/bench/memsync exists, the three splits with it too
#                              (client_mem_base_*)
#   client_mem_qemu_aarch64_initial_10000, client_mem_cli_qemu_aarch64
#                              with BENCH_MEM_CROSS=build/cross/aarch64 (make cross
#                              ARCH=aarch64, and its bench/memsync: docs/BENCHMARKS.md):
#                              memsync and the CLI of that build under qemu-aarch64 on the
#                              same 10,000 visits. Under qemu the heap counters are the ARM
#                              build's own; RSS and the mappings are the emulator's process
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
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
client_cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.3f", u + s}' "$1"; }

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

snapshot s10k "$T/v10k.jsonl"
snapshot sbig "$T/vbig.jsonl"

# ---- the split: 10,000 visits; 100,000 changes up, then down to a second device ----
# (also with the other build's memsync when it has one: the split before and after)
splits() { # MEMSYNC LABEL-PREFIX
    restore s10k
    "$1" "${2}initial_10000" "$DB" || exit 1
    restore sbig
    "$1" "${2}push_$BIG" "$DB" || exit 1
    DB2=$T/dev2.db
    rm -f "$DB2"*
    t_enroll "$DB2" 东风村3组 李四
    "$1" "${2}pull_$BIG" "$DB2" || exit 1
}
if [ -n "${BENCH_BASE_BUILD:-}" ] && [ -x "$BENCH_BASE_BUILD/bench/memsync" ]; then
    splits "$BENCH_BASE_BUILD/bench/memsync" base_
fi
splits "$MEMSYNC" ""

# ---- the CLI itself: peak RSS and wall time, against another build in the same run ----
cli_sync() { # WHO BIN OUTPREFIX: one timed sync of a fresh copy; appends to $T/cli.txt
    # "WHO secs rss_kb client_cpu_s server_cpu_s" (not in a subshell: it starts the server)
    local who=$1
    shift
    restore s10k
    local t0 t1 c0 c1
    c0=$(cpu_s "$SERVER_PID")
    t0=$(now_s)
    /usr/bin/time -v "$1" --db "$DB" --json sync >"$2.json" 2>"$2.time" ||
        { echo "sync failed: $(cat "$2.time")" >&2; exit 1; }
    t1=$(now_s)
    c1=$(cpu_s "$SERVER_PID")
    python3 -c 'import sys; a = sys.argv[1:]
print("%s %.3f %s %s %.3f" % (a[0], float(a[2]) - float(a[1]), a[3], a[4], float(a[6]) - float(a[5])))' \
        "$who" "$t0" "$t1" "$(rss_of "$2.time")" "$(client_cpu "$2.time")" "$c0" "$c1" >>"$T/cli.txt"
}
BASE=${BENCH_BASE_BUILD:-}
[ -n "$BASE" ] && BASE=$(cd "$BASE/bin" && pwd)/gridsync
: >"$T/cli.txt"
for r in $(seq 1 "$ROUNDS"); do
    if [ -n "$BASE" ]; then
        cli_sync base "$BASE" "$T/b$r"
    fi
    cli_sync this "$GRIDSYNC" "$T/c$r"
done
# ---- the same under qemu-user, the ARM build (optional) ----
if [ -n "${BENCH_MEM_CROSS:-}" ]; then
    QEMU=${QEMU:-qemu-aarch64}
    XBIN=$(cd "$BENCH_MEM_CROSS" && pwd)
    command -v "$QEMU" >/dev/null || { echo "bench_mem: $QEMU not found" >&2; exit 1; }
    restore s10k
    "$QEMU" "$XBIN/bench/memsync" qemu_aarch64_initial_10000 "$DB" || exit 1
    : >"$T/xcli.txt"
    for r in $(seq 1 3); do
        restore s10k
        /usr/bin/time -v "$QEMU" "$XBIN/bin/gridsync" --db "$DB" --json sync >"$T/x$r.json" \
            2>"$T/x$r.time" || { echo "qemu sync failed: $(tail -n 5 "$T/x$r.time")" >&2; exit 1; }
        rss_of "$T/x$r.time" >>"$T/xcli.txt"
    done
    /usr/bin/time -v "$QEMU" "$XBIN/bin/gridsync" --version >/dev/null 2>"$T/xv.time"
    echo "{\"bench\":\"client_mem_cli_qemu_aarch64\",\"visits\":10000,\"peak_rss_kb\":$(sort -n "$T/xcli.txt" | sed -n 2p),\"version_peak_rss_kb\":$(rss_of "$T/xv.time"),\"note\":\"median of 3; qemu-user RSS: the emulator's pages are included\"}"
fi

t_server_stop
python3 - "$T/cli.txt" "$ROUNDS" "${BENCH_BASE_BUILD:-}" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def med(who, i):
    v = [float(r[i]) for r in rows if r[0] == who]
    return statistics.median(v) if v else None
out = {"bench": "client_mem_cli", "visits": 10000, "rounds": int(sys.argv[2]),
       "wall_s": med("this", 1), "client_cpu_s": med("this", 3),
       "server_cpu_s": med("this", 4),
       "peak_rss_kb": int(med("this", 2))}
if sys.argv[3]:
    out.update({"base_build": sys.argv[3], "base_wall_s": med("base", 1),
                "base_client_cpu_s": med("base", 3), "base_server_cpu_s": med("base", 4),
                "base_peak_rss_kb": int(med("base", 2)),
                "server_cpu_ratio_to_base": round(med("this", 4) / med("base", 4), 3),
                "wall_ratio_to_base": round(med("this", 1) / med("base", 1), 3),
                "client_cpu_ratio_to_base": round(med("this", 3) / med("base", 3), 3),
                "all_wall_s": {w: [float(r[1]) for r in rows if r[0] == w] for w in ("base", "this")},
                "all_client_cpu_s": {w: [float(r[3]) for r in rows if r[0] == w] for w in ("base", "this")},
                "all_server_cpu_s": {w: [float(r[4]) for r in rows if r[0] == w] for w in ("base", "this")}})
print(json.dumps(out))
PY
t_done
