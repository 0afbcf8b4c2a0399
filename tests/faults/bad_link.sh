#!/usr/bin/env bash
# bad_link.sh: a sync over a 2G-like link between two network namespaces.
#
#   client ns                                   server ns
#   gridsync -> linkproxy 127.0.0.1:P1 --veth--> gridsyncd 10.199.77.1:PORT
#               (--delay-ms 300 each way)   64 kbit/s tbf each way, 10% loss each way
#
# The device reaches the server as https://localhost:P1 (a name the certificate holds); the
# proxy in the client namespace forwards across the veth pair and holds every chunk 300 ms
# in each direction (this kernel has no netem). Loss is iptables-legacy `-m statistic
# --mode random --probability 0.1 -j DROP` on each side's INPUT; the rate is a tbf qdisc on
# each veth end. Two phases:
#   1. VISITS visits (default 1000) synced; the wall time is reported;
#   2. CUT_VISITS more, with the veth taken down CUT_AFTER_S s into the sync for CUT_FOR_S s.
# A sync must exit 0, or 4 (failed cleanly) and then complete on a later try (at most 5).
# Afterwards: the server holds each device seq exactly once (no gap, no double), every
# visit is a server record, the outbox is empty. Needs root and `ip netns`; otherwise it
# prints "skip bad_link: why". The namespaces are deleted on any exit.
. "$(dirname "$0")/../integration/lib.sh"
VISITS=${VISITS:-1000}
CUT_VISITS=${CUT_VISITS:-1000}
CUT_AFTER_S=${CUT_AFTER_S:-3}
CUT_FOR_S=${CUT_FOR_S:-8}
RATE=${RATE:-64kbit}
LOSS=${LOSS:-0.1}
DELAY_MS=${DELAY_MS:-300}
t_setup bad_link
NS_S=gsf_s_$$ NS_C=gsf_c_$$ V_S=gsfs$$ V_C=gsfc$$
A_S=10.199.77.1 A_C=10.199.77.2
PROXY_PIDS=()
bl_cleanup() {
    local p
    for p in "${PROXY_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    ip netns pids "$NS_S" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns pids "$NS_C" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    ip netns del "$NS_C" 2>/dev/null
    t_cleanup
}
trap bl_cleanup EXIT
# (background jobs call `ip netns exec` directly, so $! is the process itself)
inS() { ip netns exec "$NS_S" "$@"; }
inC() { ip netns exec "$NS_C" "$@"; }

[ "$(id -u)" -eq 0 ] || { skip bad_link "needs root for ip netns (uid $(id -u))"; exit 0; }
for c in ip tc iptables-legacy; do
    command -v $c >/dev/null || { skip bad_link "$c is not installed"; exit 0; }
done
if ! ip netns add "$NS_S" 2>"$T/ns.err" || ! ip netns add "$NS_C" 2>>"$T/ns.err"; then
    skip bad_link "network namespaces not permitted: $(head -c 200 "$T/ns.err")"; exit 0
fi
set -e
ip link add "$V_S" type veth peer name "$V_C"
ip link set "$V_S" netns "$NS_S"
ip link set "$V_C" netns "$NS_C"
inS ip addr add "$A_S/30" dev "$V_S"
inC ip addr add "$A_C/30" dev "$V_C"
for ns in "$NS_S" "$NS_C"; do ip netns exec "$ns" ip link set lo up; done
inS ip link set "$V_S" up
inC ip link set "$V_C" up
set +e

t_server_init
ip netns exec "$NS_S" "$GRIDSYNCD" --config "$T/town/gridsyncd.conf" --listen "$A_S:$PORT" >>"$T/gridsyncd.log" 2>&1 &
SERVER_PID=$!
start_proxy() { # delay_ms -> sets P
    local f=$T/proxy.$RANDOM
    ip netns exec "$NS_C" /usr/bin/python3 "$TOOLS/linkproxy.py" --target-host "$A_S" --target "$PORT" \
        --delay-ms "$1" >"$f" 2>>"$T/proxy.err" &
    PROXY_PIDS+=($!)
    for _ in $(seq 1 100); do
        P=$(sed -n 's/^listening //p' "$f"); [ -n "$P" ] && return 0; sleep 0.05
    done
    notok bad_link_proxy "linkproxy did not start: $(cat "$T/proxy.err")"; exit 1
}
start_proxy 0; P0=$P
up=
for _ in $(seq 1 100); do
    inC curl -sf --cacert "$CA" "https://localhost:$P0/v1/health" >/dev/null 2>&1 && { up=1; break; }
    sleep 0.1
done
[ -n "$up" ] || { notok bad_link_server "not reachable across the veth; log: $(tail -n 5 "$T/gridsyncd.log")"; exit 1; }
start_proxy "$DELAY_MS"; P1=$P
DB=$T/dev.db
# enrolled from the client namespace over the undelayed proxy; the device then syncs over
# the delayed one
URL=https://localhost:$P0 T_ADMIN_EXEC="ip netns exec $NS_C" \
    T_DEVICE_URL=https://localhost:$P1 t_enroll "$DB" 东风村3组 张三
R=$(t_gs "$DB" resident add --name 王秀英)

# shape both directions
for side in "$NS_S:$V_S" "$NS_C:$V_C"; do
    ns=${side%%:*} dev=${side#*:}
    ip netns exec "$ns" tc qdisc add dev "$dev" root tbf rate "$RATE" burst 3000 limit 60000 \
        || { notok bad_link_tbf "tc tbf failed on $dev"; exit 1; }
    ip netns exec "$ns" iptables-legacy -A INPUT -i "$dev" -m statistic --mode random \
        --probability "$LOSS" -j DROP || { notok bad_link_loss "iptables-legacy failed"; exit 1; }
done
echo "# link: $RATE tbf each way, ${LOSS} random loss each way (iptables-legacy), ${DELAY_MS} ms proxy delay each way"

n_visit=0
add_visits() { # count
    local i
    for ((i = 0; i < $1; i++)); do
        n_visit=$((n_visit + 1))
        printf '{"type":"visit","resident":"%s","kind":"routine","notes":"第%d次走访：老人精神很好，家中整洁。"}\n' "$R" "$n_visit"
    done >"$T/batch.jsonl"
    t_gs "$DB" import "$T/batch.jsonl" >/dev/null
}
# sync_until_done NAME [CUT]: tries up to 5 times; each try must exit 0 or 4
sync_until_done() {
    local name=$1 cut=${2:-} try rc t0=$SECONDS
    for try in 1 2 3 4 5; do
        ip netns exec "$NS_C" "$GRIDSYNC" --db "$DB" sync >>"$T/sync.out" 2>>"$T/sync.err" &
        local pid=$!
        if [ -n "$cut" ] && [ "$try" = 1 ]; then
            sleep "$CUT_AFTER_S"
            kill -0 "$pid" 2>/dev/null && ok bad_link_cut_lands_mid_sync \
                || notok bad_link_cut_lands_mid_sync "the sync ended before the cut"
            inC ip link set "$V_C" down
            sleep "$CUT_FOR_S"
            inC ip link set "$V_C" up
            inC tc qdisc replace dev "$V_C" root tbf rate "$RATE" burst 3000 limit 60000
        fi
        wait "$pid"
        rc=$?
        case $rc in
        0) echo "# $name: synced in $((SECONDS - t0)) s, $try tr$([ "$try" = 1 ] && echo y || echo ies)"
           ok "bad_link_${name}_completes"; return 0 ;;
        4) echo "# $name: try $try failed cleanly (exit 4) after $((SECONDS - t0)) s: $(tail -n 1 "$T/sync.err")" ;;
        *) notok "bad_link_${name}_clean_failure" "sync exit $rc: $(tail -n 2 "$T/sync.err")"; return 1 ;;
        esac
    done
    notok "bad_link_${name}_completes" "5 tries, none completed"
}
add_visits "$VISITS"
t0=$(date +%s.%N)
sync_until_done "sync_${VISITS}_visits"
secs=$(python3 -c "import time; print('%.1f' % ($(date +%s.%N) - $t0))")
echo "# TIME to sync $VISITS visits over the bad link: $secs s"
add_visits "$CUT_VISITS"
sync_until_done "cut_${CUT_FOR_S}s_mid_sync" cut

# accounting, on a clean link
inS tc qdisc del dev "$V_S" root 2>/dev/null
kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
SDB=$T/town/gridsyncd.db
next=$(t_sql "$DB" "SELECT v FROM meta WHERE k = 'next_seq'")
got=$(sqlite3 -batch -noheader "$SDB" "
    ATTACH '$DB' AS dev;
    SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
      FROM changes WHERE device = '$DEV_ID';
    SELECT count(*) FROM dev.visit WHERE id NOT IN (SELECT id FROM records WHERE tbl = 'visit');
    SELECT count(*) FROM records WHERE tbl = 'visit';
    SELECT count(*) FROM dev.outbox;
    PRAGMA integrity_check; PRAGMA dev.integrity_check;")
mapfile -t r <<<"$got"
want="$((next - 1))|$((next - 1))|1|$((next - 1))"
[ "${r[0]}" = "$want" ] && ok bad_link_nothing_lost_or_doubled \
    || notok bad_link_nothing_lost_or_doubled "server count|distinct|min|max ${r[0]}, want $want"
[ "${r[1]}" = 0 ] && [ "${r[2]}" = "$n_visit" ] && ok bad_link_every_visit_on_server \
    || notok bad_link_every_visit_on_server "${r[1]} missing, server has ${r[2]} of $n_visit"
[ "${r[3]}" = 0 ] && ok bad_link_outbox_empty || notok bad_link_outbox_empty "${r[3]} left"
[ "${r[4]}" = ok ] && [ "${r[5]}" = ok ] && ok bad_link_integrity || notok bad_link_integrity "${r[4]} / ${r[5]}"
for p in "${PROXY_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PROXY_PIDS=()
echo "# proxies: $(grep conns= "$T/proxy.err" | tr '\n' ' ')"
t_done
