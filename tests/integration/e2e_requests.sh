#!/usr/bin/env bash
# e2e_requests.sh: what a sync costs on the wire, from `gridsync --json sync`.
#   - a sync with nothing to do is exactly ONE HTTP request;
#   - 1000 changes with --batch 100 go in 10 requests over ONE connection (keep-alive and
#     the TLS session reused), all accepted, outbox empty;
#   - the other device pulls them (one page) and its next sync is one request again;
#   - the byte counts the summary reports (HTTP headers and bodies as sent, after deflate)
#     agree with what a TCP proxy in the path counts (TLS records): never more, and less
#     only by the TLS handshake and record overhead; for a no-op sync, a small push (body
#     sent with the headers) and a large push and pull.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 8 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_requests
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
expect() { # NAME JSON JQ-CONDITION
    if jq -e "$3" <<<"$2" >/dev/null 2>&1; then ok "$1"; else notok "$1" "want $3, got $2"; fi
}

s=$(t_gs "$T/a1.db" --json sync 2>"$T/err")
expect req_noop_sync_is_one_request "$s" '.ok and .requests == 1 and .connects == 1 and .pushed == 0'
e2e_import_residents "$T/a1.db" 1000 r || notok req_setup "import failed"
s=$(t_gs "$T/a1.db" --json sync --batch 100 2>"$T/err")
expect req_batch100_of_1000_is_10_requests "$s" '.ok and .requests == 10 and .pushed == 1000 and .accepted == 1000'
expect req_batch_one_connection_reused "$s" '.connects == 1'
[ "$(e2e_pending "$T/a1.db")" = 0 ] && ok req_batch_outbox_empty || notok req_batch_outbox_empty "pending $(e2e_pending "$T/a1.db")"
n=$(t_sql "$SRV_STORE" "SELECT count(*) || '/' || count(DISTINCT seq) FROM changes")
[ "$n" = 1000/1000 ] && ok req_server_holds_1000_changes_once || notok req_server_holds_1000_changes_once "changes/distinct seqs $n"
s=$(t_gs "$T/a1.db" --json sync 2>"$T/err")
expect req_noop_after_push_is_one_request "$s" '.ok and .requests == 1 and .pulled == 0'
s=$(t_gs "$T/a2.db" --json sync 2>"$T/err")
expect req_pull_1000 "$s" '.ok and .pulled == 1000 and .connects == 1'
s=$(t_gs "$T/a2.db" --json sync 2>"$T/err")
expect req_noop_after_pull_is_one_request "$s" '.ok and .requests == 1 and .pulled == 0'
# ---- byte counts against a proxy's count of the TLS bytes
"$PY" "$TOOLS/linkproxy.py" --listen 0 --target "$PORT" >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY_PID=$!
T_PIDS+=("$PROXY_PID")
for _ in $(seq 1 100); do
    PROXY_PORT=$(awk '/listening/ {print $2}' "$T/proxy.out")
    [ -n "$PROXY_PORT" ] && break
    sleep 0.05
done
# b1 and b2 reach the server through the proxy; their enrolment does not
T_DEVICE_URL=https://localhost:$PROXY_PORT t_enroll "$T/b1.db" gridB b1
T_DEVICE_URL=https://localhost:$PROXY_PORT t_enroll "$T/b2.db" gridB b2
app_up=0 app_down=0
count_sync() { # NAME DB [ARGS]: syncs through the proxy, adds the summary's bytes
    local s
    s=$(t_gs "$2" --json sync "${@:3}" 2>"$T/err") || { notok "$1" "sync failed: $(cat "$T/err")"; return; }
    app_up=$((app_up + $(jq .bytes_up <<<"$s"))); app_down=$((app_down + $(jq .bytes_down <<<"$s")))
    ok "$1"
}
count_sync bytes_noop_sync "$T/b1.db"
t_gs "$T/b1.db" resident add --name 张桂兰 --address 东关村2组 >/dev/null
count_sync bytes_small_push "$T/b1.db"
e2e_import_residents "$T/b1.db" 3000 big || notok bytes_setup "import failed"
count_sync bytes_large_push "$T/b1.db"
count_sync bytes_large_pull "$T/b2.db"
kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null
read -r tls_up tls_down < <(sed -n 's/.*up=\([0-9]*\) down=\([0-9]*\).*/\1 \2/p' "$T/proxy.err")
echo "# app bytes up/down $app_up/$app_down; TLS bytes through the proxy ${tls_up:-?}/${tls_down:-?} (4 syncs, 4 connections)"
# overhead: 4 handshakes (a few KB each way) and ~29 bytes per TLS record of <= 16 KB
within() { [ -n "$2" ] && [ "$1" -gt 0 ] && [ "$1" -le "$2" ] && [ $(($2 - $1)) -le $((4 * 4096 + $2 / 100)) ]; }
within "$app_up" "$tls_up" && ok bytes_up_match_the_wire || notok bytes_up_match_the_wire "app $app_up, TLS ${tls_up:-?}"
within "$app_down" "$tls_down" && ok bytes_down_match_the_wire || notok bytes_down_match_the_wire "app $app_down, TLS ${tls_down:-?}"
t_done
