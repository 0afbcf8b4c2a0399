#!/usr/bin/env bash
# Runs every benchmark binary in $BUILD/bench and every tests/bench/*.sh; each prints one
# JSON object per line per figure. The lines are also collected in $BUILD/bench.jsonl.
set -u
BUILD=${BUILD:-build/release}
export BUILD
out="$BUILD/bench.jsonl"
: >"$out"
status=0
for b in "$BUILD"/bench/bench_* tests/bench/*.sh; do
    [ -e "$b" ] || continue
    case "$b" in *.sh) cmd=(bash "$b") ;; *) cmd=("$b") ;; esac
    echo "# $(basename "$b")" >&2
    if ! "${cmd[@]}" | tee -a "$out"; then
        echo "# $(basename "$b") FAILED" >&2
        status=1
    fi
done
exit $status
