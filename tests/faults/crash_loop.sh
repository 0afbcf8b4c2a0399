#!/usr/bin/env bash
# crash_loop.sh: kill -9 at random moments of a sync, ROUNDS times on the device side and
# ROUNDS times on the server side (restarted each time), then one clean sync. Checks:
#   - every change the device recorded is on the server exactly once: the server holds one
#     change per device seq 1..next_seq-1 (no gap, no double), and every visit the device
#     has is a server record;
#   - nothing was rejected, and the device's outbox is empty after the clean sync;
#   - PRAGMA integrity_check is "ok" on both databases.
# Each round first imports a batch of BATCH_MIN..BATCH_MAX visits (one transaction) and
# edits one care request, so kills land in pushes of different sizes and in compaction.
# A sync killed on the server side must exit 4 (server unreachable, everything kept) or 0.
. "$(dirname "$0")/../integration/lib.sh"
ROUNDS=${ROUNDS:-50}
BATCH_MIN=${BATCH_MIN:-20}
BATCH_MAX=${BATCH_MAX:-120}
t_setup crash_loop
t_server_init
t_server_start
DB=$T/dev.db
t_enroll "$DB" 东风村3组 张三
R=$(t_gs "$DB" resident add --name 王秀英) || { notok crash_setup "resident add"; exit 1; }
C=$(t_gs "$DB" care add --resident "$R" --category meal) || { notok crash_setup "care add"; exit 1; }

rand_ms() { echo $(( (RANDOM * 32768 + RANDOM) % ($1 + 1) )); }
# running PID: alive and not a zombie (kill -0 succeeds on an exited, unreaped child)
running() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
n_visit=0
add_batch() { # round
    local n=$((BATCH_MIN + RANDOM % (BATCH_MAX - BATCH_MIN + 1))) i
    for ((i = 0; i < n; i++)); do
        n_visit=$((n_visit + 1))
        printf '{"type":"visit","resident":"%s","kind":"routine","notes":"第%d次走访，第%s轮：老人精神很好。"}\n' \
            "$R" "$n_visit" "$1"
    done >"$T/batch.jsonl"
    t_gs "$DB" import "$T/batch.jsonl" >/dev/null || { notok "import_round_$1" "import failed"; return 1; }
    t_gs "$DB" care update "$C" --notes "第$1轮" >/dev/null || notok "care_update_round_$1" "failed"
}

# ---- device side: the sync process is killed -------------------------------------------
client_kills=0 client_done=0
t0=$SECONDS
# Rounds go on until ROUNDS kills landed while the sync ran (at most 4 x ROUNDS rounds).
# The kill moment is drawn from 0..max_ms, and max_ms follows how long a sync takes on
# this machine: it shrinks when a sync finished before the kill and grows when one was
# killed, so a fast machine still gets its kills in and a slow one still gets late ones.
round=0 max_ms=300
while [ "$client_kills" -lt "$ROUNDS" ] && [ "$round" -lt $((4 * ROUNDS)) ]; do
    round=$((round + 1))
    add_batch "c$round" || break
    "$GRIDSYNC" --db "$DB" sync --batch $((10 + RANDOM % 90)) >/dev/null 2>>"$T/sync.err" &
    pid=$!
    sleep_ms "$(rand_ms "$max_ms")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    # only a sync that died of the signal counts (kill succeeds on an unreaped zombie too)
    if [ $rc -eq 137 ]; then
        client_kills=$((client_kills + 1))
        max_ms=$((max_ms * 9 / 8)); [ "$max_ms" -le 600 ] || max_ms=600
    else
        max_ms=$((max_ms * 3 / 4)); [ "$max_ms" -ge 10 ] || max_ms=10
    fi
    [ $rc -eq 0 ] && client_done=$((client_done + 1))
    [ $rc -eq 0 ] || [ $rc -eq 137 ] || notok "client_round_$round" "sync exit $rc"
done
echo "# device side: $round rounds, $client_kills syncs killed mid-way, $client_done finished first, kill window ended at ${max_ms} ms ($((SECONDS - t0)) s)"
client_rounds=$round

# ---- server side: gridsyncd is killed under a running sync -----------------------------
server_kills=0 sync_fail_clean=0
t0=$SECONDS
round=0 max_ms=300
while [ "$server_kills" -lt "$ROUNDS" ] && [ "$round" -lt $((4 * ROUNDS)) ]; do
    round=$((round + 1))
    add_batch "s$round" || break
    "$GRIDSYNC" --db "$DB" sync --batch $((10 + RANDOM % 90)) >/dev/null 2>>"$T/sync.err" &
    pid=$!
    sleep_ms "$(rand_ms "$max_ms")"
    # a kill counts when the sync was still running; the window adapts as on the device side
    if running "$pid"; then
        server_kills=$((server_kills + 1))
        max_ms=$((max_ms * 9 / 8)); [ "$max_ms" -le 600 ] || max_ms=600
    else
        max_ms=$((max_ms * 3 / 4)); [ "$max_ms" -ge 10 ] || max_ms=10
    fi
    t_server_kill
    wait "$pid"
    rc=$?
    case $rc in
    0) ;;
    4) sync_fail_clean=$((sync_fail_clean + 1)) ;;
    *) notok "server_round_$round" "sync exit $rc, want 0 or 4: $(tail -n 1 "$T/sync.err")" ;;
    esac
    t_server_start
done
echo "# server side: $round rounds, $server_kills kills of gridsyncd mid-sync, $sync_fail_clean syncs failed cleanly (exit 4), kill window ended at ${max_ms} ms ($((SECONDS - t0)) s)"
[ "$client_kills" -ge "$ROUNDS" ] && ok crash_client_killed_50 || notok crash_client_killed_50 "only $client_kills kills of $ROUNDS landed in $client_rounds rounds"
[ "$server_kills" -ge "$ROUNDS" ] && ok crash_server_killed_50 || notok crash_server_killed_50 "only $server_kills kills of $ROUNDS landed in $round rounds"

# ---- a clean sync, then the accounting ----------------------------------------------
t_gs "$DB" sync >"$T/final.out" 2>&1 && ok crash_final_sync || notok crash_final_sync "$(cat "$T/final.out")"
t_server_stop
SDB=$T/town/gridsyncd.db
next=$(t_sql "$DB" "SELECT v FROM meta WHERE k = 'next_seq'")
c_int=$(t_sql "$DB" "PRAGMA integrity_check")
s_int=$(t_sql "$SDB" "PRAGMA integrity_check")
[ "$c_int" = ok ] && ok crash_client_integrity || notok crash_client_integrity "$c_int"
[ "$s_int" = ok ] && ok crash_server_integrity || notok crash_server_integrity "$s_int"
outbox=$(t_sql "$DB" "SELECT count(*) FROM outbox")
rejected=$(t_sql "$DB" "SELECT count(*) FROM rejected")
[ "$outbox" = 0 ] && ok crash_outbox_empty || notok crash_outbox_empty "$outbox rows left"
[ "$rejected" = 0 ] && ok crash_nothing_rejected || notok crash_nothing_rejected "$rejected rejected"
got=$(sqlite3 -batch -noheader "$SDB" "
    ATTACH '$DB' AS dev;
    SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
      FROM changes WHERE device = '$DEV_ID';
    SELECT count(*) FROM dev.visit;
    SELECT count(*) FROM dev.visit WHERE id NOT IN (SELECT id FROM records WHERE tbl = 'visit');
    SELECT count(*) FROM records WHERE tbl = 'visit';")
mapfile -t r <<<"$got"
want="$((next - 1))|$((next - 1))|1|$((next - 1))"
[ "${r[0]}" = "$want" ] && ok crash_every_change_exactly_once \
    || notok crash_every_change_exactly_once "server changes count|distinct|min|max = ${r[0]}, want $want"
[ "${r[1]}" = "$n_visit" ] && [ "${r[2]}" = 0 ] && [ "${r[3]}" = "$n_visit" ] \
    && ok crash_every_visit_on_server \
    || notok crash_every_visit_on_server "device has ${r[1]} of $n_visit visits, ${r[2]} missing on the server, server has ${r[3]}"
echo "# $n_visit visits and $((next - 1)) changes recorded; server holds ${r[0]} (count|distinct|min|max)"
t_done
