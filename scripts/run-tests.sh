#!/usr/bin/env bash
# Runs tests and prints one summary line "N passed, N failed[, N skipped]".
#
# - unit tests (unless UNIT=0): each $BUILD/tests/test_* binary (cmocka); its own case
#   counts are added up;
# - scripts: each file of TEST_SCRIPTS (default tests/integration/*.sh), run with BUILD set;
#   a script counts as one test, or reports its own cases with lines "ok NAME" /
#   "not ok NAME: why" / "skip NAME: why". A script or binary that exits non-zero without a
#   failed case still fails (a crash must never pass).
# TESTS="glob" runs only the tests whose names match. TEST_TIMEOUT (seconds, default 900)
# bounds each one, so a hung server cannot hang CI. Output of each test goes to
# LOG_DIR/NAME.log (default $BUILD/test-logs) and is shown when the test fails.
# scripts/run-faults.sh is this script over tests/faults/.
set -u
BUILD=${BUILD:-build}
export BUILD
logs=${LOG_DIR:-$BUILD/test-logs}
limit=${TEST_TIMEOUT:-900}
mkdir -p "$logs"
pass=0 fail=0 skip=0
failed_names=()
pattern=${TESTS:-*}

run_one() { # name, command...
    local name=$1; shift
    local log="$logs/$name.log" rc p f s
    # shellcheck disable=SC2254
    case "$name" in $pattern) ;; *) return ;; esac
    local t0=$SECONDS
    CMOCKA_MESSAGE_OUTPUT=stdout timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    [ $rc -eq 124 ] && echo "not ok $name: timed out after ${limit}s" >>"$log"
    p=$(grep -aoE '\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -aoE '\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        p=$(grep -acE '^ok ' "$log"); f=$(grep -acE '^not ok ' "$log"); s=$(grep -acE '^skip ' "$log")
        skip=$((skip + s))
        grep -aE '^skip ' "$log" | sed "s/^/  $name: /"
        if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
            if [ $rc -eq 0 ]; then p=1; else f=1; fi
        fi
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$name")
        printf 'FAIL %-40s (%ss, exit %d)\n' "$name" $((SECONDS - t0)) $rc
        grep -aE '^not ok ' "$log" | head -n 20 | sed 's/^/    /'
        tail -n 40 "$log" | sed 's/^/    | /'
    else
        printf 'ok   %-40s %3d passed (%ss)\n' "$name" "$p" $((SECONDS - t0))
    fi
}

if [ "${UNIT:-1}" != 0 ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$(basename "$t")" "$t"
    done
fi
# shellcheck disable=SC2086
for t in ${TEST_SCRIPTS:-tests/integration/*.sh}; do
    [ -f "$t" ] || { echo "FAIL $t: missing"; fail=$((fail + 1)); continue; }
    [ "$(basename "$t")" = lib.sh ] && continue # sourced by the tests, not one itself
    run_one "$(basename "$t" .sh)" bash "$t"
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
if [ $skip -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
