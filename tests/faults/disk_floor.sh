#!/usr/bin/env bash
# disk_floor.sh: the free-disk floor (issue 18, finding 4). With min_free_disk_bytes set
# above the free space of the store's file system, a sync with changes gets 503 disk_low
# with Retry-After (nothing applied, the metric counts it) and a sync without changes (a
# pull) still gets 200. SQLite only: on PostgreSQL the floor is not checked.
. "$(dirname "$0")/../integration/lib.sh"
[ -n "${T_PG_URL:-}${GS_TEST_STORE:-}" ] && [ "${GS_TEST_STORE:-}" = pg ] && {
    echo "ok disk_floor # SKIP the floor is SQLite only"; exit 0; }
t_setup disk_floor
t_server_init
echo "min_free_disk_bytes = $((1 << 50))" >>"$TOWN/gridsyncd.conf"
t_server_start
t_enroll "$T/dev.db" 东风村3组 张三
out=$("$PY" "$TOOLS/faults_disk_floor.py" "$URL" "$CA" "$DEV_ID" "$DEV_TOKEN" 东风村3组 2>&1) \
    && ok "disk_floor_upload_waits_pull_goes_on ($out)" \
    || notok disk_floor_upload_waits_pull_goes_on "$out"
n=$(t_sql "$SRV_STORE" "SELECT count(*) FROM records")
[ "$n" = 0 ] && ok disk_floor_nothing_applied || notok disk_floor_nothing_applied "records=$n"
grep -q "free disk below min_free_disk_bytes" "$T/gridsyncd.log" "$TOWN"/*.log 2>/dev/null \
    && ok disk_floor_logged || notok disk_floor_logged "no log line"
t_server_stop
t_done
