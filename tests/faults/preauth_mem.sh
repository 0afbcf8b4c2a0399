#!/usr/bin/env bash
# preauth_mem.sh: pre-authentication memory (issue 18, finding 2). Connections declaring
# 8 MiB bodies and holding them: without a valid token they get 401 at the head (nothing of
# the body read); with a stolen device token at most max_body_bytes_in_flight of bodies is
# admitted at once and the rest get 429 busy. Server RSS stays within the documented bound
# (PREAUTH_BOUND_MB above the start, plus the budget with a token), an honest device still
# syncs meanwhile, and the memory is given back after (tests/tools/faults_preauth.py).
# Sizes: PREAUTH_N connections per phase (default 64; the issue's attack used 250).
. "$(dirname "$0")/../integration/lib.sh"
t_setup preauth_mem
t_server_init
conf=$T/town/gridsyncd.conf
budget_mb=${PREAUTH_BUDGET_MB:-64}
echo "max_body_bytes_in_flight = $((budget_mb * 1024 * 1024))" >>"$conf"
t_server_start
grep -q __asan_init "$GRIDSYNCD" && export SERVER_SANITIZED=1
t_enroll "$T/dev.db" 东风村3组 张三
t_gs "$T/dev.db" resident add --name 王秀英 >/dev/null
t_gs "$T/dev.db" sync >/dev/null || { notok preauth_setup "first sync failed"; exit 1; }
t_gs "$T/dev.db" resident add --name 李四 >/dev/null
/usr/bin/python3 "$TOOLS/faults_preauth.py" "$PORT" "$CA" "$SERVER_PID" "$DEV_TOKEN" \
    "${PREAUTH_N:-64}" "$budget_mb" "${PREAUTH_BOUND_MB:-40}" "$GRIDSYNC" "$T/dev.db" \
    || notok preauth_mem "faults_preauth.py exited non-zero"
kill -0 "$SERVER_PID" 2>/dev/null && ok preauth_server_still_running \
    || notok preauth_server_still_running "gridsyncd exited; log: $(tail -n 5 "$T/gridsyncd.log")"
t_server_stop
t_done
