#!/usr/bin/env bash
# pyclient.sh: an independent client, written from proto/PROTOCOL.md alone in python3
# (tests/tools/pyclient.py), syncs with a real gridsyncd over TLS next to gridsync's own CLI:
#   - GET /v1/schema with its device token: every table, field and enum it needs, the same
#     document as the admin API's /v1/admin/schema; 401 and 405 as MessagePack errors;
#   - a batch of a resident and a visit of it (a reference within the batch), a gap in its
#     seqs, a visit of an unknown resident (not_found, with its fix), a retry answered from
#     the stored acks, every page pulled;
#   - a second device (the C CLI) sees the python client's records, then changes the
#     resident; the python client's concurrent older edit comes back in `lost` with the
#     CLI's value, its equal value in `lost` with the server's version (no conflict), and
#     its last edit (a fast-forward) reaches the CLI device;
#   - the status table: 431, 414, 417, 501, 505, 411, 400, 404 with their err codes and
#     the error body's Content-Type (MessagePack on the device paths, JSON elsewhere);
#   - an unknown Content-Encoding is 415 content_type with Accept-Encoding: deflate.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 5 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python

t_setup pyclient
t_server_init
t_server_start
if ! "$PY" -c 'import msgpack' 2>/dev/null; then
    notok pyclient_msgpack "python3-msgpack is not installed for $PY"; t_done; exit
fi

# the python device: enrolled by the admin, no gridsync database of its own
out=$(t_admin --json device add --print-token --grid 东关 --name python) || { notok pyclient_enroll "$out"; exit 1; }
PY_TOKEN=$(jq -r .token <<<"$out")
t_enroll "$T/b.db" 东关 cli-b
B=$T/b.db
pyc() { "$PY" "$TOOLS/pyclient.py" "$1" --url "$URL" --ca "$CA" --token "$PY_TOKEN" "${@:2}"; }
sync() { t_gs "$1" sync >/dev/null 2>"$T/err" || notok "pyclient_cli_sync" "exit $?: $(cat "$T/err")"; }

# 1. the schema, and the same document for admins
pyc schema >"$T/schema.out" || T_FAILS=$((T_FAILS + 1))
grep '^ok\|^not ok' "$T/schema.out"
curl -sf --cacert "$CA" -H "Authorization: Bearer $PY_TOKEN" "$URL/v1/schema" -o "$T/schema.msgpack"
curl -sf --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/v1/admin/schema" -o "$T/schema.json"
"$PY" - "$T/schema.msgpack" "$T/schema.json" <<'PY' && ok pyclient_schema_same_as_admin || notok pyclient_schema_same_as_admin "see above"
import json, sys, msgpack
dev = msgpack.unpackb(open(sys.argv[1], "rb").read(), raw=False)
adm = json.load(open(sys.argv[2]))
if dev != adm:
    print("device and admin schema differ", file=sys.stderr); sys.exit(1)
PY
code=$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/v1/schema")
[ "$code" = 401 ] && ok pyclient_schema_refuses_admin_token || notok pyclient_schema_refuses_admin_token "status $code"

# 2. a batch from the python client, seen by the CLI device
pyc phase1 --grid 东关 --state "$T/py.json" >"$T/p1.out" || T_FAILS=$((T_FAILS + 1))
grep '^ok\|^not ok' "$T/p1.out"
info=$(grep '^{' "$T/p1.out")
RID=$(jq -r .resident <<<"$info"); VID=$(jq -r .visit <<<"$info")
sync "$B"
name=$(t_gs "$B" --json show "$RID" | jq -r .name)
[ "$name" = "python 居民" ] && ok pyclient_cli_sees_resident || notok pyclient_cli_sees_resident "name '$name' ($RID)"
vis=$(t_gs "$B" --json show "$VID")
[ "$(jq -r .resident <<<"$vis")" = "$RID" ] && [ "$(jq -r .lat <<<"$vis")" = 29.5 ] &&
    [ "$(jq -r .worker <<<"$vis")" = py-worker ] && ok pyclient_cli_sees_visit ||
    notok pyclient_cli_sees_visit "$vis"

# 3. the CLI device changes the resident; the python client's concurrent edit
t_gs "$B" resident update "$RID" --address "B 的地址" --phone 13900000000 >/dev/null
sync "$B"
pyc phase2 --state "$T/py.json" --other-address "B 的地址" --other-phone 13900000000 >"$T/p2.out" ||
    T_FAILS=$((T_FAILS + 1))
grep '^ok\|^not ok' "$T/p2.out"
conf=$(t_admin --json conflicts list --all)
na=$(jq --arg id "$RID" '[.conflicts[] | select((tostring | contains($id)) and .field == "address")] | length' <<<"$conf")
np=$(jq --arg id "$RID" '[.conflicts[] | select((tostring | contains($id)) and .field == "phone")] | length' <<<"$conf")
[ "$na$np" = 10 ] && ok pyclient_conflict_recorded_equal_not ||
    notok pyclient_conflict_recorded_equal_not "address $na, phone $np conflicts (want 1, 0)"

# 4. the python client's last edit wins and reaches the CLI device
pyc phase3 --state "$T/py.json" >"$T/p3.out" || T_FAILS=$((T_FAILS + 1))
grep '^ok\|^not ok' "$T/p3.out"
sync "$B"
addr=$(t_gs "$B" --json show "$RID" | jq -r .address)
[ "$addr" = "python 的新地址" ] && ok pyclient_cli_sees_last_edit || notok pyclient_cli_sees_last_edit "address '$addr'"
[ "$(t_sql "$B" "SELECT count(*) FROM outbox")" = 0 ] && ok pyclient_cli_outbox_empty ||
    notok pyclient_cli_outbox_empty "pending changes left"

# 5. the status table of PROTOCOL.md section 1, request by request
pyc statuses >"$T/st.out" || T_FAILS=$((T_FAILS + 1))
grep '^ok\|^not ok' "$T/st.out"

# 6. an unknown Content-Encoding: 415 content_type, naming deflate
printf '\x80' >"$T/one"
curl -s --cacert "$CA" -D "$T/h415" -o "$T/b415" -X POST -H "Authorization: Bearer $PY_TOKEN" \
    -H "Content-Type: application/vnd.msgpack" -H "Content-Encoding: gzip" --data-binary @"$T/one" "$URL/v1/sync"
err=$("$PY" -c 'import msgpack,sys; print(msgpack.unpackb(open(sys.argv[1],"rb").read(), raw=False)["err"])' "$T/b415" 2>&1)
grep -q '^HTTP/1.1 415' "$T/h415" && grep -qi '^Accept-Encoding: deflate' "$T/h415" && [ "$err" = content_type ] &&
    ok pyclient_gzip_is_415 || notok pyclient_gzip_is_415 "$(head -n 1 "$T/h415"), err $err"
t_done
