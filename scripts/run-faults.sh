#!/usr/bin/env bash
# Runs the fault and hostile-input checks (tests/faults/*.sh, or FAULTS="a b" to pick) and
# prints one summary line "N passed, N failed[, N skipped]", through scripts/run-tests.sh
# (same counting: ok / not ok / skip lines, a non-zero exit always fails). Logs go to
# $BUILD/fault-logs/. FAULT_TIMEOUT (seconds, default 300) bounds each script, so
# `make check-faults` stays bounded even when a server hangs.
set -u
BUILD=${BUILD:-build}
scripts="tests/faults/*.sh"
if [ -n "${FAULTS:-}" ]; then
    scripts=""
    for n in $FAULTS; do scripts="$scripts tests/faults/$n.sh"; done
fi
exec env BUILD="$BUILD" UNIT=0 TEST_SCRIPTS="$scripts" LOG_DIR="$BUILD/fault-logs" \
    TEST_TIMEOUT="${FAULT_TIMEOUT:-300}" "$(dirname "$0")/run-tests.sh"
