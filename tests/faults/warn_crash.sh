#!/usr/bin/env bash
# warn_crash.sh: the warning sweep killed with SIGKILL while it opens warnings (issue 15:
# "never doubles across restarts and a kill -9 mid-sweep"). A device records 20,000
# residents living alone and syncs; gridsyncd then runs 8 days ahead (libfaketime), its
# first sweep opening 20,000 warnings in transactions of 1,000, and is killed at a random
# moment of it, again and again, then left to finish. Afterwards:
#   - every resident has exactly one warning, open, and no other warning exists;
#   - every watch row with a warning names a warning record that exists and is open, and
#     every warning record is named by exactly one watch row;
#   - the device pulls exactly 20,000 warnings; PRAGMA integrity_check is ok.
. "$(dirname "$0")/../integration/lib.sh"
t_setup warn_crash
if [ -z "$T_FAKETIME_LIB" ]; then skip warn_crash "libfaketime is not installed"; exit 0; fi
N=${WARN_RESIDENTS:-20000}
t_server_init
printf 'rules_sweep_s = 3600\nrules_disabled = device_silent\n' >>"$TOWN/gridsyncd.conf"
t_server_start
t_enroll "$T/d.db" gridA worker
"$PY" - "$N" >"$T/r.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"type": "resident", "name": "独居老人%04d" % i, "tags": ["lives_alone"]},
                     ensure_ascii=False))
PY
t_gs "$T/d.db" import "$T/r.jsonl" >/dev/null 2>"$T/err" && t_gs "$T/d.db" sync >/dev/null 2>>"$T/err" ||
    { notok warn_crash_setup "$(cat "$T/err")"; t_done; exit 1; }
t_server_stop

DB=$TOWN/gridsyncd.db
q() { t_sql "$DB" "$1"; }
T_SERVER_EXEC=$(t_faketime_exec +8d)
kills=0 partial=0
for round in $(seq 1 20); do
    # started by hand, not through t_server_start: the sweep begins as the store opens,
    # before /v1/health answers, and a kill must be able to land anywhere in it
    $T_SERVER_EXEC "$GRIDSYNCD" --config "$TOWN/gridsyncd.conf" --listen "127.0.0.1:$PORT" \
        >>"$T/gridsyncd.log" 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 2))$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kills=$((kills + 1))
    n=$(q "SELECT count(*) FROM records WHERE tbl = 'warning'")
    [ "$n" -gt 0 ] && [ "$n" -lt "$N" ] && partial=$((partial + 1))
    [ -n "${VERBOSE:-}" ] && echo "# round $round: $n"
done
t_server_start
for _ in $(seq 1 200); do
    [ "$(q "SELECT count(*) FROM watch WHERE warning IS NOT NULL")" = "$N" ] && break
    sleep 0.1
done
echo "# $kills kills, $partial of them with the sweep part way ($N warnings to open)"
[ $partial -ge 3 ] && ok warn_crash_kills_landed_mid_sweep \
    || notok warn_crash_kills_landed_mid_sweep "no kill left the sweep part way (the sweep is too fast here)"
open_rows=$(q "SELECT count(*) FROM watch WHERE rule = 'unvisited_vulnerable' AND warning IS NOT NULL")
records=$(q "SELECT count(*) FROM records WHERE tbl = 'warning'")
subjects=$(q "SELECT count(DISTINCT subject) FROM watch WHERE warning IS NOT NULL")
[ "$open_rows" = "$N" ] && [ "$records" = "$N" ] && [ "$subjects" = "$N" ] && ok warn_crash_one_each \
    || notok warn_crash_one_each "watch rows with a warning $open_rows, warning records $records, subjects $subjects (want $N)"
orphans=$(q "SELECT count(*) FROM watch w WHERE warning IS NOT NULL AND NOT EXISTS
             (SELECT 1 FROM records r WHERE r.tbl = 'warning' AND r.id = w.warning)")
unnamed=$(q "SELECT count(*) FROM records r WHERE tbl = 'warning' AND NOT EXISTS
             (SELECT 1 FROM watch w WHERE w.warning = r.id)")
[ "$orphans" = 0 ] && [ "$unnamed" = 0 ] && ok warn_crash_rows_and_records_agree \
    || notok warn_crash_rows_and_records_agree "$orphans rows name no record, $unnamed records no row"
[ "$(q "PRAGMA integrity_check")" = ok ] && ok warn_crash_store_intact || notok warn_crash_store_intact "$(q "PRAGMA integrity_check" | head -3)"
t_gs "$T/d.db" sync >/dev/null 2>"$T/err" || notok warn_crash_pull "$(cat "$T/err")"
[ "$(t_gs "$T/d.db" --json warnings | jq 'map(select(.state == "open")) | length')" = "$N" ] &&
    [ "$(t_sql "$T/d.db" "SELECT count(*) FROM warning")" = "$N" ] && ok warn_crash_device_pulls_each_once \
    || notok warn_crash_device_pulls_each_once "device holds $(t_sql "$T/d.db" "SELECT count(*) FROM warning")"
t_done
