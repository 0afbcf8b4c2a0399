#!/usr/bin/env bash
# admin_cli.sh: gridsync-admin against a real gridsyncd over TLS: device add/list/revoke,
# conflicts list/show/resolve (keep winner, keep other, a typed --value), status, --json
# shapes, exit codes (2 usage, 3 not found, 4 unreachable, 5 refused token), and that a
# resolution reaches the devices at their next sync.
. "$(dirname "$0")/lib.sh"
t_setup admin_cli
t_server_init
t_server_start
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- devices ---------------------------------------------------------------------------
out=$(t_admin --json device add --print-token --grid G1 --grid G2 --name 王芳) && ok device_add_json \
    || notok device_add_json "exit $?"
id=$(json 'd["id"]' <<<"$out"); tok=$(json 'd["token"]' <<<"$out")
[[ $id == d-* && ${#tok} -gt 30 ]] && ok device_add_id_token || notok device_add_id_token "$out"
out=$(t_admin device add --print-token --grid G3) && grep -q '^token ' <<<"$out" && ok device_add_table \
    || notok device_add_table "$out"
t_admin device add >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok device_add_needs_grid || notok device_add_needs_grid "exit $rc"
out=$(t_admin device list) && grep -q "$id" <<<"$out" && grep -q 'G1,G2' <<<"$out" \
    && ok device_list_table || notok device_list_table "$out"
n=$(t_admin --json device list | json 'len(d["devices"])')
[ "$n" = 2 ] && ok device_list_json || notok device_list_json "$n devices"

# --- a conflict from two devices -------------------------------------------------------
t_enroll "$T/a.db" G1 王芳; A_ID=$DEV_ID
t_enroll "$T/b.db" G1 李强; B_ID=$DEV_ID
r=$(t_gs "$T/a.db" resident add --name 张秀兰)
c=$(t_gs "$T/a.db" care add --resident "$r" --category meal)
t_gs "$T/a.db" sync >/dev/null && t_gs "$T/b.db" sync >/dev/null
t_gs "$T/a.db" care update "$c" --assignee 王芳 --priority urgent >/dev/null
sleep 0.02
t_gs "$T/b.db" care update "$c" --assignee 李强 --priority low >/dev/null
t_gs "$T/a.db" sync >/dev/null; t_gs "$T/b.db" sync >/dev/null; t_gs "$T/a.db" sync >/dev/null
list=$(t_admin --json conflicts list)
n=$(json 'len(d["conflicts"])' <<<"$list")
[ "$n" = 2 ] && ok conflicts_list_open || notok conflicts_list_open "$n conflicts: $list"
cid_assignee=$(json '[c["id"] for c in d["conflicts"] if c["field"]=="assignee"][0]' <<<"$list")
cid_priority=$(json '[c["id"] for c in d["conflicts"] if c["field"]=="priority"][0]' <<<"$list")
out=$(t_admin conflicts list --grid G1) && grep -q assignee <<<"$out" && ok conflicts_list_grid \
    || notok conflicts_list_grid "$out"
n=$(t_admin --json conflicts list --grid G9 | json 'len(d["conflicts"])')
[ "$n" = 0 ] && ok conflicts_list_other_grid_empty || notok conflicts_list_other_grid_empty "$n"
out=$(t_admin conflicts show "$cid_assignee") && grep -q 张秀兰 <<<"$out" && grep -q 李强 <<<"$out" \
    && grep -q 王芳 <<<"$out" && ok conflicts_show || notok conflicts_show "$out"
t_admin conflicts show 99999 >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok conflicts_show_missing_exit_3 || notok conflicts_show_missing_exit_3 "exit $rc"
t_admin conflicts resolve "$cid_assignee" --keep both >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok resolve_bad_keep_exit_2 || notok resolve_bad_keep_exit_2 "exit $rc"

winner=$(t_admin --json conflicts show "$cid_assignee" | json 'd["winner"]["value"]')
other=$(t_admin --json conflicts show "$cid_assignee" | json 'd["other"]["value"]')
t_admin conflicts resolve "$cid_assignee" --keep other --note "按网格分工" >/dev/null \
    && ok resolve_keep_other || notok resolve_keep_other "exit $?"
t_admin conflicts resolve "$cid_priority" --value normal >/dev/null \
    && ok resolve_value || notok resolve_value "exit $?"
t_admin conflicts resolve "$cid_priority" --value normal >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] && ok resolve_twice_refused || notok resolve_twice_refused "exit 0"
res=$(t_admin --json conflicts show "$cid_assignee")
[ "$(json 'd["status"]' <<<"$res")" = resolved ] \
    && [ "$(json 'd["resolution"]["note"]' <<<"$res")" = 按网格分工 ] \
    && [ "$(json 'd["resolution"]["new"]["value"]' <<<"$res")" = "$other" ] \
    && ok resolution_audited || notok resolution_audited "$res"
out=$(t_admin conflicts show "$cid_assignee")
grep -q -- "$winner -> $other" <<<"$out" && grep -q 按网格分工 <<<"$out" && ok show_resolution \
    || notok show_resolution "$out"
n=$(t_admin --json conflicts list --open | json 'len(d["conflicts"])')
m=$(t_admin --json conflicts list --all | json 'len(d["conflicts"])')
[ "$n" = 0 ] && [ "$m" = 2 ] && ok conflicts_open_vs_all || notok conflicts_open_vs_all "$n/$m"
t_gs "$T/a.db" sync >/dev/null; t_gs "$T/b.db" sync >/dev/null
va=$(t_gs "$T/a.db" --json show "$c" | json 'd["assignee"]+"/"+d["priority"]')
vb=$(t_gs "$T/b.db" --json show "$c" | json 'd["assignee"]+"/"+d["priority"]')
[ "$va" = "$other/normal" ] && [ "$vb" = "$other/normal" ] && ok resolution_reaches_devices \
    || notok resolution_reaches_devices "a=$va b=$vb want $other/normal (winner was $winner)"

# --- status, revoke, exit codes ----------------------------------------------------------
st=$(t_admin --json status)
[ "$(json '[g["records"].get("care",0) for g in d["grids"] if g["grid"]=="G1"][0]' <<<"$st")" = 1 ] \
    && ok status_grid_counts || notok status_grid_counts "$st"
out=$(t_admin status) && grep -q "$A_ID" <<<"$out" && grep -q G1 <<<"$out" && ok status_table \
    || notok status_table "$out"
t_admin device revoke "$B_ID" >/dev/null && ok device_revoke || notok device_revoke "exit $?"
[ "$(t_admin --json device list | json "[x['revoked'] for x in d['devices'] if x['id']=='$B_ID'][0]")" = True ] \
    && ok device_revoked_listed || notok device_revoked_listed ""
t_admin device revoke d-000000000000 >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok revoke_missing_exit_3 || notok revoke_missing_exit_3 "exit $rc"
"$GRIDSYNC_ADMIN" --server "$URL" --ca "$CA" --token "$DEV_TOKEN" device list >/dev/null 2>&1; rc=$?
[ $rc -eq 5 ] && ok device_token_refused_exit_5 || notok device_token_refused_exit_5 "exit $rc"
"$GRIDSYNC_ADMIN" --config "$T/town/admin.conf" --server "$URL" status >/dev/null \
    && ok config_file || notok config_file "exit $?"
# admin.conf is read by the reader of gridsyncd.conf (common/conf.c): comments, blanks,
# CRLF, a ca path relative to the file; a key given twice is refused with its line
cp "$CA" "$T/ca-copy.pem"
printf '# written by hand\r\nserver = %s   # the town\r\n\r\nca = ca-copy.pem\r\ntoken = %s\r\n' \
    "$URL" "$ADMIN_TOKEN" >"$T/hand.conf"
"$GRIDSYNC_ADMIN" --config "$T/hand.conf" status >/dev/null 2>"$T/hand.err" \
    && ok config_file_comments_crlf_relative_ca \
    || notok config_file_comments_crlf_relative_ca "exit $?: $(cat "$T/hand.err")"
printf 'server = %s\nserver = %s\n' "$URL" "$URL" >"$T/twice.conf"
"$GRIDSYNC_ADMIN" --config "$T/twice.conf" status >/dev/null 2>"$T/twice.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'twice.conf:2: "server" already set on line 1' "$T/twice.err" \
    && ok config_key_twice_refused || notok config_key_twice_refused "exit $rc: $(cat "$T/twice.err")"
"$GRIDSYNC_ADMIN" --bogus >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok usage_exit_2 || notok usage_exit_2 "exit $rc"
"$GRIDSYNC_ADMIN" conflicts resolve --help | grep -q -- '--keep' && ok help || notok help ""
t_server_stop
t_admin status >/dev/null 2>&1; rc=$?
[ $rc -eq 4 ] && ok unreachable_exit_4 || notok unreachable_exit_4 "exit $rc"
# The admin token never reaches the log. "Not found" proves nothing about an empty or cut
# log, so the log must first hold the requests made above, each with the admin's id (the
# token's public part) and never more of the token; then neither the token nor its secret.
log=$T/gridsyncd.log
admin_id=${ADMIN_TOKEN%%.*}
n_admin=$(grep -cE " (GET|POST) /v1/admin/[^ ]+ [0-9]{3} in=[0-9]+ out=[0-9]+ ms=[0-9]+ admin=$admin_id\$" "$log")
missing=()
for want in "POST /v1/admin/devices 201" "GET /v1/admin/devices 200" "GET /v1/admin/conflicts 200" \
    "POST /v1/admin/conflicts/$cid_assignee/resolve 200" "POST /v1/admin/conflicts/$cid_priority/resolve 200" \
    "POST /v1/admin/devices/$B_ID/revoke 200" "GET /v1/admin/status 200" \
    "GET /v1/admin/devices 401"; do
    grep -qF " $want in=" "$log" || missing+=("'$want'")
done
if [ "$n_admin" -ge 20 ] && [ ${#missing[@]} -eq 0 ]; then log_ok=1; ok log_has_admin_requests
else log_ok=0; notok log_has_admin_requests "$n_admin admin request lines (want >= 20), missing: ${missing[*]}"; fi
if [ $log_ok = 0 ]; then
    notok no_token_in_log "the log does not hold the admin's requests, so it proves nothing"
elif grep -q "$ADMIN_TOKEN" "$log" || grep -qF -- "${ADMIN_TOKEN#*.}" "$log"; then
    notok no_token_in_log "admin token logged, line $(grep -nF -- "${ADMIN_TOKEN#*.}" "$log" | head -n 1 | cut -d: -f1)"
else
    ok no_token_in_log
fi
t_done
