#!/usr/bin/env bash
# decode_amp.sh: decode amplification (issue 18, finding 3). A 60 KB deflated request that
# inflates to 8 MiB of 3,201 changes x 64 invented fields x 32-string lists (~7 M objects),
# DECODE_AMP_PARALLEL (default 8) at once with a real device token: each is refused 400 by
# the framing pass's object bound (proto/schema.c schema_max_request_objects) before
# msgpack-c builds anything, server RSS grows at most DECODE_AMP_BOUND_MB (default 40), and
# a valid request afterwards still answers 200 (tests/tools/faults_decode_amp.py).
. "$(dirname "$0")/../integration/lib.sh"
t_setup decode_amp
t_server_init
t_server_start
grep -q __asan_init "$GRIDSYNCD" && export SERVER_SANITIZED=1
t_enroll "$T/dev.db" 东风村3组 张三
GRID=东风村3组 /usr/bin/python3 "$TOOLS/faults_decode_amp.py" "$PORT" "$CA" "$SERVER_PID" \
    "$DEV_ID" "$DEV_TOKEN" "${DECODE_AMP_PARALLEL:-8}" "${DECODE_AMP_BOUND_MB:-40}" \
    || notok decode_amp "faults_decode_amp.py exited non-zero"
kill -0 "$SERVER_PID" 2>/dev/null && ok decode_amp_server_still_running \
    || notok decode_amp_server_still_running "gridsyncd exited; log: $(tail -n 5 "$T/gridsyncd.log")"
t_server_stop
t_done
