#!/usr/bin/env bash
# e2e_grids.sh: grid isolation end to end. Two devices of grid A and one of grid B record
# residents, visits and care requests while the server is down (sync exits 4, nothing lost),
# then the server comes up and all sync. Each device must end with exactly the records of
# its grids held by the server (record ids compared with the server's store) and none of
# the other grid's; the server must hold every record each device recorded.
# Then a device of both grids moves a resident of grid A to grid B: after their next sync
# the devices of A no longer hold it (a departure, PROTOCOL.md 4.3), B's device holds it
# whole, and moving it back brings it back to A's devices whole.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 8 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_grids
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
t_enroll "$T/b1.db" gridB b1
t_server_stop

dev_ids() { # every record id on a device, sorted
    t_sql "$1" "SELECT hex(id) FROM resident UNION ALL SELECT hex(id) FROM visit
                UNION ALL SELECT hex(id) FROM care ORDER BY 1"
}
srv_ids() { # every record id of grid $1 on the server, sorted
    t_sql "$SRV_STORE" "SELECT hex(id) FROM records WHERE grid = '$1' ORDER BY 1"
}

# offline work: 2 residents, a visit and a care request each, per device
for d in a1 a2 b1; do
    for i in 1 2; do
        r=$(t_gs "$T/$d.db" resident add --name "居民$d$i" --address "村$i组" --born 1950) || {
            notok grids_offline_record "$d resident add failed"; t_done; exit; }
        t_gs "$T/$d.db" visit add --resident "$r" --kind routine --notes "走访$d$i" >/dev/null
        t_gs "$T/$d.db" care add --resident "$r" --category meal --notes "送餐$d$i" >/dev/null
    done
done
dev_ids "$T/a1.db" >"$T/a1.own"; dev_ids "$T/a2.db" >"$T/a2.own"; dev_ids "$T/b1.db" >"$T/b1.own"
n=$(cat "$T/a1.own" "$T/a2.own" "$T/b1.own" | sort -u | wc -l)
[ "$n" -eq 18 ] && ok grids_offline_recorded || notok grids_offline_recorded "18 ids expected, $n"

t_gs "$T/a1.db" sync >/dev/null 2>"$T/err"; code=$?
pend=$(t_sql "$T/a1.db" "SELECT count(*) FROM outbox")
if [ $code -eq 4 ] && [ "$pend" -eq 6 ]; then ok grids_sync_server_down_exit4_keeps_outbox
else notok grids_sync_server_down_exit4_keeps_outbox "exit $code, outbox $pend (want 4, 6): $(cat "$T/err")"; fi

t_server_start
for d in a1 a2 b1 a1 a2 b1; do
    t_gs "$T/$d.db" sync >/dev/null 2>"$T/err" || notok "grids_sync_$d" "exit $?: $(cat "$T/err")"
done

srv_ids gridA >"$T/srvA"; srv_ids gridB >"$T/srvB"
want_a=$(sort "$T/a1.own" "$T/a2.own"); want_b=$(sort "$T/b1.own")
[ "$(cat "$T/srvA")" = "$want_a" ] && ok grids_server_holds_grid_a \
    || notok grids_server_holds_grid_a "server grid A ids differ from a1+a2's: $(wc -l <"$T/srvA") vs 12"
[ "$(cat "$T/srvB")" = "$want_b" ] && ok grids_server_holds_grid_b \
    || notok grids_server_holds_grid_b "server grid B ids differ from b1's: $(wc -l <"$T/srvB") vs 6"
for d in a1 a2 b1; do
    g=srvA; [ $d = b1 ] && g=srvB
    got=$(dev_ids "$T/$d.db")
    if [ "$got" = "$(cat "$T/$g")" ]; then ok "grids_${d}_has_exactly_its_grids"
    else
        other=srvB; [ $g = srvB ] && other=srvA
        leak=$(comm -12 <(echo "$got") "$T/$other" | wc -l)
        miss=$(comm -13 <(echo "$got") "$T/$g" | wc -l)
        notok "grids_${d}_has_exactly_its_grids" "$miss of its grid missing, $leak of the other grid present"
    fi
done
# the lists the worker sees agree with the database
n=$(t_gs "$T/a2.db" --json list residents | jq length)
[ "$n" = 4 ] && ok grids_a2_lists_4_residents || notok grids_a2_lists_4_residents "listed $n"
for d in a1 a2 b1; do
    p=$(e2e_pending "$T/$d.db")
    [ "$p" = 0 ] || notok "grids_${d}_outbox_empty" "pending $p"
done

# ---- a resident moves from grid A to grid B, and back
t_enroll "$T/ab.db" gridA ab gridB
t_gs "$T/ab.db" sync >/dev/null 2>"$T/err" || notok grids_ab_sync "exit $?: $(cat "$T/err")"
has() { # DB ID: 1 when the device holds resident ID (hex), else 0
    t_sql "$1" "SELECT count(*) FROM resident WHERE hex(id) = '$2'"
}
mv_hex=$(t_sql "$T/a1.db" "SELECT hex(id) FROM resident WHERE name = '居民a11'")
mv_id=$(t_gs "$T/a1.db" --json list residents | jq -r '.[] | select(.name == "居民a11") | .id')
[ "$(has "$T/ab.db" "$mv_hex")" = 1 ] && ok grids_ab_holds_both_grids || notok grids_ab_holds_both_grids "resident not pulled"
t_gs "$T/ab.db" resident update "$mv_id" --grid gridB >/dev/null 2>"$T/err" || notok grids_move "update failed: $(cat "$T/err")"
for d in ab a1 a2 b1; do
    t_gs "$T/$d.db" sync >/dev/null 2>"$T/err" || notok "grids_move_sync_$d" "exit $?: $(cat "$T/err")"
done
if [ "$(has "$T/a1.db" "$mv_hex")$(has "$T/a2.db" "$mv_hex")" = 00 ]; then ok grids_moved_out_of_a_devices
else notok grids_moved_out_of_a_devices "a1/a2 still hold it: $(has "$T/a1.db" "$mv_hex")/$(has "$T/a2.db" "$mv_hex")"; fi
row=$(t_sql "$T/b1.db" "SELECT name || '|' || address || '|' || grid FROM resident WHERE hex(id) = '$mv_hex'")
[ "$row" = "居民a11|村1组|gridB" ] && ok grids_moved_into_b_whole || notok grids_moved_into_b_whole "b1 holds '$row'"
[ "$(has "$T/ab.db" "$mv_hex")" = 1 ] && ok grids_mover_keeps_it || notok grids_mover_keeps_it "gone from ab"
n=$(t_gs "$T/a1.db" --json list residents | jq length)
[ "$n" = 3 ] && ok grids_a1_lists_3_residents || notok grids_a1_lists_3_residents "listed $n"
t_gs "$T/ab.db" resident update "$mv_id" --grid gridA >/dev/null 2>"$T/err" || notok grids_move_back "update failed: $(cat "$T/err")"
for d in ab a1 b1; do
    t_gs "$T/$d.db" sync >/dev/null 2>"$T/err" || notok "grids_back_sync_$d" "exit $?: $(cat "$T/err")"
done
row=$(t_sql "$T/a1.db" "SELECT name || '|' || address || '|' || grid FROM resident WHERE hex(id) = '$mv_hex'")
[ "$row" = "居民a11|村1组|gridA" ] && ok grids_moved_back_whole || notok grids_moved_back_whole "a1 holds '$row'"
[ "$(has "$T/b1.db" "$mv_hex")" = 0 ] && ok grids_moved_back_out_of_b || notok grids_moved_back_out_of_b "b1 still holds it"
# ---- a device of as many grids as the server allows (32) enrols with all of them; the
# names are long Chinese ones (41 bytes), so every list of them passes 1 KiB
many=(); for i in $(seq -w 1 32); do many+=("东风村第${i}村民小组综合网格"); done
last=${many[31]}
t_enroll "$T/w32.db" "${many[0]}" w32 "${many[@]:1}"
t_gs "$T/w32.db" resident add --name 居民32 --address 村32组 --grid "$last" >/dev/null 2>"$T/err" &&
    t_gs "$T/w32.db" sync >/dev/null 2>>"$T/err" &&
    [ "$(t_sql "$SRV_STORE" "SELECT count(*) FROM records WHERE grid = '$last'")" = 1 ] &&
    [ "$(t_gs "$T/w32.db" --json status | jq -r '.grids[31]')" = "$last" ] &&
    ok grids_32_enrol_record_sync || notok grids_32_enrol_record_sync "$(cat "$T/err")"
# gridsync-admin: --json lists them all; the table cuts the cell to its width, with "…",
# and never in the middle of a character
n=$(t_admin --json device list | jq -r --arg l "$last" \
    '[.devices[] | select(.name == "w32") | .grids[]] | length, (.[31] == $l)' 2>&1 | tr '\n' ' ')
row=$(t_admin device list | grep w32)
if [ "$n" = "32 true " ] && iconv -f UTF-8 -t UTF-8 <<<"$row" >/dev/null 2>&1 &&
    grep -q "${many[0]},.*…" <<<"$row"; then ok grids_32_admin_lists
else notok grids_32_admin_lists "json: $n, table: $(head -c 300 <<<"$row")"; fi
"$GRIDSYNC" --db "$T/w33.db" init --device x --token x --server "$URL" --ca "$CA" \
    $(printf -- '--grid g%s ' $(seq 1 33)) >/dev/null 2>"$T/err"
code=$?
out=$(t_admin device add $(printf -- '--grid g%s ' $(seq 1 33)) --name w33 2>&1)
acode=$?
if [ $code -eq 2 ] && grep -q "at most 32 grids" "$T/err" && [ $acode -ne 0 ] &&
    grep -q "at most 32 grids" <<<"$out"; then ok grids_33_refused_by_both
else notok grids_33_refused_by_both "init exit $code ($(cat "$T/err")), admin exit $acode ($out)"; fi
t_done
