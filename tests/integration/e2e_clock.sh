#!/usr/bin/env bash
# e2e_clock.sh: a device whose clock is days ahead does not win by it. Device a2 runs under
# faketime +3 days for its edit and its sync: the server refuses the change as clock_ahead
# (sync exits 6), `gridsync status` lists it and keeps it (not dropped), and the value device
# a1 writes afterwards with a correct clock stands on the server and on both devices. The
# skewed device must not drag the others' clocks forward through the server either: a1's
# later edits are still accepted.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 5 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_clock
if ! t_faketime '+3d' true 2>/dev/null; then skip clock_ahead "faketime is not installed"; exit 0; fi
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
A1=$T/a1.db A2=$T/a2.db
ahead() { t_faketime '+3d' "$GRIDSYNC" "$@"; }
field() { t_gs "$1" --json show "$2" | jq -r --arg f "$3" '.[$f]'; }

R=$(t_gs "$A1" resident add --name 赵桂英 --address addr0 --born 1940)
t_gs "$A1" sync >/dev/null && t_gs "$A2" sync >/dev/null || notok clock_setup "first sync failed"

ahead --db "$A2" resident update "$R" --address "a2-future" >/dev/null
out=$(ahead --db "$A2" --json sync 2>"$T/err"); code=$?
[ $code -eq 6 ] && ok clock_ahead_sync_exit_6 || notok clock_ahead_sync_exit_6 "exit $code: $out $(cat "$T/err")"
st=$(t_gs "$A2" --json status)
codes=$(jq -r '[.rejected[].code] | join(",")' <<<"$st")
[ "$codes" = clock_ahead ] && ok clock_ahead_listed_by_status \
    || notok clock_ahead_listed_by_status "rejected codes '$codes' in $st"
kept=$(t_sql "$A2" "SELECT count(*) FROM rejected WHERE hex(rid) = '$(tr -d - <<<"$R" | tr a-f A-F)'")
[ "$kept" = 1 ] && ok clock_ahead_change_kept || notok clock_ahead_change_kept "$kept rows kept aside"
srv=$(t_sql "$SRV_STORE" "SELECT count(*) FROM changes WHERE device = (SELECT id FROM devices WHERE name = 'a2')")
[ "$srv" = 0 ] && ok clock_ahead_not_applied || notok clock_ahead_not_applied "$srv changes of a2 stored"

# a1 edits after it, with a correct clock: its value stands
sleep 0.02
t_gs "$A1" resident update "$R" --address "a1-now" >/dev/null
t_gs "$A1" sync >/dev/null 2>"$T/err"; code=$?
[ $code -eq 0 ] && ok clock_correct_device_accepted || notok clock_correct_device_accepted "exit $code: $(cat "$T/err")"
t_gs "$A2" sync >/dev/null 2>"$T/err"; code=$?
[ $code -eq 0 ] || notok clock_a2_sync_after_fix "exit $code: $(cat "$T/err")"
v1=$(field "$A1" "$R" address); v2=$(field "$A2" "$R" address)
vs=$("$PY" "$TOOLS/gsstore.py" field "$SRV_STORE" "$R" address)
[ "$v1|$v2|$vs" = "a1-now|a1-now|a1-now" ] && ok clock_ahead_does_not_win \
    || notok clock_ahead_does_not_win "address: a1 '$v1', a2 '$v2', server '$vs' (want a1-now)"

# the skew did not spread: a1's next edit, stamped by its own correct clock, is accepted
t_gs "$A1" resident update "$R" --name 赵桂英2 >/dev/null
t_gs "$A1" sync >/dev/null 2>"$T/err"; code=$?
[ $code -eq 0 ] && ok clock_skew_not_spread_to_others || notok clock_skew_not_spread_to_others "exit $code: $(cat "$T/err")"

# a2 with its clock set right again: are its new edits accepted?
t_gs "$A2" resident update "$R" --born 1941 >/dev/null
t_gs "$A2" sync >/dev/null 2>"$T/err"; code=$?
# The sync above, made with the clock set right, stepped the device's HLC back to the
# server's time (db_hlc_rebase): its new edits are stamped correctly and accepted.
if [ $code -eq 0 ]; then ok clock_fixed_device_edits_accepted
else notok clock_fixed_device_edits_accepted "exit $code after the clock was set right: $(cat "$T/err")"; fi
t_done
