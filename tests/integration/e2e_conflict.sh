#!/usr/bin/env bash
# e2e_conflict.sh: field-level merge end to end, two devices of one grid.
#   - the same field edited offline on both: one winner, the later edit (greater HLC),
#     whatever order the devices sync in; the same value on both devices and on the server;
#     the conflict listed by `gridsync-admin conflicts list`;
#   - different fields of one record edited on both: both edits kept, no conflict;
#   - a pulled value never silently overwrites a pending local edit of the same field: the
#     device pulls the other device's edit (sync --batch 1, so the pull arrives while the
#     edit is still unsent), and the server's decision, arriving with the ack, holds on both.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 10 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python

t_setup e2e_conflict
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
A1=$T/a1.db A2=$T/a2.db

field() { # DB ID FIELD: the device's value
    t_gs "$1" --json show "$2" | jq -r --arg f "$3" '.[$f]' 
}
srv_field() { # ID FIELD: the server's value, read from its store (tests/tools/gsstore.py)
    "$PY" "$TOOLS/gsstore.py" field "$SRV_STORE" "$1" "$2"
}
n_conflicts() { # [ID FIELD]: conflicts listed by the admin API (of that field of that record)
    t_admin --json conflicts list | jq --arg id "${1:-}" --arg f "${2:-}" \
        '[.conflicts[] | select($id == "" or (tostring | contains($id)) and .field == $f)] | length'
}
sync() { # DB [ARGS]: a sync that must succeed
    t_gs "$1" sync "${@:2}" >/dev/null 2>"$T/err" || notok "conflict_sync_$(basename "$1" .db)" "exit $?: $(cat "$T/err")"
}
agree() { # NAME ID FIELD WANT: both devices and the server hold WANT
    local v1 v2 vs
    v1=$(field "$A1" "$2" "$3"); v2=$(field "$A2" "$2" "$3"); vs=$(srv_field "$2" "$3")
    if [ "$v1" = "$4" ] && [ "$v2" = "$4" ] && [ "$vs" = "$4" ]; then ok "$1"
    else notok "$1" "want $3=$4 everywhere; a1 '$v1', a2 '$v2', server '$vs'"; fi
}
new_record() { # a resident made on a1, synced to both
    local r
    r=$(t_gs "$A1" resident add --name "base" --address "addr0" --born 1950) || exit 1
    sync "$A1"; sync "$A2"
    echo "$r"
}

# 1. same field, a1 edits first, a2 later; synced a1 then a2, and (R2) a2 then a1
R1=$(new_record); R2=$(new_record)
for r in "$R1" "$R2"; do
    t_gs "$A1" resident update "$r" --address "a1-early" >/dev/null
    sleep 0.02
    t_gs "$A2" resident update "$r" --address "a2-late" >/dev/null
done
sync "$A1"; sync "$A2"; sync "$A1"
agree conflict_same_field_later_edit_wins_syncing_first "$R1" address a2-late
agree conflict_same_field_later_edit_wins_syncing_last "$R2" address a2-late
for r in "$R1" "$R2"; do
    n=$(n_conflicts "$r" address)
    [ "$n" = 1 ] || notok conflict_listed_by_admin_api "$n conflicts listed for $r.address, want 1"
done
[ "$(n_conflicts)" = 2 ] && ok conflict_listed_by_admin_api \
    || notok conflict_listed_by_admin_api "$(n_conflicts) conflicts in all, want 2"

# 2. different fields of one record: both kept, no new conflict
R3=$(new_record)
t_gs "$A1" resident update "$R3" --name "name-by-a1" >/dev/null
t_gs "$A2" resident update "$R3" --address "addr-by-a2" >/dev/null
sync "$A1"; sync "$A2"; sync "$A1"
agree conflict_different_fields_name_kept "$R3" name name-by-a1
agree conflict_different_fields_address_kept "$R3" address addr-by-a2
n=$(n_conflicts "$R3" name); m=$(n_conflicts "$R3" address)
[ "$n$m" = 00 ] && ok conflict_different_fields_no_conflict \
    || notok conflict_different_fields_no_conflict "$n on name, $m on address"

# 3. a2's edit (earlier) is pulled by a1 while a1's later edit of the field is still unsent:
#    a1's edit must survive the pull and win on the server (greater HLC)
R4=$(new_record)
t_gs "$A2" resident update "$R4" --address "a2-early" >/dev/null
sync "$A2"
sleep 0.02
t_gs "$A1" resident add --name "filler1" >/dev/null   # earlier seqs: sent first, one per request
t_gs "$A1" resident add --name "filler2" >/dev/null
t_gs "$A1" resident update "$R4" --address "a1-late" >/dev/null
out=$(t_gs "$A1" --json sync --batch 1 2>"$T/err") || notok conflict_sync_batch1 "$(cat "$T/err")"
kept=$(jq .kept_local <<<"$out")
[ "$kept" -ge 1 ] 2>/dev/null && ok conflict_pull_kept_pending_local_edit \
    || notok conflict_pull_kept_pending_local_edit "kept_local $kept in $out"
sync "$A2"
agree conflict_pending_later_edit_survives_pull "$R4" address a1-late

# 4. a1's edit is earlier and still unsent when a2's later edit is pulled (kept locally);
#    then it is pushed: the server decides for a2 (greater HLC), and that decision, arriving
#    with a1's ack, holds on both
R5=$(new_record)
t_gs "$A1" resident add --name "filler3" >/dev/null
t_gs "$A1" resident add --name "filler4" >/dev/null
t_gs "$A1" resident update "$R5" --address "a1-early" >/dev/null
sleep 0.02
t_gs "$A2" resident update "$R5" --address "a2-late" >/dev/null
sync "$A2"
out=$(t_gs "$A1" --json sync --batch 1 2>"$T/err") || notok conflict_sync_batch1b "$(cat "$T/err")"
[ "$(jq '.kept_local >= 1 and .lost >= 1' <<<"$out")" = true ] && ok conflict_pending_kept_then_lost_taken \
    || notok conflict_pending_kept_then_lost_taken "want kept_local >= 1 and lost >= 1: $out"
sync "$A2"
agree conflict_server_decision_holds_after_ack "$R5" address a2-late
n=$(n_conflicts "$R5" address)
[ "$n" = 1 ] && ok conflict_pending_edit_conflict_listed || notok conflict_pending_edit_conflict_listed "$n listed"

# 5. the same in one exchange: a1's earlier edit is pushed in the request whose answer also
#    pulls a2's later edit; the ack's lost value and the pull agree, a2's value holds
R6=$(new_record)
t_gs "$A1" resident update "$R6" --address "a1-early" >/dev/null
sleep 0.02
t_gs "$A2" resident update "$R6" --address "a2-late" >/dev/null
sync "$A2"; sync "$A1"; sync "$A2"
agree conflict_one_exchange_decision_holds "$R6" address a2-late
for d in "$A1" "$A2"; do
    p=$(t_sql "$d" "SELECT count(*) FROM outbox")
    [ "$p" = 0 ] || notok conflict_outboxes_empty "$(basename "$d"): $p pending"
done
t_done
