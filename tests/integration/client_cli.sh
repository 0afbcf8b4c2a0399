#!/usr/bin/env bash
# client_cli.sh: drives build/bin/gridsync through every command: --help everywhere, init,
# add/update/show/list/delete for each record type, import (good, twice, bad, missing),
# status, exit codes (0 ok, 2 bad usage or input, 3 not found), --json output parsed with
# python3, and Chinese text that must come back byte for byte.
# Prints "ok NAME" / "not ok NAME: why" per check (tests/integration/lib.sh). No server:
# the device database is never synced.
set -u
. "$(dirname "$0")/lib.sh"
t_setup client_cli
G=$GRIDSYNC
cd "$T" || exit 1
export GRIDSYNC_DB="$T/device.db"
# expect NAME RC CMD...: runs CMD, output in $out / $err, checks the exit code
expect() {
    local name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    out=$(cat "$T/out"); err=$(cat "$T/err")
    if [ "$got" -eq "$want" ]; then ok "$name"; else notok "$name" "exit $got, wanted $want; stderr: $err"; fi
}
# json EXPR: evaluates a python expression over the JSON in $out (bound to j)
json() { "$PY" -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$out"; }
is_uuid() { [[ $1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]; }

printf -- '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' >ca.pem

# --- help on every command ---
for cmd in "" "init" "status" "import" "show" "list" "delete" "resident add" "visit add" \
           "care add" "care update" "resident update" "visit update" "list visits"; do
    # shellcheck disable=SC2086
    expect "help_${cmd// /_}" 0 "$G" $cmd --help
    [ -n "$out" ] || notok "help_${cmd// /_}_text" "no help printed"
done
expect help_lists_enum_values 0 "$G" care add --help
[[ $out == *"meal (助餐)"* && $out == *"--category NAME"* ]] && ok help_from_schema || notok help_from_schema "$out"

# --- usage errors ---
expect unknown_command 2 "$G" frobnicate
expect no_command 2 "$G"
expect unknown_option 2 "$G" resident add --name x --colour red
expect flag_twice 2 "$G" resident add --name x --name y
expect missing_value 2 "$G" resident add --name
(unset GRIDSYNC_DB; expect no_database 2 "$G" status)

# --- init ---
expect init_missing_flags 2 "$G" init --device dev-1
expect init_missing_ca 3 "$G" init --device dev-1 --token t --server https://127.0.0.1:1 --ca nope.pem --grid g
expect init_plain_http 2 "$G" init --device dev-1 --token t --server http://x --ca ca.pem --grid g
expect status_before_init 0 "$G" status --json
[ "$(json 'j["initialised"]')" = False ] && ok status_not_initialised || notok status_not_initialised "$out"
expect add_before_init 2 "$G" resident add --name 某人
[[ $err == *"gridsync init"* ]] && ok add_before_init_says_why || notok add_before_init_says_why "$err"
expect init 0 "$G" init --device dev-1 --token dev-1.secret --server https://127.0.0.1:8443 \
    --ca ca.pem --grid 东风村3组 --grid 西河村1组 --worker 张三
expect init_other_device 2 "$G" init --device dev-2 --token t --server https://x --ca ca.pem --grid g
expect init_again_same_device 0 "$G" init --device dev-1 --token dev-1.new --server https://127.0.0.1:8443 \
    --ca ca.pem --grid 东风村3组 --grid 西河村1组 --worker 张三
[ "$(stat -c %a device.db)" = 600 ] && ok db_mode_0600 || notok db_mode_0600 "$(stat -c %a device.db)"

# --- residents ---
name='王秀英'
addr='东风村3组 12号（村委会东侧）'
expect resident_add 0 "$G" resident add --name "$name" --address "$addr" --born 1941 --tag elderly --tag lives_alone
R=$out
is_uuid "$R" && ok resident_add_prints_id || notok resident_add_prints_id "$R"
expect resident_add_json 0 "$G" --json resident add --name 李建国 --phone 13800000000 --tag disabled,low_income --grid 西河村1组
R2=$(json 'j["id"]')
[ "$(json 'j["grid"]')" = 西河村1组 ] && [ "$(json 'j["tags"]')" = "['disabled', 'low_income']" ] \
    && ok resident_add_json_fields || notok resident_add_json_fields "$out"
expect resident_other_grid 2 "$G" resident add --name 某人 --grid 北街村2组
[[ $err == *"resident.grid"*"北街村2组"*"东风村3组,西河村1组"* ]] && ok resident_other_grid_says_why \
    || notok resident_other_grid_says_why "$err"
expect resident_other_grid_update 2 "$G" resident update "$R2" --grid 北街村2组
[ "$(sqlite3 device.db "SELECT grid FROM resident WHERE name = '李建国'")" = 西河村1组 ] \
    && ok resident_other_grid_nothing_written || notok resident_other_grid_nothing_written "grid changed"
expect resident_bad_tag 2 "$G" resident add --name x --tag rich
[[ $err == *"resident.tags"* ]] && ok resident_bad_tag_names_field || notok resident_bad_tag_names_field "$err"
expect resident_bad_year 2 "$G" resident add --name x --born 1800
expect resident_not_utf8 2 "$G" resident add --name $'\xff\xfe'
[[ $err == *"resident.name"*"UTF-8"* ]] && ok not_utf8_names_field || notok not_utf8_names_field "$err"
expect show_resident_json 0 "$G" show "$R" --json
[ "$(json 'j["name"]')" = "$name" ] && [ "$(json 'j["address"]')" = "$addr" ] \
    && ok chinese_round_trip || notok chinese_round_trip "$out"
"$PY" - "$out" "$name" "$addr" <<'EOF' && ok chinese_bytes_identical || notok chinese_bytes_identical
import json, sys
j = json.loads(sys.argv[1])
sys.exit(0 if j["name"].encode() == sys.argv[2].encode() and j["address"].encode() == sys.argv[3].encode() else 1)
EOF
expect show_resident_people 0 "$G" show "$R"
[[ $out == *"姓名 name"*"$name"* ]] && ok show_people_labels || notok show_people_labels "$out"

# --- visits ---
notes='老人身体状况良好，血压偏高，已提醒按时服药。邻居说昨晚没开灯，明天再来看看。"引号"\反斜杠'
expect visit_add 0 "$G" visit add --resident "$R" --kind elderly_checkin --notes "$notes" \
    --at 2026-11-27T09:30 --follow-up --lat 33.7912 --lon 114.52
V=$out
expect visit_show_json 0 "$G" show "$V" --json
[ "$(json 'j["notes"]')" = "$notes" ] && ok visit_notes_round_trip || notok visit_notes_round_trip "$out"
[ "$(json 'j["visited_at"]')" = 2026-11-27T01:30:00Z ] && ok visit_time_beijing_to_utc || notok visit_time_beijing_to_utc "$out"
[ "$(json 'j["follow_up"], j["lat"], j["lon"], j["worker"], j["grid"]')" = "True 33.7912 114.52 张三 东风村3组" ] \
    && ok visit_defaults_and_values || notok visit_defaults_and_values "$out"
expect visit_bad_kind 2 "$G" visit add --resident "$R" --kind walk
[[ $err == *"visit.kind"*"routine"* ]] && ok visit_bad_kind_names_field || notok visit_bad_kind_names_field "$err"
expect visit_unknown_resident 2 "$G" visit add --resident 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d --kind routine
[[ $err == *"visit.resident"* ]] && ok visit_unknown_resident_named || notok visit_unknown_resident_named "$err"
expect visit_bad_time 2 "$G" visit add --resident "$R" --kind routine --at 2026-02-30
[[ $err == *"visit.visited_at"* ]] && ok visit_bad_time_named || notok visit_bad_time_named "$err"
long=$("$PY" -c 'print("很"*1400)')   # 4200 bytes of UTF-8
expect visit_notes_too_long 2 "$G" visit add --resident "$R" --kind routine --notes "$long"
[[ $err == *"visit.notes"* ]] && ok visit_too_long_named || notok visit_too_long_named "$err"
expect visit_add_second 0 "$G" visit add --resident "$R2" --kind dispute --at 2026-11-26

# --- care ---
expect care_add 0 "$G" care add --resident "$R" --category meal --notes 每天中午送餐 --due 2026-12-01
C=$out
expect care_add_json 0 "$G" --json care add --resident "$R2" --category home_repair --priority urgent
C2=$(json 'j["id"]')
[ "$(json 'j["status"], j["priority"]')" = "open urgent" ] && ok care_defaults || notok care_defaults "$out"
expect care_bad_priority 2 "$G" care add --resident "$R" --category meal --priority high
expect care_update 0 "$G" care update "$C" --status done --assignee 李四 --resolution 已安排志愿者 --json
[ "$(json 'j["status"], j["assignee"], j["resolution"]')" = "done 李四 已安排志愿者" ] \
    && ok care_update_fields || notok care_update_fields "$out"
expect care_update_immutable 2 "$G" care update "$C" --resident "$R2"
[[ $err == *"care.resident"* ]] && ok care_immutable_named || notok care_immutable_named "$err"
expect care_update_clear 0 "$G" care update "$C" --resolution "" --json
[ "$(json '"resolution" in j')" = False ] && ok care_update_clears || notok care_update_clears "$out"
expect care_update_unknown 3 "$G" care update 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d --status done
expect care_update_no_id 2 "$G" care update --status done
expect visit_update_follow_up 0 "$G" visit update "$V" --no-follow-up --json
[ "$(json 'j["follow_up"]')" = False ] && ok visit_update_switch_off || notok visit_update_switch_off "$out"

# --- list ---
expect list_residents 0 "$G" list residents --json
[ "$(json 'len(j)')" = 2 ] && ok list_residents_count || notok list_residents_count "$out"
expect list_care_open 0 "$G" list care --status open --json
[ "$(json '[r["id"] for r in j]')" = "['$C2']" ] && ok list_filter_status || notok list_filter_status "$out"
expect list_visits_limit 0 "$G" --json list visits --limit 1
[ "$(json 'len(j)')" = 1 ] && ok list_limit || notok list_limit "$out"
expect list_visits_by_resident 0 "$G" list visits --resident "$R2" --json
[ "$(json 'len(j), j[0]["kind"]')" = "1 dispute" ] && ok list_filter_ref || notok list_filter_ref "$out"
expect list_people 0 "$G" list visits
[[ $(head -1 <<<"$out") == id* && $out == *"$V"* ]] && ok list_people_table || notok list_people_table "$out"
# columns line up by display width, Chinese included: the "kind" column comes after the
# Chinese grid and worker names and must start at the same display column on every line
"$PY" - "$out" <<'EOF' && ok list_aligned_by_display_width || notok list_aligned_by_display_width "$out"
import re, sys, unicodedata
def width(s): return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = sys.argv[1].splitlines()
col = width(lines[0][:lines[0].index(" kind ") + 1])
starts = {width(l[:re.search(r"  (elderly_checkin|dispute)( |$)", l).start() + 2]) for l in lines[1:]}
sys.exit(0 if len(lines) == 3 and starts == {col} else 1)
EOF
expect list_unknown_type 2 "$G" list unicorns
expect list_bad_filter 2 "$G" list care --status opne
expect list_no_field 2 "$G" list visits --status open
expect list_empty_people 0 "$G" list visits --kind service
[ "$out" = "no visits" ] && ok list_empty_says_so || notok list_empty_says_so "$out"

# --- show / delete ---
expect show_unknown 3 "$G" show 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d
expect show_malformed 2 "$G" show not-an-id
expect show_json_error 3 "$G" --json show 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d
[ "$(json 'j["error"]["code"]')" = not_found ] && ok json_error_object || notok json_error_object "$out"
expect delete 0 "$G" delete "$C2"
expect show_deleted 3 "$G" show "$C2"
expect delete_again 3 "$G" delete "$C2"
expect visit_to_deleted_resident_setup 0 "$G" resident add --name 临时
DR=$out
expect delete_resident 0 "$G" delete "$DR"
expect visit_to_deleted_resident 2 "$G" visit add --resident "$DR" --kind routine
[[ $err == *"deleted"* ]] && ok deleted_reference_refused || notok deleted_reference_refused "$err"

# --- import ---
cat >good.jsonl <<'EOF'
{"type":"visit","id":"0193a5f0-7c1e-7b3d-9f00-000000000102","resident":"0193a5f0-7c1e-7b3d-9f00-000000000101","kind":"policy_outreach","visited_at":"2026-11-20T10:00:00+08:00","notes":"宣传新农合缴费政策"}

{"type":"resident","id":"0193a5f0-7c1e-7b3d-9f00-000000000101","name":"周七","born":1950,"tags":["elderly"]}
{"type":"care","id":"0193a5f0-7c1e-7b3d-9f00-000000000103","resident":"0193a5f0-7c1e-7b3d-9f00-000000000101","category":"health_check","due_at":"2026-12-05"}
EOF
expect status_before_import 0 "$G" status --json
pending_before=$(json 'j["pending"]')
expect import_good 0 "$G" import good.jsonl --json
[ "$(json 'j["added"], j["skipped"], j["bad"]')" = "3 0 0" ] && ok import_counts || notok import_counts "$out"
expect import_twice 0 "$G" import good.jsonl --json
[ "$(json 'j["added"], j["skipped"]')" = "0 3" ] && ok import_twice_changes_nothing || notok import_twice_changes_nothing "$out"
expect import_people 0 "$G" import good.jsonl
[[ $out == "imported 0 records (3 already there, skipped)" ]] && ok import_people_text || notok import_people_text "$out"
expect show_imported 0 "$G" show 0193a5f0-7c1e-7b3d-9f00-000000000102 --json
[ "$(json 'j["notes"], j["visited_at"]')" = "宣传新农合缴费政策 2026-11-20T02:00:00Z" ] \
    && ok import_values || notok import_values "$out"
cat >bad.jsonl <<EOF
{"type":"resident","name":"好人"}
{"type":"visit","resident":"$R","kind":"walk"}
this is not json
{"type":"resident","id":"0193a5f0-7c1e-7b3d-9f00-000000000101","name":"周八","born":1950}
{"type":"visit","resident":"0193a5f0-7c1e-7b3d-9f00-0000000001ff","kind":"routine"}
EOF
expect status_mid 0 "$G" status --json
records_before=$(json 'j["records"]'); pending_mid=$(json 'j["pending"]')
expect import_bad 2 "$G" import bad.jsonl
for l in 2 3 4 5; do
    grep -q "line $l:" <<<"$err" && ok "import_bad_reports_line_$l" || notok "import_bad_reports_line_$l" "$err"
done
grep -q "line 1:" <<<"$err" && notok import_good_line_not_reported "$err" || ok import_good_line_not_reported
[[ $err == *"visit.kind"* && $err == *"resident.name: differs"* ]] && ok import_bad_names_fields || notok import_bad_names_fields "$err"
expect status_after_bad_import 0 "$G" status --json
[ "$(json 'j["records"], j["pending"]')" = "$records_before $pending_mid" ] && ok import_bad_writes_nothing || notok import_bad_writes_nothing "$out"
expect import_bad_json 2 "$G" import bad.jsonl --json
[ "$(json 'j["ok"], j["bad"], [e["line"] for e in j["errors"]]')" = "False 4 [2, 3, 4, 5]" ] \
    && ok import_bad_json_report || notok import_bad_json_report "$out"
expect import_missing 3 "$G" import nope.jsonl

# --- status ---
expect status_json 0 "$G" status --json
[ "$(json 'j["device"], j["worker"], j["grids"], j["rejected_count"], j["last_sync"]')" = \
  "dev-1 张三 ['东风村3组', '西河村1组'] 0 None" ] && ok status_fields || notok status_fields "$out"
# every record made here is one pending change (later edits were compacted into them),
# plus the deletion of a resident whose creation was compacted with it
[ "$(json 'j["pending"]')" -gt "$pending_before" ] && ok status_pending_grows || notok status_pending_grows "$out"
expect status_people 0 "$G" status
[[ $out == *"pending"*"last sync  never"* ]] && ok status_people_text || notok status_people_text "$out"

# --- global options anywhere ---
expect db_flag_after_command 0 "$G" list residents --db "$GRIDSYNC_DB" --json
expect db_flag_equals 0 "$G" --db="$GRIDSYNC_DB" status

t_done
