#!/usr/bin/env bash
# e2e_warnings.sh: the warning rules with a real gridsyncd over TLS and real devices; time
# passes by running the server (and, where it must agree, a device) under libfaketime.
#   1. a resident living alone, recorded today; the server 8 days on: its first sweep (at
#      start) opens unvisited_vulnerable, and only once, though it is killed with SIGKILL
#      right after start again and again and restarted;
#   2. the device of the grid pulls it and holds it offline, with its Chinese title; the
#      device of another grid never sees it;
#   3. a worker acknowledges it with a note (`gridsync warning ack`; clearing it by hand is
#      refused on the handheld, exit 2): a second device of the grid pulls the note;
#   4. a visit (recorded "8 days on" too) clears it in the very sync that sends the visit,
#      and a restart of the server opens nothing new;
#   5. `gridsyncd rules` lists the six rules with the configured thresholds, and an unknown
#      rule in rules_disabled stops the server from starting (exit 2).
. "$(dirname "$0")/lib.sh"
t_setup e2e_warnings
if [ -z "$T_FAKETIME_LIB" ]; then skip warnings "libfaketime is not installed"; exit 0; fi
t_server_init
# device_silent would open too (a1 syncs "8 days" before the server's clock): test_srv_warn
# checks it; here one rule, one subject
printf 'rules_sweep_s = 1\nrules_disabled = device_silent\n' >>"$TOWN/gridsyncd.conf"
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
t_enroll "$T/b1.db" gridB b1
DB=$SRV_STORE
AHEAD=$(t_faketime_exec +8d)

R=$(t_gs "$T/a1.db" resident add --name 王秀英 --address 东关村3组 --tag lives_alone) &&
    t_gs "$T/a1.db" sync >/dev/null 2>"$T/err" || notok warn_setup "$(cat "$T/err")"
t_server_stop

# ---- 1. opened by the first sweep, once, whatever the kills
open_rows() { t_sql "$DB" "SELECT count(*) FROM watch WHERE warning IS NOT NULL"; }
warnings() { t_sql "$DB" "SELECT count(*) FROM records WHERE tbl = 'warning'"; }
T_SERVER_EXEC=$AHEAD
for i in 1 2 3 4 5; do
    t_server_start
    sleep "0.0$((RANDOM % 10))"
    t_server_kill
done
t_server_start
for _ in $(seq 1 100); do [ "$(open_rows)" -ge 1 ] && break; sleep 0.05; done
[ "$(open_rows)" = 1 ] && [ "$(warnings)" = 1 ] && ok warn_opened_once_through_kills \
    || notok warn_opened_once_through_kills "open rows $(open_rows), warnings $(warnings)"

# ---- 2. pulled by the grid's device, offline; not by another grid's
t_gs "$T/a1.db" sync >/dev/null 2>"$T/err" || notok warn_pull "$(cat "$T/err")"
t_gs "$T/b1.db" sync >/dev/null 2>"$T/err" || notok warn_pull_b "$(cat "$T/err")"
row=$(t_sql "$T/a1.db" "SELECT rule || '|' || state || '|' || level || '|' || title || '|' || subject FROM warning")
W=$(t_sql "$T/a1.db" "SELECT lower(hex(id)) FROM warning")
W=${W:0:8}-${W:8:4}-${W:12:4}-${W:16:4}-${W:20:12}
[ "$row" = "unvisited_vulnerable|open|attention|独居老人王秀英已8天未走访|$R" ] \
    && ok warn_pulled_by_grid_device || notok warn_pulled_by_grid_device "a1 holds '$row'"
[ "$(t_sql "$T/b1.db" "SELECT count(*) FROM warning")" = 0 ] && ok warn_not_seen_by_other_grid \
    || notok warn_not_seen_by_other_grid "b1 holds a warning"
t_server_stop
out=$(t_gs "$T/a1.db" --json warnings 2>&1)
[ "$(jq -r '.[0].title' <<<"$out")" = "独居老人王秀英已8天未走访" ] && [ "$(jq length <<<"$out")" = 1 ] &&
    t_gs "$T/a1.db" status | grep -q "1 open" && ok warn_shown_offline \
    || notok warn_shown_offline "$out"
T_SERVER_EXEC=$AHEAD t_server_start

# ---- 3. acknowledged with a note, seen by the grid's other device; once cleared, a device
# cannot acknowledge it again (checked in test_srv_merge)
t_gs "$T/a1.db" warning update "$W" --state cleared >/dev/null 2>"$T/err"
code=$?
[ $code = 2 ] && grep -q "may not set 'cleared'" "$T/err" && ok warn_clear_refused_on_device \
    || notok warn_clear_refused_on_device "exit $code: $(cat "$T/err")"
t_gs "$T/a1.db" warning ack "$W" --note 已电话联系明天上门 >/dev/null 2>"$T/err" &&
    t_gs "$T/a1.db" sync >/dev/null 2>>"$T/err" && t_gs "$T/a2.db" sync >/dev/null 2>>"$T/err" ||
    notok warn_ack "$(cat "$T/err")"
[ "$(t_sql "$T/a2.db" "SELECT state || '|' || note FROM warning")" = "acknowledged|已电话联系明天上门" ] \
    && ok warn_ack_reaches_grid || notok warn_ack_reaches_grid "a2: $(t_sql "$T/a2.db" "SELECT state, note FROM warning")"

# ---- 4. a visit clears it in the same sync; a restart opens nothing new
t_faketime '+8d' "$GRIDSYNC" --db "$T/a1.db" visit add --resident "$R" --kind elderly_checkin \
    --notes 身体好 >/dev/null 2>"$T/err" &&
    t_faketime '+8d' "$GRIDSYNC" --db "$T/a1.db" sync >/dev/null 2>>"$T/err" || notok warn_visit "$(cat "$T/err")"
[ "$(t_sql "$T/a1.db" "SELECT state || '|' || note FROM warning")" = "cleared|已电话联系明天上门" ] &&
    [ -n "$(t_sql "$T/a1.db" "SELECT cleared_at FROM warning")" ] \
    && ok warn_cleared_in_same_sync || notok warn_cleared_in_same_sync "a1: $(t_sql "$T/a1.db" "SELECT state, cleared_at FROM warning")"
t_server_stop
T_SERVER_EXEC=$AHEAD t_server_start
sleep 1.2
[ "$(open_rows)" = 0 ] && [ "$(warnings)" = 1 ] && ok warn_nothing_new_after_restart \
    || notok warn_nothing_new_after_restart "open rows $(open_rows), warnings $(warnings)"
curl -sf --cacert "$CA" "$URL/metrics" | grep -q 'gridsyncd_warnings_open{rule="unvisited_vulnerable",level="attention"} 0' \
    && ok warn_metric || notok warn_metric "$(curl -s --cacert "$CA" "$URL/metrics" | grep warnings_open | head -3)"
t_server_stop

# ---- 5. the rules as configured; a typo refused
echo "unvisited_days_alone = 5" >>"$TOWN/gridsyncd.conf"
out=$("$GRIDSYNCD" rules --config "$TOWN/gridsyncd.conf")
[ "$(grep -c '  on  ' <<<"$out")" = 5 ] && grep -q '^device_silent  *off' <<<"$out" && grep -q "not visited for 5 days" <<<"$out" &&
    grep -q "sweep every 1 s" <<<"$out" && ok warn_rules_listed || notok warn_rules_listed "$out"
sed -i 's/^rules_disabled = .*/rules_disabled = hazard_opn/' "$TOWN/gridsyncd.conf"
"$GRIDSYNCD" --config "$TOWN/gridsyncd.conf" --listen 127.0.0.1:0 >/dev/null 2>"$T/err"
code=$?
[ $code = 2 ] && grep -q "'hazard_opn' is not a rule" "$T/err" && ok warn_rule_typo_refused \
    || notok warn_rule_typo_refused "exit $code: $(cat "$T/err")"
t_done
