#!/usr/bin/env bash
# pg_down.sh: the server's PostgreSQL database goes away and comes back (issue 20). While
# it is down a device's sync is answered 500 `server` ("nothing applied: try again later",
# proto/PROTOCOL.md's status table; gridsync exits 1) and the device keeps every unsent
# change; gridsyncd stays up; once the database is back the next sync goes through with
# nothing lost or doubled, without restarting gridsyncd. Also a database restart between
# two syncs (the connection dies idle: reopened by the next statement, the sync succeeds).
. "$(dirname "$0")/lib.sh"
t_setup pg_down
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    skip pg_down "PostgreSQL 15 is not installed"
    exit 0
fi
GS_TEST_STORE=pg t_server_init
t_server_start
t_enroll "$T/a.db" G1 a
t_enroll "$T/b.db" G1 b
t_gs "$T/a.db" sync >/dev/null || notok first_sync "exit $?"
for i in 1 2 3 4 5; do t_gs "$T/a.db" resident add --name "居民$i" --born 1950 >/dev/null; done

"$T_PGTMP" stop "$T/pg"
out=$(t_gs "$T/a.db" sync 2>&1)
code=$?
[ $code -eq 1 ] && grep -q 'try again later' <<<"$out" && ok down_sync_answered_retry \
    || notok down_sync_answered_retry "exit $code: $out"
p=$(t_gs "$T/a.db" --json status | jq .pending)
[ "$p" = 5 ] && ok down_changes_kept || notok down_changes_kept "pending $p, want 5"
kill -0 "$SERVER_PID" 2>/dev/null && curl -sf --cacert "$CA" "$URL/v1/health" >/dev/null \
    && ok down_server_stays_up || notok down_server_stays_up "gridsyncd died or /v1/health failed"
grep -q 'ERROR' "$T/gridsyncd.log" && ok down_logged || notok down_logged "no error in the log"

"$T_PGTMP" up "$T/pg"
out=$(t_gs "$T/a.db" --json sync 2>&1)
[ "$(jq -r .accepted <<<"$out" 2>/dev/null)" = 5 ] && ok back_sync_goes_through \
    || notok back_sync_goes_through "$out"
n=$(t_sql "$SRV_STORE" "SELECT count(*) FROM records WHERE tbl = 'resident'")
[ "$n" = 5 ] && ok back_nothing_lost_or_doubled || notok back_nothing_lost_or_doubled "$n residents, want 5"

# a restart between syncs: the idle connection is dead; the next sync must not notice
"$T_PGTMP" restart "$T/pg"
t_gs "$T/b.db" sync >/dev/null && ok restart_between_syncs \
    || notok restart_between_syncs "exit $?"
n=$(t_gs "$T/b.db" --json list residents | jq length)
[ "$n" = 5 ] && ok restart_device_pulls_all || notok restart_device_pulls_all "b has $n residents"
t_done
