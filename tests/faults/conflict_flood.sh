#!/usr/bin/env bash
# conflict_flood.sh: conflict floods (issue 18, finding 5). Device B sends one request of
# 5,000 changes at base 0 to 50 of co-worker A's residents (every one loses): at most one
# open conflict per (record, field), its losers count holding the rest.
. "$(dirname "$0")/../integration/lib.sh"
t_setup conflict_flood
t_server_init
t_server_start
t_enroll "$T/a.db" 东风村3组 A
A_ID=$DEV_ID A_TOK=$DEV_TOKEN
t_enroll "$T/b.db" 东风村3组 B
out=$("$PY" "$TOOLS/faults_conflict_flood.py" "$URL" "$CA" "$A_ID" "$A_TOK" "$DEV_ID" \
    "$DEV_TOKEN" 东风村3组 5000 2>&1) || notok conflict_flood_sync "$out"
dups=$(t_sql "$SRV_STORE" "SELECT count(*) FROM (SELECT 1 FROM conflicts WHERE status = 'open' \
    GROUP BY tbl, rid, field HAVING count(*) > 1) AS d")
open=$(t_sql "$SRV_STORE" "SELECT count(*) FROM conflicts WHERE status = 'open'")
losers=$(t_sql "$SRV_STORE" "SELECT coalesce(sum(losers), 0) FROM conflicts WHERE status = 'open'")
[ "$dups" = 0 ] && [ "$open" -ge 1 ] && [ "$open" -le 50 ] \
    && ok "conflict_flood_one_open_per_record_field (open=$open losers=$losers; $out)" \
    || notok conflict_flood_one_open_per_record_field "open=$open duplicated keys=$dups ($out)"
kill -0 "$SERVER_PID" 2>/dev/null && ok conflict_flood_server_still_running \
    || notok conflict_flood_server_still_running "$(tail -n 5 "$T/gridsyncd.log")"
t_server_stop
t_done
