#!/usr/bin/env bash
# make_fixtures.sh OLD_BUILD: the files test_client_layout.c and test_srv_store.c upgrade, made
# by the programs of an older gridsync (OLD_BUILD/bin: gridsync 0.1, commit da4fc06, built
# with `make`). Kept for the record; the committed files are what the tests read.
#   device_layout1.db (+ .ids)  a device database of layout 1: two residents synced, an
#                               edit sent but never answered (server down), one unsent
#   store_schema2.db            a server store of schema 2: two grids, residents, visits, a
#                               care request edited on two devices (a conflict), a record
#                               moved to the other grid, an admin resolution
set -eu
OLD=$(cd "$1" && pwd)
cd "$(dirname "$0")/../../.."
. tests/integration/lib.sh
GRIDSYNC=$OLD/bin/gridsync GRIDSYNCD=$OLD/bin/gridsyncd GRIDSYNC_ADMIN=$OLD/bin/gridsync-admin
OUT=tests/unit/data
t_setup fixtures
t_server_init
t_server_start
t_enroll "$T/a.db" gA a gB
t_enroll "$T/b.db" gA b
R1=$(t_gs "$T/a.db" resident add --name 王秀英 --born 1941 --tag elderly)
R2=$(t_gs "$T/a.db" resident add --name 李桂兰 --born 1939 --grid gB)
t_gs "$T/a.db" visit add --resident "$R1" --kind elderly_checkin --notes 血压偏高 >/dev/null
C=$(t_gs "$T/a.db" care add --resident "$R1" --category meal)
t_gs "$T/a.db" sync >/dev/null
t_gs "$T/b.db" sync >/dev/null
t_gs "$T/a.db" care update "$C" --notes from-a >/dev/null
sleep 0.05
t_gs "$T/b.db" care update "$C" --notes from-b >/dev/null
t_gs "$T/a.db" sync >/dev/null
t_gs "$T/b.db" sync >/dev/null
t_gs "$T/a.db" sync >/dev/null
t_gs "$T/a.db" resident update "$R1" --grid gB >/dev/null
t_gs "$T/a.db" sync >/dev/null
t_admin conflicts resolve 1 --keep other --note fixture >/dev/null
t_server_stop
sqlite3 "$T/town/gridsyncd.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$T/town/gridsyncd.db" "$OUT/store_schema2.db"
echo "made $OUT/store_schema2.db"

# the device file
rm -rf "$T/town"; PORT=; t_server_init; t_server_start
t_enroll "$T/d.db" 东风村3组 张三
D1=$(t_gs "$T/d.db" resident add --name 王秀英 --born 1941 --tag elderly)
D2=$(t_gs "$T/d.db" resident add --name 李桂兰 --born 1939)
t_gs "$T/d.db" sync >/dev/null
t_gs "$T/d.db" resident update "$D1" --phone 13800000000 >/dev/null
t_server_stop
t_gs "$T/d.db" sync >/dev/null 2>&1 || true # the server is down: the row stays sent
t_gs "$T/d.db" resident update "$D2" --address 东风村3组12号 >/dev/null
sqlite3 "$T/d.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$T/d.db" "$OUT/device_layout1.db"
echo "$D1 $D2" >"$OUT/device_layout1.ids"
echo "made $OUT/device_layout1.db"
