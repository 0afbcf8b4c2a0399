#!/usr/bin/env bash
# warnings_cli.sh: the handheld's warning commands (issue 15 section 3) through
# build/bin/gridsync, offline: `warnings [--all] [--json]`, `warning ack ID [--note TEXT]`,
# status's open count, the refusals of what only the server writes (warning add, update of
# a server field or to a state other than acknowledged, delete: exit 2, nothing in the
# outbox), help texts and every exit code (0, 1 cleared, 2 usage, 3 not found), with JSON
# parsed by python3.
# No server: the warnings are written into the device database with sqlite3, as rows of the
# warning table the way a pull leaves them (the pull itself, through the real codec and
# apply path, is tests/unit/test_client_warning.c; an end-to-end test with the server's
# rules comes with them).
set -u
. "$(dirname "$0")/lib.sh"
t_setup warnings_cli
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
# is NAME GOT WANT: one equality check
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got '$2', wanted '$3'"; fi; }
pending() { "$G" --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pending"])'; }

printf -- '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' >ca.pem
expect init 0 "$G" init --device dev-1 --token dev-1.secret --server https://127.0.0.1:8443 \
    --ca ca.pem --grid 东风村3组 --worker 张三

# --- help ---
for cmd in "warnings" "warning ack" "warning" "warning add"; do
    # shellcheck disable=SC2086
    expect "help_${cmd// /_}" 0 "$G" $cmd --help
    [ -n "$out" ] || notok "help_${cmd// /_}_text" "no help printed"
done
expect help_general 0 "$G" --help
[[ $out == *"warnings [--all]"* && $out == *"warning ack ID [--note TEXT]"* ]] &&
    ok help_lists_warning_commands || notok help_lists_warning_commands "$out"
[[ $out != *"warning add"* ]] && ok help_hides_warning_add || notok help_hides_warning_add "$out"
expect help_warning_add_says_server 0 "$G" warning add --help
[[ $out == *"written by the town server only"* && $out == *"warning ack"* ]] &&
    ok help_warning_add_points_to_ack || notok help_warning_add_points_to_ack "$out"

# --- none yet ---
expect warnings_none 0 "$G" warnings
is warnings_none_text "$out" "no open warnings"
expect warnings_none_all 0 "$G" warnings --all
is warnings_none_all_text "$out" "no warnings"
expect warnings_none_json 0 "$G" --json warnings
is warnings_none_json_array "$out" "[]"

# --- warnings as a pull leaves them ---
# id NUMBER: the text form of the test's warning number N; hex N: its 16 bytes in hex
id() { printf '0193a5f0-0000-7000-8000-%012d' "$1"; }
hex() { printf '0193a5f0000070008000%012d' "$1"; }
now=$(($(date +%s) * 1000))
day=86400000
# warn N LEVEL STATE AGE_DAYS TITLE
warn() {
    local cleared=NULL
    [ "$3" = cleared ] && cleared=$now
    t_sql device.db "INSERT INTO warning(id, created, updated, deleted, rule, grid, subject_type,
        subject, level, title, since, state, cleared_at) VALUES(X'$(hex "$1")', $((now << 16)),
        $((now << 16)), 0, 'unvisited_vulnerable', '东风村3组', 'resident', 'r$1', '$2', '$5',
        $((now - $4 * day)), '$3', $cleared)" || notok "warn_$1" "sqlite3 failed"
}
warn 1 notice open 2 "独居老人王秀英已12天未走访"
warn 2 urgent cleared 9 "已解除的紧急预警"
warn 3 urgent open 1 "特殊关爱对象李四已8天未走访"
warn 4 attention acknowledged 5 "养老服务需求超时"
warn 5 urgent open 3 "纠纷未化解"
warn 6 notice open 4 "已删除的预警"
t_sql device.db "UPDATE warning SET deleted = 1 WHERE id = X'$(hex 6)'"

expect warnings_table 0 "$G" warnings
mapfile -t rows <<<"$out"
is warnings_header "$(echo "${rows[0]}" | tr -s ' ')" "id level title since state"
is warnings_rows "${#rows[@]}" 5
order=$(printf '%s\n' "${rows[@]:1}" | awk '{print $1}' | tr '\n' ' ')
is warnings_order "$order" "$(id 5) $(id 3) $(id 1) $(id 4) "
[[ ${rows[1]} == *"紧急"*"纠纷未化解"*"待处理"* ]] && ok warnings_row_labels || notok warnings_row_labels "${rows[1]}"
[[ ${rows[4]} == *"关注"*"养老服务需求超时"*"已确认"* ]] && ok warnings_row_acknowledged || notok warnings_row_acknowledged "${rows[4]}"
# tables show Beijing time, UTC+8 all year
since5=$(date -u -d "@$(((now - 3 * day) / 1000 + 8 * 3600))" '+%Y-%m-%d %H:%M')
[[ ${rows[1]} == *"$since5"* ]] && ok warnings_since_local_time || notok warnings_since_local_time "${rows[1]} (wanted $since5)"
[[ $out != *"已解除的"* && $out != *"已删除的"* ]] && ok warnings_hides_cleared_and_deleted || notok warnings_hides_cleared_and_deleted "$out"

expect warnings_all 0 "$G" warnings --all
mapfile -t rows <<<"$out"
is warnings_all_rows "${#rows[@]}" 6
[[ ${rows[5]} == "$(id 2)"*"已解除的紧急预警"*"已解除"* ]] && ok warnings_all_cleared_last || notok warnings_all_cleared_last "${rows[5]}"

expect warnings_json 0 "$G" warnings --json
is warnings_json_order "$(json '" ".join(w["id"] for w in j)')" "$(id 5) $(id 3) $(id 1) $(id 4)"
is warnings_json_fields "$(json '(j[0]["type"], j[0]["level"], j[0]["state"], j[0]["title"], j[0]["since"][-1])')" \
    "('warning', 'urgent', 'open', '纠纷未化解', 'Z')"
expect warnings_json_all 0 "$G" --json warnings --all
is warnings_json_all_last "$(json 'j[-1]["id"], j[-1]["state"], len(j)')" "$(id 2) cleared 5"

expect status_text 0 "$G" status
[[ $out == *"warnings   4 open"* ]] && ok status_counts_open || notok status_counts_open "$out"
expect status_json 0 "$G" --json status
is status_json_open "$(json 'j["warnings_open"]')" 4

# --- acknowledge ---
expect ack 0 "$G" warning ack "$(id 1)" --note "已电话联系，明天上门"
is ack_text "$out" "acknowledged $(id 1)"
is ack_one_change "$(pending)" 1
expect ack_show 0 "$G" --json show "$(id 1)"
is ack_fields "$(json 'j["state"], j["note"], j["ack_by"], j["ack_at"][-1], j["level"]')" \
    "acknowledged 已电话联系，明天上门 张三 Z notice"
expect ack_still_open 0 "$G" --json status
is ack_still_open_count "$(json 'j["warnings_open"]')" 4
expect ack_moves_down 0 "$G" --json warnings
is ack_moves_down_order "$(json '" ".join(w["id"] for w in j)')" "$(id 5) $(id 3) $(id 4) $(id 1)"
expect ack_json 0 "$G" warning ack "$(id 3)" --json
is ack_json_record "$(json 'j["id"], j["state"], j["ack_by"], "note" in j')" "$(id 3) acknowledged 张三 False"
expect ack_note_equals 0 "$G" warning ack "$(id 3)" --note=复核
is ack_pending_two "$(pending)" 2
expect ack_cleared 1 "$G" warning ack "$(id 2)"
[[ $err == *"cleared"* ]] && ok ack_cleared_says_why || notok ack_cleared_says_why "$err"
expect ack_cleared_json 1 "$G" --json warning ack "$(id 2)"
is ack_cleared_json_code "$(json 'j["error"]["code"]')" state
expect ack_unknown 3 "$G" warning ack 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d
expect ack_deleted 3 "$G" warning ack "$(id 6)"
expect ack_bad_id 2 "$G" warning ack W-17
expect ack_no_id 2 "$G" warning ack
expect ack_two_ids 2 "$G" warning ack "$(id 1)" "$(id 3)"
expect ack_bad_option 2 "$G" warning ack "$(id 1)" --level urgent
expect ack_note_twice 2 "$G" warning ack "$(id 1)" --note a --note b
expect ack_note_no_value 2 "$G" warning ack "$(id 1)" --note
is ack_refusals_write_nothing "$(pending)" 2

# --- what only the server writes ---
expect add_refused 2 "$G" warning add --note 自己建的
[[ $err == *"warning records are written by the server only"* ]] && ok add_refused_says_why || notok add_refused_says_why "$err"
expect add_refused_json 2 "$G" --json warning add --note x
is add_refused_json_code "$(json 'j["error"]["code"]')" read_only
expect update_state_cleared 2 "$G" warning update "$(id 5)" --state cleared
[[ $err == *"may not set 'cleared'"* ]] && ok update_state_says_why || notok update_state_says_why "$err"
expect update_state_open 2 "$G" warning update "$(id 1)" --state open
expect update_level_no_flag 2 "$G" warning update "$(id 5)" --level notice
expect delete_refused 2 "$G" delete "$(id 5)"
[[ $err == *"cannot be deleted on a device"* ]] && ok delete_refused_says_why || notok delete_refused_says_why "$err"
expect delete_refused_json 2 "$G" --json delete "$(id 5)"
is delete_refused_json_code "$(json 'j["error"]["code"]')" read_only
printf '{"type":"warning","rule":"care_overdue","subject_type":"care","subject":"x","level":"notice","title":"t","since":"2026-11-01"}\n' >w.jsonl
expect import_refused 2 "$G" import w.jsonl
[[ $err == *"line 1"*"server only"* || $out == *"line 1"*"server only"* ]] && ok import_refused_names_line || notok import_refused_names_line "$out / $err"
is refusals_write_nothing "$(pending)" 2
expect update_note_allowed 0 "$G" warning update "$(id 5)" --note 已报社区
is update_note_one_more "$(pending)" 3
expect level_unchanged 0 "$G" --json show "$(id 5)"
is level_unchanged_value "$(json 'j["level"], j["state"]')" "urgent open"

# --- usage ---
expect warnings_extra_word 2 "$G" warnings all
expect warnings_bad_option 2 "$G" warnings --urgent
expect warnings_note_is_for_ack 2 "$G" warnings --note x
[[ $err == *"unknown option --note"* ]] && ok warnings_note_says_unknown || notok warnings_note_says_unknown "$err"
expect warning_no_verb 2 "$G" warning
expect warning_bad_verb 2 "$G" warning close "$(id 1)"
[[ $err == *"say warning ack"* ]] && ok warning_bad_verb_says_ack || notok warning_bad_verb_says_ack "$err"
(unset GRIDSYNC_DB; expect warnings_no_database 2 "$G" warnings)
t_done
