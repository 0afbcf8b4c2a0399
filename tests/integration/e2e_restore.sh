#!/usr/bin/env bash
# e2e_restore.sh: issue 17 point 1 and 2, end to end. A backup taken while devices sync,
# more work on three devices, the old backup restored (`gridsyncd restore`: a new epoch),
# then every device syncs: the server ends with every change, each device with every
# change, nothing doubled (tests/tools/converge.py, counts). A second restore made the
# old way (the file copied back with the server stopped, same epoch) is caught by the
# cursor alone. The server counts and logs each device that starts over.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 20 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_restore
if [ "${GS_TEST_STORE:-}" = pg ]; then
    # the SQLite store's backup and restore; PostgreSQL's are pg_dump's (docs/SERVER.md)
    t_server_init
    "$GRIDSYNCD" backup --dir "$TOWN" --out "$T/x.db" 2>"$T/b.err"
    [ $? -ne 0 ] && grep -q pg_dump "$T/b.err" && ok backup_refused_on_postgresql \
        || notok backup_refused_on_postgresql "$(cat "$T/b.err")"
    t_done
    exit
fi
t_server_init
t_server_start
t_enroll "$T/a.db" gridA a
t_enroll "$T/b.db" gridA b
t_enroll "$T/c.db" gridA c
A=$T/a.db B=$T/b.db C=$T/c.db
STORE=$T/town/gridsyncd.db

sync() { # DB NAME: a sync that must succeed
    t_gs "$1" sync >/dev/null 2>"$T/err" || notok "$2" "sync of $(basename "$1") exit $?: $(cat "$T/err")"
}
sync_all() { local d; for d in "$A" "$B" "$C" "$A" "$B" "$C"; do sync "$d" "$1"; done; }
converged() { # NAME: every device equals the server
    local out
    if out=$("$PY" "$TOOLS/converge.py" --server "$STORE" --gridsync "$GRIDSYNC" "$A" "$B" "$C" 2>&1); then
        ok "$1"
    else
        notok "$1" "$(head -c 1500 <<<"$out")"
    fi
}
n_server() { t_sql "$STORE" "SELECT count(*) FROM records WHERE tbl = '$1'"; }
epoch() { t_sql "$STORE" "SELECT value FROM meta WHERE key = 'epoch'"; }
resyncs() { curl -sf --cacert "$CA" "$URL/metrics" | awk '$1 == "gridsyncd_resyncs_total" {print $2}'; }

# ---- before the backup ----------------------------------------------------------------
R1=$(t_gs "$A" resident add --name 张桂兰 --born 1938)
R2=$(t_gs "$B" resident add --name 李建国 --born 1950)
sync_all residents
V1=$(t_gs "$C" visit add --resident "$R1" --kind routine --notes before)
sync_all before
EPOCH0=$(epoch)
[ -n "$EPOCH0" ] && [ "$EPOCH0" != 0 ] && ok epoch_at_init || notok epoch_at_init "epoch '$EPOCH0'"

# the backup runs while a device syncs
t_gs "$A" resident add --name 王秀英 --born 1941 >/dev/null
sync "$A" during_backup &
SYNC_PID=$!
out=$("$GRIDSYNCD" backup --dir "$T/town" --out "$T/old.db" 2>&1) && ok backup_while_serving \
    || notok backup_while_serving "exit $?: $out"
wait "$SYNC_PID"
[ ! -e "$T/old.db.partial" ] && [ "$(t_sql "$T/old.db" 'PRAGMA quick_check')" = ok ] \
    && ok backup_verified || notok backup_verified "$(ls "$T")"
sync_all after_backup_sync

# ---- after the backup: work the backup lacks ------------------------------------------
R3=$(t_gs "$A" resident add --name 赵丽 --born 1962)
t_gs "$B" resident update "$R1" --phone 13800000001 >/dev/null
V2=$(t_gs "$C" visit add --resident "$R2" --kind routine --notes after)
sync_all after
t_gs "$C" visit update "$V1" --notes "edited, not yet synced" >/dev/null
R4=$(t_gs "$B" resident add --name 孙强 --born 1970) # pending at the restore
# an edit pending at the restore of a record the backup lacks: it must not be refused
t_gs "$A" resident update "$R3" --address 西关村2组 >/dev/null
N_RES=$(n_server resident)
N_VIS=$(n_server visit)

# ---- restore the old backup -----------------------------------------------------------
t_server_stop
out=$("$GRIDSYNCD" restore "$T/old.db" --dir "$T/town" 2>&1) && ok restore_runs \
    || notok restore_runs "exit $?: $out"
EPOCH1=$(epoch)
[ -n "$EPOCH1" ] && [ "$EPOCH1" != "$EPOCH0" ] && ok restore_new_epoch \
    || notok restore_new_epoch "epoch $EPOCH0 -> $EPOCH1"
[ "$(n_server resident)" -lt "$N_RES" ] && ok restore_is_older \
    || notok restore_is_older "residents $(n_server resident), before $N_RES"
t_server_start
out=$(t_gs "$A" --json sync 2>&1)
[ "$(jq '.requeued > 0' <<<"$out")" = true ] && ok restore_sync_says_requeued \
    || notok restore_sync_says_requeued "$out"
sync_all after_restore
converged restore_every_device_equals_server
[ "$(n_server resident)" = $((N_RES + 1)) ] && [ "$(n_server visit)" = "$N_VIS" ] \
    && ok restore_nothing_lost_nothing_doubled \
    || notok restore_nothing_lost_nothing_doubled "residents $(n_server resident) (want $((N_RES + 1))), visits $(n_server visit) (want $N_VIS)"
back=0
for id in "$R3" "$R4" "$V2"; do
    [ "$(t_sql "$STORE" "SELECT count(*) FROM records WHERE lower(hex(id)) = replace('$id', '-', '')")" = 1 ] \
        && back=$((back + 1))
done
[ "$back" = 3 ] && ok restore_changes_back || notok restore_changes_back "$back of 3 ($R3 $R4 $V2) on the server"
ad=$(t_gs "$C" --json show "$R3" | jq -r .address)
[ "$ad" = 西关村2组 ] && [ "$(t_gs "$A" --json status | jq -r '.rejected | length')" = 0 ] \
    && ok restore_pending_edit_of_lost_record || notok restore_pending_edit_of_lost_record \
    "address on c '$ad'; a status $(t_gs "$A" --json status | jq -c .rejected)"
ph=$(t_gs "$A" --json show "$R1" | jq -r .phone)
nt=$(t_gs "$B" --json show "$V1" | jq -r .notes)
[ "$ph|$nt" = "13800000001|edited, not yet synced" ] && ok restore_edits_back \
    || notok restore_edits_back "phone '$ph', notes '$nt'"
[ "${RESYNC0:=$(resyncs)}" -ge 3 ] 2>/dev/null && ok restore_counted || notok restore_counted "resyncs '$RESYNC0'"
grep -q "beyond this store's last version" "$T/gridsyncd.log" && ok restore_logged \
    || notok restore_logged "$(tail -n 5 "$T/gridsyncd.log")"

# ---- a copy put back by hand (same epoch): the cursor alone tells --------------------
t_server_stop
cp "$STORE" "$T/hand.db"
t_server_start
t_gs "$A" resident update "$R3" --phone 13900000003 >/dev/null
sync_all hand_after
N_RES=$(n_server resident)
t_server_stop
cp "$T/hand.db" "$STORE"
rm -f "$STORE-wal" "$STORE-shm"
t_server_start
sync_all hand_restore
converged hand_copy_every_device_equals_server
[ "$(n_server resident)" = "$N_RES" ] && [ "$(t_gs "$B" --json show "$R3" | jq -r .phone)" = 13900000003 ] \
    && ok hand_copy_nothing_lost || notok hand_copy_nothing_lost "residents $(n_server resident) (want $N_RES)"

# ---- bad input -------------------------------------------------------------------------
echo "not a database" >"$T/junk.db"
t_server_stop
before=$(sha256sum "$STORE" | cut -c1-64)
"$GRIDSYNCD" restore "$T/junk.db" --dir "$T/town" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && [ "$(sha256sum "$STORE" | cut -c1-64)" = "$before" ] && grep -q "not a whole SQLite database\|not a gridsyncd store" "$T/err" \
    && ok restore_refuses_junk || notok restore_refuses_junk "exit $rc: $(cat "$T/err")"
"$GRIDSYNCD" backup --dir "$T/town" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] && ok backup_needs_out || notok backup_needs_out "exit $rc"
t_done
