#!/usr/bin/env bash
# store_migrate.sh: `gridsyncd migrate --from DIR --to postgresql://...` (issue 20). A town
# works on SQLite (3 devices, records, a conflict, a resolution); its server stops; the
# store moves into a throwaway PostgreSQL cluster; the server starts again on it; the
# devices go on with their cursors (nothing re-sent, nothing pulled twice), a new edit
# travels, and every device equals the database. Also: migrate again (idempotent, exit 0),
# into a database holding another store (refused, exit 2), a bad --to (exit 2), and a
# database that moved on since the copy (the verification finds it, exit 1).
. "$(dirname "$0")/lib.sh"
t_setup store_migrate
PGTMP=$TOOLS/pgtmp.sh
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    skip store_migrate "PostgreSQL 15 is not installed"
    exit 0
fi
GS_TEST_STORE= t_server_init
t_server_start
for n in a b c; do t_enroll "$T/$n.db" G1 "$n"; done
R=$(t_gs "$T/a.db" resident add --name 王大爷 --born 1941 --address 东风村3组)
t_gs "$T/a.db" visit add --resident "$R" --kind routine --notes 血压正常 >/dev/null
for n in a b c; do t_gs "$T/$n.db" sync >/dev/null || notok setup_sync "$n"; done
# a conflict: b and c change the address offline, both sync
t_gs "$T/b.db" resident update "$R" --address 东风村4组 >/dev/null
t_gs "$T/c.db" resident update "$R" --address 东风村5组 >/dev/null
for n in b c a b c; do t_gs "$T/$n.db" sync >/dev/null; done
before=$(t_admin --json conflicts list | jq '.conflicts | length')
# an enrolment code not used yet (issue 17): it must move too, and still enrol after
enrol_uri=$(t_admin --json device add --grid G1 --name d | jq -r .uri)
t_server_stop

chmod 711 "$T"
url=$("$PGTMP" start "$T/pg") || { notok pg_start "pgtmp.sh failed"; exit 1; }
trap '"$PGTMP" stop "$T/pg"; t_cleanup' EXIT

"$GRIDSYNCD" migrate --from "$TOWN" --to "$url" >"$T/m1.out" 2>"$T/m1.err"
[ $? -eq 0 ] && grep -q '^migrated' "$T/m1.out" && ok migrate_runs \
    || notok migrate_runs "$(cat "$T/m1.out" "$T/m1.err")"
"$GRIDSYNCD" migrate --from "$TOWN" --to "$url" >"$T/m2.out" 2>"$T/m2.err"
[ $? -eq 0 ] && grep -q 'already migrated' "$T/m2.out" && ok migrate_again_verifies \
    || notok migrate_again_verifies "$(cat "$T/m2.out" "$T/m2.err")"
n_sqlite=$(t_sql "$TOWN/gridsyncd.db" "SELECT count(*) FROM records")
n_pg=$(t_sql "$url" "SELECT count(*) FROM records")
[ "$n_sqlite" = "$n_pg" ] && [ "$n_pg" -ge 2 ] && ok migrate_records_counted \
    || notok migrate_records_counted "$n_sqlite in the file, $n_pg in the database"

# serve the database instead of the file
sed -i "s|^store = .*|store = $url|" "$TOWN/gridsyncd.conf"
t_server_start
SRV_STORE=$url
after=$(t_admin --json conflicts list | jq '.conflicts | length')
[ "$after" = "$before" ] && [ "$after" -ge 1 ] && ok conflicts_moved \
    || notok conflicts_moved "$before conflicts before, $after after"
out=$(t_gs "$T/a.db" --json sync)
pulled=$(jq .pulled <<<"$out"); requeued=$(jq .requeued <<<"$out")
[ "$pulled" = 0 ] && [ "$requeued" = 0 ] && ok cursors_kept \
    || notok cursors_kept "a quiet device pulled $pulled and re-queued $requeued: $out"
t_gs "$T/c.db" resident update "$R" --phone 13800000000 >/dev/null
t_gs "$T/c.db" sync >/dev/null
for n in a b; do t_gs "$T/$n.db" sync >/dev/null; done
ph=$(t_gs "$T/a.db" --json show "$R" | jq -r .phone)
[ "$ph" = 13800000000 ] && ok new_edit_travels || notok new_edit_travels "a sees phone '$ph'"
D=$(t_enroll "$T/d.db" G1 d >/dev/null; echo "$DEV_ID")
t_gs "$T/d.db" sync >/dev/null && ok new_device_enrols \
    || notok new_device_enrols "a device added after the move cannot sync"
n_dev=$(t_sql "$url" "SELECT count(DISTINCT rowid) FROM devices")
n_all=$(t_sql "$url" "SELECT count(*) FROM devices")
[ "$n_dev" = "$n_all" ] && ok device_numbers_unique || notok device_numbers_unique "$n_dev numbers for $n_all devices ($D)"
if out=$("$PY" "$TOOLS/converge.py" --server "$url" --gridsync "$GRIDSYNC" "$T"/a.db "$T"/b.db "$T"/c.db "$T"/d.db 2>&1); then
    ok every_device_equals_database
else
    notok every_device_equals_database "$out"
fi
if "$GRIDSYNC" --db "$T/e.db" enroll "$enrol_uri" >"$T/e.out" 2>&1 && t_gs "$T/e.db" sync >>"$T/e.out" 2>&1
then ok enrolment_code_moved; else notok enrolment_code_moved "$(head -c 300 "$T/e.out")"; fi
t_server_stop

# the database has moved on (the edit above): the file no longer matches it, and a
# migrate again must say so rather than call it verified
sed -i "s|^store = .*|store = gridsyncd.db|" "$TOWN/gridsyncd.conf"
"$GRIDSYNCD" migrate --from "$TOWN" --to "$url" >/dev/null 2>"$T/m5.err"
code=$?
[ $code -eq 1 ] && grep -q 'differs' "$T/m5.err" && ok verify_finds_a_difference \
    || notok verify_finds_a_difference "exit $code: $(cat "$T/m5.err")"

# a database holding another store is refused, untouched
"$GRIDSYNCD" init --dir "$T/town2" --hostname localhost >/dev/null 2>&1
v=$(t_sql "$url" "SELECT value FROM meta WHERE key = 'version'")
"$GRIDSYNCD" migrate --from "$T/town2" --to "$url" >/dev/null 2>"$T/m3.err"
code=$?
[ $code -eq 2 ] && grep -q 'another store' "$T/m3.err" && \
    [ "$(t_sql "$url" "SELECT value FROM meta WHERE key = 'version'")" = "$v" ] \
    && ok other_store_refused || notok other_store_refused "exit $code: $(cat "$T/m3.err")"
"$GRIDSYNCD" migrate --from "$TOWN" --to "$T/x.db" >/dev/null 2>"$T/m4.err"
[ $? -eq 2 ] && ok bad_target_usage || notok bad_target_usage "$(cat "$T/m4.err")"
t_done
