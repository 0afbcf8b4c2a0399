#!/usr/bin/env bash
# backup_kill.sh: kill -9 around `gridsyncd backup` (issue 17). A store of N (20,000)
# records (N), then ROUNDS times: a backup starts while a device syncs, and either the server or
# the backup itself is killed at a random moment. Checks:
#   - FILE exists only whole: after a killed backup there is no FILE (a .partial at most,
#     which the next backup replaces); a backup that finished passes quick_check;
#   - the server, restarted after its kill, serves on (the backup never damaged the store:
#     integrity_check ok);
#   - the last backup restores (`gridsyncd restore`, a new epoch) and the device, synced
#     again, equals the server (tests/tools/converge.py), with nothing pending.
. "$(dirname "$0")/../integration/lib.sh"
ROUNDS=${ROUNDS:-8}
N=${N:-20000}
t_setup backup_kill
t_server_init
t_server_start
DB=$T/dev.db
STORE=$TOWN/gridsyncd.db
t_enroll "$DB" gridA 张三
for ((i = 1; i <= N; i++)); do
    printf '{"type":"resident","name":"居民-%d","address":"东关村%d组","born":1950}\n' "$i" $((i % 9))
done >"$T/import.jsonl"
t_gs "$DB" import "$T/import.jsonl" >/dev/null
t_gs "$DB" sync >/dev/null || { notok setup_sync "exit $?"; exit 1; }

whole=0 partial_only=0
for ((r = 1; r <= ROUNDS; r++)); do
    t_gs "$DB" resident add --name "轮-$r" >/dev/null
    t_gs "$DB" sync >/dev/null 2>&1 &
    SYNC=$!
    rm -f "$T/b.db"
    "$GRIDSYNCD" backup --dir "$TOWN" --out "$T/b.db" >/dev/null 2>"$T/backup.err" &
    BK=$!
    sleep "0.0$((RANDOM % 4))$((RANDOM % 10))"
    if ((r % 2)); then kill -9 "$BK" 2>/dev/null; else t_server_kill; fi
    wait "$BK" 2>/dev/null
    wait "$SYNC" 2>/dev/null
    if [ -e "$T/b.db" ]; then
        [ "$(t_sql "$T/b.db" 'PRAGMA quick_check')" = ok ] && whole=$((whole + 1)) \
            || notok backup_whole "round $r: $T/b.db exists but fails quick_check"
    else
        partial_only=$((partial_only + 1))
    fi
    [ -z "$SERVER_PID" ] && t_server_start
done
ok "backup_file_only_whole ($whole finished, $partial_only cut, of $ROUNDS)"
t_gs "$DB" sync >/dev/null 2>"$T/err" || notok sync_after_kills "exit $?: $(cat "$T/err")"
[ "$(t_sql "$STORE" 'PRAGMA integrity_check')" = ok ] && ok store_intact_after_kills \
    || notok store_intact_after_kills "integrity_check failed"
out=$("$GRIDSYNCD" backup --dir "$TOWN" --out "$T/final.db" 2>&1) && ok backup_after_kills \
    || notok backup_after_kills "exit $?: $out"
t_gs "$DB" resident add --name 备份之后 >/dev/null
t_gs "$DB" sync >/dev/null 2>"$T/err" || notok sync_before_restore "exit $?: $(cat "$T/err")"
t_server_stop
out=$("$GRIDSYNCD" restore "$T/final.db" --dir "$TOWN" 2>&1) && ok restore_after_kills \
    || notok restore_after_kills "exit $?: $out"
t_server_start
t_gs "$DB" sync >/dev/null 2>"$T/err" || notok sync_after_restore "exit $?: $(cat "$T/err")"
out=$("$PY" "$TOOLS/converge.py" --server "$STORE" --gridsync "$GRIDSYNC" "$DB" 2>&1) \
    && ok restored_store_converges || notok restored_store_converges "$(head -c 1500 <<<"$out")"
n=$(t_sql "$STORE" "SELECT count(*) FROM records WHERE tbl = 'resident'")
[ "$n" = $((N + ROUNDS + 1)) ] && ok restored_nothing_lost_nothing_doubled \
    || notok restored_nothing_lost_nothing_doubled "residents $n, want $((N + ROUNDS + 1))"
t_done
