#!/usr/bin/env bash
# converge_property.sh: the property test of issue 12. Random interleavings of offline edits
# and syncs on 3 devices of one grid (tests/tools/converge_model.py, one seed per run), each
# replayed against the model of the documented rules: every field ends with the accepted
# edit of greatest (HLC, device id), deletes stick, and every device shows exactly the
# server's data (values, created and updated). Real gridsyncd, real TLS, real SQLite files.
# SEEDS (default "1 2 3 4") and OPS (default 150) change the runs; about 3 s a seed.
. "$(dirname "$0")/lib.sh"
t_setup converge_property
for seed in ${SEEDS:-1 2 3 4}; do
    "$PY" "$TOOLS/converge_model.py" --bin "$GS_BIN" --dir "$T/seed$seed" --seed "$seed" \
        --ops "${OPS:-150}" --devices 3 2>"$T/err$seed"
    code=$?
    # a failed check printed its own "not ok" line; a harness failure only says why on stderr
    [ $code -eq 0 ] || T_FAILS=$((T_FAILS + 1))
    [ $code -eq 0 ] || [ ! -s "$T/err$seed" ] || notok "converge_model_seed$seed" "$(tail -c 600 "$T/err$seed")"
done
t_done
