#!/usr/bin/env bash
# conn_flood.sh: connection-slot exhaustion (issue 18, finding 1). Silent TCP, slow TLS
# handshakes, idle TLS and slow-loris heads from one address (127.0.0.2) and from 50
# loopback addresses (127.0.0.10-59), every attacker reconnecting at once when closed,
# while 10 honest devices (127.0.0.1) sync in a loop: every honest sync succeeds
# (tests/tools/faults_connflood.py reports p50/p99 and the server's RSS).
# The server runs with max_connections = CONN_FLOOD_MAX (default 256, below the flood) so
# that both caps, per address and global, are pressed and their evictions exercised.
# Sizes: CONN_FLOOD_ONE and CONN_FLOOD_MANY attackers (default 1000 each; the issue's
# figure), CONN_FLOOD_SECONDS of flood (default 20).
. "$(dirname "$0")/../integration/lib.sh"
t_setup conn_flood
t_server_init
conf=$T/town/gridsyncd.conf
sed -i "s/^max_connections = .*/max_connections = ${CONN_FLOOD_MAX:-256}/" "$conf"
t_server_start
dbs=()
for i in $(seq 1 10); do
    t_enroll "$T/dev$i.db" 东风村3组 "worker$i"
    t_gs "$T/dev$i.db" resident add --name "居民$i" >/dev/null
    dbs+=("$T/dev$i.db")
done
/usr/bin/python3 "$TOOLS/faults_connflood.py" "$PORT" "$CA" "$SERVER_PID" "$GRIDSYNC" \
    "${CONN_FLOOD_SECONDS:-20}" "${CONN_FLOOD_ONE:-1000}" "${CONN_FLOOD_MANY:-1000}" "${dbs[@]}" \
    || notok conn_flood "faults_connflood.py exited non-zero"
n=$(t_sql "$T/town/gridsyncd.db" "SELECT count(*) FROM records")
[ "$n" = 10 ] && ok conn_flood_all_records_arrived || notok conn_flood_all_records_arrived "$n"
m=$(curl -s --cacert "$CA" "$URL/metrics" | grep -E '^gridsyncd_connections_(evicted|refused)_total')
echo "# $(echo $m)"
kill -0 "$SERVER_PID" 2>/dev/null && ok conn_flood_server_still_running \
    || notok conn_flood_server_still_running "gridsyncd exited; log: $(tail -n 5 "$T/gridsyncd.log")"
t_server_stop
t_done
