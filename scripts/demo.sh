#!/usr/bin/env bash
# make demo: gridsync from nothing, on this machine, in a temporary folder.
#
# A town server is set up (local CA, certificate, store, admin token), two grid workers'
# handhelds are enrolled, both record visits and care requests while the server is down,
# the server comes up, they sync over TLS, then both edit the same care request offline: the
# server settles the conflict, an admin reviews and overrules it, and both handhelds end with
# the same data. Everything printed comes from the real programs.
set -euo pipefail

BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
KEEP=${KEEP:-}
work=$(mktemp -d /tmp/gridsync-demo.XXXXXX)
server_pid=

cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [ -n "$KEEP" ]; then echo "(kept $work)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="https://localhost:$port"

start_server() {
    "$BIN/gridsyncd" --config "$work/town/gridsyncd.conf" --listen "127.0.0.1:$port" \
        >>"$work/gridsyncd.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf --cacert "$work/town/ca.pem" "$url/v1/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "gridsyncd did not start; its log:"; cat "$work/gridsyncd.log"; exit 1
}
stop_server() {
    kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
}

step "1. A town server from nothing: gridsyncd init"
run "$BIN/gridsyncd" init --dir "$work/town" --hostname localhost
ls -l "$work/town"
start_server
echo "gridsyncd is listening on $url (TLS 1.2+, certificate from the local CA)"
admin=("$BIN/gridsync-admin" --config "$work/town/admin.conf" --server "$url")

step "2. The admin enrolls two grid workers' handhelds for grid 西华-东关-01"
# the admin shows a QR code (an enrolment code valid 24 h, the server, the CA's fingerprint);
# the handheld scans it: here, its text is passed to `gridsync enroll`
enroll() { # name db
    local out uri
    out=$("${admin[@]}" device add --grid 西华-东关-01 --name "$1")
    [ "$1" = 王芳 ] && echo "$out"
    uri=$(grep -o "gridsync://enroll?[^ ']*" <<<"$out" | head -n 1)
    "$BIN/gridsync" --db "$2" enroll "$uri"
}
A="$work/wangfang.db"; B="$work/liqiang.db"
enroll 王芳 "$A"
enroll 李强 "$B"
ga=("$BIN/gridsync" --db "$A"); gb=("$BIN/gridsync" --db "$B")

step "3. The server goes down (no signal in the village); both keep working offline"
stop_server
res=$("${ga[@]}" resident add --name 张秀兰 --address "东关村3组12号" --born 1941 \
      --tag lives_alone --tag elderly)
echo "王芳 registered 张秀兰: $res"
run "${ga[@]}" visit add --resident "$res" --kind elderly_checkin \
    --notes "独居老人，血压偏高，药快吃完了，需要帮忙买药" --follow-up --lat 33.79 --lon 114.52
care=$("${ga[@]}" care add --resident "$res" --category health_check --priority urgent \
       --notes "请村医上门复查血压")
echo "王芳 logged care request $care"
res2=$("${gb[@]}" resident add --name 刘德明 --address "东关村5组3号" --born 1950 --tag disabled)
run "${gb[@]}" visit add --resident "$res2" --kind routine --notes "家中一切正常，院墙有裂缝" 
run "${ga[@]}" status
echo
echo "王芳 tries to sync with no server:"
set +e; "${ga[@]}" sync; code=$?; set -e
echo "(exit $code: server unreachable, nothing lost)"

step "4. The link comes back: both sync over TLS"
start_server
run "${ga[@]}" sync
run "${gb[@]}" sync
run "${ga[@]}" sync
echo; echo "王芳's handheld now holds:"; "${ga[@]}" list residents
echo; echo "李强's handheld now holds:"; "${gb[@]}" list residents; "${gb[@]}" list care

step "5. A conflict: both edit the same care request offline"
"${gb[@]}" sync >/dev/null
run "${ga[@]}" care update "$care" --assignee 王芳 --status assigned
sleep 0.05
run "${gb[@]}" care update "$care" --assignee 李强 --notes "请村医上门复查血压；已联系村卫生室"
run "${ga[@]}" sync
run "${gb[@]}" sync
run "${ga[@]}" sync
echo; echo "Both handhelds agree (different fields both kept; the same field settled by last writer):"
echo "-- 王芳:"; "${ga[@]}" show "$care"
echo "-- 李强:"; "${gb[@]}" show "$care"

step "6. The admin reviews the conflict and overrules the automatic choice"
run "${admin[@]}" conflicts list
cid=$("${admin[@]}" --json conflicts list | python3 -c 'import json,sys; print(json.load(sys.stdin)["conflicts"][0]["id"])')
run "${admin[@]}" conflicts show "$cid"
run "${admin[@]}" conflicts resolve "$cid" --keep other --note "王芳负责东关村3组"
run "${ga[@]}" sync
run "${gb[@]}" sync
echo; echo "After the resolution reached both handhelds:"
echo "-- 王芳:"; "${ga[@]}" show "$care" | grep -E 'assignee|负责人'
echo "-- 李强:"; "${gb[@]}" show "$care" | grep -E 'assignee|负责人'
run "${admin[@]}" status

step "7. Stopping the server"
stop_server
echo "done. Server log: $(grep -c ' /v1/sync ' "$work/gridsyncd.log" || true) sync requests served"
