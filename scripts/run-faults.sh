#!/usr/bin/env bash
# Runs the fault and hostile-input checks (tests/faults/*.sh, or FAULTS="a b" to pick) and
# prints one summary line "N passed, N failed[, N skipped]".
#
# Each script prints "ok NAME" / "not ok NAME: why" / "skip NAME: why" lines; a script that
# prints none counts as one check by its exit status. A script that exits non-zero without a
# "not ok" line still fails (a crash must never pass). Logs go to $BUILD/fault-logs/.
# FAULT_TIMEOUT (seconds, default 300) bounds each script, so `make check-faults` stays
# bounded even when a server hangs.
set -u
BUILD=${BUILD:-build}
export BUILD
logs="$BUILD/fault-logs"
mkdir -p "$logs"
pass=0 fail=0 skip=0
failed_names=()
limit=${FAULT_TIMEOUT:-300}
if [ -n "${FAULTS:-}" ]; then
    scripts=(); for n in $FAULTS; do scripts+=("tests/faults/$n.sh"); done
else
    scripts=(tests/faults/*.sh)
fi
for t in "${scripts[@]}"; do
    [ -f "$t" ] || { echo "FAIL $t: missing"; fail=$((fail + 1)); continue; }
    name=$(basename "$t" .sh)
    log="$logs/$name.log"
    t0=$SECONDS
    timeout -k 10 "$limit" bash "$t" >"$log" 2>&1 </dev/null
    rc=$?
    p=$(grep -acE '^ok ' "$log"); f=$(grep -acE '^not ok ' "$log"); s=$(grep -acE '^skip ' "$log")
    [ "$rc" -eq 124 ] && echo "not ok $name: timed out after ${limit}s" >>"$log" && f=$((f + 1))
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        if [ $rc -eq 0 ]; then p=1; else f=1; fi
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    grep -aE '^skip |^# ' "$log" | sed "s/^/  $name: /"
    if [ "$f" -ne 0 ]; then
        failed_names+=("$name")
        printf 'FAIL %-24s (%ss, exit %d)\n' "$name" $((SECONDS - t0)) $rc
        grep -aE '^not ok ' "$log" | head -n 20 | sed 's/^/    /'
        tail -n 15 "$log" | sed 's/^/    | /'
    else
        printf 'ok   %-24s %3d passed (%ss)\n' "$name" "$p" $((SECONDS - t0))
    fi
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
if [ $skip -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
