#!/usr/bin/env bash
# e2e_faults.sh: nothing lost, nothing doubled when the link or the server fails mid-sync.
#   - kill -9 of gridsyncd while a device pushes a large batch, several times at different
#     moments (before, during and after the server's commit);
#   - the connection cut by tests/tools/linkproxy.py part-way through the request body (the
#     server must not apply a partial request) and part-way through the response (the
#     server has committed, the device never saw the acks);
# after each, the next sync must end with the server holding every change the device
# recorded exactly once (its change log: one row per (device, seq), rows == changes
# recorded) and the device's outbox empty. Where a fault landed is printed as "# ..." lines.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 25 s (90 s under ASan).
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_faults
t_server_init
t_server_start
SRV_DB=$SRV_STORE
PROXY_PID=

srv_count() { # DEVICE-ID: "changes/distinct seqs/records" the server holds from it
    t_sql "$SRV_DB" "SELECT count(*) || '/' || count(DISTINCT seq) FROM changes WHERE device = '$1';"
}
# check_once NAME DB DEVICE-ID N: after a clean sync, the server holds N changes once each
check_once() {
    local got p code
    t_gs "$2" --json sync >"$T/resync.json" 2>"$T/err"; code=$?
    got=$(srv_count "$3"); p=$(e2e_pending "$2")
    if [ $code -eq 0 ] && [ "$got" = "$4/$4" ] && [ "$p" = 0 ]; then ok "$1"
    else notok "$1" "resync exit $code ($(cat "$T/err")); server changes/distinct seqs $got, want $4/$4; outbox pending $p"; fi
}

# --- kill -9 of the server during a sync
t_enroll "$T/k.db" gridA k
K_ID=$DEV_ID
total=0
# Each round pushes 1600 changes in two requests of 800 (--batch 800).
# when: "early" kills 0.1 s after the sync starts (handshake or first request body);
# "commit1" right after the server committed the first batch (its answer or the second
# request in flight); "commit1+" 0.15 s later.
for when in early commit1 commit1+; do
    e2e_import_residents "$T/k.db" 1600 "k$when" || notok faults_setup "import failed"
    total=$((total + 1600))
    base=$(srv_count "$K_ID"); base=${base%%/*}
    t0=$SECONDS
    t_gs "$T/k.db" --json sync --batch 800 >"$T/sync.out" 2>&1 &
    spid=$!
    case $when in
    early) sleep 0.1 ;;
    *)
        for _ in $(seq 1 600); do
            n=$(t_sql "$SRV_DB" "SELECT count(*) FROM changes WHERE device = '$K_ID'" 2>/dev/null)
            [ "${n:-0}" -gt "$base" ] && break
            kill -0 $spid 2>/dev/null || break
            sleep 0.02
        done
        [ $when = commit1+ ] && sleep 0.15
        ;;
    esac
    t_server_kill
    wait $spid; code=$?
    at_kill=$(srv_count "$K_ID")
    echo "# kill -9 ($when, $((SECONDS - t0)) s): client exit $code, server had committed $((${at_kill%%/*} - base)) of the 1600 new changes"
    if [ $code -ne 0 ] && [ $code -ne 4 ]; then
        notok "faults_kill9_${when}_client_exit" "exit $code, want 4 (or 0 when done before the kill): $(cat "$T/sync.out")"
    fi
    t_server_start
    check_once "faults_kill9_${when}_exactly_once" "$T/k.db" "$K_ID" "$total"
done
n=$(t_sql "$SRV_DB" "SELECT count(*) FROM records") 
[ "$n" = "$total" ] && ok faults_kill9_server_records_match || notok faults_kill9_server_records_match "$n records, want $total"
if [ -n "${T_PG_URL:-}" ]; then
    skip faults_kill9_store_integrity "PostgreSQL keeps its own (no integrity_check)"
else
    t_sql "$SRV_DB" "PRAGMA integrity_check" | grep -qx ok && ok faults_kill9_store_integrity \
        || notok faults_kill9_store_integrity "integrity_check failed"
fi

# --- connection cuts through linkproxy
PPORT=$(t_free_port)
proxy_start() { # linkproxy ARGS: forwards 127.0.0.1:PPORT to the server
    $PY "$TOOLS/linkproxy.py" --listen "$PPORT" --target "$PORT" "$@" >"$T/proxy.out" 2>"$T/proxy.err" &
    PROXY_PID=$!
    T_PIDS+=("$PROXY_PID")
    for _ in $(seq 1 100); do grep -q listening "$T/proxy.out" 2>/dev/null && return 0; sleep 0.05; done
    notok faults_proxy_start "linkproxy did not start: $(cat "$T/proxy.err")"
}
proxy_stop() {
    kill -TERM "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=
}
# a device that reaches the server through the proxy (enrolled directly, the proxy is not
# running yet)
T_DEVICE_URL=https://localhost:$PPORT t_enroll "$T/c.db" gridA c
C_ID=$DEV_ID
c_total=0
# cut_case NAME CUT-OPTION N: c pushes 800 new residents and pulls 800 of k's through a
# proxy that cuts the first connection
cut_case() {
    local name=$1 before after code cur0 cur1 p
    e2e_import_residents "$T/c.db" 800 "c$name"
    c_total=$((c_total + 800))
    e2e_import_residents "$T/k.db" 800 "k$name"
    total=$((total + 800))
    t_gs "$T/k.db" sync >/dev/null 2>&1 || notok "faults_${name}_setup" "k sync failed"
    t0=$SECONDS
    before=$(srv_count "$C_ID"); cur0=$(t_gs "$T/c.db" --json status | jq .cursor)
    proxy_start "$2" "$3" --cut-conns 1
    out=$(t_gs "$T/c.db" --json sync 2>"$T/err"); code=$?
    after=$(srv_count "$C_ID"); cur1=$(t_gs "$T/c.db" --json status | jq .cursor)
    p=$(e2e_pending "$T/c.db")
    echo "# $name ($2 $3, $((SECONDS - t0)) s): client exit $code, server changes from c ${before%%/*} -> ${after%%/*}, device cursor $cur0 -> $cur1, pending $p"
    [ $code -eq 4 ] && ok "faults_${name}_exit_4" || notok "faults_${name}_exit_4" "exit $code: $out $(cat "$T/err")"
    if [ "$2" = --cut-up-after ]; then
        [ "$after" = "$before" ] && ok "faults_${name}_partial_request_not_applied" \
            || notok "faults_${name}_partial_request_not_applied" "server changes $before -> $after"
    else
        [ "${after%%/*}" = "$c_total" ] && [ "$p" = "800" ] && ok "faults_${name}_cut_after_commit" \
            || notok "faults_${name}_cut_after_commit" "server changes $after (want $c_total), device pending $p (want 800): the cut did not land in the response"
    fi
    check_once "faults_${name}_exactly_once" "$T/c.db" "$C_ID" "$c_total"
    proxy_stop
    echo "# $name: resync $(jq -c '{requests,pushed,accepted,pulled,bytes_up,bytes_down}' "$T/resync.json"); proxy $(cat "$T/proxy.err")"
    n=$(t_sql "$T/c.db" "SELECT count(*) FROM resident")
    [ "$n" = $((total + c_total)) ] && ok "faults_${name}_pulled_all" \
        || notok "faults_${name}_pulled_all" "c holds $n residents, want $((total + c_total))"
}
# a handshake cut either way is a lost link (exit 4, sync again later), not a certificate
# problem (exit 1): the server's certificate alone is several hundred bytes
for cut in --cut-up-after --cut-down-after; do
    proxy_start $cut 150
    t_gs "$T/c.db" sync >/dev/null 2>"$T/err"; code=$?
    proxy_stop
    echo "# handshake $cut 150: $(cat "$T/err")"
    [ $code -eq 4 ] && ok "faults_handshake_cut${cut#--cut}_exit_4" \
        || notok "faults_handshake_cut${cut#--cut}_exit_4" "exit $code: $(cat "$T/err")"
done

# calibration: the same exchange through an uncut proxy gives the bytes each way on the wire
# (TLS and deflate included), so the cuts below land at chosen fractions of them
proxy_start   # first c catches up with what k pushed above, so the exchange below is typical
t_gs "$T/c.db" sync >/dev/null 2>&1 || notok faults_setup "c catch-up sync failed"
proxy_stop
e2e_import_residents "$T/c.db" 800 "cal"; c_total=$((c_total + 800))
e2e_import_residents "$T/k.db" 800 "kcal"; total=$((total + 800))
t_gs "$T/k.db" sync >/dev/null 2>&1
proxy_start
check_once faults_proxy_uncut_exactly_once "$T/c.db" "$C_ID" "$c_total"
proxy_stop
UP=$(grep -o 'up=[0-9]*' "$T/proxy.err" | cut -d= -f2); DOWN=$(grep -o 'down=[0-9]*' "$T/proxy.err" | cut -d= -f2)
echo "# one exchange of 800 changes each way: ${UP:-?} bytes up, ${DOWN:-?} bytes down on the wire"
if [ "${UP:-0}" -gt 5000 ] && [ "${DOWN:-0}" -gt 5000 ]; then
    # the TLS handshake is under 2 KB each way: 25% of the bytes is inside the body
    cut_case cut_up_quarter --cut-up-after $((UP / 4))
    cut_case cut_up_three_quarters --cut-up-after $((UP * 3 / 4))
    cut_case cut_down_quarter --cut-down-after $((DOWN / 4))
    cut_case cut_down_three_quarters --cut-down-after $((DOWN * 3 / 4))
else
    notok faults_proxy_calibration "proxy counted up=${UP:-?} down=${DOWN:-?}: $(cat "$T/proxy.err")"
fi
t_done
