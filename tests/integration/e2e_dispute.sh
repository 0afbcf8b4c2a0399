#!/usr/bin/env bash
# e2e_dispute.sh: a dispute (矛盾纠纷) and its mediation sessions end to end, two devices of
# one grid (docs/MERGE.md 7a):
#   - a dispute with three mediation sessions reaches the other device;
#   - a1 closes it as resolved while a2, who never saw it closed, concurrently sets it to
#     mediating with a later edit: the status policy keeps resolved on both devices and the
#     server, and the conflict is listed by the admin API;
#   - a transition off the declared path is refused on the handheld before anything is
#     written (resolved -> mediating), and the explicit reopen (-> reported) is accepted;
#   - the status path also binds an errand (requested -> submitted is refused);
#   - `gridsync list errands --assigned-to-me` keeps the worker's own;
#   - GET /v1/admin/schema lists each dispute status's path ("next").
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 10 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python

t_setup e2e_dispute
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
A1=$T/a1.db A2=$T/a2.db

field() { # DB ID FIELD: the device's value
    t_gs "$1" --json show "$2" | jq -r --arg f "$3" '.[$f]'
}
srv_field() { # ID FIELD: the server's value, read from its store
    "$PY" "$TOOLS/gsstore.py" field "$SRV_STORE" "$1" "$2"
}
sync() { # DB: a sync that must succeed
    t_gs "$1" sync >/dev/null 2>"$T/err" || notok "dispute_sync_$(basename "$1" .db)" "exit $?: $(cat "$T/err")"
}

R=$(t_gs "$A1" resident add --name 赵大山 --address '东关村2组') || exit 1
R2=$(t_gs "$A1" resident add --name 钱二河 --address '东关村2组') || exit 1
D=$(t_gs "$A1" dispute add --party "$R" --other-party "$R2" --category homestead \
    --summary '宅基地边界争议' --mediator 李调解) || { notok dispute_add "exit $?"; t_done; }
for i in 1 2 3; do
    t_gs "$A1" mediation add --dispute "$D" --participants '双方、村调委会' \
        --agreed "第${i}次调解" >/dev/null || notok dispute_mediation_add "session $i: exit $?"
done
sync "$A1"; sync "$A2"
n=$(t_gs "$A2" --json list mediations | jq --arg d "$D" '[.[] | select(.dispute == $d)] | length')
[ "$n" = 3 ] && ok dispute_three_sessions_reach_the_other_device \
    || notok dispute_three_sessions_reach_the_other_device "a2 lists $n sessions of $D, want 3"
[ "$(field "$A2" "$D" status)" = reported ] && ok dispute_starts_reported \
    || notok dispute_starts_reported "a2 shows status $(field "$A2" "$D" status)"

# a1 mediates and closes; a2 (still at reported) sets mediating later
t_gs "$A1" dispute update "$D" --status mediating >/dev/null
t_gs "$A1" dispute update "$D" --status resolved --agreement --outcome '签订调解协议' >/dev/null \
    || notok dispute_resolve "exit $?"
sleep 0.05
t_gs "$A2" dispute update "$D" --status mediating >/dev/null || notok dispute_a2_mediating "exit $?"
sync "$A1"; sync "$A2"; sync "$A1"
v1=$(field "$A1" "$D" status); v2=$(field "$A2" "$D" status); vs=$(srv_field "$D" status)
[ "$v1$v2$vs" = resolvedresolvedresolved ] && ok dispute_resolved_beats_concurrent_mediating \
    || notok dispute_resolved_beats_concurrent_mediating "a1 '$v1', a2 '$v2', server '$vs'"
c=$(t_admin --json conflicts list | jq --arg id "$D" \
    '[.conflicts[] | select((tostring | contains($id)) and .field == "status")] | .[0]')
if [ "$(jq -r .policy <<<"$c")" = status ] && jq -e 'tostring | contains("resolved") and contains("mediating")' <<<"$c" >/dev/null; then
    ok dispute_conflict_logged
else
    notok dispute_conflict_logged "conflict of $D.status: $c"
fi

# off the path on the handheld: refused, nothing written, nothing queued
before=$(t_gs "$A2" --json status | jq '.pending // .outbox // 0')
if t_gs "$A2" dispute update "$D" --status mediating >/dev/null 2>"$T/err"; then
    notok dispute_forbidden_transition_refused "accepted resolved -> mediating"
else
    rc=$?
    grep -q 'resolved may become reported' "$T/err" && [ "$rc" = 2 ] \
        && [ "$(field "$A2" "$D" status)" = resolved ] \
        && [ "$(t_gs "$A2" --json status | jq '.pending // .outbox // 0')" = "$before" ] \
        && ok dispute_forbidden_transition_refused \
        || notok dispute_forbidden_transition_refused "exit $rc: $(cat "$T/err")"
fi
# the explicit reopen, then mediation again
t_gs "$A2" dispute update "$D" --status reported >/dev/null && \
    t_gs "$A2" dispute update "$D" --status mediating >/dev/null \
    || notok dispute_reopen "exit $?: $(cat "$T/err")"
sync "$A2"; sync "$A1"
[ "$(field "$A1" "$D" status)" = mediating ] && [ "$(srv_field "$D" status)" = mediating ] \
    && ok dispute_explicit_reopen_accepted \
    || notok dispute_explicit_reopen_accepted "a1 '$(field "$A1" "$D" status)', server '$(srv_field "$D" status)'"

# an errand: no step skipped
E=$(t_gs "$A1" errand add --resident "$R" --matter medical_claim) || notok errand_add "exit $?"
if t_gs "$A1" errand update "$E" --status submitted >/dev/null 2>"$T/err"; then
    notok errand_step_skipped_refused "requested -> submitted accepted"
else
    grep -q 'requested may become materials_collected, cancelled, not submitted' "$T/err" && ok errand_step_skipped_refused \
        || notok errand_step_skipped_refused "$(cat "$T/err")"
fi
t_gs "$A1" errand update "$E" --status materials_collected --material medical_receipts \
    --material id_card >/dev/null && sync "$A1" && sync "$A2"
[ "$(field "$A2" "$E" status)" = materials_collected ] \
    && [ "$(t_gs "$A2" --json show "$E" | jq -c '.materials | sort')" = '["id_card","medical_receipts"]' ] \
    && ok errand_materials_collected_reach_the_grid \
    || notok errand_materials_collected_reach_the_grid "$(t_gs "$A2" --json show "$E")"
# the worker's own errands: assignee = the worker name given at init (a1)
t_gs "$A1" errand add --resident "$R" --matter senior_card --assignee a1 >/dev/null
t_gs "$A1" errand add --resident "$R2" --matter disability_card --assignee 王芳 >/dev/null
mine=$(t_gs "$A1" --json list errands --assigned-to-me | jq -c '[.[] | .matter]')
[ "$mine" = '["senior_card"]' ] && ok errand_list_assigned_to_me \
    || notok errand_list_assigned_to_me "got $mine"
t_gs "$A1" list residents --assigned-to-me >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 2 ] && grep -q 'no assignee' "$T/err" && ok list_assigned_to_me_needs_an_assignee \
    || notok list_assigned_to_me_needs_an_assignee "exit $rc: $(cat "$T/err")"

# the admin API's schema carries the paths, for the console and third-party clients
nx=$(curl -sf --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/v1/admin/schema" | jq -c '.tables[] | select(.name == "dispute") | .fields[]
    | select(.name == "status") | [.enums[] | {(.name): .next}] | add')
[ "$nx" = '{"reported":["mediating","resolved","failed","referred"],"mediating":["resolved","failed","referred"],"resolved":["reported"],"failed":["reported","referred"],"referred":["reported"]}' ] \
    && ok dispute_schema_lists_paths || notok dispute_schema_lists_paths "got $nx"
t_done
