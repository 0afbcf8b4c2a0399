#!/usr/bin/env bash
# cert_renew.sh: issue 17 point 3, end to end. A town whose certificate was issued 100 days
# ago (libfaketime at init) serves three devices that sync in a loop; `gridsyncd cert renew`
# runs while they sync; the server keeps serving the old certificate until SIGHUP, then new
# connections (openssl s_client, and every device sync) get the new serial, valid 397 days,
# still trusted through the CA the devices pinned at enrolment (ca.pem unchanged), while a
# keep-alive connection opened before the SIGHUP goes on working. Every sync exits 0
# throughout. gridsyncd_cert_expiry_seconds follows the served certificate; a pair that
# does not load is refused at SIGHUP and the server goes on. A second town whose CA ends
# in about a month: renew caps the certificate at the CA's end and says so, and the server
# warns at start. Bad usage: exit 2; no CA key: exit 1. A certificate made elsewhere (an
# e-mail SAN) is served, and renew refuses it (exit 1) rather than drop a name.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 20 s.
. "$(dirname "$0")/lib.sh"
t_setup cert_renew
DAY=86400
FT=$(t_faketime_exec -100d)

# ---- a town initialised 100 days ago ----------------------------------------------------
if [ -n "$FT" ]; then
    # shellcheck disable=SC2086 # FT is a command prefix
    token=$($FT "$GRIDSYNCD" init --dir "$T/town" --hostname localhost 2>"$T/init.err") || {
        echo "not ok init: $(cat "$T/init.err")"; exit 1; }
    t_server_use "$T/town" "$token"
else
    skip aged_init "libfaketime not installed: the old certificate is as new as the renewed one"
    t_server_init
fi
t_server_start

served() { # FIELD: what a new TLS connection is shown (serial, or enddate as Unix time)
    local pem
    pem=$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$CA" \
        -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null) || return 1
    case $1 in
    serial) openssl x509 -noout -serial <<<"$pem" | cut -d= -f2 ;;
    end) date -u -d "$(openssl x509 -noout -enddate <<<"$pem" | cut -d= -f2)" +%s ;;
    esac
}
expiry_metric() {
    curl -sf --cacert "$CA" "$URL/metrics" | awk '$1 == "gridsyncd_cert_expiry_seconds" {print $2}'
}
near() { # VALUE WANT TOLERANCE
    [ -n "$1" ] && [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]
}

CA_SUM=$(sha256sum <"$CA")
OLD_SERIAL=$(served serial)
OLD_END=$(served end)
NOW=$(date +%s)
[ -n "$OLD_SERIAL" ] && ok old_cert_served || notok old_cert_served "s_client saw nothing"
if [ -n "$FT" ]; then
    near "$OLD_END" $((NOW + 297 * DAY)) $((DAY + 600)) && ok old_cert_397_days_from_init \
        || notok old_cert_397_days_from_init "notAfter $(date -u -d "@$OLD_END") ($(((OLD_END - NOW) / DAY)) days)"
fi
M=$(expiry_metric)
near "$M" $((OLD_END - NOW)) 60 && ok metric_old_cert \
    || notok metric_old_cert "gridsyncd_cert_expiry_seconds '$M', notAfter in $((OLD_END - NOW)) s"

# ---- devices syncing in a loop --------------------------------------------------------
for d in a b c; do t_enroll "$T/$d.db" gridA "$d"; done
loop() { # DB NAME: add, sync, note the exit status, until $T/stop exists
    local i=0 rc
    while [ ! -e "$T/stop" ]; do
        i=$((i + 1))
        t_gs "$1" resident add --name "$2-$i" --born 1950 >/dev/null 2>>"$T/loop_$2.err"
        t_gs "$1" sync >/dev/null 2>>"$T/loop_$2.err"
        rc=$?
        echo "$rc $(date +%s.%N)" >>"$T/loop_$2.rcs"
    done
}
for d in a b c; do
    loop "$T/$d.db" "$d" &
    T_PIDS+=($!)
done
n_syncs() { cat "$T"/loop_*.rcs 2>/dev/null | wc -l; }
wait_syncs() { # N: until N more syncs are done (at most 30 s)
    local want=$(($(n_syncs) + $1))
    for _ in $(seq 1 300); do [ "$(n_syncs)" -ge "$want" ] && return 0; sleep 0.1; done
    return 1
}
wait_syncs 6 || notok loops_started "only $(n_syncs) syncs"

# a keep-alive connection opened before the renewal, used again after the SIGHUP
cat >"$T/keepalive.py" <<'PY'
import http.client, os, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx, timeout=30)
c.request("GET", "/v1/health"); r = c.getresponse(); r.read()
der = c.sock.getpeercert(binary_form=True)
open(sys.argv[3] + ".der", "wb").write(der)
print("first", r.status, flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
c.request("GET", "/v1/health"); r = c.getresponse(); r.read()
same = c.sock.getpeercert(binary_form=True) == der
print("second", r.status, "same-connection" if same else "other", flush=True)
PY
"$PY" "$T/keepalive.py" "$PORT" "$CA" "$T/go" >"$T/keepalive.out" 2>&1 &
KA_PID=$!
T_PIDS+=($KA_PID)
for _ in $(seq 1 100); do grep -q first "$T/keepalive.out" && break; sleep 0.05; done

# ---- renew while the devices sync -------------------------------------------------------
out=$("$GRIDSYNCD" cert renew --config "$T/town/gridsyncd.conf" 2>&1) && ok renew_runs \
    || notok renew_runs "exit $?: $out"
grep -q "valid until" <<<"$out" && ok renew_says_until || notok renew_says_until "$out"
NEW_SERIAL=$(openssl x509 -in "$T/town/server.pem" -noout -serial | cut -d= -f2)
[ "$NEW_SERIAL" != "$OLD_SERIAL" ] && ok renew_new_serial || notok renew_new_serial "$NEW_SERIAL"
[ "$(stat -c %a "$T/town/server.key")" = 600 ] && [ "$(stat -c %a "$T/town/server.pem")" = 644 ] \
    && ok renew_modes || notok renew_modes "$(stat -c '%n %a' "$T"/town/server.*)"
ls "$T"/town/*renew-tmp >/dev/null 2>&1 && notok renew_no_tmp "$(ls "$T/town")" || ok renew_no_tmp
openssl verify -CAfile "$CA" "$T/town/server.pem" >/dev/null 2>&1 && ok renewed_trusted_by_ca \
    || notok renewed_trusted_by_ca "$(openssl verify -CAfile "$CA" "$T/town/server.pem" 2>&1)"
# the running server is not told yet: it still serves the old one
[ "$(served serial)" = "$OLD_SERIAL" ] && ok old_cert_until_sighup \
    || notok old_cert_until_sighup "served $(served serial)"
wait_syncs 3 || notok syncs_after_renew "stalled at $(n_syncs)"

# ---- SIGHUP -----------------------------------------------------------------------------
kill -HUP "$SERVER_PID"
seen=
for _ in $(seq 1 50); do
    seen=$(served serial)
    [ "$seen" = "$NEW_SERIAL" ] && break
    sleep 0.1
done
# the check that fails if the server went on serving the old certificate
[ "$seen" = "$NEW_SERIAL" ] && ok new_cert_after_sighup \
    || notok new_cert_after_sighup "new connections still see serial $seen, want $NEW_SERIAL"
NOW=$(date +%s)
END=$(served end)
near "$END" $((NOW + 397 * DAY)) 600 && ok new_cert_397_days \
    || notok new_cert_397_days "notAfter $(date -u -d "@${END:-0}") ($(((${END:-0} - NOW) / DAY)) days)"
M=$(expiry_metric)
near "$M" $((END - NOW)) 60 && ok metric_new_cert \
    || notok metric_new_cert "gridsyncd_cert_expiry_seconds '$M', notAfter in $((END - NOW)) s"
grep -q "SIGHUP: new connections get certificate serial $NEW_SERIAL" "$T/gridsyncd.log" \
    && ok sighup_logged || notok sighup_logged "$(grep SIGHUP "$T/gridsyncd.log")"
kill -0 "$SERVER_PID" 2>/dev/null && ok server_still_up || notok server_still_up "gridsyncd is gone"

touch "$T/go"
wait "$KA_PID"
grep -q "second 200 same-connection" "$T/keepalive.out" && ok open_connection_kept \
    || notok open_connection_kept "$(cat "$T/keepalive.out")"
openssl x509 -inform DER -in "$T/go.der" -noout -serial 2>/dev/null | grep -q "=$OLD_SERIAL$" \
    && ok open_connection_had_old_cert || notok open_connection_had_old_cert "$(openssl x509 -inform DER -in "$T/go.der" -noout -serial 2>&1)"

# the devices go on: new connections, the new certificate, the same pinned CA
wait_syncs 6 || notok syncs_after_sighup "stalled at $(n_syncs)"
# reloads in quick succession while they sync: credentials swapped under handshakes in flight
for _ in $(seq 1 10); do kill -HUP "$SERVER_PID"; sleep 0.1; done
wait_syncs 6 || notok syncs_during_reloads "stalled at $(n_syncs)"
[ "$(served serial)" = "$NEW_SERIAL" ] && kill -0 "$SERVER_PID" 2>/dev/null && ok reloads_in_a_row \
    || notok reloads_in_a_row "served '$(served serial)'"
[ "$(sha256sum <"$CA")" = "$CA_SUM" ] && ok ca_unchanged || notok ca_unchanged "ca.pem changed"

# ---- a pair that does not load is refused; the server goes on -----------------------------
cp "$T/town/server.key" "$T/key.good"
echo "not a key" >"$T/town/server.key"
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do grep -q "SIGHUP: reading private key" "$T/gridsyncd.log" && break; sleep 0.1; done
grep -q "SIGHUP: reading private key.*still serving certificate serial $NEW_SERIAL" "$T/gridsyncd.log" \
    && ok bad_pair_refused || notok bad_pair_refused "$(grep SIGHUP "$T/gridsyncd.log")"
[ "$(served serial)" = "$NEW_SERIAL" ] && ok bad_pair_keeps_serving \
    || notok bad_pair_keeps_serving "served '$(served serial)'"
cp "$T/key.good" "$T/town/server.key"
wait_syncs 3 || notok syncs_after_bad_pair "stalled at $(n_syncs)"

touch "$T/stop"
for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
T_PIDS=()
N=$(n_syncs)
BAD=$(awk '$1 != 0' "$T"/loop_*.rcs | wc -l)
[ "$N" -ge 18 ] && [ "$BAD" -eq 0 ] && ok every_sync_exit_0 \
    || notok every_sync_exit_0 "$BAD of $N syncs failed: $(sort -u "$T"/loop_*.err | head -c 600)"
echo "# $N syncs during the test, 0 failed"
t_server_stop

# ---- usage -----------------------------------------------------------------------------
"$GRIDSYNCD" cert >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok cert_no_command_exit_2 || notok cert_no_command_exit_2 "exit $rc"
"$GRIDSYNCD" cert renw --dir "$T/town" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok cert_bad_command_exit_2 || notok cert_bad_command_exit_2 "exit $rc"
"$GRIDSYNCD" cert renew --dir "$T/town" --days 30 >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok renew_bad_option_exit_2 || notok renew_bad_option_exit_2 "exit $rc"
"$GRIDSYNCD" cert renew --dir "$T/nowhere" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok renew_no_config_exit_2 || notok renew_no_config_exit_2 "exit $rc"
before=$(sha256sum "$T/town/server.pem" "$T/town/server.key")
out=$("$GRIDSYNCD" cert renew --dir "$T/town" --ca-key "$T/offline/ca.key" 2>&1); rc=$?
[ $rc = 1 ] && grep -q -- "--ca-key" <<<"$out" && ok renew_no_ca_key_exit_1 \
    || notok renew_no_ca_key_exit_1 "exit $rc: $out"
[ "$(sha256sum "$T/town/server.pem" "$T/town/server.key")" = "$before" ] \
    && ok renew_failure_leaves_pair || notok renew_failure_leaves_pair "files changed"
# the CA key kept elsewhere
mkdir -p "$T/offline" && mv "$T/town/ca.key" "$T/offline/ca.key"
out=$("$GRIDSYNCD" cert renew --dir "$T/town" --ca-key "$T/offline/ca.key" 2>&1) \
    && ok renew_with_offline_ca_key || notok renew_with_offline_ca_key "exit $?: $out"

# ---- a certificate made elsewhere (an e-mail SAN entry renew cannot carry over) -----------
cp "$T/town/server.pem" "$T/town/server.key" "$T/offline/"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
    -keyout "$T/town/server.key" -out "$T/csr.pem" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,email:ops@town.example\nextendedKeyUsage=serverAuth\n' \
    >"$T/ext.cnf"
openssl x509 -req -in "$T/csr.pem" -CA "$CA" -CAkey "$T/offline/ca.key" -set_serial 0x1234ABCD \
    -days 30 -extfile "$T/ext.cnf" -out "$T/town/server.pem" >/dev/null 2>&1
t_server_start
[ "$(served serial)" = 1234ABCD ] && ok foreign_cert_served || notok foreign_cert_served "$(served serial)"
M=$(expiry_metric)
near "$M" $((30 * DAY)) 120 && ok foreign_cert_metric || notok foreign_cert_metric "'$M'"
t_server_stop
before=$(sha256sum "$T/town/server.pem" "$T/town/server.key")
out=$("$GRIDSYNCD" cert renew --dir "$T/town" --ca-key "$T/offline/ca.key" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "cannot carry over" <<<"$out" && ok renew_refuses_foreign_cert \
    || notok renew_refuses_foreign_cert "exit $rc: $out"
[ "$(sha256sum "$T/town/server.pem" "$T/town/server.key")" = "$before" ] \
    && ok refused_renew_leaves_pair || notok refused_renew_leaves_pair "files changed"

# ---- a CA near its end -------------------------------------------------------------------
FT=$(t_faketime_exec -3620d)
if [ -z "$FT" ]; then
    skip ca_near_end "libfaketime not installed"
else
    # shellcheck disable=SC2086 # FT is a command prefix
    token=$($FT "$GRIDSYNCD" init --dir "$T/old" --hostname localhost 2>"$T/init2.err") || {
        echo "not ok init_old_ca: $(cat "$T/init2.err")"; exit 1; }
    CA_END=$(date -u -d "$(openssl x509 -in "$T/old/ca.pem" -noout -enddate | cut -d= -f2)" +%s)
    out=$("$GRIDSYNCD" cert renew --dir "$T/old" 2>&1) && grep -q "the CA ends on" <<<"$out" \
        && ok renew_capped_says_so || notok renew_capped_says_so "exit $?: $out"
    END=$(date -u -d "$(openssl x509 -in "$T/old/server.pem" -noout -enddate | cut -d= -f2)" +%s)
    [ "$END" = "$CA_END" ] && ok renew_capped_at_ca_end \
        || notok renew_capped_at_ca_end "cert ends $(date -u -d "@$END"), CA $(date -u -d "@$CA_END")"
    PORT=
    t_server_use "$T/old" "$token"
    t_server_start
    DAYS=$(((CA_END - $(date +%s)) / DAY))
    # the server counts the days at its start, this test a moment later (seconds apart,
    # more under a sanitizer): a day boundary between the two moves the count by one
    # (and its watcher thread may log it just after /v1/health answers: wait for it)
    warn_re="WARN.*the server certificate \(serial .*\) ends on .*, in ($((DAYS - 1))|$DAYS|$((DAYS + 1))) days: run \`gridsyncd cert renew\`"
    for _ in $(seq 1 50); do grep -Eq "$warn_re" "$T/gridsyncd.log" && break; sleep 0.1; done
    grep -Eq "$warn_re" "$T/gridsyncd.log" && ok expiry_warning_at_start \
        || notok expiry_warning_at_start "$(grep -i certificate "$T/gridsyncd.log" | tail -3)"
    M=$(expiry_metric)
    near "$M" $((CA_END - $(date +%s))) 60 && [ "$M" -lt $((60 * DAY)) ] && ok metric_under_60_days \
        || notok metric_under_60_days "gridsyncd_cert_expiry_seconds '$M'"
    t_server_stop
fi
t_done
