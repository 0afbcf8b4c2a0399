#!/usr/bin/env bash
# hostile.sh: table-driven hostile requests against a live gridsyncd (tests/tools/
# faults_hostile.py): malformed HTTP, truncated and oversized heads and bodies, wrong-typed,
# unknown-field and deeply nested MessagePack, bad deflate, slow-loris. Each gets its 4xx or
# is timed out, the server answers /v1/health after each, and nothing is applied.
# The server runs with request_timeout_ms = 3000 so the slow-loris case takes seconds.
. "$(dirname "$0")/../integration/lib.sh"
t_setup hostile
t_server_init
sed -i 's/^request_timeout_ms = .*/request_timeout_ms = 3000/' "$T/town/gridsyncd.conf"
t_server_start
DB=$T/dev.db
t_enroll "$DB" 东风村3组 张三
t_gs "$DB" resident add --name 王秀英 >/dev/null
t_gs "$DB" sync >/dev/null || { notok hostile_setup "first sync failed"; exit 1; }
/usr/bin/python3 "$TOOLS/faults_hostile.py" "$PORT" "$CA" "$T/town/gridsyncd.db" "$DEV_ID" \
    "$DEV_TOKEN" 东风村3组 10 || notok hostile_table "faults_hostile.py exited non-zero"
kill -0 "$SERVER_PID" 2>/dev/null && ok hostile_server_still_running \
    || notok hostile_server_still_running "gridsyncd exited; log: $(tail -n 5 "$T/gridsyncd.log")"
t_server_stop
t_done
