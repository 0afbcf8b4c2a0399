#!/usr/bin/env bash
# bench_sync.sh: figures 2, 3, 4, 6 (CLI part) and 7 of issue 7, end to end: a real gridsyncd
# on 127.0.0.1 with TLS, real devices driven through the gridsync CLI, the data set from
# tests/bench/gen_visits.py (fixed seed). One JSON line per figure on stdout.
#
#   2 initial sync of 10,000 visits (+50 residents) from one device
#   3 incremental sync after 1% of those visits changed one field; then a no-op sync
#   4 2,000 visits through tests/tools/linkproxy.py holding every request 150 ms
#   6 small syncs (one new visit each), a new process and TLS connection every time
#   7 client peak RSS pushing 100,000 pending changes (BENCH_BIG overrides the count)
# Application bytes come from `gridsync --json sync`; TLS bytes are counted by
# tests/tools/linkproxy.py: figure 4 runs through it anyway, and figures 2 and 3 run once
# more through a zero-delay proxy only to count them (not timed: the proxy is Python).
# Peak RSS: the client's from /usr/bin/time -v, split by tests/tools/peakmem.py into the
# anonymous part (heap, stacks: gridsync's own) and the file-backed part (program and
# shared-library pages); the server's as VmHWM of gridsyncd (cumulative since start: each
# figure uses a fresh server).
# Timings are quoted beside a baseline measured in the same run: the time of a no-op sync
# (process start + TLS handshake + one request). Client RSS is also quoted beside the peak
# RSS of `gridsync --version` in the same run (the program and its shared libraries, mostly
# libcurl/OpenSSL/SQLite pages, before any work).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
. tests/integration/lib.sh
BIG=${BENCH_BIG:-100000}
GEN=tests/bench/gen_visits.py

t_setup bench_sync

now_s() { date +%s.%N; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU seconds (user + system) of a running process, and the bytes it made its files write
# (write_bytes: counted when pages are dirtied, so WAL frames and checkpoint copies alike)
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wbytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
# client CPU seconds from /usr/bin/time -v
client_cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.3f", u + s}' "$1"; }
# rss_of FILE: "Maximum resident set size (kbytes): N" from /usr/bin/time -v
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get(sys.argv[1], ""))' "$1"; }

# A fresh server + one enrolled device with FILE imported. Sets DB.
fresh() { # name jsonl [url-override]
    t_server_stop
    rm -rf "$T/town"
    PORT=
    t_server_init
    t_server_start
    DB=$T/$1.db
    rm -f "$DB"*
    local u=$URL
    [ -n "${3:-}" ] && URL=$3
    t_enroll "$DB" 东风村3组 张三
    URL=$u
    "$GRIDSYNC" --db "$DB" import "$2" >/dev/null || { echo "import failed" >&2; exit 1; }
}

# timed_sync DB OUTPREFIX: gridsync --json sync under /usr/bin/time -v (the exact peak RSS)
# and tests/tools/peakmem.py (the anonymous and file-backed parts, sampled every 10 ms);
# sets S_JSON S_SECS S_RSS S_SPLIT (JSON members for the two parts)
timed_sync() {
    local t0 t1
    t0=$(now_s)
    "$PY" "$TOOLS/peakmem.py" --out "$2.mem" --name gridsync --interval-ms 10 -- \
        /usr/bin/time -v "$GRIDSYNC" --db "$1" --json sync >"$2.json" 2>"$2.time"
    t1=$(now_s)
    S_JSON=$(cat "$2.json")
    S_SECS=$(python3 -c "print('%.3f' % ($t1 - $t0))")
    S_RSS=$(rss_of "$2.time")
    S_SPLIT=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print("\"client_peak_anon_kb\":%d,\"client_peak_file_kb\":%d" % (m["peak_anon_kb"], m["peak_file_kb"]))' "$2.mem")
}

proxy_start() { # args...: starts linkproxy to $PORT; sets PROXY_PORT PROXY_PID PROXY_LOG
    PROXY_LOG=$T/proxy.$RANDOM.log
    python3 "$TOOLS/linkproxy.py" --listen 0 --target "$PORT" "$@" >"$PROXY_LOG.out" \
        2>"$PROXY_LOG" &
    PROXY_PID=$!
    T_PIDS+=("$PROXY_PID")
    for _ in $(seq 1 100); do
        PROXY_PORT=$(awk '/listening/ {print $2}' "$PROXY_LOG.out")
        [ -n "$PROXY_PORT" ] && return 0
        sleep 0.05
    done
    echo "linkproxy did not start" >&2; exit 1
}
proxy_stop() { # prints "up down" byte counts
    kill -TERM "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null
    python3 - "$PROXY_LOG" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
up = re.findall(r"up[= ](\d+)", t); down = re.findall(r"down[= ](\d+)", t)
print(up[-1] if up else -1, down[-1] if down else -1)
PY
}

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

python3 "$GEN" 10000 >"$T/v10k.jsonl"
python3 "$GEN" 2000 --seed 2 >"$T/v2k.jsonl"

# ---- baseline: a no-op sync (process start, TLS handshake, one request) ----
fresh base "$T/v2k.jsonl"
"$GRIDSYNC" --db "$DB" --json sync >/dev/null
timed_sync "$DB" "$T/noop0"; base_noop=$S_SECS
timed_sync "$DB" "$T/noop1"; [ "$(python3 -c "print(int($S_SECS < $base_noop))")" = 1 ] && base_noop=$S_SECS
/usr/bin/time -v "$GRIDSYNC" --version >/dev/null 2>"$T/version.time"
base_rss=$(rss_of "$T/version.time")
echo "{\"bench\":\"client_baseline\",\"noop_sync_s\":$base_noop,\"version_peak_rss_kb\":$base_rss,\"noop_sync_peak_rss_kb\":$S_RSS,${S_SPLIT//client_peak/noop_sync_peak},\"note\":\"a no-op sync: process, libraries, TLS handshake, one request\"}"

# ---- figure 2: initial sync of 10,000 visits ----
fresh f2 "$T/v10k.jsonl"
c0=$(cpu_s "$SERVER_PID"); w0=$(wbytes "$SERVER_PID")
timed_sync "$DB" "$T/f2"
c1=$(cpu_s "$SERVER_PID"); w1=$(wbytes "$SERVER_PID")
f2_srv=$(hwm_kb "$SERVER_PID")
f2_ccpu=$(client_cpu "$T/f2.time")
# the store once the server has stopped (its WAL checkpointed and gone)
t_server_stop
f2_store=$(stat -c %s "$T/town/gridsyncd.db")
t_server_start
echo "{\"bench\":\"sync_initial_10000\",\"visits\":10000,\"residents\":50,\"wall_s\":$S_SECS,\"noop_sync_s\":$base_noop,\"ratio_to_noop\":$(python3 -c "print('%.1f' % ($S_SECS/$base_noop))"),\"server_cpu_s\":$(python3 -c "print('%.3f' % ($c1 - $c0))"),\"client_cpu_s\":$f2_ccpu,\"server_bytes_written_per_visit\":$(( (w1 - w0) / 10050 )),\"store_bytes_per_visit\":$(( f2_store / 10050 )),\"client_peak_rss_kb\":$S_RSS,$S_SPLIT,\"client_rss_above_baseline_kb\":$((S_RSS - base_rss)),\"server_peak_rss_kb\":$f2_srv,\"summary\":$S_JSON}"
f2_json=$S_JSON; f2_secs=$S_SECS; f2_rss=$S_RSS

# ---- figure 3: 1% of the visits change one field, then sync; then a no-op sync ----
mapfile -t ids < <(python3 -c '
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1]) if "\"visit\"" in l]
print("\n".join(ids[::100]))' "$T/v10k.jsonl")
for id in "${ids[@]}"; do
    "$GRIDSYNC" --db "$DB" visit update "$id" --notes "已复查，情况稳定，下月再访" >/dev/null
done
w0=$(wbytes "$SERVER_PID")
timed_sync "$DB" "$T/f3"
w1=$(wbytes "$SERVER_PID")
f3_srv=$(hwm_kb "$SERVER_PID")
echo "{\"bench\":\"sync_incremental_1pct\",\"changed_visits\":${#ids[@]},\"field\":\"notes\",\"wall_s\":$S_SECS,\"server_bytes_written_per_change\":$(( (w1 - w0) / ${#ids[@]} )),\"noop_sync_s\":$base_noop,\"ratio_to_noop\":$(python3 -c "print('%.1f' % ($S_SECS/$base_noop))"),\"client_peak_rss_kb\":$S_RSS,$S_SPLIT,\"client_rss_above_baseline_kb\":$((S_RSS - base_rss)),\"server_peak_rss_kb\":$f3_srv,\"summary\":$S_JSON}"
timed_sync "$DB" "$T/f3noop"
echo "{\"bench\":\"sync_noop\",\"wall_s\":$S_SECS,\"client_peak_rss_kb\":$S_RSS,$S_SPLIT,\"client_rss_above_baseline_kb\":$((S_RSS - base_rss)),\"summary\":$S_JSON}"

# TLS bytes of figures 2 and 3: the same syncs once more through a zero-delay proxy (not
# timed: the proxy is Python), a device enrolled with the proxy's address.
fresh_via_proxy() { # name jsonl proxy-args...
    local name=$1 file=$2
    shift 2
    t_server_stop; rm -rf "$T/town"; PORT=; t_server_init; t_server_start
    proxy_start "$@"
    DB=$T/$name.db
    local u=$URL
    URL=https://localhost:$PROXY_PORT
    t_enroll "$DB" 东风村3组 张三
    URL=$u
    "$GRIDSYNC" --db "$DB" import "$file" >/dev/null || { echo "import failed" >&2; exit 1; }
}
fresh_via_proxy f2tls "$T/v10k.jsonl"
"$GRIDSYNC" --db "$DB" --json sync >/dev/null
read -r tls_up tls_down < <(proxy_stop)
ppids=$PROXY_PORT
a_up=$(field "$f2_json" bytes_up); a_down=$(field "$f2_json" bytes_down)
echo "{\"bench\":\"sync_initial_10000_tls_bytes\",\"tls_bytes_up\":$tls_up,\"tls_bytes_down\":$tls_down,\"app_bytes_up\":$a_up,\"app_bytes_down\":$a_down,\"tls_bytes_up_per_visit\":$(python3 -c "print('%.1f' % ($tls_up/10000))"),\"app_bytes_up_per_visit\":$(python3 -c "print('%.1f' % ($a_up/10000))")}"
python3 "$TOOLS/linkproxy.py" --listen "$ppids" --target "$PORT" >"$T/p2.out" 2>"$T/p2.log" &
PROXY_PID=$!; PROXY_LOG=$T/p2.log; T_PIDS+=("$PROXY_PID"); sleep 0.3
for id in "${ids[@]}"; do
    "$GRIDSYNC" --db "$DB" visit update "$id" --notes "已复查，情况稳定，下月再访" >/dev/null
done
s3=$("$GRIDSYNC" --db "$DB" --json sync)
read -r tls_up tls_down < <(proxy_stop)
echo "{\"bench\":\"sync_incremental_1pct_tls_bytes\",\"tls_bytes_up\":$tls_up,\"tls_bytes_down\":$tls_down,\"app_bytes_up\":$(field "$s3" bytes_up),\"app_bytes_down\":$(field "$s3" bytes_down)}"

# ---- figure 4: 2,000 visits, every request held 150 ms by the proxy ----
fresh_via_proxy f4 "$T/v2k.jsonl" --delay-up-ms 150
timed_sync "$DB" "$T/f4"
read -r tls_up tls_down < <(proxy_stop)
echo "{\"bench\":\"sync_2000_behind_150ms_proxy\",\"visits\":2000,\"delay_up_ms\":150,\"wall_s\":$S_SECS,\"noop_sync_s\":$base_noop,\"requests\":$(field "$S_JSON" requests),\"tls_bytes_up\":$tls_up,\"tls_bytes_down\":$tls_down,\"client_peak_rss_kb\":$S_RSS,$S_SPLIT,\"client_rss_above_baseline_kb\":$((S_RSS - base_rss)),\"summary\":$S_JSON}"

# ---- figure 6 (CLI part): small syncs, each a new process and a new TLS connection ----
fresh f6 "$T/v2k.jsonl"
"$GRIDSYNC" --db "$DB" sync >/dev/null
res=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/v2k.jsonl")
K=${BENCH_SMALL_SYNCS:-30}
t0=$(now_s)
for i in $(seq 1 "$K"); do
    "$GRIDSYNC" --db "$DB" visit add --resident "$res" --kind routine --notes "第${i}次随访，情况正常" >/dev/null
    "$GRIDSYNC" --db "$DB" sync >/dev/null || { echo "small sync $i failed" >&2; exit 1; }
done
t1=$(now_s)
for i in $(seq 1 "$K"); do
    "$GRIDSYNC" --db "$DB" visit add --resident "$res" --kind routine --notes "第${i}次随访，情况正常" >/dev/null
done
t3=$(now_s)
python3 - "$K" "$t0" "$t1" "$t1" "$t3" <<'PY'
import json, sys
k = int(sys.argv[1]); t0, t1, t2, t3 = map(float, sys.argv[2:])
both, adds = t1 - t0, t3 - t2
sync = both - adds
print(json.dumps({"bench": "small_syncs_new_tls_connection_cli", "syncs": k,
                  "syncs_per_s": round(k / sync, 1), "ms_per_sync": round(1000 * sync / k, 1),
                  "baseline_ms_per_visit_add_process": round(1000 * adds / k, 1),
                  "ratio_sync_to_visit_add": round(sync / adds, 2),
                  "note": "one gridsync process per sync: process start and a full TLS "
                          "handshake included; srv_sync_sessions gives the server alone"}))
PY

# ---- figure 7: 100,000 pending changes ----
python3 "$GEN" "$BIG" --seed 7 >"$T/vbig.jsonl"
fresh f7 "$T/vbig.jsonl"
pending=$("$GRIDSYNC" --db "$DB" --json status | jget pending)
timed_sync "$DB" "$T/f7"
f7_srv=$(hwm_kb "$SERVER_PID")
echo "{\"bench\":\"sync_pending_changes\",\"pending\":$pending,\"wall_s\":$S_SECS,\"client_peak_rss_kb\":$S_RSS,$S_SPLIT,\"client_rss_above_baseline_kb\":$((S_RSS - base_rss)),\"server_peak_rss_kb\":$f7_srv,\"summary\":$S_JSON}"
t_server_stop
t_done
