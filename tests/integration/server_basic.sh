#!/usr/bin/env bash
# server_basic.sh: gridsyncd end to end on 127.0.0.1 with real TLS and curl:
#   init (files, modes, refusal to re-init, roll-back after a late failure),
#   --help/--version/usage exit codes, a bad config refused with exit 2, /v1/health and
#   /metrics over HTTPS verified against DIR/ca.pem, TLS 1.1 refused, a wrong CA refused,
#   keep-alive reuse (two URLs, one connection), 431 for a head over the limit, 413 for a
#   body over the limit (with and without Expect: 100-continue), a chunked upload, no
#   secret in the log, SIGTERM -> exit 0.
# Prints "ok NAME" / "not ok NAME: why" per check (tests/integration/lib.sh); kills its
# server and removes its files on any exit (KEEP=1 keeps them).
set -u
. "$(dirname "$0")/lib.sh"
t_setup server_basic
bin=$GRIDSYNCD
tmp=$T

if ! command -v curl >/dev/null; then
    skip server_basic "curl is not installed"
    exit 0
fi

# ---- command line -----------------------------------------------------------------------
"$bin" --version >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -qE '^gridsyncd [0-9]+\.[0-9]+' "$tmp/out"; then ok version
else notok version "exit $rc, output $(head -c 200 "$tmp/out")"; fi
"$bin" --help >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'init --dir' "$tmp/out"; then ok help; else notok help "exit $rc"; fi
"$bin" --bogus >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok usage_exit_2 || notok usage_exit_2 "exit $rc, want 2"
"$bin" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok no_config_exit_2 || notok no_config_exit_2 "exit $rc, want 2"

# ---- init -------------------------------------------------------------------------------
# the server's own init is checked here, so the script runs it rather than t_server_init
dir=$tmp/town
"$bin" init --dir "$dir" >"$tmp/token" 2>"$tmp/init.err"
rc=$?
if [ $rc -ne 0 ]; then
    notok init "exit $rc: $(cat "$tmp/init.err")"
    exit 1
fi
ok init
token=$(cat "$tmp/token")
t_server_use "$dir" "$token"
[ "$(wc -l <"$tmp/token")" -eq 1 ] && [ ${#token} -ge 20 ] && ok init_token_on_stdout \
    || notok init_token_on_stdout "stdout was: $(head -c 200 "$tmp/token")"
modes=$(stat -c '%n %a' "$dir" "$dir/ca.key" "$dir/server.key" "$dir/admin.conf" \
        "$dir/ca.pem" "$dir/server.pem" 2>&1 | sed "s|$dir|DIR|" | tr '\n' ' ')
want_modes="DIR 700 DIR/ca.key 600 DIR/server.key 600 DIR/admin.conf 600 DIR/ca.pem 644 DIR/server.pem 644 "
[ "$modes" = "$want_modes" ] && ok init_file_modes || notok init_file_modes "$modes"
grep -q "^token = $token\$" "$dir/admin.conf" && grep -q '^server = https://localhost:8443$' \
    "$dir/admin.conf" && grep -q "^ca = $dir/ca.pem\$" "$dir/admin.conf" \
    && ok init_admin_conf || notok init_admin_conf "$(grep -v token "$dir/admin.conf")"
grep -q '^listen = 127.0.0.1:8443$' "$dir/gridsyncd.conf" && ok init_config \
    || notok init_config "no listen line"
sum_before=$(cat "$dir/ca.key" "$dir/server.key" "$dir/admin.conf" "$dir/gridsyncd.db" | sha256sum)
"$bin" init --dir "$dir" >"$tmp/out2" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'already initialised' "$tmp/out2" && ok init_refuses_existing \
    || notok init_refuses_existing "exit $rc: $(head -c 200 "$tmp/out2")"
sum_after=$(cat "$dir/ca.key" "$dir/server.key" "$dir/admin.conf" "$dir/gridsyncd.db" | sha256sum)
[ "$sum_before" = "$sum_after" ] && ok init_kept_files || notok init_kept_files "files changed"
"$bin" init --dir "$tmp/bad" --hostname 'not a host' >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/bad" ] && ok init_bad_hostname || notok init_bad_hostname "exit $rc"
# a failure once DIR exists removes what init made: DIR too when init made it (a 243-byte
# host name passes the name check, not the CA's subject name), or, in a DIR that was there,
# the CA, certificates, store and config when admin.conf cannot be written (a dangling link)
long=$(printf '%060d.' 0 0 0 | tr 0 a)$(printf '%060d' 0 | tr 0 b)
"$bin" init --dir "$tmp/long" --hostname "$long" >"$tmp/long.out" 2>&1
rc=$?
[ $rc -eq 1 ] && [ ! -e "$tmp/long" ] && ok init_rolls_back_made_dir \
    || notok init_rolls_back_made_dir \
        "exit $rc: $(head -c 200 "$tmp/long.out"); left: $(ls -A "$tmp/long" 2>&1)"
mkdir "$tmp/late" && ln -s "$tmp/nowhere/admin.conf" "$tmp/late/admin.conf"
"$bin" init --dir "$tmp/late" >"$tmp/late.token" 2>"$tmp/late.err"
rc=$?
left=$(ls -A "$tmp/late" | grep -vx admin.conf | tr '\n' ' ')
[ $rc -eq 1 ] && [ -d "$tmp/late" ] && [ -z "$left" ] && [ ! -s "$tmp/late.token" ] \
    && grep -q 'admin.conf' "$tmp/late.err" && ok init_rolls_back_files \
    || notok init_rolls_back_files "exit $rc, left: $left, stderr: $(head -c 200 "$tmp/late.err")"

# a second, unrelated server folder: its CA must not be trusted for ours
"$bin" init --dir "$tmp/other" >/dev/null 2>&1 || notok other_init "second init failed"

# ---- bad config -------------------------------------------------------------------------
printf 'workers = 2\nwrokers = 3\n' >"$tmp/bad.conf"
"$bin" --config "$tmp/bad.conf" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'bad.conf:2: unknown key' "$tmp/out" && ok bad_config_exit_2 \
    || notok bad_config_exit_2 "exit $rc: $(head -c 300 "$tmp/out")"

# ---- serve ------------------------------------------------------------------------------
# a small head and body limit so the limit checks need little data
sed -i 's/^max_header_bytes = .*/max_header_bytes = 8192/; s/^max_body_bytes = .*/max_body_bytes = 1048576/' \
    "$dir/gridsyncd.conf"
log=$tmp/gridsyncd.log
t_server_start
grep -q "listening on 127\.0\.0\.1:$PORT" "$log" && ok start \
    || notok start "no 'listening on' line: $(tail -n 5 "$log")"
port=$PORT
url=$URL
c() { curl -sS --max-time 10 --cacert "$dir/ca.pem" "$@"; }
metric() { c "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

body=$(c "$url/v1/health")
[[ $body == '{"status":"ok","version":"'*'"}' ]] && ok health || notok health "body: $body"
code=$(c -o /dev/null -w '%{http_code}' -X POST --data x "$url/v1/health")
[ "$code" = 405 ] && ok health_post_405 || notok health_post_405 "status $code"
c "$url/metrics" >"$tmp/metrics"
grep -q '^gridsyncd_http_requests_total [0-9]' "$tmp/metrics" \
    && grep -q '^gridsyncd_request_duration_seconds_bucket{le="+Inf"} [0-9]' "$tmp/metrics" \
    && grep -q '^# TYPE gridsyncd_connections_open gauge' "$tmp/metrics" \
    && ok metrics || notok metrics "$(head -c 300 "$tmp/metrics")"
proto=$(c -o /dev/null -w '%{ssl_verify_result} %{http_version}' "$url/v1/health")
[ "$proto" = "0 1.1" ] && ok tls_verified_http11 || notok tls_verified_http11 "$proto"
cipher=$(curl -sS -v --cacert "$dir/ca.pem" -o /dev/null "$url/v1/health" 2>&1 | grep -o 'SSL connection using [^ ]* / [^ ]*')
case "$cipher" in
    *TLSv1.2\ /\ ECDHE-ECDSA-CHACHA20-POLY1305*|*TLSv1.2\ /\ ECDHE-ECDSA-AES*GCM*) ok tls_suite ;;
    *) notok tls_suite "$cipher" ;;
esac

# TLS 1.1 and older must be refused by the server (the client is told to allow them)
before=$(metric gridsyncd_tls_handshake_failures_total)
curl -sS --max-time 10 --cacert "$dir/ca.pem" --tlsv1.0 --tls-max 1.1 \
    --ciphers 'DEFAULT:@SECLEVEL=0' -o /dev/null "$url/v1/health" 2>"$tmp/tls11.err"
rc=$?
after=$(metric gridsyncd_tls_handshake_failures_total)
if [ $rc -ne 0 ] && [ "${after:-0}" -gt "${before:-0}" ]; then ok tls11_refused
else notok tls11_refused "curl exit $rc, failures $before -> $after: $(cat "$tmp/tls11.err")"; fi
# a CBC-only client must be refused too
curl -sS --max-time 10 --cacert "$dir/ca.pem" --tls-max 1.2 \
    --ciphers 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA' -o /dev/null \
    "$url/v1/health" 2>/dev/null
rc=$?
[ $rc -ne 0 ] && ok cbc_refused || notok cbc_refused "curl exit $rc"

curl -sS --max-time 10 --cacert "$tmp/other/ca.pem" -o /dev/null "$url/v1/health" 2>"$tmp/ca.err"
rc=$?
[ $rc -eq 60 ] && ok wrong_ca_refused || notok wrong_ca_refused "curl exit $rc: $(cat "$tmp/ca.err")"
curl -sS --max-time 10 --cacert "$dir/ca.pem" --resolve "wrong.example:$port:127.0.0.1" \
    -o /dev/null "https://wrong.example:$port/v1/health" 2>/dev/null
rc=$?
[ $rc -eq 60 ] && ok wrong_name_refused || notok wrong_name_refused "curl exit $rc"
code=$(c -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/v1/health")
[ "$code" = 200 ] && ok ip_in_san || notok ip_in_san "status $code"

# keep-alive: two URLs in one curl run share one connection
conns=$(c -o /dev/null -o /dev/null -w '%{num_connects} ' "$url/v1/health" "$url/metrics")
[ "$conns" = "1 0 " ] && ok keepalive_reuse || notok keepalive_reuse "num_connects: $conns"
before=$(metric gridsyncd_connections_total)
c -o /dev/null -o /dev/null -o /dev/null "$url/v1/health" "$url/v1/health" "$url/v1/health"
after=$(metric gridsyncd_connections_total)
# the two metric reads are one connection each, the three requests one more
[ $((after - before)) -eq 2 ] && ok keepalive_metrics || notok keepalive_metrics "$before -> $after"
# Connection: close is honoured
hdr=$(c -D - -o /dev/null -H 'Connection: close' "$url/v1/health" | tr -d '\r' | grep -i '^connection:')
[ "$hdr" = "Connection: close" ] && ok connection_close || notok connection_close "$hdr"
# HTTP/1.0 closes
hdr=$(c -D - -o /dev/null --http1.0 "$url/v1/health" | tr -d '\r' | grep -i '^connection:')
[ "$hdr" = "Connection: close" ] && ok http10_closes || notok http10_closes "$hdr"

# limits
big=$(head -c 9000 /dev/zero | tr '\0' a)
code=$(c -o "$tmp/431" -w '%{http_code}' -H "X-Big: $big" "$url/v1/health")
[ "$code" = 431 ] && grep -q header_too_large "$tmp/431" && ok header_431 \
    || notok header_431 "status $code: $(head -c 200 "$tmp/431")"
head -c $((1024 * 1024 + 1)) /dev/zero >"$tmp/big.bin"
code=$(c -o "$tmp/413" -w '%{http_code} %{size_upload}' -H 'Content-Type: application/vnd.msgpack' \
       --data-binary @"$tmp/big.bin" "$url/v1/sync")
case "$code" in
    "413 0") ok body_413_before_upload ;;
    *) notok body_413_before_upload "status and bytes uploaded: $code" ;;
esac
# the error body of /v1/sync is a MessagePack Error (fixmap of 2, "err", "too_large")
if head -c 15 "$tmp/413" | od -An -tx1 | tr -d ' \n' | grep -q '^82a3657272a9746f6f5f6c61726765$'; then
    ok body_413_msgpack_error
else
    notok body_413_msgpack_error "$(od -An -tx1 "$tmp/413" | head -n 2)"
fi
code=$(c -o /dev/null -w '%{http_code}' -H 'Expect:' -H 'Content-Type: application/vnd.msgpack' \
       --data-binary @"$tmp/big.bin" "$url/v1/sync")
[ "$code" = 413 ] && ok body_413_without_expect || notok body_413_without_expect "status $code"
# a chunked body within the limit reaches the application (which answers it, not 4xx framing)
code=$(printf 'x' | c -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
       -H 'Content-Type: application/json' --data-binary @- "$url/v1/admin/nothing")
case "$code" in 400|411|413|431|5*) notok chunked_upload "status $code" ;; *) ok chunked_upload ;; esac

# secrets never reach the log
secret="S3cr3t$RANDOM$RANDOM"
c -o /dev/null -H "Authorization: Bearer tok$secret" -H "Cookie: sid=ck$secret" \
    "$url/v1/health?token=q$secret"
c -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/vnd.msgpack' \
    --data-binary 'zz' "$url/v1/sync"
if grep -q -e "$secret" -e "$token" "$log"; then
    notok log_has_no_secrets "$(grep -e "$secret" -e "$token" "$log" | head -n 2)"
else
    ok log_has_no_secrets
fi
grep -qE '127\.0\.0\.1:[0-9]+ GET /v1/health 200 in=[0-9]+ out=[0-9]+ ms=[0-9]+' "$log" \
    && ok log_line_format || notok log_line_format "$(grep 'GET /v1/health' "$log" | head -n 1)"

# graceful stop (not t_server_stop: its exit code is checked)
kill -TERM "$SERVER_PID"
t0=$(date +%s%N)
for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    notok sigterm_exit_0 "still running 5 s after SIGTERM"
else
    wait "$SERVER_PID"
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $rc -eq 0 ] && ok sigterm_exit_0 || notok sigterm_exit_0 "exit $rc after ${ms} ms"
    SERVER_PID=
fi
grep -q 'stopped by SIGTERM' "$log" && ok sigterm_logged || notok sigterm_logged "$(tail -n 3 "$log")"

t_done
