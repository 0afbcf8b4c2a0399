#!/usr/bin/env bash
# cli_json.sh: everything `gridsync --json` prints is one valid JSON document made by
# jansson, whatever the user typed: a device id, grid, worker or name holding a quote or a
# backslash (and a text field holding a tab) comes back equal, byte for byte. Covers init,
# add, show, list (each record as `show --json` prints it), delete, status, drop, and the
# error objects.
# No server needed.
. "$(dirname "$0")/lib.sh"
t_setup cli_json
export GRIDSYNC_DB=$T/dev.db
"$GRIDSYNCD" init --dir "$T/town" >/dev/null 2>&1 || { notok server_init "gridsyncd init"; exit 1; }
CA=$T/town/ca.pem

# jq_eq NAME FILTER VALUE FILE: the file is one JSON document and FILTER gives VALUE
jq_eq() {
    local got
    if ! got=$(jq -e -r "$2" "$4" 2>&1); then notok "$1" "not JSON or no $2: $(head -c 300 "$4")"; return; fi
    [ "$(jq -s length "$4")" = 1 ] || { notok "$1" "more than one document: $(head -c 300 "$4")"; return; }
    [ "$got" = "$3" ] && ok "$1" || notok "$1" "$2 is '$got', want '$3'"
}

dev='d-"q\u1'  # a quote and a backslash (names refuse control characters)
grid='西河"村1组'
worker='张"三\'
"$GRIDSYNC" --json init --device "$dev" --token d-q.secret --server https://127.0.0.1:1 \
    --ca "$CA" --grid "$grid" --grid G2 --worker "$worker" >"$T/init.json" 2>"$T/init.err" \
    || notok init_exit "exit $?: $(cat "$T/init.err")"
jq_eq init_device_with_quote '.device' "$dev" "$T/init.json"
jq_eq init_grid_count '.grids' 2 "$T/init.json"

"$GRIDSYNC" --json status >"$T/status.json"
jq_eq status_device '.device' "$dev" "$T/status.json"
jq_eq status_worker '.worker' "$worker" "$T/status.json"
jq_eq status_grid '.grids[0]' "$grid" "$T/status.json"

name='王"秀\英'
"$GRIDSYNC" --json resident add --name "$name" --address $'东风村\t12号' --born 1941 --tag elderly \
    >"$T/r.json" || notok resident_add "exit $?"
jq_eq add_name '.name' "$name" "$T/r.json"
jq_eq add_grid '.grid' "$grid" "$T/r.json"
jq_eq add_address_with_tab '.address' $'东风村\t12号' "$T/r.json"
R=$(jq -r .id "$T/r.json")
"$GRIDSYNC" --json visit add --resident "$R" --kind routine --notes 'said "fine"' \
    --lat 33.7912 --lon 114.52 >"$T/v.json" || notok visit_add "exit $?"
V=$(jq -r .id "$T/v.json")
"$GRIDSYNC" --json visit add --resident "$R" --kind routine --lat 30 --lon 114 >/dev/null \
    || notok visit_add_whole "exit $?"
jq_eq add_worker '.worker' "$worker" "$T/v.json"

"$GRIDSYNC" --json list residents >"$T/list_r.json"
jq_eq list_is_one_array 'type' array "$T/list_r.json"
jq_eq list_name '.[0].name' "$name" "$T/list_r.json"
# each record in a list is the text `show --json` prints, byte for byte (reals included)
for id in "$R" "$V"; do
    "$GRIDSYNC" --json show "$id" >"$T/show.json"
    type=$(jq -r .type "$T/show.json")
    case $type in resident) what=residents ;; visit) what=visits ;; *) what=care ;; esac
    "$GRIDSYNC" --json list "$what" >"$T/list.json"
    grep -qF -- "$(cat "$T/show.json")" "$T/list.json" && ok "list_${type}_as_show_prints_it" \
        || notok "list_${type}_as_show_prints_it" "show: $(cat "$T/show.json") list: $(head -c 400 "$T/list.json")"
done
"$GRIDSYNC" --json list care >"$T/list_c.json"
jq_eq list_empty 'length' 0 "$T/list_c.json"

"$GRIDSYNC" --json delete "$V" >"$T/del.json" || notok delete "exit $?"
jq_eq delete_id '.id' "$V" "$T/del.json"
jq_eq delete_flag '.deleted' true "$T/del.json"

# errors are one JSON object too, quoting what the user typed
"$GRIDSYNC" --json show 'not"an\id' >"$T/e1.json" 2>/dev/null; rc=$?
[ $rc -eq 2 ] || notok show_bad_id_exit "exit $rc"
jq_eq error_quotes_input '.error.code' invalid "$T/e1.json"
"$GRIDSYNC" --json drop 999 >"$T/e2.json" 2>/dev/null; rc=$?
[ $rc -eq 3 ] || notok drop_missing_exit "exit $rc"
jq_eq drop_missing_error '.error.code' not_found "$T/e2.json"
"$GRIDSYNC" --json resident add --name 'x"y' --frob 'a"b' >"$T/e3.json" 2>/dev/null; rc=$?
[ $rc -eq 2 ] || notok usage_exit "exit $rc"
jq_eq usage_error_quotes_input '.error.message | test("frob")' true "$T/e3.json"
t_done
