#!/usr/bin/env bash
# attach_sync.sh: attachment bytes between devices and a real gridsyncd (issue 19,
# PROTOCOL.md section 12), real TLS on 127.0.0.1, real SQLite files (GS_TEST_STORE=pg: the
# server's index on PostgreSQL):
#  - device A attaches 3 photos and syncs: the server holds each file and thumbnail once in
#    DIR/blobs/ab/cd..., named by its SHA-256; A has nothing left to send;
#  - device B of the grid gets the 3 thumbnails with its sync and fetches one full image on
#    demand: the hashes equal A's; a third device sending the same photo adds no file;
#  - hostile chunks (another grid's device, a wrong hash, beyond the end, past the
#    committed offset, bytes whose SHA-256 is wrong): clear errors, nothing stored;
#  - an upload cut at random offsets by tests/tools/linkproxy.py, and a kill -9 of the
#    client and of the server mid-transfer: every next sync resumes, and the end is every
#    attachment once, hash-verified, no partial upload left;
#  - --attachments-budget defers the big files; a device quota refuses a file with
#    quota_device while the records sync; the GC removes the files of a deleted record.
# About 30 s.
set -u
. "$(dirname "$0")/lib.sh"
MK="$(cd "$(dirname "$0")" && pwd)/attach_mkimg.py"
if ! "$PY" -c 'import PIL' 2>/dev/null; then
    skip attach_sync "python3-pil is not installed (scripts/install-deps.sh test)"
    exit 0
fi
t_setup attach_sync
cd "$T" || exit 1

t_server_init
t_server_start
BLOBS=$TOWN/blobs
t_enroll "$T/a.db" g1 a
t_enroll "$T/b.db" g1 b
B_TOKEN=$DEV_TOKEN
t_enroll "$T/x.db" g2 x
X_TOKEN=$DEV_TOKEN
A="$T/a.db"; B="$T/b.db"

# every blob file on the server is named by its SHA-256; prints the count of bad ones
blob_check() {
    local bad=0 f name
    while IFS= read -r f; do
        name=$(basename "$(dirname "$f")")$(basename "$f")
        [ "$(sha256sum "$f" | cut -c1-64)" = "$name" ] || bad=$((bad + 1))
    done < <(find "$BLOBS" -mindepth 2 -type f -not -path "$BLOBS/tmp/*")
    echo "$bad"
}
nblobs() { find "$BLOBS" -mindepth 2 -type f -not -path "$BLOBS/tmp/*" | wc -l; }
nparts() { find "$BLOBS/tmp" -type f | wc -l; }
pending_bytes() { t_gs "$1" --json status | jq .attachments_pending_bytes; }
# curl as a device: METHOD TOKEN PATH [DATA-FILE]; prints the status, body in $T/resp
dev_curl() {
    local args=(-s -o "$T/resp" -w '%{http_code}' --cacert "$CA" -X "$1"
        -H "Authorization: Bearer $2")
    [ $# -ge 4 ] && args+=(-H "Content-Type: application/octet-stream" --data-binary "@$4")
    curl "${args[@]}" "$URL$3"
}
err_code() { "$PY" -c 'import msgpack,sys; print(msgpack.unpackb(open(sys.argv[1],"rb").read())["err"])' "$T/resp" 2>/dev/null; }

"$PY" "$MK" camera cam1.jpg 1
"$PY" "$MK" camera cam6.jpg 6
"$PY" "$MK" png shot.png 1400 1000
R=$(t_gs "$A" resident add --name 张伟) && V=$(t_gs "$A" visit add --resident "$R" --kind routine) ||
    { notok setup "records not added"; t_done; exit; }
P1=$(t_gs "$A" attach "$V" cam1.jpg --caption 裂缝) && P2=$(t_gs "$A" attach "$V" cam6.jpg) &&
    P3=$(t_gs "$A" attach "$V" shot.png) || { notok setup "attach failed"; t_done; exit; }
raw=$(t_gs "$A" --json status | jq .attachments_pending_bytes)
echo "# 3 photos: $(stat -c %s cam1.jpg) + $(stat -c %s cam6.jpg) + $(stat -c %s shot.png) bytes given, $raw bytes to send (files and thumbnails)"

# --- budget: records first, the big files wait
out=$(t_gs "$A" --json sync --attachments-budget 100K); code=$?
deferred=$(jq .attachments.deferred <<<"$out"); sent=$(jq .attachments.sent <<<"$out")
[ $code -eq 0 ] && [ "$(jq .pushed <<<"$out")" = 5 ] && [ "$sent" = 3 ] && [ "$deferred" = 3 ] &&
    ok budget_sends_thumbnails_defers_files ||
    notok budget_sends_thumbnails_defers_files "exit $code: $out"
left=$(pending_bytes "$A")
[ "$left" -gt 0 ] && [ "$left" -lt "$raw" ] && ok status_pending_bytes_true ||
    notok status_pending_bytes_true "pending $left of $raw"

# --- the rest, and what the server holds
out=$(t_gs "$A" --json sync); code=$?
[ $code -eq 0 ] && [ "$(jq .attachments.sent <<<"$out")" = 3 ] && ok sync_sends_files ||
    notok sync_sends_files "exit $code: $out"
[ "$(pending_bytes "$A")" = 0 ] && ok nothing_left_to_send || notok nothing_left_to_send "$(pending_bytes "$A")"
[ "$(nblobs)" = 6 ] && [ "$(blob_check)" = 0 ] && ok server_holds_each_once_by_hash ||
    notok server_holds_each_once_by_hash "$(nblobs) files, $(blob_check) misnamed"
[ "$(t_sql "$SRV_STORE" "SELECT count(*) FROM attachment_blobs")" = 6 ] && ok server_index_rows ||
    notok server_index_rows "$(t_sql "$SRV_STORE" "SELECT count(*) FROM attachment_blobs")"
[ "$(t_sql "$SRV_STORE" "SELECT count(*) FROM attachment_blobs WHERE grid = 'g1' AND device <> ''")" = 6 ] &&
    ok index_charges_grid_and_device || notok index_charges_grid_and_device "grid or device missing"

# --- down to device B
out=$(t_gs "$B" --json sync); code=$?
[ $code -eq 0 ] && [ "$(jq .attachments.received <<<"$out")" = 3 ] && ok b_receives_thumbnails ||
    notok b_receives_thumbnails "exit $code: $out"
here=$(t_gs "$B" --json attachments "$V" | jq -c '[.[] | [.have_thumb, .have_full]] | unique')
[ "$here" = '[[true,false]]' ] && ok b_thumbs_not_files || notok b_thumbs_not_files "$here"
t_gs "$B" attachment get "$P2" --out b2.jpg >/dev/null 2>"$T/err" && t_gs "$A" attachment get "$P2" --out a2.jpg >/dev/null &&
    [ "$(sha256sum <b2.jpg)" = "$(sha256sum <a2.jpg)" ] && ok b_fetches_full_hash_equal ||
    notok b_fetches_full_hash_equal "$(cat "$T/err")"
t_gs "$B" attachment get "$P3" --thumb --out b3t.jpg >/dev/null && t_gs "$A" attachment get "$P3" --thumb --out a3t.jpg >/dev/null &&
    cmp -s b3t.jpg a3t.jpg && ok b_thumbnail_equal || notok b_thumbnail_equal "thumbnails differ"
[ "$(pending_bytes "$B")" = 0 ] && ok fetched_bytes_not_pending || notok fetched_bytes_not_pending "$(pending_bytes "$B")"
# the same photo attached on B goes up as nothing new
t_gs "$B" attach "$V" cam1.jpg >/dev/null
t_gs "$B" sync >/dev/null 2>&1
[ "$(nblobs)" = 6 ] && [ "$(pending_bytes "$B")" = 0 ] && ok same_content_stored_once ||
    notok same_content_stored_once "$(nblobs) files, B pending $(pending_bytes "$B")"

# --- hostile chunks
SUM1=$(t_sql "$A" "SELECT sha256 FROM attachment WHERE id = (SELECT id FROM attachment WHERE sha256 IS NOT NULL LIMIT 1)")
SUM1=$(t_sql "$A" "SELECT sha256 FROM attachment WHERE lower(hex(id)) = lower(replace('$P1','-',''))")
head -c 1000 /dev/urandom >junk.bin
st=$(dev_curl PUT "$X_TOKEN" "/v1/attachments/$SUM1?att=$P1&offset=0" junk.bin)
[ "$st" = 404 ] && [ "$(err_code)" = no_attachment ] && ok other_grid_refused || notok other_grid_refused "$st $(err_code)"
st=$(dev_curl GET "$X_TOKEN" "/v1/attachments/$SUM1?att=$P1&offset=0")
[ "$st" = 404 ] && ok other_grid_cannot_read || notok other_grid_cannot_read "$st"
st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/$(printf '%064d' 0)?att=$P1&offset=0" junk.bin)
[ "$st" = 404 ] && [ "$(err_code)" = no_attachment ] && ok wrong_hash_refused || notok wrong_hash_refused "$st $(err_code)"
st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/ABC?att=$P1&offset=0" junk.bin)
[ "$st" = 400 ] && ok malformed_hash_400 || notok malformed_hash_400 "$st"
# a fresh attachment whose bytes are not on the server yet (budget 0: records only)
"$PY" "$MK" png fresh.png 600 400
P4=$(t_gs "$A" attach "$V" fresh.png)
t_gs "$A" sync --attachments-budget 0 >/dev/null
SUM4=$(t_sql "$A" "SELECT sha256 FROM attachment WHERE lower(hex(id)) = lower(replace('$P4','-',''))")
SIZE4=$(t_sql "$A" "SELECT bytes FROM attachment WHERE lower(hex(id)) = lower(replace('$P4','-',''))")
before=$(nblobs)
st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=$SIZE4" junk.bin)
[ "$st" = 416 ] && [ "$(err_code)" = range ] && ok beyond_end_416 || notok beyond_end_416 "$st $(err_code)"
st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=1000" junk.bin)
[ "$st" = 409 ] && [ "$(err_code)" = offset ] && ok past_committed_409 || notok past_committed_409 "$st $(err_code)"
head -c "$SIZE4" /dev/urandom >wrong.bin
if [ "$SIZE4" -le 65536 ]; then
    st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=0" wrong.bin)
else
    head -c 65536 wrong.bin >w0.bin
    dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=0" w0.bin >/dev/null
    off=65536
    while [ $((SIZE4 - off)) -gt 65536 ]; do
        tail -c +$((off + 1)) wrong.bin | head -c 65536 >w.bin
        dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=$off" w.bin >/dev/null
        off=$((off + 65536))
    done
    tail -c +$((off + 1)) wrong.bin >w.bin
    st=$(dev_curl PUT "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=$off" w.bin)
fi
[ "$st" = 422 ] && [ "$(err_code)" = hash ] && [ "$(nblobs)" = "$before" ] && [ "$(nparts)" = 0 ] &&
    ok wrong_bytes_422_nothing_stored || notok wrong_bytes_422_nothing_stored "$st $(err_code), $(nblobs) files, $(nparts) parts"
st=$(dev_curl GET "$B_TOKEN" "/v1/attachments/$SUM4?att=$P4&offset=0")
[ "$st" = 404 ] && [ "$(err_code)" = not_stored ] && ok unsent_not_served || notok unsent_not_served "$st $(err_code)"
t_gs "$A" sync >/dev/null 2>&1
[ "$(nblobs)" = $((before + 2)) ] && [ "$(blob_check)" = 0 ] && ok real_upload_after_hostile ||
    notok real_upload_after_hostile "$(nblobs) files"

# --- cuts, kill -9 of the client and of the server, through linkproxy
PPORT=$(t_free_port)
PROXY_PID=
proxy_start() {
    $PY "$TOOLS/linkproxy.py" --listen "$PPORT" --target "$PORT" "$@" >"$T/proxy.out" 2>"$T/proxy.err" &
    PROXY_PID=$!
    T_PIDS+=("$PROXY_PID")
    for _ in $(seq 1 100); do grep -q listening "$T/proxy.out" 2>/dev/null && return 0; sleep 0.05; done
    notok proxy_start "linkproxy did not start: $(cat "$T/proxy.err")"
}
proxy_stop() { [ -n "$PROXY_PID" ] && kill -TERM "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; PROXY_PID=; }
T_DEVICE_URL=https://localhost:$PPORT t_enroll "$T/c.db" g1 c
C="$T/c.db"
"$PY" "$MK" camera cam3.jpg 3
"$PY" "$MK" camera cam8.jpg 8
"$PY" "$MK" png big.png 2000 1500
RC=$(t_gs "$C" resident add --name 李娜)
for f in cam3.jpg cam8.jpg big.png; do t_gs "$C" attach "$RC" "$f" >/dev/null; done
want=$(($(nblobs) + 6))
c_raw=$(pending_bytes "$C")
cuts=0 runs=0
while [ "$(pending_bytes "$C")" != 0 ] && [ $runs -lt 25 ]; do
    runs=$((runs + 1))
    if [ $cuts -lt 5 ]; then
        cut=$((40000 + RANDOM * 8))
        proxy_start --cut-up-after "$cut" --cut-conns 0 # every connection: curl cannot mask it by reconnecting
        cuts=$((cuts + 1))
    else
        proxy_start
    fi
    t_gs "$C" sync >/dev/null 2>"$T/err"; code=$?
    echo "# cut run $runs (${cut:-none} bytes up): exit $code, pending $(pending_bytes "$C") of $c_raw bytes"
    cut=
    proxy_stop
done
[ "$(pending_bytes "$C")" = 0 ] && [ "$(nblobs)" = "$want" ] && [ "$(blob_check)" = 0 ] && [ "$(nparts)" = 0 ] &&
    ok cuts_resume_every_attachment_once || notok cuts_resume_every_attachment_once "after $runs runs: pending $(pending_bytes "$C"), $(nblobs) files (want $want), $(nparts) parts"

# kill -9 of the client while its chunks crawl through a slow link
RD=$(t_gs "$C" resident add --name 王芳)
"$PY" "$MK" camera cam2.jpg 2
"$PY" "$MK" png huge.png 2400 1800
t_gs "$C" attach "$RD" cam2.jpg >/dev/null; t_gs "$C" attach "$RD" huge.png >/dev/null
want=$((want + 4))
wait_part() { for _ in $(seq 1 200); do [ "$(nparts)" -gt 0 ] && return 0; sleep 0.05; done; return 1; }
proxy_start --delay-up-ms 150 --cut-conns 0
t_gs "$C" sync >/dev/null 2>&1 &
SYNC_PID=$!
if wait_part; then
    kill -9 "$SYNC_PID"; wait "$SYNC_PID" 2>/dev/null
    ok client_killed_mid_upload
else
    wait "$SYNC_PID"; notok client_killed_mid_upload "no partial upload seen"
fi
echo "# client killed with $(pending_bytes "$C") bytes pending, server part $(find "$BLOBS/tmp" -type f -printf '%s ' ) bytes"
# and the server, killed on the next try
t_gs "$C" sync >/dev/null 2>&1 &
SYNC_PID=$!
sleep 0.3
if wait_part; then
    t_server_kill
    wait "$SYNC_PID"; code=$?
    [ $code -eq 4 ] && ok server_killed_client_exit_4 || notok server_killed_client_exit_4 "exit $code"
else
    wait "$SYNC_PID"; notok server_killed_client_exit_4 "no partial upload seen"
fi
echo "# server killed with part $(find "$BLOBS/tmp" -type f -printf '%s ') bytes, $(pending_bytes "$C") pending"
proxy_stop
t_server_start
proxy_start
for _ in 1 2 3; do t_gs "$C" sync >/dev/null 2>&1 && break; done
proxy_stop
[ "$(pending_bytes "$C")" = 0 ] && [ "$(nblobs)" = "$want" ] && [ "$(blob_check)" = 0 ] && [ "$(nparts)" = 0 ] &&
    ok kill9_both_sides_resume_once || notok kill9_both_sides_resume_once "pending $(pending_bytes "$C"), $(nblobs) files (want $want), $(nparts) parts"
[ "$(t_sql "$SRV_STORE" "SELECT count(*) FROM attachment_blobs")" = "$want" ] && ok index_matches_files ||
    notok index_matches_files "$(t_sql "$SRV_STORE" "SELECT count(*) FROM attachment_blobs") rows, $want files"

# --- quota: a device over it gets quota_device for its files, its records sync
t_server_stop
echo "attachment_quota_device = 200000" >>"$TOWN/gridsyncd.conf"
t_server_start
t_enroll "$T/q.db" g1 q
Q="$T/q.db"
"$PY" "$MK" camera cam4.jpg 4
RQ=$(t_gs "$Q" resident add --name 赵敏)
t_gs "$Q" attach "$RQ" cam4.jpg >/dev/null
before=$(nblobs)
out=$(t_gs "$Q" --json sync 2>"$T/err"); code=$?
[ $code -eq 0 ] && [ "$(jq .pushed <<<"$out")" = 2 ] && [ "$(jq .attachments.refused <<<"$out")" = 1 ] &&
    ok quota_refuses_file_records_sync || notok quota_refuses_file_records_sync "exit $code: $out"
t_gs "$Q" status | grep -q quota_device && ok quota_shown_in_status || notok quota_shown_in_status "$(t_gs "$Q" status | grep 'last sync')"
[ "$(nblobs)" = $((before + 1)) ] && [ "$(pending_bytes "$Q")" -gt 0 ] && ok quota_kept_pending ||
    notok quota_kept_pending "$(nblobs) files (thumbnail only: $((before + 1))), pending $(pending_bytes "$Q")"

# --- usage and GC
out=$(t_admin --json attachments)
[ "$(jq .blobs <<<"$out")" = "$(nblobs)" ] && [ "$(jq -r '.grids[0].grid' <<<"$out")" = g1 ] &&
    [ "$(jq .quota_device <<<"$out")" = 200000 ] && ok admin_attachments_usage || notok admin_attachments_usage "$out"
t_admin attachments | grep -q "per grid" && ok admin_attachments_table || notok admin_attachments_table "no table"
out=$(t_admin --json attachments gc)
[ "$(jq .removed <<<"$out")" = 0 ] && ok gc_keeps_live || notok gc_keeps_live "$out"
proxy_start # C reaches the server through the proxy
t_gs "$C" delete "$RD" >/dev/null && t_gs "$C" sync >/dev/null 2>&1
proxy_stop
out=$(t_admin --json attachments gc)
[ "$(jq .removed <<<"$out")" = 4 ] && [ "$(nblobs)" = $((want - 4 + 1)) ] && ok gc_removes_deleted_records_files ||
    notok gc_removes_deleted_records_files "$out, $(nblobs) files"
t_gs "$B" sync >/dev/null 2>&1
t_gs "$B" attachment get "$P1" --out b1.jpg >/dev/null && [ "$(sha256sum <b1.jpg | cut -c1-64)" = "$SUM1" ] &&
    ok live_file_still_served || notok live_file_still_served "P1 not served after gc"
t_done
