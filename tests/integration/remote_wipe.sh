#!/usr/bin/env bash
# remote_wipe.sh: revocation with and without a remote wipe (issue 21, item 4), end to end
# with a real gridsyncd over TLS and real device files. Checks:
#   - revoked without a wipe (A): its sync exits 5, it sends nothing (the server holds none
#     of its new changes) and reads nothing (B's new resident never reaches it), and it
#     keeps its data and outbox;
#   - revoked with --wipe-after-upload (B), with unsent changes, one change per request
#     (--batch 1, so the upload takes several 410 upload_then_wipe rounds): the sync exits 7,
#     a third device pulls every one of B's changes from the server, and B's folder is empty
#     (no database, -wal, -shm, marker: the attachments and the token were in the database);
#     the server lists B's last result as 410 wiped;
#   - revoked with --wipe (D): exits 7, its unsent change is refused (not on the server),
#     its folder is empty;
#   - a wipe killed by SIGKILL between the marker and the deletes (E: the marker is there
#     and the data still readable with `strings`, so the check can fail), and one killed
#     after the database file went (F: only the marker is left); the next start of gridsync
#     completes the wipe and exits 7 saying so, the folder is empty and `strings` finds no
#     resident's name.
# About 10 s.
. "$(dirname "$0")/lib.sh"
t_setup remote_wipe
t_server_init
t_server_start
SRV_DB=$SRV_STORE
n_changes() { t_sql "$SRV_DB" "SELECT count(*) FROM changes"; }
pending() { t_gs "$1" --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pending"])'; }
# residents DB: the names of the device's residents, one a line
residents() { t_gs "$1" --json list residents | "$PY" -c 'import json,sys; [print(r["name"]) for r in json.load(sys.stdin)]'; }
# leftovers DIR: the files left in DIR, one a line
leftovers() { find "$1" -mindepth 1 | sort; }
# readable DIR NAME: NAME is readable in some file of DIR with strings
readable() { find "$1" -type f -exec strings -a {} + 2>/dev/null | grep -q "$2"; }
device_field() { # ID FIELD: one member of the device in gridsync-admin --json device list
    t_admin --json device list | "$PY" -c \
        'import json,sys; print([d for d in json.load(sys.stdin)["devices"] if d["id"]==sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
printf '%%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%%%EOF\n' >"$T/doc.pdf"

mkdir -p "$T/a" "$T/b" "$T/c" "$T/d" "$T/e" "$T/f"
t_enroll "$T/a/dev.db" gridW alpha; A_ID=$DEV_ID
t_enroll "$T/b/dev.db" gridW beta; B_ID=$DEV_ID B_TOKEN=$DEV_TOKEN
t_enroll "$T/c/dev.db" gridW gamma
t_gs "$T/a/dev.db" resident add --name "WIPE_A_ONE 王建国" >/dev/null || notok setup "A add"
t_gs "$T/a/dev.db" sync >/dev/null || notok setup "A sync"
t_gs "$T/b/dev.db" resident add --name "WIPE_B_ONE 李秀梅" >/dev/null || notok setup "B add"
t_gs "$T/b/dev.db" sync >/dev/null || notok setup "B sync"
t_gs "$T/a/dev.db" sync >/dev/null || notok setup "A second sync"

# ---- 1. revoked without a wipe: refused, keeps everything ---------------------------------
t_gs "$T/a/dev.db" resident add --name "WIPE_A_OFFLINE 赵小红" >/dev/null
t_admin device revoke "$A_ID" >/dev/null || notok revoke_a "exit $?"
[ "$(device_field "$A_ID" wipe)" = none ] && ok revoke_plain_lists_no_wipe \
    || notok revoke_plain_lists_no_wipe "$(device_field "$A_ID" wipe)"
t_gs "$T/b/dev.db" resident add --name "WIPE_B_LATER 钱大海" >/dev/null
t_gs "$T/b/dev.db" sync >/dev/null || notok setup "B sync after A's revocation"
before=$(n_changes)
t_gs "$T/a/dev.db" sync >/dev/null 2>"$T/a.err"; rc=$?
[ $rc -eq 5 ] && ok revoked_sync_exit_5 || notok revoked_sync_exit_5 "exit $rc: $(cat "$T/a.err")"
[ "$(n_changes)" = "$before" ] && ok revoked_sends_nothing \
    || notok revoked_sends_nothing "server changes $before -> $(n_changes)"
residents "$T/a/dev.db" >"$T/a.names"
grep -q WIPE_B_LATER "$T/a.names" && notok revoked_reads_nothing "B's later resident reached A" \
    || ok revoked_reads_nothing
[ "$(pending "$T/a/dev.db")" = 1 ] && ok revoked_keeps_outbox || notok revoked_keeps_outbox "pending $(pending "$T/a/dev.db")"
grep -q WIPE_A_OFFLINE "$T/a.names" && grep -q WIPE_B_ONE "$T/a.names" \
    && ok revoked_keeps_data || notok revoked_keeps_data "$(tr '\n' ' ' <"$T/a.names")"
[ -f "$T/a/dev.db" ] && [ ! -e "$T/a/dev.db-wipe" ] && ok revoked_no_wipe_files_stay \
    || notok revoked_no_wipe_files_stay "$(leftovers "$T/a")"

# ---- 2. --wipe-after-upload with unsent changes -------------------------------------------
R=$(t_gs "$T/b/dev.db" resident add --name "WIPE_B_UNSENT1 孙丽") || notok setup "B unsent 1"
t_gs "$T/b/dev.db" resident add --name "WIPE_B_UNSENT2 周强" >/dev/null || notok setup "B unsent 2"
V=$(t_gs "$T/b/dev.db" visit add --resident "$R" --kind routine --notes "WIPE_B_NOTE 血压偏高") \
    || notok setup "B visit"
t_gs "$T/b/dev.db" attach "$V" "$T/doc.pdf" --caption "WIPE_B_CAPTION" >/dev/null || notok setup "B attach"
nb=$(pending "$T/b/dev.db")
[ "$nb" -ge 4 ] || notok setup "B pending $nb, want at least 4"
readable "$T/b" WIPE_B_UNSENT1 && ok b_readable_before || notok b_readable_before "strings finds nothing"
before=$(n_changes)
t_admin device revoke "$B_ID" --wipe-after-upload >"$T/rev.out" || notok revoke_b "exit $?"
grep -q "sends what it has not sent" "$T/rev.out" && ok revoke_after_upload_says_so \
    || notok revoke_after_upload_says_so "$(cat "$T/rev.out")"
[ "$(device_field "$B_ID" wipe)" = after_upload ] && ok revoke_after_upload_listed \
    || notok revoke_after_upload_listed "$(device_field "$B_ID" wipe)"
t_gs "$T/b/dev.db" sync --batch 1 >/dev/null 2>"$T/b.err"; rc=$?
[ $rc -eq 7 ] && ok wipe_after_upload_exit_7 || notok wipe_after_upload_exit_7 "exit $rc: $(cat "$T/b.err")"
grep -q "wipe" "$T/b.err" && ok wipe_message || notok wipe_message "$(cat "$T/b.err")"
[ "$(n_changes)" = $((before + nb)) ] && ok wipe_after_upload_server_has_all \
    || notok wipe_after_upload_server_has_all "server changes $before -> $(n_changes), B had $nb"
[ -z "$(leftovers "$T/b")" ] && ok wipe_after_upload_folder_empty \
    || notok wipe_after_upload_folder_empty "$(leftovers "$T/b" | tr '\n' ' ')"
readable "$T/b" WIPE_B && notok wipe_after_upload_nothing_readable "strings finds a name" \
    || ok wipe_after_upload_nothing_readable
# the last batch's answer was its last exchange: the device knew nothing was left to send
case $(device_field "$B_ID" last_result) in
"410 upload_then_wipe ch=1 acc=1"*) ok wipe_after_upload_result_recorded ;;
*) notok wipe_after_upload_result_recorded "$(device_field "$B_ID" last_result)" ;;
esac
t_gs "$T/c/dev.db" sync >/dev/null || notok c_sync "exit $?"
got=$(residents "$T/c/dev.db")
grep -q WIPE_B_UNSENT1 <<<"$got" && grep -q WIPE_B_UNSENT2 <<<"$got" \
    && ok wipe_after_upload_changes_reach_others || notok wipe_after_upload_changes_reach_others "$got"
t_gs "$T/c/dev.db" --json list visits | grep -q WIPE_B_NOTE && ok wipe_after_upload_visit_reaches_others \
    || notok wipe_after_upload_visit_reaches_others "no visit"
t_gs "$T/c/dev.db" --json attachments "$V" | grep -q WIPE_B_CAPTION && ok wipe_after_upload_attachment_record_reaches_others \
    || notok wipe_after_upload_attachment_record_reaches_others "$(t_gs "$T/c/dev.db" --json attachments "$V")"
# the token went with the database: a copy of it gets the wipe answer to a valid request,
# and no data
"$PY" -c 'import msgpack,sys; sys.stdout.buffer.write(msgpack.packb({"v":3,"dev":sys.argv[1],"cur":0,"low":0,"now":0,"ch":[]}))' \
    "$B_ID" >"$T/empty.req"
st=$(curl -s -o "$T/empty.resp" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer $B_TOKEN" \
    -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/empty.req" "$URL/v1/sync")
[ "$st" = 410 ] && grep -aq wiped "$T/empty.resp" && ok wiped_token_copy_gets_410 \
    || notok wiped_token_copy_gets_410 "status $st: $(cat "$T/empty.resp")"
case $(device_field "$B_ID" last_result) in
"410 wiped") ok wiped_result_recorded ;;
*) notok wiped_result_recorded "$(device_field "$B_ID" last_result)" ;;
esac

# ---- 3. --wipe: the upload is refused ----------------------------------------------------
t_enroll "$T/d/dev.db" gridW delta; D_ID=$DEV_ID
t_gs "$T/d/dev.db" resident add --name "WIPE_D_SENT" >/dev/null
t_gs "$T/d/dev.db" sync >/dev/null || notok setup "D sync"
t_gs "$T/d/dev.db" resident add --name "WIPE_D_UNSENT" >/dev/null
t_admin device revoke "$D_ID" --wipe >/dev/null || notok revoke_d "exit $?"
before=$(n_changes)
t_gs "$T/d/dev.db" --json sync >"$T/d.out" 2>"$T/d.err"; rc=$?
[ $rc -eq 7 ] && ok wipe_exit_7 || notok wipe_exit_7 "exit $rc: $(cat "$T/d.err")"
grep -q '"code":"wiped"' "$T/d.out" && ok wipe_json_code || notok wipe_json_code "$(cat "$T/d.out")"
[ "$(n_changes)" = "$before" ] && ok wipe_refuses_upload || notok wipe_refuses_upload "server changes $before -> $(n_changes)"
[ -z "$(leftovers "$T/d")" ] && ok wipe_folder_empty || notok wipe_folder_empty "$(leftovers "$T/d" | tr '\n' ' ')"
t_admin device revoke "$D_ID" --wipe --wipe-after-upload >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok revoke_both_wipes_usage || notok revoke_both_wipes_usage "exit $rc"

# ---- 4. a wipe killed half-way completes at the next start --------------------------------
# killed_wipe DIR NAME POINT: a device with records and an attachment, revoked with a wipe,
# its sync killed at POINT (wipe.h's GRIDSYNC_WIPE_FAULT), then started again
killed_wipe() {
    local dir=$1 name=$2 point=$3 db=$1/dev.db id v rc
    t_enroll "$db" gridW "$name"; id=$DEV_ID
    t_gs "$db" resident add --name "WIPE_${name}_SYNCED 吴芳" >/dev/null
    t_gs "$db" sync >/dev/null || notok "${name}_setup" "sync"
    id_r=$(t_gs "$db" resident add --name "WIPE_${name}_LOCAL 郑伟")
    v=$(t_gs "$db" visit add --resident "$id_r" --kind routine --notes "WIPE_${name}_NOTE")
    t_gs "$db" attach "$v" "$T/doc.pdf" >/dev/null || notok "${name}_setup" "attach"
    t_admin device revoke "$id" --wipe >/dev/null || notok "${name}_revoke" "exit $?"
    GRIDSYNC_WIPE_FAULT=$point t_gs "$db" sync >/dev/null 2>&1; rc=$?
    [ $rc -eq 137 ] && ok "${name}_killed_at_$point" || notok "${name}_killed_at_$point" "exit $rc"
    [ -f "$db-wipe" ] && ok "${name}_marker_left" || notok "${name}_marker_left" "$(leftovers "$dir" | tr '\n' ' ')"
    # killed before the deletes, the data is still there; after the database file went
    # (closing the connection had folded the WAL into it), only the marker is
    if [ "$point" = marker ]; then
        readable "$dir" "WIPE_${name}_LOCAL" && ok "${name}_readable_before_restart" \
            || notok "${name}_readable_before_restart" "strings finds nothing in $(leftovers "$dir" | tr '\n' ' ')"
    else
        [ "$(leftovers "$dir")" = "$db-wipe" ] && ok "${name}_only_marker_left" \
            || notok "${name}_only_marker_left" "$(leftovers "$dir" | tr '\n' ' ')"
    fi
    t_gs "$db" status >/dev/null 2>"$T/$name.err"; rc=$?
    [ $rc -eq 7 ] && ok "${name}_next_start_exit_7" || notok "${name}_next_start_exit_7" "exit $rc"
    grep -q "interrupted" "$T/$name.err" && ok "${name}_next_start_says_so" \
        || notok "${name}_next_start_says_so" "$(cat "$T/$name.err")"
    [ -z "$(leftovers "$dir")" ] && ok "${name}_wipe_completed" \
        || notok "${name}_wipe_completed" "$(leftovers "$dir" | tr '\n' ' ')"
    readable "$dir" "WIPE_${name}" && notok "${name}_nothing_readable" "strings finds a name" \
        || ok "${name}_nothing_readable"
    # afterwards the path is an ordinary new, empty database: not enrolled
    t_gs "$db" sync >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] && ok "${name}_then_not_enrolled" || notok "${name}_then_not_enrolled" "exit $rc"
}
killed_wipe "$T/e" E marker
killed_wipe "$T/f" F db

t_done
