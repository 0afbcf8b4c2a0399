#!/usr/bin/env bash
# converge_faults.sh: the randomized fault test of issue 12, run as an outsider would.
# 5 devices of one grid edit shared records offline while syncs are cut at random byte
# offsets (linkproxy.py), devices and gridsyncd are killed with SIGKILL mid-sync, one device
# runs 3 days ahead and one 2 hours behind (faketime); then every device syncs until quiet.
# tests/tools/converge_model.py checks: every field holds the model's value (the accepted
# edit of greatest HLC and device id), deletes stick, every device equals the server, no
# outbox holds anything, no (device, seq) was applied twice, only the device ahead had
# changes refused (clock_ahead), and no value carries a clock past the drift guard.
# SEEDS (default "1 2 3 4 5") and OPS (default 900, ~400 writes and ~200 syncs); about
# 30 s a seed.
. "$(dirname "$0")/../integration/lib.sh"
t_setup converge_faults
if ! t_faketime '+3d' true 2>/dev/null; then
    skip converge_faults "faketime is not installed"
    exit 0
fi
for seed in ${SEEDS:-1 2 3 4 5}; do
    FAKETIME_LIB=$T_FAKETIME_LIB "$PY" "$TOOLS/converge_model.py" --bin "$GS_BIN" --dir "$T/seed$seed" --seed "$seed" \
        --ops "${OPS:-900}" --devices 5 --faults 2>"$T/err$seed"
    code=$?
    # a failed check printed its own "not ok" line; a harness failure only says why on stderr
    [ $code -eq 0 ] || T_FAILS=$((T_FAILS + 1))
    [ $code -eq 0 ] || [ ! -s "$T/err$seed" ] || notok "converge_faults_seed$seed" "$(tail -c 600 "$T/err$seed")"
done
t_done
