#!/usr/bin/env bash
# e2e_auth_tls.sh: refusals end to end.
#   - a revoked device (gridsync-admin device revoke) gets exit 5 and keeps its outbox;
#   - a device enrolled with the wrong CA, or reaching a server whose certificate (signed by
#     the right CA) does not name the host, fails with a clear certificate error, sends
#     nothing and keeps its outbox; no option turns verification off (`gridsync sync` takes
#     none, and GRIDSYNC_INSECURE / CURL_CA_BUNDLE in the environment change nothing).
# The certificate failure exits 1 ("runtime failure", the message says what), not 4: it is
# not a link problem and syncing again later will not help. Real gridsyncd on 127.0.0.1. About 5 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_auth_tls
t_server_init
t_server_start
SRV_DB=$SRV_STORE
n_changes() { t_sql "$SRV_DB" "SELECT count(*) FROM changes"; }

# 1. revoked device
t_enroll "$T/rev.db" gridA rev
t_gs "$T/rev.db" resident add --name 孙丽 >/dev/null
t_gs "$T/rev.db" sync >/dev/null || notok auth_setup "first sync failed"
t_gs "$T/rev.db" resident add --name 孙丽2 >/dev/null
t_gs "$T/rev.db" resident add --name 孙丽3 >/dev/null
t_admin device revoke "$DEV_ID" >/dev/null 2>"$T/err" || notok auth_revoke "$(cat "$T/err")"
before=$(n_changes)
out=$(t_gs "$T/rev.db" --json sync 2>"$T/err"); code=$?
[ $code -eq 5 ] && ok auth_revoked_exit_5 || notok auth_revoked_exit_5 "exit $code: $out"
grep -qi 'enrol' "$T/err" && ok auth_revoked_message_says_what_to_do \
    || notok auth_revoked_message_says_what_to_do "stderr: $(cat "$T/err")"
p=$(e2e_pending "$T/rev.db")
[ "$p" = 2 ] && ok auth_revoked_keeps_outbox || notok auth_revoked_keeps_outbox "pending $p, want 2"
[ "$(n_changes)" = "$before" ] || notok auth_revoked_nothing_applied "server changes $before -> $(n_changes)"

# 2. wrong CA: a second town's CA
"$GRIDSYNCD" init --dir "$T/other" --hostname localhost >/dev/null 2>&1 || notok tls_setup "second init failed"
t_enroll "$T/wca.db" gridA wca
"$GRIDSYNC" --db "$T/wca2.db" init --device "$DEV_ID" --token "$DEV_TOKEN" --server "$URL" \
    --ca "$T/other/ca.pem" --grid gridA >/dev/null || notok tls_setup "init with other CA failed"
t_gs "$T/wca2.db" resident add --name 周强 >/dev/null
before=$(n_changes)
for env in "" "GRIDSYNC_INSECURE=1 CURL_CA_BUNDLE=$T/town/ca.pem SSL_CERT_FILE=$T/town/ca.pem"; do
    out=$(env $env "$GRIDSYNC" --db "$T/wca2.db" --json sync 2>"$T/err"); code=$?
    tag=wrong_ca${env:+_env_ignored}
    if [ $code -eq 1 ] && grep -qi 'cannot verify the server' "$T/err"; then ok "tls_${tag}_refused_exit_1"
    else notok "tls_${tag}_refused_exit_1" "exit $code: $out $(cat "$T/err")"; fi
    echo "# $tag: $(cat "$T/err")"
done
p=$(e2e_pending "$T/wca2.db")
[ "$p" = 1 ] && [ "$(n_changes)" = "$before" ] && ok tls_wrong_ca_nothing_sent_outbox_kept \
    || notok tls_wrong_ca_nothing_sent_outbox_kept "pending $p, server changes $before -> $(n_changes)"
"$GRIDSYNC" sync --help | grep -qi 'insecure\|no-verify\|-k ' \
    && notok tls_no_switch_turns_verification_off "sync --help offers one" \
    || ok tls_no_switch_turns_verification_off
"$GRIDSYNC" --db "$T/noca.db" init --device d --token d.x --server "$URL" --grid gridA >/dev/null 2>&1; c1=$?
"$GRIDSYNC" --db "$T/noca.db" init --device d --token d.x --server "http://localhost:$PORT" \
    --ca "$CA" --grid gridA >/dev/null 2>&1; c2=$?
[ $c1 -eq 2 ] && [ $c2 -eq 2 ] && ok tls_init_needs_ca_and_https \
    || notok tls_init_needs_ca_and_https "init without --ca exit $c1, with http:// exit $c2 (want 2, 2)"
t_gs "$T/wca2.db" sync --insecure >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || notok tls_insecure_option_refused "sync --insecure exit $code, want 2 (usage)"

# 3. wrong host name: a certificate from the right CA for another name only
if openssl ecparam -name prime256v1 -genkey -noout -out "$T/town/wrong.key" 2>/dev/null &&
   openssl req -new -key "$T/town/wrong.key" -subj /CN=other.example -out "$T/wrong.csr" 2>/dev/null &&
   printf 'subjectAltName=DNS:other.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/ext" &&
   openssl x509 -req -in "$T/wrong.csr" -CA "$T/town/ca.pem" -CAkey "$T/town/ca.key" \
       -CAcreateserial -days 2 -extfile "$T/ext" -out "$T/town/wrong.pem" 2>/dev/null; then
    t_server_stop
    sed -e 's/^cert = .*/cert = wrong.pem/' -e 's/^key = .*/key = wrong.key/' \
        "$T/town/gridsyncd.conf" >"$T/town/wrong.conf"
    chmod 600 "$T/town/wrong.key"
    "$GRIDSYNCD" --config "$T/town/wrong.conf" --listen "127.0.0.1:$PORT" >>"$T/gridsyncd.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -s --cacert "$CA" --resolve "other.example:$PORT:127.0.0.1" \
            "https://other.example:$PORT/v1/health" >/dev/null 2>&1 && break
        sleep 0.05
    done
    before=$(n_changes)
    t_gs "$T/wca.db" resident add --name 吴敏 >/dev/null
    out=$(t_gs "$T/wca.db" --json sync 2>"$T/err"); code=$?
    if [ $code -eq 1 ] && grep -qi 'cannot verify the server' "$T/err"; then ok tls_wrong_host_refused_exit_1
    else notok tls_wrong_host_refused_exit_1 "exit $code: $out $(cat "$T/err")"; fi
    echo "# wrong host: $(cat "$T/err")"
    p=$(e2e_pending "$T/wca.db")
    [ "$p" = 1 ] && [ "$(n_changes)" = "$before" ] && ok tls_wrong_host_nothing_sent_outbox_kept \
        || notok tls_wrong_host_nothing_sent_outbox_kept "pending $p, server changes $before -> $(n_changes)"
else
    skip tls_wrong_host "openssl could not make a certificate for another name"
fi
t_done
