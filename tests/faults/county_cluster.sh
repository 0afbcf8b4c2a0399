#!/usr/bin/env bash
# county_cluster.sh: several gridsyncd processes on one PostgreSQL database behind haproxy
# (issue 20). tests/tools/converge_model.py --cluster 3: 30 devices of one grid edit shared
# records offline and sync in bursts of up to 10 at once through haproxy (TCP, round
# robin), so that batches merge concurrently in different processes; a process is killed
# with SIGKILL and restarted now and then, and the database is restarted once
# (pg_ctl restart -m fast) under syncs in flight. Then every device syncs until quiet and
# the model's checks run: every field holds the value of the accepted edit of greatest
# (HLC, device), every device equals the database, nothing pending, no (device, seq)
# applied twice. SEEDS (default "1"), OPS (default 300): about 100 s.
. "$(dirname "$0")/../integration/lib.sh"
t_setup county_cluster
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || ! command -v haproxy >/dev/null; then
    skip county_cluster "PostgreSQL 15 or haproxy is not installed (scripts/install-deps.sh test)"
    exit 0
fi
chmod 711 "$T" # the cluster's owner (postgres, when run as root) must reach $T/seed*/pg
for seed in ${SEEDS:-1}; do
    mkdir -p "$T/seed$seed"
    chmod 711 "$T/seed$seed"
    "$PY" "$TOOLS/converge_model.py" --bin "$GS_BIN" --dir "$T/seed$seed" --seed "$seed" \
        --ops "${OPS:-300}" --devices 30 --cluster 3 --pg "$T/seed$seed/pg" 2>"$T/err$seed"
    code=$?
    [ $code -eq 0 ] || T_FAILS=$((T_FAILS + 1))
    [ $code -eq 0 ] || [ ! -s "$T/err$seed" ] || notok "county_cluster_seed$seed" "$(tail -c 600 "$T/err$seed")"
    grep -c 'server-killed' "$T/seed$seed/model.log" | sed "s/^/# seed $seed: processes killed: /"
    grep -c 'database-restarted' "$T/seed$seed/model.log" | sed "s/^/# seed $seed: database restarts: /"
done
t_done
