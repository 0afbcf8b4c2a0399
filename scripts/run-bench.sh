#!/usr/bin/env bash
# Runs every benchmark binary in $BUILD/bench and every tests/bench/*.sh; each prints one
# JSON object per line per figure. The lines are also collected in $BUILD/bench.jsonl, after
# a first line naming the machine, the date and the load, and before a last one giving the
# run's duration. docs/BENCHMARKS.md explains every figure.
set -u
BUILD=${BUILD:-build/release}
export BUILD
out="$BUILD/bench.jsonl"
: >"$out"
status=0
start=$(date +%s)
# the machine and the date first, so a saved bench.jsonl says where it was measured
python3 - <<'PY' | tee -a "$out"
import json, os, platform, time
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
print(json.dumps({"bench": "machine", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "cpu": cpu, "cores": os.cpu_count(), "mem_mb": int(mem) // 1024,
                  "kernel": platform.release(), "load_1min": os.getloadavg()[0]}))
PY
for b in "$BUILD"/bench/bench_* tests/bench/*.sh; do
    [ -e "$b" ] || continue
    case "$b" in *.sh) cmd=(bash "$b") ;; *) cmd=("$b") ;; esac
    echo "# $(basename "$b")" >&2
    if ! "${cmd[@]}" | tee -a "$out"; then
        echo "# $(basename "$b") FAILED" >&2
        status=1
    fi
done
echo "{\"bench\":\"run\",\"seconds\":$(($(date +%s) - start)),\"ok\":$((status == 0))}" | tee -a "$out"
exit $status
