#!/usr/bin/env bash
# Runs every test and prints one summary line "N passed, N failed".
#
# - unit tests: each $BUILD/tests/test_* binary (cmocka); its own case counts are added up;
# - integration tests: each tests/integration/*.sh, run with BUILD set; a script counts as
#   one test, or reports its own cases with lines "ok NAME" / "not ok NAME" / "skip NAME: why".
# Output of each test goes to $BUILD/test-logs/NAME.log and is shown when the test fails.
# TESTS="pattern" runs only the tests whose names match the shell glob pattern.
set -u
BUILD=${BUILD:-build}
export BUILD
logs="$BUILD/test-logs"
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
    CMOCKA_MESSAGE_OUTPUT=stdout "$@" >"$log" 2>&1 </dev/null
    rc=$?
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
    # a crash or sanitizer report after the last case still fails the binary
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$name")
        printf 'FAIL %-40s (%ss, exit %d)\n' "$name" $((SECONDS - t0)) $rc
        tail -n 40 "$log" | sed 's/^/    /'
    else
        printf 'ok   %-40s %3d passed (%ss)\n' "$name" "$p" $((SECONDS - t0))
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
    [ -f "$t" ] || continue
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
