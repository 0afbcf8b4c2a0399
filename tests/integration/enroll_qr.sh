#!/usr/bin/env bash
# enroll_qr.sh: enrolment by code (PROTOCOL.md 9) against a real gridsyncd over TLS.
# `gridsync-admin device add` prints a QR code (decoded back with zbarimg when it is
# installed) and a gridsync://enroll URI; `gridsync enroll URI` on a fresh database
# enrols and syncs, and so does a bare code with --server and --fingerprint. Refused, each
# with its documented exit code and a message naming the reason: a wrong fingerprint (1,
# and the code stays usable: it was never sent), a reused code (5), an expired one
# (--ttl 1, 5), a revoked one (5), an unknown one (5), a bad URI (2), a database that is a
# device already (2, before the code is spent). The server keeps only the code's hash.
. "$(dirname "$0")/lib.sh"
t_setup enroll_qr
t_server_init
t_server_start
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# expect NAME CODE PATTERN CMD...: CMD exits CODE and its stderr matches PATTERN
expect() {
    local name=$1 want=$2 pat=$3 rc; shift 3
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -Eq -- "$pat" "$T/err"; }; then ok "$name"
    else notok "$name" "exit $rc (want $want), stderr: $(head -c 400 "$T/err")"; fi
}

# --- the QR code and the URI -------------------------------------------------------------
out=$(t_admin device add --grid 东风村3组 --name 王芳) || notok device_add_qr "exit $?"
uri=$(grep -o 'gridsync://enroll?[^ ]*' <<<"$out" | head -n 1 | tr -d "'")
fp=$(openssl x509 -in "$CA" -outform DER | sha256sum | cut -c1-64)
if grep -q '█' <<<"$out" && [[ $uri == "gridsync://enroll?u=$URL&c="* && $uri == *"&fp=$fp" ]]
then ok device_add_prints_qr_and_uri
else notok device_add_prints_qr_and_uri "uri '$uri', fp $fp: $(head -c 300 <<<"$out")"; fi
if command -v zbarimg >/dev/null; then
    # the half-block rows back into pixels (a drawn cell is light), then a real decoder
    grep -E '^[█▀▄ ]+$' <<<"$out" | "$PY" -c '
import sys
from PIL import Image
rows = [l.rstrip("\n") for l in sys.stdin if l.strip("\n")]
w, s = len(rows[0]), 8
img = Image.new("L", (w * s, 2 * len(rows) * s), 0)
for y, line in enumerate(rows):
    for x, ch in enumerate(line):
        top, bottom = ch in "█▀", ch in "█▄"
        for dy, light in ((0, top), (1, bottom)):
            if light:
                img.paste(255, (x * s, (2 * y + dy) * s, (x + 1) * s, (2 * y + dy + 1) * s))
img.save(sys.argv[1])' "$T/qr.png"
    got=$(zbarimg -q --raw "$T/qr.png" 2>/dev/null)
    [ "$got" = "$uri" ] && ok qr_decodes_to_the_uri || notok qr_decodes_to_the_uri "decoded '$got', want '$uri'"
else
    skip qr_decodes_to_the_uri "zbarimg (zbar-tools) not installed"
fi

# --- a wrong fingerprint first: refused, nothing sent, so the code still works -----------
bad=${uri%fp=*}fp=$(printf '%064d' 0)
expect wrong_fingerprint_refused 1 "not the one the enrolment names" \
    "$GRIDSYNC" --db "$T/w.db" enroll "$bad"
expect enroll_uri 0 "" "$GRIDSYNC" --db "$T/a.db" enroll "$uri"
grep -q "enrolled as device d-" "$T/out" && ok enroll_prints_device || notok enroll_prints_device "$(cat "$T/out")"
st=$(t_gs "$T/a.db" --json status)
[ "$(json 'd["worker"]+" "+",".join(d["grids"])' <<<"$st")" = "王芳 东风村3组" ] \
    && ok enroll_stores_worker_and_grids || notok enroll_stores_worker_and_grids "$st"
expect reused_code_refused 5 "code_used" "$GRIDSYNC" --db "$T/b.db" enroll "$uri"
expect enrolled_db_refused 2 "belongs to device" "$GRIDSYNC" --db "$T/a.db" enroll "$uri"

# --- a bare code, typed with the server and the fingerprint ------------------------------
j=$(t_admin --json device add --grid 东风村3组 --name 李强 --ttl 10m)
code=$(json 'd["code"]' <<<"$j")
[ "$(json 'd["ca_sha256"]' <<<"$j")" = "$fp" ] && ok admin_json_fingerprint \
    || notok admin_json_fingerprint "$j"
[[ $code =~ ^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$ ]] && ok code_shape || notok code_shape "$code"
expect enroll_code 0 "" "$GRIDSYNC" --db "$T/b.db" enroll "${code,,}" --server "$URL" \
    --fingerprint "$fp" --worker 李强

# --- both devices sync in their grid -------------------------------------------------------
r=$(t_gs "$T/a.db" resident add --name 张秀兰) || notok resident_add "$r"
t_gs "$T/a.db" sync >/dev/null && t_gs "$T/b.db" sync >/dev/null \
    && ok enrolled_devices_sync || notok enrolled_devices_sync "sync failed"
t_gs "$T/b.db" show "$r" 2>/dev/null | grep -q 张秀兰 && ok enrolled_devices_share_records \
    || notok enrolled_devices_share_records "b does not see $r"
t_admin device list | grep -q 王芳 && ok device_listed_with_name || notok device_listed_with_name "$(t_admin device list)"

# --- expired, revoked, unknown, malformed --------------------------------------------------
uri_exp=$(t_admin --json device add --grid g --ttl 1 | json 'd["uri"]')
sleep 1.2
expect expired_code_refused 5 "code_expired" "$GRIDSYNC" --db "$T/c.db" enroll "$uri_exp"
j=$(t_admin --json device add --grid g)
eid=$(json 'd["id"]' <<<"$j"); uri_rev=$(json 'd["uri"]' <<<"$j")
expect admin_revokes 0 "" t_admin enrolment revoke "$eid"
expect revoked_code_refused 5 "code_revoked" "$GRIDSYNC" --db "$T/c.db" enroll "$uri_rev"
expect unknown_code_refused 5 "code_unknown" "$GRIDSYNC" --db "$T/c.db" enroll \
    0000-0000-0000-0000 --server "$URL" --fingerprint "$fp"
expect bad_uri_refused 2 "fp must be" "$GRIDSYNC" --db "$T/c.db" enroll "${uri%fp=*}fp=12"
expect code_needs_server 2 "needs the server" "$GRIDSYNC" --db "$T/c.db" enroll "$code"
expect bad_ttl_refused 2 "--ttl" t_admin device add --grid g --ttl 31d
expect revoke_used_refused 1 "used already" t_admin enrolment revoke \
    "$(t_admin --json enrolment list | json '[e["id"] for e in d["enrolments"] if e["name"]=="王芳"][0]')"

# --- the endpoints themselves (curl) -------------------------------------------------------
ca_got=$(curl -sk "$URL/v1/ca")
[ "$ca_got" = "$(cat "$CA")" ] && ok get_ca_serves_the_ca || notok get_ca_serves_the_ca "$(head -c 100 <<<"$ca_got")"
st=$(curl -s -o "$T/r" -w '%{http_code}' --cacert "$CA" -H 'Content-Type: text/plain' -d '{"code":"x"}' "$URL/v1/enroll")
[ "$st" = 415 ] && ok enroll_wrong_type_415 || notok enroll_wrong_type_415 "$st $(cat "$T/r")"
st=$(curl -s -o "$T/r" -w '%{http_code}' --cacert "$CA" -H 'Content-Type: application/json' -d '{"code":"ABC"}' "$URL/v1/enroll")
[ "$st" = 400 ] && grep -q '"bad_code"' "$T/r" && ok enroll_bad_code_400 || notok enroll_bad_code_400 "$st $(cat "$T/r")"
st=$(curl -s -o "$T/r" -w '%{http_code}' --cacert "$CA" "$URL/v1/enroll")
[ "$st" = 405 ] && ok enroll_get_405 || notok enroll_get_405 "$st"
# the console's form: with server_url, the URI and the QR code's modules come back
st=$(curl -s -o "$T/r" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d "{\"grids\":[\"g\"],\"server_url\":\"$URL\"}" "$URL/v1/admin/enrolments")
if [ "$st" = 201 ] && json 'd["uri"].startswith("gridsync://enroll?u='"$URL"'&c=") and d["qr"]["size"] == len(d["qr"]["rows"]) == len(d["qr"]["rows"][0]) >= 21 and set("".join(d["qr"]["rows"])) == {"0","1"}' <"$T/r" | grep -q True
then ok admin_enrolment_qr_matrix; else notok admin_enrolment_qr_matrix "$st $(head -c 300 "$T/r")"; fi
d_id=$(t_admin --json device list | json '[x["id"] for x in d["devices"] if x["name"]=="李强"][0]')
st=$(curl -s -o "$T/r" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"李强的手机"}' "$URL/v1/admin/devices/$d_id/rename")
[ "$st" = 200 ] && t_admin device list | grep -q 李强的手机 && ok admin_device_rename || notok admin_device_rename "$st $(cat "$T/r")"
expect admin_cli_rename 0 "" t_admin device rename "$d_id" 李强
t_admin device list | grep -q " 李强 " && ok admin_cli_renamed || notok admin_cli_renamed "$(t_admin device list)"
expect admin_cli_rename_unknown 3 "no device" t_admin device rename d-nope x
expect admin_cli_rename_usage 2 "device rename" t_admin device rename "$d_id"

# --- what the server keeps ------------------------------------------------------------------
states=$(t_admin --json enrolment list | json '" ".join(sorted(e["state"] for e in d["enrolments"]))')
[ "$states" = "expired open revoked used used" ] && ok enrolment_list_states || notok enrolment_list_states "$states"
t_admin enrolment list | grep -q "^ENROLMENT" && ok enrolment_list_table || notok enrolment_list_table ""
dump=$(t_sql "$SRV_STORE" "SELECT id, hex(code_hash), name, grids, created_by, device FROM enrolments" 2>/dev/null)
plain=${code//-/}
if [ -n "$dump" ] && ! grep -q "$plain" <<<"$dump" && ! grep -q "$code" <<<"$dump"; then
    ok server_keeps_no_code
else notok server_keeps_no_code "the dump holds the code (or no enrolments table)"; fi
t_done
