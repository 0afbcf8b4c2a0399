#!/usr/bin/env bash
# authz.sh: authorization on a live gridsyncd.
#   - device A (grid 东风村3组) and device B (grid 西河村1组) sync records; A never receives
#     B's records (CLI), and raw requests with A's token (tests/tools/faults_authz.py) cannot
#     read, create, edit, delete or move records of B's grid, nor call the admin API;
#   - once revoked, A's token is refused (gridsync sync exits 5, raw request 401), B still syncs;
#   - the admin API's roles (tests/tools/faults_authz_roles.py): county, town, viewer and a
#     revoked admin against every endpoint, on the own and the other town's objects;
#   - no token or secret (both device tokens, their secret parts, the admin token) appears
#     in the server log or in any client output.
. "$(dirname "$0")/../integration/lib.sh"
t_setup authz
t_server_init
# debug logging: the most lines a secret could slip into
sed -i 's/^log_level = .*/log_level = debug/' "$T/town/gridsyncd.conf"
t_server_start
G1=东风村3组 G2=西河村1组
A=$T/a.db B=$T/b.db
t_enroll "$A" "$G1" 甲; A_ID=$DEV_ID A_TOKEN=$DEV_TOKEN
t_enroll "$B" "$G2" 乙; B_ID=$DEV_ID B_TOKEN=$DEV_TOKEN
out=$T/client.out
: >"$out"
run() { "$@" >>"$out" 2>&1; }
RB=$(t_gs "$B" resident add --name 李四) && echo "$RB" >>"$out"
run t_gs "$B" visit add --resident "$RB" --kind routine --notes 乙的走访
run t_gs "$B" care add --resident "$RB" --category meal
RA=$(t_gs "$A" resident add --name 张三) && echo "$RA" >>"$out"
run t_gs "$B" sync
run t_gs "$A" sync
run t_gs "$A" sync
n_a=$(t_sql "$A" "SELECT count(*) FROM resident")
n_a_all=$(t_sql "$A" "SELECT (SELECT count(*) FROM visit) + (SELECT count(*) FROM care)")
[ "$n_a" = 1 ] && [ "$n_a_all" = 0 ] && ok authz_cli_pull_only_own_grid \
    || notok authz_cli_pull_only_own_grid "A holds $n_a residents, $n_a_all visits+care"
ids=$(t_sql "$B" "SELECT lower(hex(id)) FROM resident UNION ALL SELECT lower(hex(id)) FROM visit
                  UNION ALL SELECT lower(hex(id)) FROM care" | paste -sd, -)
/usr/bin/python3 "$TOOLS/faults_authz.py" "$PORT" "$CA" "$T/town/gridsyncd.db" "$A_ID" \
    "$A_TOKEN" "$G1" "$G2" "$ids" || notok authz_raw "faults_authz.py exited non-zero"

# the admin API's JSON carries the console's anti-framing headers (issue 18, item 10)
hdrs=$(curl -s -D - -o /dev/null --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" \
    "$URL/v1/admin/devices")
grep -qi '^X-Frame-Options: DENY' <<<"$hdrs" && grep -qi "^Content-Security-Policy: .*frame-ancestors 'none'" <<<"$hdrs" \
    && ok authz_admin_api_security_headers \
    || notok authz_admin_api_security_headers "headers: $(tr -d '\r' <<<"$hdrs" | paste -sd'|')"

# admins with roles (issue 20): roles x endpoints x own/other town on the admin API; G1 and
# G2 become grids of two towns
/usr/bin/python3 "$TOOLS/faults_authz_roles.py" "$PORT" "$CA" "$ADMIN_TOKEN" "$G1" "$G2" \
    || notok authz_roles "faults_authz_roles.py exited non-zero"

# revocation
run t_admin device revoke "$A_ID"
t_gs "$A" resident add --name 撤销后 >/dev/null
t_gs "$A" sync >>"$out" 2>&1
rc=$?
[ $rc -eq 5 ] && ok authz_revoked_sync_exit_5 || notok authz_revoked_sync_exit_5 "exit $rc"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -X POST \
    -H "Authorization: Bearer $A_TOKEN" -H 'Content-Type: application/vnd.msgpack' \
    --data-binary @/dev/null "$URL/v1/sync")
[ "$st" = 401 ] && ok authz_revoked_token_401 || notok authz_revoked_token_401 "status $st"
pending=$(t_sql "$A" "SELECT count(*) FROM outbox")
[ "$pending" -ge 1 ] && ok authz_revoked_keeps_outbox || notok authz_revoked_keeps_outbox "$pending"
run t_gs "$B" visit add --resident "$RB" --kind service
t_gs "$B" sync >>"$out" 2>&1 && ok authz_other_device_unaffected \
    || notok authz_other_device_unaffected "B sync failed"

# no secret in any log line
t_server_stop
leaks=()
for tok in "$A_TOKEN" "$B_TOKEN" "$ADMIN_TOKEN"; do
    secret=${tok#*.}
    for f in "$T/gridsyncd.log" "$out" "$T/init.err"; do
        grep -qF -- "$secret" "$f" && leaks+=("${tok%%.*}… in $(basename "$f")")
    done
done
lines=$(wc -l <"$T/gridsyncd.log")
[ "$lines" -gt 5 ] && [ ${#leaks[@]} -eq 0 ] && ok authz_no_secret_in_logs \
    || notok authz_no_secret_in_logs "log lines $lines; leaks: ${leaks[*]}"
echo "# checked 3 tokens against $lines server log lines and $(wc -l <"$out") client output lines"
t_done
