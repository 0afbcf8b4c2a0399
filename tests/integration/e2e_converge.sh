#!/usr/bin/env bash
# e2e_converge.sh: the two convergence bugs of issue 12 and the slow clock, end to end.
#   1. an older edit must not win: device a edits care.resolution, device b edits it a moment
#      later, a then edits care.notes (merged into a's unsent change); synced b, a, b: both
#      hold b's value, and the conflict log shows a's value as the loser with the earlier
#      clock. A record created and edited before its first sync shows the same created and
#      updated times on every device;
#   2. a refused change never shadows the server: a device 3 days ahead updates, deletes and
#      creates; the server refuses all three (clock_ahead); after that sync its records equal
#      the server's, the refused changes are still listed; with its clock fixed, a rename by
#      another device of the record it deleted reaches it; `gridsync retry` sends an edit
#      again (accepted), `gridsync drop` gives one up;
#   3. a device 2 hours behind learns the server's time at its first sync: an edit it makes
#      later in real time than another device's beats it, though its own clock says earlier.
# Every phase ends with tests/tools/converge.py: every device equal to the server's store.
# faketime runs with FAKETIME_DONT_FAKE_MONOTONIC=1: setting a handheld's date moves its
# wall clock, never its monotonic clock (dclock.h relies on that to notice the change).
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 15 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_converge
t_server_init
t_server_start
t_enroll "$T/a.db" gridA a
t_enroll "$T/b.db" gridA b
A=$T/a.db B=$T/b.db
STORE=$SRV_STORE

field() { t_gs "$1" --json show "$2" | jq -r --arg f "$3" '.[$f]'; }
sync() { # DB NAME: a sync that must succeed
    t_gs "$1" sync >/dev/null 2>"$T/err" || notok "$2" "sync of $(basename "$1") exit $?: $(cat "$T/err")"
}
converged() { # NAME DB...: every device equals the server
    local out
    if out=$("$PY" "$TOOLS/converge.py" --server "$STORE" --gridsync "$GRIDSYNC" "${@:2}" 2>&1); then
        ok "$1"
    else
        notok "$1" "$(head -c 1500 <<<"$out")"
    fi
}
FT() { t_faketime "$@"; }
have_faketime=1
FT '+3d' true 2>/dev/null || have_faketime=0

# ---- 1. coalescing keeps each field's clock ------------------------------------------------
R=$(t_gs "$A" resident add --name 王秀英 --born 1941 --tag elderly)
C=$(t_gs "$A" care add --resident "$R" --category meal)
sync "$A" converge_setup; sync "$B" converge_setup
t_gs "$A" care update "$C" --resolution from-a-FIRST >/dev/null
sleep 0.05
t_gs "$B" care update "$C" --resolution from-b-LATER >/dev/null
sleep 0.05
t_gs "$A" care update "$C" --notes x >/dev/null
sync "$B" older_edit_sync; sync "$A" older_edit_sync; sync "$B" older_edit_sync
ra=$(field "$A" "$C" resolution); rb=$(field "$B" "$C" resolution)
[ "$ra|$rb" = "from-b-LATER|from-b-LATER" ] && ok older_edit_does_not_win \
    || notok older_edit_does_not_win "resolution: a '$ra', b '$rb' (want from-b-LATER on both)"
[ "$(field "$A" "$C" notes)|$(field "$B" "$C" notes)" = "x|x" ] && ok later_field_of_same_change_kept \
    || notok later_field_of_same_change_kept "notes: a '$(field "$A" "$C" notes)', b '$(field "$B" "$C" notes)'"
cf=$(t_admin --json conflicts list --all | jq -c --arg id "$C" \
    '[.conflicts[] | select(.record == $id and .field == "resolution")][0]')
w=$(jq -r '.winner.value' <<<"$cf"); l=$(jq -r '.other.value' <<<"$cf")
wh=$(jq -r '.winner.hlc' <<<"$cf"); lh=$(jq -r '.other.hlc' <<<"$cf")
if [ "$w|$l" = "from-b-LATER|from-a-FIRST" ] && [ -n "$lh" ] && [ "$lh" != null ] && [ "$lh" -lt "$wh" ]; then
    ok conflict_logs_older_edit_as_loser
else
    notok conflict_logs_older_edit_as_loser "conflict $cf"
fi

# created then edited before the first sync: the same times on every device
R2=$(t_gs "$A" resident add --name 李桂兰 --born 1939)
sleep 0.05
t_gs "$A" resident update "$R2" --phone 13800000001 >/dev/null
sync "$A" times_sync; sync "$B" times_sync
ja=$(t_gs "$A" --json show "$R2" | jq -c '{created, updated}')
jb=$(t_gs "$B" --json show "$R2" | jq -c '{created, updated}')
ca=$(jq -r .created <<<"$ja"); ua=$(jq -r .updated <<<"$ja")
if [ "$ja" = "$jb" ] && [ "$ca" != "$ua" ]; then ok created_updated_same_on_every_device
else notok created_updated_same_on_every_device "a $ja, b $jb (created must precede updated)"; fi
converged converged_after_coalescing "$A" "$B"

# ---- 2. refused changes do not shadow the server -------------------------------------------
if [ $have_faketime = 0 ]; then
    skip refused_changes "faketime is not installed"
else
    V=$(t_gs "$A" visit add --resident "$R" --kind routine --notes 好)
    sync "$A" refused_setup; sync "$B" refused_setup
    FT '+3d' "$GRIDSYNC" --db "$B" resident update "$R" --phone 13900000000 >/dev/null
    FT '+3d' "$GRIDSYNC" --db "$B" delete "$V" >/dev/null
    NEW=$(FT '+3d' "$GRIDSYNC" --db "$B" resident add --name 只在这里 --born 1950)
    FT '+3d' "$GRIDSYNC" --db "$B" sync >/dev/null 2>"$T/err"; code=$?
    [ $code -eq 6 ] && ok refused_sync_exit_6 || notok refused_sync_exit_6 "exit $code: $(cat "$T/err")"
    st=$(t_gs "$B" --json status)
    codes=$(jq -r '[.rejected[].code] | join(",")' <<<"$st")
    [ "$codes" = clock_ahead,clock_ahead,clock_ahead ] && ok refused_changes_listed \
        || notok refused_changes_listed "rejected: $codes"
    msg=$(jq -r '.rejected[0].message' <<<"$st")
    case $msg in
    *"is 2 days 23 h 59 min"*|*"is 3 days 0 h 0 min"*) ok refusal_says_skew_exactly ;;
    *) notok refusal_says_skew_exactly "message: $msg" ;;
    esac
    # after that one sync the device shows the server's data: the phone it set is not
    # there, the visit it deleted is live, the resident only it had is gone
    ph=$(field "$B" "$R" phone)
    [ "$ph" = null ] && ok refused_update_not_shown || notok refused_update_not_shown "phone '$ph'"
    t_gs "$B" show "$V" >/dev/null 2>&1 && ok refused_delete_not_shown \
        || notok refused_delete_not_shown "the visit is still hidden on b"
    t_gs "$B" show "$NEW" >/dev/null 2>&1; code=$?
    [ $code -eq 3 ] && ok refused_create_not_shown || notok refused_create_not_shown "show exit $code"
    converged converged_after_refusal "$A" "$B"

    # the clock is set right: another device's rename of the visit reaches b
    t_gs "$A" visit update "$V" --notes 改过 >/dev/null
    sync "$A" clock_fixed_sync; sync "$B" clock_fixed_sync
    nv=$(field "$B" "$V" notes)
    [ "$nv" = 改过 ] && ok others_edit_reaches_refused_record || notok others_edit_reaches_refused_record "notes '$nv'"
    n=$(t_gs "$B" --json status | jq '.rejected | length')
    [ "$n" = 3 ] && ok refused_changes_kept_after_clock_fix || notok refused_changes_kept_after_clock_fix "$n listed"

    # retry the update and the creation, drop the delete
    seqs=($(t_gs "$B" --json status | jq -r '.rejected[].seq'))
    out=$(t_gs "$B" --json retry "${seqs[0]}") && [ "$(jq -r .new_seq <<<"$out")" -gt 0 ] \
        && ok retry_update_queued || notok retry_update_queued "$out"
    t_gs "$B" retry "${seqs[2]}" >/dev/null && ok retry_create_queued || notok retry_create_queued "exit $?"
    t_gs "$B" drop "${seqs[1]}" >/dev/null && ok drop_delete || notok drop_delete "exit $?"
    t_gs "$B" retry 99999 >/dev/null 2>&1; code=$?
    [ $code -eq 3 ] && ok retry_unknown_seq_exit_3 || notok retry_unknown_seq_exit_3 "exit $code"
    t_gs "$B" retry x7 >/dev/null 2>&1; code=$?
    [ $code -eq 2 ] && ok retry_bad_seq_exit_2 || notok retry_bad_seq_exit_2 "exit $code"
    t_gs "$B" sync >/dev/null 2>"$T/err"; code=$?
    [ $code -eq 0 ] && ok retried_changes_accepted || notok retried_changes_accepted "exit $code: $(cat "$T/err")"
    sync "$A" retried_sync
    [ "$(field "$A" "$R" phone)" = 13900000000 ] && ok retried_update_everywhere \
        || notok retried_update_everywhere "a phone '$(field "$A" "$R" phone)'"
    [ "$(field "$A" "$NEW" name)" = 只在这里 ] && ok retried_create_everywhere \
        || notok retried_create_everywhere "a name '$(field "$A" "$NEW" name)'"
    n=$(t_gs "$B" --json status | jq '.rejected | length')
    [ "$n" = 0 ] && ok rejected_list_empty || notok rejected_list_empty "$n listed"
    converged converged_after_retry "$A" "$B"
fi

# ---- 3. a slow clock -------------------------------------------------------------------------
if [ $have_faketime = 0 ]; then
    skip slow_clock "faketime is not installed"
else
    t_enroll "$T/s.db" gridA slow
    S=$T/s.db
    FT '-2h' "$GRIDSYNC" --db "$S" sync >/dev/null 2>"$T/err" || notok slow_first_sync "$(cat "$T/err")"
    t_gs "$A" resident update "$R" --address a-earlier >/dev/null
    sleep 0.05
    FT '-2h' "$GRIDSYNC" --db "$S" resident update "$R" --address s-later >/dev/null
    sync "$A" slow_sync
    FT '-2h' "$GRIDSYNC" --db "$S" sync >/dev/null 2>"$T/err" || notok slow_sync "$(cat "$T/err")"
    sync "$A" slow_sync
    va=$(field "$A" "$R" address); vs=$(field "$S" "$R" address)
    [ "$va|$vs" = "s-later|s-later" ] && ok slow_device_later_edit_wins \
        || notok slow_device_later_edit_wins "address: a '$va', slow '$vs' (want s-later)"
    up=$(t_gs "$S" --json show "$R" | jq -r .updated)
    now=$(date -u +%s)
    ut=$(date -u -d "$up" +%s 2>/dev/null || echo 0)
    [ $((now - ut)) -lt 300 ] && ok slow_device_stamps_server_time \
        || notok slow_device_stamps_server_time "updated $up, now $(date -u +%FT%TZ)"
    sync "$B" slow_sync
    converged converged_with_slow_clock "$A" "$B" "$S"
fi
t_done
