#!/usr/bin/env bash
# console_browser.sh: the web console end to end: a real gridsyncd on 127.0.0.1 with real TLS,
# three conflicts seeded by two handheld devices syncing over the protocol
# (console/seed.py), then Debian's headless Chromium driven by playwright-core
# (console/console.mjs): sign in, see the conflicts in context, a <script> value shown as
# text without running, resolve one in the page (keep the other value, with a note),
# English, the devices page with a silent device, reload, sign out. Then, outside the
# browser: the server's state through the admin API and what both devices pull next.
# Screenshots go to $BUILD/test-artifacts/console-*.png.
#
# Prints "ok NAME" / "not ok NAME: why" (tests/integration/lib.sh); prints "skip
# console_browser: why" (and passes nothing) when Chromium, playwright-core, node or
# python3-msgpack cannot be had. Kills its server and removes its files on any exit (KEEP=1
# keeps them).
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PW_VERSION=1.65.1
pwdir=$(mkdir -p "$BUILD/node" && cd "$BUILD/node" && pwd)
art=$(mkdir -p "$BUILD/test-artifacts" && cd "$BUILD/test-artifacts" && pwd)
py=/usr/bin/python3
chromium=${CHROMIUM:-/usr/bin/chromium}
t_setup console
tmp=$T

# a missing tool skips the whole script, never passes it
skip_all() { skip console_browser "$1"; exit 0; }

# ---- tools: skipped, never passed, when one cannot be had ----------------------------------
command -v curl >/dev/null || skip_all "curl is not installed"
command -v openssl >/dev/null || skip_all "openssl is not installed"
"$py" -c 'import msgpack' 2>/dev/null || skip_all "python3-msgpack is not installed"
command -v node >/dev/null && command -v npm >/dev/null || skip_all "node and npm are not installed"
if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "console_browser: installing chromium (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
            chromium fonts-wqy-microhei >"$tmp/apt.log" 2>&1
    fi
    [ -x "$chromium" ] || skip_all "no $chromium, and apt-get install chromium did not give one: $(tail -n 2 "$tmp/apt.log" 2>/dev/null | tr '\n' ' ')"
fi
if [ ! -f "$pwdir/node_modules/playwright-core/package.json" ]; then
    echo "console_browser: installing playwright-core@$PW_VERSION into $pwdir (npm)" >&2
    (cd "$pwdir" && timeout 600 npm install --no-audit --no-fund --no-save --loglevel=error \
        "playwright-core@$PW_VERSION") >"$tmp/npm.log" 2>&1
    [ -f "$pwdir/node_modules/playwright-core/package.json" ] \
        || skip_all "npm install playwright-core failed: $(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')"
fi

# ---- a server with three conflicts ---------------------------------------------------------
t_server_init
t_server_start
dir=$TOWN
token=$ADMIN_TOKEN
log=$T/gridsyncd.log
url=https://127.0.0.1:$PORT
ok console_server_start

if "$py" "$here/console/seed.py" seed --url "$url" --ca "$dir/ca.pem" --token "$token" \
        --db "$dir/gridsyncd.db" --state "$tmp/state.json" >"$tmp/seed.out" 2>&1; then
    ok console_seed_conflicts
else
    notok console_seed_conflicts "$(tail -n 5 "$tmp/seed.out")"
    exit 1
fi
res_conflict=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["conflicts"]["resident"])' "$tmp/state.json")
res_id=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["resident"])' "$tmp/state.json")
visit_conflict=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["conflicts"]["visit"])' "$tmp/state.json")

# the page's headers, from outside the browser too
c() { curl -sS --max-time 10 --cacert "$dir/ca.pem" "$@"; }
c -D "$tmp/h" -o /dev/null "$url/admin"
if grep -qi "^content-security-policy: default-src 'self'" "$tmp/h" && grep -qi '^x-frame-options: DENY' "$tmp/h" \
    && grep -qi '^x-content-type-options: nosniff' "$tmp/h" && grep -qi '^referrer-policy: no-referrer' "$tmp/h"; then
    ok console_security_headers
else
    notok console_security_headers "$(tr '\r\n' '  ' <"$tmp/h")"
fi
code=$(c -o /dev/null -w '%{http_code}' "$url/admin/nothing.js")
[ "$code" = 404 ] && ok console_unknown_asset_404 || notok console_unknown_asset_404 "status $code"

# ---- the browser ---------------------------------------------------------------------------
spki=$(openssl x509 -in "$dir/server.pem" -pubkey -noout | openssl pkey -pubin -outform der \
       | openssl dgst -sha256 -binary | base64)
rm -f "$art"/console-*.png
CHROMIUM=$chromium PW_DIR=$pwdir URL=$url TOKEN=$token STATE=$tmp/state.json ART=$art UDD=$tmp/chromium \
    SERVER_SPKI=$spki timeout 600 node "$here/console/console.mjs" >"$tmp/browser.out" 2>&1
rc=$?
cat "$tmp/browser.out"
if ! grep -q '^ok console_signin$' "$tmp/browser.out"; then
    notok console_browser_run "exit $rc: $(grep -v '^ok ' "$tmp/browser.out" | tail -n 5 | tr '\n' ' ')"
fi
n_png=0
for s in signin conflicts resolved conflicts-en devices; do
    f=$art/console-$s.png
    if [ -s "$f" ] && [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        n_png=$((n_png + 1))
    fi
done
[ $n_png -eq 5 ] && ok console_screenshots || notok console_screenshots "$n_png of 5 PNGs in $art"

# ---- the server's state after the resolution in the page -----------------------------------
c -H "Authorization: Bearer $token" "$url/v1/admin/conflicts/$res_conflict" >"$tmp/conflict.json"
if "$py" - "$tmp/conflict.json" "$token" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
admin = sys.argv[2].split('.')[0]
r = c.get('resolution') or {}
assert c['status'] == 'resolved', c['status']
assert r.get('admin') == admin, r
assert r['new']['value'] == '王秀瑛', r['new']
assert r['note'] == '户籍核对：以身份证为准 <b>ok</b>', r['note']
assert c['current']['value'] == '王秀瑛' and c['current']['device'] == 'admin', c['current']
EOF
then ok console_resolution_stored; else notok console_resolution_stored "$(head -c 600 "$tmp/conflict.json")"; fi
c -H "Authorization: Bearer $token" "$url/v1/admin/conflicts/$visit_conflict" >"$tmp/visit.json"
if "$py" - "$tmp/visit.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
r = c.get('resolution') or {}
assert c['status'] == 'resolved' and r['new']['value'] == '已核实：血压偏高，村医已上门。', c
assert r['note'] == '电话回访' and c['current']['value'] == r['new']['value'], r
EOF
then ok console_entered_value_stored; else notok console_entered_value_stored "$(head -c 600 "$tmp/visit.json")"; fi

# both devices get the admin's value at their next sync
for d in A B; do
    "$py" "$here/console/seed.py" pull --url "$url" --ca "$dir/ca.pem" --state "$tmp/state.json" \
        --device "$d" >"$tmp/pull.$d" 2>&1
    if "$py" - "$tmp/pull.$d" "$res_id" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
hit = [r for r in rows if r['t'] == 'resident' and r['id'] == sys.argv[2] and 'name' in r['f']]
assert hit and hit[-1]['f']['name'][0] == '王秀瑛', rows
EOF
    then ok "console_device_${d}_pulls_resolution"
    else notok "console_device_${d}_pulls_resolution" "$(head -c 600 "$tmp/pull.$d")"; fi
done

# no secret in the server's log
secret=${token#*.}
if grep -qF "$secret" "$log" || grep -qi 'gs_session=' "$log"; then
    notok console_log_clean "a token or cookie in the server log"
else
    ok console_log_clean
fi

t_done && ! grep -q '^not ok ' "$tmp/browser.out"
