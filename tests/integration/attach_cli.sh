#!/usr/bin/env bash
# attach_cli.sh: attachments on the device (issue 19, slice 1) through the real CLI and
# library, checked with a real EXIF reader (python3-pil):
#  - a 4000x3000 camera JPEG carrying GPS, a serial number and orientation 6 becomes a
#    1200x1600 upright JPEG (compared pixel by pixel with PIL's own transpose) and a
#    240x320 thumbnail, neither with any EXIF left; PNG and PDF attach; the same photo twice
#    is stored once;
#  - a fake JPEG, a truncated one, a PNG whose header says 50000x50000, a text file: exit
#    2 and nothing stored; no such record: exit 3;
#  - deleting the record deletes its attachments (tombstones in the outbox) and their bytes;
#  - the attachment records sync: a second device of the grid lists them and fetches a
#    file from the server on demand.
# Real gridsyncd on 127.0.0.1 with real TLS. About 5 s.
set -u
. "$(dirname "$0")/lib.sh"
MK="$(cd "$(dirname "$0")" && pwd)/attach_mkimg.py"
if ! "$PY" -c 'import PIL' 2>/dev/null; then
    skip attach_cli "python3-pil is not installed (scripts/install-deps.sh test)"
    exit 0
fi
t_setup attach_cli
cd "$T" || exit 1
expect() { # NAME RC CMD...
    local name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    out=$(cat "$T/out"); err=$(cat "$T/err")
    if [ "$got" -eq "$want" ]; then ok "$name"; else notok "$name" "exit $got, wanted $want; stderr: $err"; fi
}
blobs() { t_sql "$1" "SELECT count(*) FROM attachment_blob"; }

t_server_init
t_server_start
t_enroll "$T/a.db" g1 a
t_enroll "$T/b.db" g1 b
A="$T/a.db"; B="$T/b.db"

"$PY" "$MK" camera cam.jpg 6
"$PY" "$MK" png shot.png 900 700
"$PY" "$MK" bomb bomb.png 50000 50000
"$PY" "$MK" fake fake.jpg
head -c 4000 cam.jpg >trunc.jpg
printf '%%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%%%EOF\n' >doc.pdf
echo "hello" >note.txt
"$PY" "$MK" exif cam.jpg | grep -q SN-0042-SECRET && ok camera_has_exif || notok camera_has_exif "the generated photo carries no serial"

R=$(t_gs "$A" resident add --name 王秀英) && V=$(t_gs "$A" visit add --resident "$R" --kind routine) ||
    { notok setup "records not added"; t_done; exit; }

expect attach_photo 0 t_gs "$A" attach "$V" cam.jpg --caption "墙体裂缝"
P=$out
[[ $P =~ ^[0-9a-f-]{36}$ ]] && ok attach_prints_id || notok attach_prints_id "'$P'"
expect get_full 0 t_gs "$A" attachment get "$P" --out full.jpg
expect get_thumb 0 t_gs "$A" attachment get "$P" --thumb --out thumb.jpg
[ "$("$PY" "$MK" size full.jpg)" = "1200 1600" ] && ok full_1600_upright || notok full_1600_upright "$("$PY" "$MK" size full.jpg)"
[ "$("$PY" "$MK" size thumb.jpg)" = "240 320" ] && ok thumb_320 || notok thumb_320 "$("$PY" "$MK" size thumb.jpg)"
for f in full.jpg thumb.jpg; do
    e=$("$PY" "$MK" exif "$f")
    [ "$e" = "{}" ] && ok "exif_gone_$f" || notok "exif_gone_$f" "$e"
done
d=$("$PY" "$MK" diff cam.jpg thumb.jpg 6)
awk -v d="$d" 'BEGIN { exit !(d < 6) }' && ok orientation_applied || notok orientation_applied "mean difference $d to the upright original"
d1=$("$PY" "$MK" diff cam.jpg thumb.jpg 1)
awk -v d="$d1" 'BEGIN { exit !(d > 20) }' && ok orientation_check_can_fail || notok orientation_check_can_fail "unrotated difference only $d1"
size=$(stat -c %s full.jpg); raw=$(stat -c %s cam.jpg)
echo "# camera photo: $raw bytes in, $size stored, $(stat -c %s thumb.jpg) thumbnail"
[ "$size" -lt $((raw / 4)) ] && ok photo_made_small || notok photo_made_small "$size of $raw"

expect list_json 0 t_gs "$A" --json attachments "$V"
"$PY" - "$out" "$P" <<'PYEOF' && ok list_fields || notok list_fields "$out"
import json, sys
a = json.loads(sys.argv[1])
assert len(a) == 1, a
x = a[0]
assert x["id"] == sys.argv[2] and x["mime"] == "image/jpeg" and x["caption"] == "墙体裂缝", x
assert x["width"] == 1200 and x["height"] == 1600 and x["have_full"] and x["have_thumb"], x
assert len(x["sha256"]) == 64, x
PYEOF
sha=$(sha256sum full.jpg | cut -c1-64)
[ "$(t_sql "$A" "SELECT sha256 FROM attachment WHERE deleted = 0")" = "$sha" ] && ok sha_is_content || notok sha_is_content "stored sha differs from $sha"

n0=$(blobs "$A")
expect attach_same_again 0 t_gs "$A" attach "$V" cam.jpg
[ "$(blobs "$A")" = "$n0" ] && ok same_bytes_stored_once || notok same_bytes_stored_once "$(blobs "$A") blobs, was $n0"
expect attach_png 0 t_gs "$A" attach "$V" shot.png
expect attach_pdf 0 t_gs "$A" attach "$V" doc.pdf --caption 调解协议书
PDF=$out
expect get_pdf 0 t_gs "$A" attachment get "$PDF" --out back.pdf
cmp -s doc.pdf back.pdf && ok pdf_as_is || notok pdf_as_is "PDF bytes changed"
expect pdf_no_thumb 3 t_gs "$A" attachment get "$PDF" --thumb --out x.jpg

n1=$(blobs "$A"); o1=$(t_sql "$A" "SELECT count(*) FROM outbox")
expect refuse_fake_jpeg 2 t_gs "$A" attach "$V" fake.jpg
expect refuse_truncated 2 t_gs "$A" attach "$V" trunc.jpg
expect refuse_bomb 2 t_gs "$A" attach "$V" bomb.png
[[ $err == *"50000x50000"* ]] && ok bomb_message || notok bomb_message "$err"
expect refuse_text 2 t_gs "$A" attach "$V" note.txt
expect refuse_no_record 3 t_gs "$A" attach 01a23cce-0000-7000-8000-000000000000 cam.jpg
expect refuse_no_file 3 t_gs "$A" attach "$V" missing.jpg
expect refuse_bad_quality 2 t_gs "$A" attach "$V" cam.jpg --quality 0
expect refuse_attachment_add 2 t_gs "$A" attachment add --caption x
printf '{"type":"attachment","record":"%s","record_type":"visit","mime":"image/jpeg","sha256":"%064d","bytes":5}\n' "$V" 0 >att.jsonl
expect refuse_attachment_import 2 t_gs "$A" import att.jsonl
[ "$(blobs "$A")" = "$n1" ] && [ "$(t_sql "$A" "SELECT count(*) FROM outbox")" = "$o1" ] &&
    ok refusals_store_nothing || notok refusals_store_nothing "blobs $(blobs "$A") outbox changed"

expect status_pending_bytes 0 t_gs "$A" --json status
want=$(t_sql "$A" "SELECT sum(length(data)) FROM attachment_blob WHERE kind IN (1, 2)")
"$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["attachments_pending_bytes"] == int(sys.argv[2]) > 300000 and j["attachments_pending"] == 5, j' "$out" "$want" &&
    ok status_shows_pending_bytes || notok status_shows_pending_bytes "$out (want $want)"
expect status_text 0 t_gs "$A" status
[[ $out == *"attachments 5 files"*"waiting to upload"* ]] && ok status_text_line || notok status_text_line "$out"

# the attachment records sync; the second device sees them (bytes: slice 2)
expect sync_a 0 t_gs "$A" sync
expect sync_b 0 t_gs "$B" sync
expect list_b 0 t_gs "$B" --json attachments "$V"
"$PY" -c 'import json,sys; a=json.loads(sys.argv[1]); assert len(a)==4 and not a[0]["have_full"], a' "$out" &&
    ok other_device_lists || notok other_device_lists "$out"
# the file is not on B: attachment get fetches it from the server (attach_sync.sh has more)
expect other_device_fetches 0 t_gs "$B" attachment get "$P" --out y.jpg
cmp -s y.jpg full.jpg && ok other_device_same_bytes || notok other_device_same_bytes "y.jpg differs"

# deleting the record deletes its attachments, their bytes go
expect keep_original 0 t_gs "$A" attach "$V" cam.jpg --keep-original
K=$out
expect get_original 0 t_gs "$A" attachment get "$K" --original --out orig.jpg
cmp -s cam.jpg orig.jpg && ok original_kept || notok original_kept "differs"
expect delete_visit 0 t_gs "$A" delete "$V"
expect list_after_delete 0 t_gs "$A" attachments "$V"
[ "$out" = "no attachments" ] && ok attachments_go_with_record || notok attachments_go_with_record "$out"
[ "$(blobs "$A")" = 0 ] && ok bytes_go_with_record || notok bytes_go_with_record "$(blobs "$A") blobs left"
[ "$(t_sql "$A" "SELECT count(*) FROM attachment WHERE deleted = 1")" = 5 ] && ok tombstones || notok tombstones "$(t_sql "$A" "SELECT count(*) FROM attachment WHERE deleted = 1")"
expect sync_a2 0 t_gs "$A" sync
expect sync_b2 0 t_gs "$B" sync
[ "$(t_sql "$B" "SELECT count(*) FROM attachment WHERE deleted = 0")" = 0 ] && ok deletion_synced || notok deletion_synced "$(t_sql "$B" "SELECT count(*) FROM attachment WHERE deleted = 0") live on b"
t_server_stop
t_done
