#!/usr/bin/env bash
# tls_scan.sh: testssl.sh (Debian package testssl.sh, command `testssl`) against a running
# gridsyncd, trusting the town CA (--add-ca). tests/tools/faults_testssl.py judges the JSON
# report: no HIGH or CRITICAL finding, nothing below TLS 1.2. The summary is kept in
# $BUILD/fault-logs/tls_summary.txt (docs/RELIABILITY.md quotes it). About 60 s.
# Without testssl installed it prints "skip tls_scan: why" (scripts/install-deps.sh test
# installs it); it never passes silently.
. "$(dirname "$0")/../integration/lib.sh"
command -v testssl >/dev/null || { skip tls_scan "testssl is not installed (scripts/install-deps.sh test)"; exit 0; }
t_setup tls_scan
t_server_init
t_server_start
mkdir -p "$BUILD/fault-logs"
summary=$(cd "$BUILD/fault-logs" && pwd)/tls_summary.txt
# protocols, cipher categories, forward secrecy, server defaults (certificate, CRL/OCSP)
# and vulnerabilities: the checks whose findings matter here, ~30 s instead of ~50 s
t0=$SECONDS
timeout 240 testssl --quiet --color 0 --warnings off --add-ca "$CA" --ip 127.0.0.1 \
    -p -s -f -S -U --jsonfile-pretty "$T/testssl.json" "localhost:$PORT" >"$T/testssl.out" 2>&1
echo "# testssl took $((SECONDS - t0)) s"
[ -s "$T/testssl.json" ] || { notok tls_scan "no JSON report: $(tail -n 5 "$T/testssl.out")"; exit 1; }
/usr/bin/python3 "$TOOLS/faults_testssl.py" "$T/testssl.json" "$summary" \
    || notok tls_judge "faults_testssl.py exited non-zero"
sed 's/^/# /' "$summary" | grep -E 'severity counts|^# finding|TLS1_2 |overall_grade'
# the CRL the certificate names is served, parses and is signed by the CA
if curl -sf --cacert "$CA" -o "$T/ca.crl" "$URL/ca.crl" &&
    openssl crl -inform DER -in "$T/ca.crl" -CAfile "$CA" -noout -verify 2>&1 | grep -q 'verify OK'; then
    ok tls_crl_served_and_signed
else
    notok tls_crl_served_and_signed "GET /ca.crl or openssl crl -verify failed"
fi
openssl x509 -in "$T/town/server.pem" -noout -ext crlDistributionPoints 2>/dev/null | grep -q "URI:https://localhost:[0-9]*/ca.crl" \
    && ok tls_cert_names_crl || notok tls_cert_names_crl "no cRLDistributionPoints URI in server.pem"
kill -0 "$SERVER_PID" 2>/dev/null && ok tls_server_survived_scan || notok tls_server_survived_scan "gridsyncd exited"
t_done
