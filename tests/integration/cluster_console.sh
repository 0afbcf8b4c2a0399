#!/usr/bin/env bash
# cluster_console.sh: two gridsyncd processes on one PostgreSQL database (issue 20) share
# what a device or an admin must find whichever process it reaches: a console session
# signed in on one is live on the other (and its csrf token too), signing out on the other
# ends it on both; a device revoked through one is refused by the other; a sync retried
# through the other process after its first answer was lost is answered from the stored
# acknowledgements (nothing applied twice).
. "$(dirname "$0")/lib.sh"
t_setup cluster_console
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    skip cluster_console "PostgreSQL 15 is not installed"
    exit 0
fi
GS_TEST_STORE=pg t_server_init
PORT_A=$PORT
t_server_start
PID_A=$SERVER_PID
PORT_B=$(t_free_port)
"$GRIDSYNCD" --config "$TOWN/gridsyncd.conf" --listen "127.0.0.1:$PORT_B" >>"$T/b.log" 2>&1 &
PID_B=$!
T_PIDS+=("$PID_B")
for _ in $(seq 1 200); do curl -sf --cacert "$CA" "https://localhost:$PORT_B/v1/health" >/dev/null && break; sleep 0.05; done
A=https://localhost:$PORT_A
B=https://localhost:$PORT_B

# a console session made on A
curl -s --cacert "$CA" -c "$T/jar" -H 'Content-Type: application/json' \
    -d "{\"token\":\"$ADMIN_TOKEN\"}" "$A/admin/session" >"$T/in.json"
csrf=$(jq -r .csrf "$T/in.json")
[ ${#csrf} -eq 43 ] && ok console_signed_in_on_a || notok console_signed_in_on_a "$(cat "$T/in.json")"
code=$(curl -s -o "$T/get.json" -w '%{http_code}' --cacert "$CA" -b "$T/jar" "$B/admin/session")
[ "$code" = 200 ] && [ "$(jq -r .csrf "$T/get.json")" = "$csrf" ] && ok console_session_known_on_b \
    || notok console_session_known_on_b "B answered $code: $(cat "$T/get.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -b "$T/jar" \
    -H "Authorization: Session $csrf" "$B/v1/admin/devices")
[ "$code" = 200 ] && ok console_api_through_b || notok console_api_through_b "B answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -b "$T/jar" -X DELETE \
    -H "Authorization: Session $csrf" "$B/admin/session")
code_a=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -b "$T/jar" "$A/admin/session")
[ "$code" = 200 ] && [ "$code_a" = 401 ] && ok console_signout_on_b_ends_it_on_a \
    || notok console_signout_on_b_ends_it_on_a "sign-out on B $code, then A $code_a"

# a revocation through A holds on B
t_enroll "$T/d.db" G1 d
t_gs "$T/d.db" sync >/dev/null || notok device_sync "exit $?"
t_admin device revoke "$DEV_ID" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $DEV_TOKEN" \
    -H 'Content-Type: application/vnd.msgpack' --data-binary 'x' "$B/v1/sync")
[ "$code" = 401 ] && ok revoked_on_a_refused_by_b || notok revoked_on_a_refused_by_b "B answered $code"

# exactly once across processes: the same request through A, then again through B
out=$(t_admin --json device add --print-token --grid 东关 --name py) || notok py_enrol "$out"
tok=$(jq -r .token <<<"$out")
"$PY" - "$A" "$B" "$CA" "$tok" <<'PY' || T_FAILS=$((T_FAILS + 1))
import sys, os
sys.path.insert(0, os.path.join(os.environ.get("TOOLS", "tests/tools")))
import pyclient
a, b, ca, tok = sys.argv[1:5]
schema = pyclient.fetch_schema(pyclient.Server(a, ca, tok))
sa, sb = pyclient.Server(a, ca, tok), pyclient.Server(b, ca, tok)
dev = pyclient.Device(sa, "/dev/null.none", tok.split(".", 1)[0], "东关")
res = pyclient.new_record(pyclient.table(schema, "resident"), {"name": "两处居民"}, "东关", "py", 0)
body = dev.body([dev.change(dev.seq(), "resident", pyclient.uuid7(),
                            {n: (v, 0) for n, v in res.items()}, dev.clock.now())])
r1 = dev.exchange(body)
dev.srv = sb
r2 = dev.exchange(body)
same = [(x["seq"], x["ok"], x.get("ver")) for x in r1["ack"]] == \
       [(x["seq"], x["ok"], x.get("ver")) for x in r2["ack"]]
print("ok retry_through_b_same_acks" if same else "not ok retry_through_b_same_acks: %r %r" % (r1["ack"], r2["ack"]))
sys.exit(0 if same else 1)
PY
n=$(t_sql "$SRV_STORE" "SELECT count(*) FROM records WHERE tbl = 'resident'")
[ "$n" = 1 ] && ok retry_through_b_applied_once || notok retry_through_b_applied_once "$n residents"
t_done
