#!/usr/bin/env bash
# console_browser.sh: the web console end to end: a real gridsyncd on 127.0.0.1 with real TLS,
# three conflicts and the records the warning rules and the overview work on, seeded by
# three handheld devices syncing over the protocol (console/seed.py); then the server
# restarted two days ahead under libfaketime (unvisited_days_alone = 1), so its rules open
# five warnings as time alone makes them due. Then Debian's headless Chromium driven by
# playwright-core (console/console.mjs): sign in onto the overview (概览), its figures
# against the API's JSON, the visits chart's bars, one grid, English; the warnings page
# (预警) in the API's order with the Chinese titles (one carrying <script>, shown as text),
# filtered from the overview's links, by grid and by state, one acknowledged with a note,
# English; the conflicts in context, a <script> value shown as text without running,
# resolve one in the page (keep the other value, with a note), English, the devices page
# with a silent device, a device added there (its QR code's URI then enrols a handheld
# that syncs) and one renamed, reload, sign out; no page error or CSP violation throughout. Then,
# outside the browser: the server's state through the admin API and what both devices
# pull next. Screenshots go to $BUILD/test-artifacts/console-*.png.
#
# Prints "ok NAME" / "not ok NAME: why" (tests/integration/lib.sh); prints "skip
# console_browser: why" (and passes nothing) when Chromium, playwright-core, node,
# libfaketime or python3-msgpack cannot be had. Kills its server and removes its files on
# any exit (KEEP=1 keeps them).
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PW_VERSION=1.65.1
pwdir=$(mkdir -p "$BUILD/node" && cd "$BUILD/node" && pwd)
art=$(mkdir -p "$BUILD/test-artifacts" && cd "$BUILD/test-artifacts" && pwd)
py=/usr/bin/python3
chromium=${CHROMIUM:-/usr/bin/chromium}
t_setup console
if [ "${GS_TEST_STORE:-}" = pg ]; then
    skip console_browser "its seed (console/seed.py) writes the SQLite store directly"
    exit 0
fi
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
if [ -z "$T_FAKETIME_LIB" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "console_browser: installing libfaketime (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
            libfaketime >"$tmp/apt-faketime.log" 2>&1
        T_FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
    fi
    [ -n "$T_FAKETIME_LIB" ] || skip_all "libfaketime is not installed (the warnings need the server's clock ahead)"
fi
command -v jq >/dev/null || skip_all "jq is not installed"
if [ ! -f "$pwdir/node_modules/playwright-core/package.json" ]; then
    echo "console_browser: installing playwright-core@$PW_VERSION into $pwdir (npm)" >&2
    (cd "$pwdir" && timeout 600 npm install --no-audit --no-fund --no-save --loglevel=error \
        "playwright-core@$PW_VERSION") >"$tmp/npm.log" 2>&1
    [ -f "$pwdir/node_modules/playwright-core/package.json" ] \
        || skip_all "npm install playwright-core failed: $(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')"
fi

# ---- a server with three conflicts and five warnings ---------------------------------------
t_server_init
# a resident living alone is due a visit every day: two days on, the rule opens a warning
# (every other threshold as shipped)
printf 'unvisited_days_alone = 1\n' >>"$TOWN/gridsyncd.conf"
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
c() { curl -sS --max-time 10 --cacert "$dir/ca.pem" "$@"; }
api() { c -H "Authorization: Bearer $token" "$url$1"; }

# two days pass: the server's first sweep opens what time alone made due
t_server_stop
T_SERVER_EXEC=$(t_faketime_exec +2d) t_server_start
for _ in $(seq 1 100); do
    [ "$(api /v1/admin/warnings | jq '.warnings | length' 2>/dev/null)" = 5 ] && break
    sleep 0.1
done
api /v1/admin/warnings >"$tmp/warnings.json"
if "$py" - "$tmp/warnings.json" "$tmp/state.json" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))['warnings']
st = json.load(open(sys.argv[2]))
got = [(x['rule'], x['level'], x['state']) for x in w]
assert got == [('dispute_repeated', 'urgent', 'open'), ('hazard_open', 'urgent', 'open'),
               ('care_overdue', 'urgent', 'open'), ('care_overdue', 'attention', 'open'),
               ('unvisited_vulnerable', 'attention', 'open')], got
alone = w[4]
assert alone['title'] == '独居老人' + st['script_name'] + '已2天未走访', alone['title']
assert alone['subject'] == st['resident'] and alone['grid'] == '城关-1', alone
care = w[2]
assert care['subject'] == st['care_urgent'], care
assert care['resident']['name'] == '李桂兰' and care['resident']['phone'] == '13800000001', care
assert w[0]['resident']['name'] == '赵大山' and w[0]['grid'] == '城关-2', w[0]
EOF
then ok console_server_ahead_raises_warnings
else notok console_server_ahead_raises_warnings "$(head -c 800 "$tmp/warnings.json")"; fi

# the overview's figures as the seed makes them (the page is then checked against this API)
api /v1/admin/dashboard >"$tmp/dash.json"
if "$py" - "$tmp/dash.json" "$tmp/state.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
assert d['coverage'] == {'vulnerable': 2, 'visited': 1, 'ratio': 0.5}, d['coverage']
r = d['residents']
assert r['tagged'] == 2 and r['by_tag']['lives_alone'] == 1 and r['by_tag']['elderly'] == 2 \
    and r['by_tag']['disabled'] == 1, r
v = d['visits']
assert v['total'] == 6 and len(v['by_day']) == 30 and sum(x['n'] for x in v['by_day']) == 6, v
c = d['care_open']
assert c['total'] == 3 and c['by_priority']['urgent']['d1_3'] == 1 \
    and c['by_priority']['normal']['d3_7'] == 1 and c['by_priority']['low']['d3_7'] == 1, c
x = d['disputes']
assert x['total'] == 3 and x['closed'] == 2 and abs(x['ratio'] - 2 / 3) < 1e-9, x
w = d['warnings_open']
assert w['total'] == 5 and w['by_level'] == {'notice': 0, 'attention': 2, 'urgent': 3}, w
assert w['by_rule']['care_overdue']['total'] == 2 and w['by_rule']['device_silent']['total'] == 0, w
s = d['devices_silent']
assert s['total'] == 1 and s['devices'][0]['id'] == st['devices']['C']['id'], s
assert [g['grid'] for g in d['grids']] == ['城关-1', '城关-2'], d['grids']
assert d['rules']['unvisited_days_alone'] == 1, d['rules']
EOF
then ok console_dashboard_figures
else notok console_dashboard_figures "$(head -c 800 "$tmp/dash.json")"; fi

# the page's headers, from outside the browser too
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
rm -f "$art"/console-*.png "$art/enrol_uri.txt"
CHROMIUM=$chromium PW_DIR=$pwdir URL=$url TOKEN=$token STATE=$tmp/state.json ART=$art UDD=$tmp/chromium \
    SERVER_SPKI=$spki CA=$dir/ca.pem timeout 600 node "$here/console/console.mjs" >"$tmp/browser.out" 2>&1
rc=$?
cat "$tmp/browser.out"
if ! grep -q '^ok console_signin$' "$tmp/browser.out"; then
    notok console_browser_run "exit $rc: $(grep -v '^ok ' "$tmp/browser.out" | tail -n 5 | tr '\n' ' ')"
fi
# the enrolment QR code made in the page enrols a handheld, which then syncs
if [ -s "$art/enrol_uri.txt" ] &&
    "$GRIDSYNC" --db "$tmp/enrolled.db" enroll "$(cat "$art/enrol_uri.txt")" >"$tmp/enroll.out" 2>&1 &&
    "$GRIDSYNC" --db "$tmp/enrolled.db" sync >>"$tmp/enroll.out" 2>&1; then
    ok console_enrolment_enrols_a_handheld
else notok console_enrolment_enrols_a_handheld "$(head -c 400 "$tmp/enroll.out" 2>/dev/null)"; fi
n_png=0
shots="signin overview-zh overview-en warnings-zh warnings-en conflicts resolved conflicts-en devices"
for s in $shots; do
    f=$art/console-$s.png
    if [ -s "$f" ] && [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
        n_png=$((n_png + 1))
    fi
done
[ $n_png -eq 9 ] && ok console_screenshots || notok console_screenshots "$n_png of 9 PNGs in $art"

# ---- the server's state after the resolution in the page -----------------------------------
api "/v1/admin/conflicts/$res_conflict" >"$tmp/conflict.json"
if "$py" - "$tmp/conflict.json" "$token" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
admin = 'county'  # the audit names the admin: the one gridsyncd init makes (issue 20)
r = c.get('resolution') or {}
assert c['status'] == 'resolved', c['status']
assert r.get('admin') == admin, r
assert r['new']['value'] == '王秀瑛', r['new']
assert r['note'] == '户籍核对：以身份证为准 <b>ok</b>', r['note']
assert c['current']['value'] == '王秀瑛' and c['current']['device'] == 'admin', c['current']
EOF
then ok console_resolution_stored; else notok console_resolution_stored "$(head -c 600 "$tmp/conflict.json")"; fi
api "/v1/admin/conflicts/$visit_conflict" >"$tmp/visit.json"
if "$py" - "$tmp/visit.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
r = c.get('resolution') or {}
assert c['status'] == 'resolved' and r['new']['value'] == '已核实：血压偏高，村医已上门。', c
assert r['note'] == '电话回访' and c['current']['value'] == r['new']['value'], r
EOF
then ok console_entered_value_stored; else notok console_entered_value_stored "$(head -c 600 "$tmp/visit.json")"; fi

# the warning acknowledged in the page: stored as the admin's, with the note
api "/v1/admin/warnings?state=all" >"$tmp/warnings-after.json"
if "$py" - "$tmp/warnings-after.json" "$tmp/state.json" "$token" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))['warnings']
st = json.load(open(sys.argv[2]))
admin = 'county'  # the name of the admin gridsyncd init makes (issue 20)
acked = [x for x in w if x['state'] == 'acknowledged']
assert len(acked) == 1 and acked[0]['subject'] == st['care_urgent'], [(x['rule'], x['state']) for x in w]
a = acked[0]
assert a['note'] == '已电话联系家属，明天上门 <b>ok</b>' and a['ack_by'] == admin and a['ack_at'], a
assert sum(1 for x in w if x['state'] == 'open') == 4, [(x['rule'], x['state']) for x in w]
EOF
then ok console_warning_ack_stored; else notok console_warning_ack_stored "$(head -c 800 "$tmp/warnings-after.json")"; fi
ack_id=$(jq -r '[.warnings[] | select(.state == "acknowledged")][0].id' "$tmp/warnings-after.json")

# both devices get the admin's value at their next sync, and their grid's warnings with
# the acknowledgement made in the page
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
    if "$py" - "$tmp/pull.$d" "$ack_id" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
w = {}
for r in rows:
    if r['t'] == 'warning':
        w.setdefault(r['id'], {}).update({k: v[0] for k, v in r['f'].items()})
assert all(x.get('grid', '城关-1') == '城关-1' for x in w.values()), w  # never another grid's
a = w[sys.argv[2]]
assert a['state'] == 'acknowledged' and a['note'] == '已电话联系家属，明天上门 <b>ok</b>', a
EOF
    then ok "console_device_${d}_pulls_ack"
    else notok "console_device_${d}_pulls_ack" "$(grep -c '"warning"' "$tmp/pull.$d") warning changes: $(grep '"warning"' "$tmp/pull.$d" | head -c 600)"; fi
done

# no secret in the server's log
secret=${token#*.}
if grep -qF "$secret" "$log" || grep -qi 'gs_session=' "$log"; then
    notok console_log_clean "a token or cookie in the server log"
else
    ok console_log_clean
fi

t_done && ! grep -q '^not ok ' "$tmp/browser.out"
