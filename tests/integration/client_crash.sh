#!/usr/bin/env bash
# client_crash.sh: a reported write survives kill -9. A writer (a loop of `gridsync visit
# add` and `gridsync care update`, each printing only after its commit) is killed with
# SIGKILL at a random moment, ROUNDS times. After each kill:
#   - PRAGMA integrity_check is "ok";
#   - every visit whose id was printed is in the database, and so is the latest care
#     update reported (or a later one that committed before its report was printed);
#   - record and change log agree: every visit has its outbox row and every outbox row of a
#     visit has its record (they are written in one transaction), seqs are below next_seq.
# The database is never synced here, so nothing leaves the outbox.
# Prints "ok NAME" / "not ok NAME: why" (tests/integration/lib.sh). Takes about 20 s.
set -u
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-60}
t_setup client_crash
G=$GRIDSYNC
tmp=$T
writer=
# the writer runs in a session of its own: its whole process group goes, then lib.sh's
# cleanup
crash_cleanup() {
    [ -n "$writer" ] && kill -9 -- "-$writer" 2>/dev/null
    t_cleanup
}
trap crash_cleanup EXIT
export GRIDSYNC_DB="$tmp/device.db"
log="$tmp/reported.log"
: >"$log"

printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"$tmp/ca.pem"
"$G" init --device crash-1 --token t.s --server https://127.0.0.1:1 --ca "$tmp/ca.pem" \
    --grid 东风村3组 >/dev/null || { notok crash_init "gridsync init failed"; exit 1; }
R=$("$G" resident add --name 王秀英) || { notok crash_setup "resident add failed"; exit 1; }
t0=$(date +%s%N)
C=$("$G" care add --resident "$R" --category meal) || { notok crash_setup "care add failed"; exit 1; }
# how long one write takes here (a sanitizer build is several times slower): kills land
# anywhere in the first few writes of each round
write_ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
window=$(( write_ms * 6 < 280 ? 280 : write_ms * 6 > 700 ? 700 : write_ms * 6 ))


# One sqlite3 run per round (python would start too slowly for 60 rounds).
check_round() {
    local ids n_reported last_care want got
    ids=$(grep -E '^[0-9a-f-]{36}$' "$log" | tr -d - | sed "s/.*/X'&'/" | paste -sd, -)
    n_reported=$(grep -cE '^[0-9a-f-]{36}$' "$log")
    last_care=$(grep -E '^care n[0-9]+$' "$log" | tail -1 | cut -c7-)
    cid=$(tr -d - <<<"$C")
    got=$(sqlite3 "$GRIDSYNC_DB" "
        PRAGMA integrity_check;
        SELECT count(*) FROM visit WHERE id IN (${ids:-NULL});
        SELECT coalesce(substr(notes, 2), -1) FROM care WHERE id = X'$cid';
        SELECT count(*) FROM visit WHERE id NOT IN (SELECT rid FROM outbox);
        SELECT count(*) FROM outbox WHERE tbl = 'visit' AND rid NOT IN (SELECT id FROM visit);
        SELECT count(*) FROM outbox WHERE tbl = 'care';
        SELECT (SELECT max(seq) FROM outbox) < (SELECT v FROM meta WHERE k = 'next_seq');" 2>&1)
    mapfile -t r <<<"$got"
    local problems=()
    [ "${r[0]:-}" = ok ] || problems+=("integrity_check: ${r[0]:-} $got")
    [ "${r[1]:-}" = "$n_reported" ] || problems+=("$n_reported visits reported, ${r[1]:-?} of them stored")
    if [ -n "$last_care" ] && ! [ "${r[2]:--1}" -ge "$last_care" ] 2>/dev/null; then
        problems+=("care notes n${r[2]:-} older than the reported n$last_care")
    fi
    [ "${r[3]:-}" = 0 ] || problems+=("a visit without its outbox row")
    [ "${r[4]:-}" = 0 ] || problems+=("an outbox row without its visit")
    [ "${r[5]:-}" = 1 ] || problems+=("care edits not compacted into one row (${r[5]:-})")
    [ "${r[6]:-}" = 1 ] || problems+=("a seq at or above next_seq")
    printf '%s\n' "${problems[@]}"
    [ ${#problems[@]} -eq 0 ]
}

kills=0
for round in $(seq 1 "$ROUNDS"); do
    # the writer runs in its own session so one kill takes the loop and its child
    setsid bash -c '
        n=$(( '"$round"' * 100000 ))
        while :; do
            n=$((n + 1))
            "'"$G"'" visit add --resident "'"$R"'" --kind routine \
                --notes "第${n}次走访：老人精神很好，家中整洁。" >>"'"$log"'" || exit 1
            "'"$G"'" care update "'"$C"'" --notes "n$n" >/dev/null || exit 1
            echo "care n$n" >>"'"$log"'"
        done' </dev/null 2>>"$tmp/writer.err" &
    writer=$!
    # a random moment 20 ms to 20 ms + window in
    delay=$(( (RANDOM * 32768 + RANDOM) % window + 20 ))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 -- "-$writer" 2>/dev/null && kills=$((kills + 1))
    wait "$writer" 2>/dev/null
    writer=
    if ! check_round >"$tmp/check.out" 2>&1; then
        notok "crash_round_$round" "$(tr '\n' ';' <"$tmp/check.out")"
    fi
done

visits=$(sqlite3 "$GRIDSYNC_DB" 'SELECT count(*) FROM visit')
reported=$(grep -c '^[0-9a-f-]\{36\}$' "$log")
echo "# $kills kills, $reported visits reported, $visits stored (one write ~${write_ms} ms, kills within $((window + 20)) ms)"
[ "$kills" -ge 50 ] && ok crash_killed_at_least_50_times || notok crash_killed_at_least_50_times "$kills"
# the writer must have got through writes in most rounds, or the kills proved nothing
[ "$reported" -ge $((ROUNDS / 2)) ] && ok crash_writer_made_progress \
    || notok crash_writer_made_progress "$reported"
[ "$T_FAILS" -eq 0 ] && ok crash_every_reported_write_survived
t_done
