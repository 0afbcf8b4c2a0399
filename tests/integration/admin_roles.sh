#!/usr/bin/env bash
# admin_roles.sh: towns, grids and admins with roles (issue 20 sections 2 and 3) on a real
# gridsyncd over TLS, either store (GS_TEST_STORE=pg):
#   - grid import: a CSV with a bad line is refused with its line number and nothing is
#     imported; the county office's file (BOM, CRLF, header, a quoted field) is imported
#     whole; town/grid add, list (by town then grid), move;
#   - devices are enrolled into registered grids only, once the registry holds any;
#   - a county, two town admins (迟营镇, 河西镇) and a viewer: lists filtered by town; another
#     town's conflict, resolution, resident records, export, dashboard and device give 404;
#     a viewer's writes 403; registry and admin writes are the county's (403);
#   - the audit names the admin who resolved; a revoked admin's token and console session
#     are refused (401) at once.
. "$(dirname "$0")/lib.sh"
t_setup admin_roles
t_server_init
t_server_start
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# as ADMIN TOKEN: gridsync-admin with another admin's token
as() { local tok=$1; shift; "$GRIDSYNC_ADMIN" --server "$URL" --ca "$CA" --token "$tok" "$@"; }
# api TOKEN METHOD PATH [BODY]: the HTTP status of a raw admin API call
api() {
    curl -s -o "$T/api.out" -w '%{http_code}' --cacert "$CA" -X "$2" \
        -H "Authorization: Bearer $1" ${4:+-H 'Content-Type: application/json' --data "$4"} \
        "$URL/v1/admin$3"
}
G1=XH-0412 G2=XH-0413 G3=HX-0101

# --- the registry --------------------------------------------------------------------------
printf '\xEF\xBB\xBFcode,name,village,town\r\n%s,东风村3组,东风村,迟营镇\r\n%s,东风村4组,东风村,迟营镇\r\n\r\nHX-0102,西河村2组,西河村\r\n' \
    "$G1" "$G2" >"$T/bad.csv"
out=$(t_admin grid import "$T/bad.csv" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'bad.csv:5:' <<<"$out" && grep -q 'columns' <<<"$out" \
    && ok import_bad_line_named || notok import_bad_line_named "exit $rc: $out"
n=$(t_admin --json grid list | json 'len(d["grids"])')
[ "$n" = 0 ] && ok import_bad_line_imports_nothing || notok import_bad_line_imports_nothing "$n grids"
printf '%s,东风村3组,东风村,迟营镇\n%s,,东风村,迟营镇\n' "$G1" "$G2" >"$T/empty.csv"
out=$(t_admin grid import "$T/empty.csv" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'empty.csv:2: the name is empty' <<<"$out" && ok import_empty_field_named \
    || notok import_empty_field_named "exit $rc: $out"
printf '\xEF\xBB\xBFcode,name,village,town\r\n%s,东风村3组,东风村,迟营镇\r\n%s,"东风村4组, 北",东风村,迟营镇\r\n%s,西河村1组,西河村,河西镇\r\n' \
    "$G1" "$G2" "$G3" >"$T/county.csv"
out=$(t_admin grid import "$T/county.csv") && grep -q '^3 grids imported (3 new, 0 updated), 2 towns added' <<<"$out" \
    && ok import_county_csv || notok import_county_csv "$out"
out=$(t_admin grid import "$T/county.csv") && grep -q '3 new\|0 new, 3 updated' <<<"$out" \
    && grep -q '0 new, 3 updated' <<<"$out" && ok import_again_updates || notok import_again_updates "$out"
out=$(t_admin town list) && grep -q 迟营镇 <<<"$out" && grep -q 河西镇 <<<"$out" \
    && ok town_list || notok town_list "$out"
t_admin town add 迟营镇 >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] && ok town_add_twice_refused || notok town_add_twice_refused "exit 0"
t_admin town add 新集镇 >/dev/null && ok town_add || notok town_add "exit $?"
t_admin grid add XJ-0001 --name 新集1组 --village 新集村 --town 无此镇 >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok grid_add_unknown_town_exit_3 || notok grid_add_unknown_town_exit_3 "exit $rc"
t_admin grid add XJ-0001 --name 新集1组 --village 新集村 --town 新集镇 >/dev/null && ok grid_add || notok grid_add "exit $?"
t_admin grid add XJ-0001 --name x --village y --town 新集镇 >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] && ok grid_add_twice_refused || notok grid_add_twice_refused "exit 0"
t_admin grid move XJ-0001 --town 河西镇 --village 新村 >/dev/null && \
    mv_town=$(t_admin --json grid list --town 河西镇 | json '",".join(g["code"]+"/"+g["village"] for g in d["grids"])') \
    && [ "$mv_town" = "$G3/西河村,XJ-0001/新村" ] && ok grid_move || notok grid_move "$mv_town"
order=$(t_admin --json grid list | json '",".join(g["town"]+":"+g["code"] for g in d["grids"])')
[ "$order" = "河西镇:$G3,河西镇:XJ-0001,迟营镇:$G1,迟营镇:$G2" ] && ok grid_list_by_town_then_grid \
    || notok grid_list_by_town_then_grid "$order"
out=$(t_admin grid list) && head -n 1 <<<"$out" | grep -q '^TOWN' && ok grid_list_table \
    || notok grid_list_table "$out"

# --- enrolment into registered grids --------------------------------------------------------
out=$(t_admin device add --grid 未登记网格 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'not in the grid registry' <<<"$out" && ok device_add_unregistered_grid_refused \
    || notok device_add_unregistered_grid_refused "exit $rc: $out"
t_enroll "$T/a1.db" "$G1" 王芳; A1=$DEV_ID
t_enroll "$T/a2.db" "$G1" 李强
t_enroll "$T/b1.db" "$G3" 赵敏; B1=$DEV_ID
t_enroll "$T/b2.db" "$G3" 孙丽
ok device_add_registered_grid

# a conflict in each town: two devices of one grid edit one care request at once
conflict() {
    local d1=$1 d2=$2 r c
    r=$(t_gs "$d1" resident add --name "$3")
    c=$(t_gs "$d1" care add --resident "$r" --category meal)
    t_gs "$d1" sync >/dev/null && t_gs "$d2" sync >/dev/null
    t_gs "$d1" care update "$c" --priority urgent >/dev/null
    sleep 0.02
    t_gs "$d2" care update "$c" --priority low >/dev/null
    t_gs "$d1" sync >/dev/null; t_gs "$d2" sync >/dev/null; t_gs "$d1" sync >/dev/null
}
conflict "$T/a1.db" "$T/a2.db" 张秀兰
conflict "$T/b1.db" "$T/b2.db" 刘桂英
list=$(t_admin --json conflicts list --all)
CA_ID=$(json "[c['id'] for c in d['conflicts'] if c['grid']=='$G1'][0]" <<<"$list")
CB_ID=$(json "[c['id'] for c in d['conflicts'] if c['grid']=='$G3'][0]" <<<"$list")
[ -n "$CA_ID" ] && [ -n "$CB_ID" ] && ok conflicts_in_both_towns || notok conflicts_in_both_towns "$list"

# --- admins ---------------------------------------------------------------------------------
mk() { t_admin --json admin add "$@" | json 'd["token"]'; }
T1=$(mk 王镇长 --role town --town 迟营镇) && T2=$(mk 河西李 --role town --town 河西镇) \
    && V=$(mk 县督查 --role viewer) && [ -n "$T1" ] && [ -n "$T2" ] && [ -n "$V" ] \
    && ok admin_add || notok admin_add "tokens '$T1' '$T2' '$V'"
out=$(t_admin admin add 张三 --role town 2>&1); rc=$?
[ $rc -eq 2 ] && ok admin_add_town_needs_town || notok admin_add_town_needs_town "exit $rc: $out"
t_admin admin add 王镇长 --role viewer >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] && ok admin_add_name_taken || notok admin_add_name_taken "exit 0"
t_admin admin add 某人 --role town --town 无此镇 >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok admin_add_unknown_town_exit_3 || notok admin_add_unknown_town_exit_3 "exit $rc"
out=$(t_admin admin list) && grep -q 'county' <<<"$out" && grep -q '王镇长.*town.*迟营镇' <<<"$out" \
    && grep -q '县督查.*viewer.*(all)' <<<"$out" && ok admin_list || notok admin_list "$out"
out=$(t_admin admin add 乡长 --role town --town 迟营镇) && grep -q '^token ' <<<"$out" \
    && grep -q 'shown only this once' <<<"$out" && ok admin_add_prints_token_once \
    || notok admin_add_prints_token_once "$out"

# lists filtered by town
devs=$(as "$T1" --json device list | json '",".join(sorted(x["id"] for x in d["devices"]))')
[[ $devs == *"$A1"* && $devs != *"$B1"* ]] && ok town_device_list_own_town \
    || notok town_device_list_own_town "$devs"
grids=$(as "$T1" --json grid list | json '",".join(g["code"] for g in d["grids"])')
[ "$grids" = "$G1,$G2" ] && ok town_grid_list_own_town || notok town_grid_list_own_town "$grids"
towns=$(as "$T1" --json town list | json '",".join(t["name"] for t in d["towns"])')
[ "$towns" = 迟营镇 ] && ok town_town_list_own_town || notok town_town_list_own_town "$towns"
cids=$(as "$T1" --json conflicts list --all | json '",".join(sorted({c["grid"] for c in d["conflicts"]}))')
[ "$cids" = "$G1" ] && ok town_conflicts_own_town || notok town_conflicts_own_town "$cids"
sg=$(as "$T1" --json status | json '",".join(g["town"]+":"+g["grid"] for g in d["grids"])')
[ "$sg" = "迟营镇:$G1" ] && ok town_status_own_town || notok town_status_own_town "$sg"
dg=$(as "$T1" --json dashboard | json '",".join(g["town"]+":"+g["grid"] for g in d["grids"])')
[ "$dg" = "迟营镇:$G1" ] && ok town_dashboard_own_town || notok town_dashboard_own_town "$dg"
dg=$(t_admin --json dashboard | json '",".join(g["town"]+":"+g["grid"] for g in d["grids"])')
[ "$dg" = "河西镇:$G3,迟营镇:$G1" ] && ok county_dashboard_by_town_then_grid \
    || notok county_dashboard_by_town_then_grid "$dg"
out=$(t_admin status) && grep -q "迟营镇 *$G1" <<<"$out" && grep -q "河西镇 *$G3" <<<"$out" \
    && ok status_table_by_town || notok status_table_by_town "$out"
out=$(t_admin dashboard) && grep -q "^ *河西镇 *$G3" <<<"$out" && ok dashboard_table_by_town \
    || notok dashboard_table_by_town "$out"
rg=$(as "$T1" --json status >/dev/null; api "$T1" GET "/records?type=resident" >/dev/null; \
     json '",".join(sorted({r["grid"] for r in d["records"]}))' <"$T/api.out")
[ "$rg" = "$G1" ] && ok town_export_own_town_only || notok town_export_own_town_only "$rg"

# another town's data: 404, as if it did not exist
declare -A want404=(
    [other_conflict_show]="GET /conflicts/$CB_ID"
    [other_conflict_resolve]="POST /conflicts/$CB_ID/resolve"
    [other_resident_records]="GET /records?type=resident&grid=$G3"
    [other_export_visits]="GET /records?type=visit&grid=$G3"
    [other_dashboard]="GET /dashboard?grid=$G3"
    [other_conflicts_list]="GET /conflicts?grid=$G3"
    [other_warnings]="GET /warnings?grid=$G3"
    [other_device_revoke]="POST /devices/$B1/revoke"
    [other_grids]="GET /grids?town=%E6%B2%B3%E8%A5%BF%E9%95%87"
)
for k in "${!want404[@]}"; do
    read -r m p <<<"${want404[$k]}"
    b=; [ "$m" = POST ] && b='{}'; [[ $p == */resolve ]] && b='{"keep":"winner"}'
    st=$(api "$T1" "$m" "$p" "$b")
    [ "$st" = 404 ] && ok "town_${k}_404" || notok "town_${k}_404" "$m $p: $st $(cat "$T/api.out")"
done
st=$(api "$T1" POST /devices "{\"grids\":[\"$G3\"]}")
[ "$st" = 404 ] && ok town_device_add_other_town_404 || notok town_device_add_other_town_404 "$st"
as "$T1" export --from 2020-01-01 --to 2030-12-31 --out "$T/o.csv" --type resident --grid "$G3" \
    >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && [ ! -e "$T/o.csv" ] && ok town_cli_export_other_town_exit_3 \
    || notok town_cli_export_other_town_exit_3 "exit $rc"
as "$T1" export --from 2020-01-01 --to 2030-12-31 --out "$T/own.csv" --type resident --grid "$G1" \
    >/dev/null && grep -q 张秀兰 "$T/own.csv" && ok town_cli_export_own_grid \
    || notok town_cli_export_own_grid "exit $?"
as "$T1" conflicts show "$CB_ID" >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok town_cli_other_conflict_exit_3 || notok town_cli_other_conflict_exit_3 "exit $rc"

# its own town: resolve, and the audit names the admin
as "$T1" conflicts resolve "$CA_ID" --keep other --note 镇里核实 >/dev/null \
    && ok town_resolves_own_conflict || notok town_resolves_own_conflict "exit $?"
who=$(t_admin --json conflicts show "$CA_ID" | json 'd["resolution"]["admin"]')
[ "$who" = 王镇长 ] && ok audit_names_the_admin || notok audit_names_the_admin "'$who'"
out=$(t_admin conflicts show "$CA_ID") && grep -q 'resolved by 王镇长' <<<"$out" \
    && ok audit_named_in_cli || notok audit_named_in_cli "$out"
st=$(api "$T1" POST /grids '{"code":"X","name":"x","village":"y","town":"迟营镇"}')
[ "$st" = 403 ] && ok town_registry_write_403 || notok town_registry_write_403 "$st"
st=$(api "$T1" GET /admins)
[ "$st" = 403 ] && ok town_admin_list_403 || notok town_admin_list_403 "$st"

# the viewer reads everything and writes nothing
n=$(as "$V" --json conflicts list --all | json 'len({c["grid"] for c in d["conflicts"]})')
[ "$n" = 2 ] && ok viewer_reads_all_towns || notok viewer_reads_all_towns "$n grids"
for w in "POST /conflicts/$CB_ID/resolve" "POST /devices" "POST /devices/$B1/revoke" \
         "POST /towns" "POST /grids/import" "POST /admins"; do
    read -r m p <<<"$w"
    st=$(api "$V" "$m" "$p" '{"keep":"winner"}')
    [ "$st" = 403 ] && ok "viewer_write_403 $p" || notok "viewer_write_403 $p" "$st $(cat "$T/api.out")"
done
as "$V" conflicts resolve "$CB_ID" --keep winner >/dev/null 2>&1; rc=$?
[ $rc -eq 5 ] && ok viewer_cli_write_exit_5 || notok viewer_cli_write_exit_5 "exit $rc"
state=$(t_admin --json conflicts show "$CB_ID" | json 'd["status"]')
[ "$state" = open ] && ok viewer_changed_nothing || notok viewer_changed_nothing "$state"

# revocation: the token and a console session stop at once
cookie=$(curl -s -D - -o "$T/session.out" --cacert "$CA" -H 'Content-Type: application/json' \
    --data "{\"token\":\"$T2\"}" "$URL/admin/session" | tr -d '\r' \
    | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
csrf=$(json 'd["csrf"]' <"$T/session.out")
who=$(json 'd["name"]+"/"+d["role"]+"/"+",".join(d["towns"])' <"$T/session.out")
[ "$who" = 河西李/town/河西镇 ] && ok console_session_names_role || notok console_session_names_role "$who"
sess() { curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -H "Cookie: $cookie" \
    -H "Authorization: Session $csrf" "$URL/v1/admin/conflicts?state=all"; }
st=$(sess)
[ "$st" = 200 ] && ok console_session_signs_in || notok console_session_signs_in "$st"
out=$(t_admin admin revoke 河西李) && grep -q revoked <<<"$out" && ok admin_revoke \
    || notok admin_revoke "$out"
st=$(api "$T2" GET /conflicts)
[ "$st" = 401 ] && ok revoked_admin_token_401 || notok revoked_admin_token_401 "$st"
st=$(sess)
[ "$st" = 401 ] && ok revoked_admin_session_401 || notok revoked_admin_session_401 "$st"
as "$T2" device list >/dev/null 2>&1; rc=$?
[ $rc -eq 5 ] && ok revoked_admin_cli_exit_5 || notok revoked_admin_cli_exit_5 "exit $rc"
state=$(t_admin --json admin list | json '[a for a in d["admins"] if a["name"]=="河西李"][0]["revoked"]')
[ "$state" = True ] && ok admin_list_shows_revoked || notok admin_list_shows_revoked "$state"
out=$(t_admin admin revoke county 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q 'last active county admin' <<<"$out" && ok last_county_admin_kept \
    || notok last_county_admin_kept "exit $rc: $out"
t_done
