#!/usr/bin/env bash
# test-cross.sh: the ARM client (make cross ARCH=...) on this x86-64 machine, under qemu-user.
#   1. every client unit test binary of $CROSS_BUILD/tests, run by $QEMU;
#   2. tests/cross/e2e_cross.sh: the ARM `gridsync` CLI syncing with the x86-64 gridsyncd
#      of $BUILD on 127.0.0.1 over TLS, both ways.
# Where qemu-user is missing or cannot run the ARM binaries it prints "SKIPPED" with the
# reason and exits 0; with CROSS_REQUIRED=1 (.ci/run) that is a failure (exit 1) instead.
# Ends with the same summary line as scripts/run-tests.sh: "N passed, N failed".
set -u
ARCH=${ARCH:-aarch64}
QEMU=${QEMU:-qemu-aarch64}
CROSS_BUILD=${CROSS_BUILD:-build/cross/$ARCH}
BUILD=${BUILD:-build}
export ARCH QEMU CROSS_BUILD BUILD
logs=$CROSS_BUILD/test-logs
mkdir -p "$logs"

skip_all() {
    echo "test-cross: SKIPPED ($ARCH): $1"
    if [ "${CROSS_REQUIRED:-0}" = 1 ]; then
        echo "test-cross: CROSS_REQUIRED=1, so a skip is a failure" >&2
        exit 1
    fi
    exit 0
}
command -v "$QEMU" >/dev/null 2>&1 || skip_all "$QEMU not found (Debian package qemu-user: make deps-cross)"
probe=$("$QEMU" "$CROSS_BUILD/bin/gridsync" --version 2>&1) ||
    skip_all "$QEMU cannot run $CROSS_BUILD/bin/gridsync: $probe"
echo "test-cross: $probe, $ARCH under $("$QEMU" --version | head -n 1)"

pass=0 fail=0
for t in "$CROSS_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    CMOCKA_MESSAGE_OUTPUT=stdout timeout -k 10 600 "$QEMU" "$t" >"$logs/$n.log" 2>&1 </dev/null
    rc=$?
    p=$(grep -aoE '\[  PASSED  \] [0-9]+' "$logs/$n.log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -aoE '\[  FAILED  \] [0-9]+ test' "$logs/$n.log" | awk '{s+=$4} END {print s+0}')
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1   # a binary that ran no case did not pass
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        printf 'FAIL %-32s (exit %d)\n' "$n" $rc; tail -n 30 "$logs/$n.log" | sed 's/^/    | /'
    else
        printf 'ok   %-32s %3d passed\n' "$n" "$p"
    fi
done

timeout -k 10 600 bash tests/cross/e2e_cross.sh >"$logs/e2e_cross.log" 2>&1 </dev/null
rc=$?
p=$(grep -acE '^ok ' "$logs/e2e_cross.log"); f=$(grep -acE '^not ok ' "$logs/e2e_cross.log")
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1
pass=$((pass + p)); fail=$((fail + f))
if [ "$f" -ne 0 ]; then
    printf 'FAIL %-32s (exit %d)\n' e2e_cross $rc; tail -n 40 "$logs/e2e_cross.log" | sed 's/^/    | /'
else
    printf 'ok   %-32s %3d passed\n' e2e_cross "$p"
fi
grep -aE '^(figure|skip) ' "$logs/e2e_cross.log" | sed 's/^/  /'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
