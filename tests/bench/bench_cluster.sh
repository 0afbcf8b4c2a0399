#!/usr/bin/env bash
# bench_cluster.sh: issue 20's figures in one run. The same load (tests/bench/cluster_load.py:
# 100 devices pushing 200 changes each at once, a pull of 5,000 changes, 200 syncs at the
# same moment) through haproxy in TCP mode in front of: gridsyncd on SQLite (one process),
# then on PostgreSQL 15 with 1, 2 and 3 processes (a throwaway cluster, fsync on).
# One JSON line per figure; skips (one line, exit 0) without PostgreSQL 15 or haproxy.
set -u
BUILD=${BUILD:-build/release}
BIN=$(cd "$BUILD/bin" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PGTMP=$HERE/../tools/pgtmp.sh
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || ! command -v haproxy >/dev/null; then
    echo '{"bench":"cluster","skipped":"PostgreSQL 15 or haproxy is not installed"}'
    exit 0
fi
T=$(mktemp -d /tmp/gs_bench_cluster.XXXXXX)
chmod 711 "$T"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    pids=()
    [ -d "$T/pg" ] && "$PGTMP" stop "$T/pg"
}
trap 'cleanup; rm -rf "$T"' EXIT
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # LABEL PROCESSES [STORE-URL]
    local label=$1 n=$2 url=${3:-} front dir=$T/$1-$2 token
    front=$(port)
    token=$("$BIN/gridsyncd" init --dir "$dir" --hostname localhost ${url:+--store "$url"} 2>/dev/null) || {
        echo "{\"bench\":\"cluster\",\"error\":\"init $label failed\"}"; return 1; }
    # the figures are the server's: no rules sweep, no per-request log lines
    # behind haproxy every connection comes from its address: the per-address cap is off
    sed -i 's/^log_level = .*/log_level = warn/; s/^max_connections_per_address = .*/max_connections_per_address = 65536/' "$dir/gridsyncd.conf"
    {
        printf 'global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 2s\n'
        printf '  timeout client 120s\n  timeout server 120s\nfrontend f\n  bind 127.0.0.1:%s\n' "$front"
        printf '  default_backend b\nbackend b\n  balance roundrobin\n'
    } >"$dir/haproxy.cfg"
    for i in $(seq 1 "$n"); do
        p=$(port)
        "$BIN/gridsyncd" --config "$dir/gridsyncd.conf" --listen "127.0.0.1:$p" >>"$dir/g$i.log" 2>&1 &
        pids+=($!)
        echo "  server g$i 127.0.0.1:$p" >>"$dir/haproxy.cfg"
        for _ in $(seq 1 200); do curl -sf --cacert "$dir/ca.pem" "https://localhost:$p/v1/health" >/dev/null && break; sleep 0.05; done
    done
    haproxy -db -f "$dir/haproxy.cfg" >/dev/null 2>&1 &
    pids+=($!)
    sleep 0.3
    "$PY" "$HERE/cluster_load.py" --url "https://localhost:$front" --ca "$dir/ca.pem" \
        --admin-token "$token" --label "$label" --processes "$n"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    pids=()
}

run sqlite 1
url=$("$PGTMP" start "$T/pg") || { echo '{"bench":"cluster","error":"pgtmp start failed"}'; exit 1; }
for n in 1 2 3; do
    db=gs$n
    runuser -u postgres -- createdb -h "$T/pg" "$db" 2>/dev/null || createdb -h "$T/pg" "$db"
    run postgresql "$n" "${url/\/gridsync?/\/$db?}"
done
