#!/usr/bin/env bash
# client_crypt.sh: encryption at rest (README "Encryption at rest", docs/CLIENT.md) through
# the real CLI against a real gridsyncd on 127.0.0.1 over TLS.
#  - with the plain CLI of $BUILD: GRIDSYNC_KEY_FILE is refused with exit 8 and says which
#    build to use, the plain database left working;
#  - with the SQLCipher CLI of $CRYPT_BUILD (make SQLCIPHER=1; make test-sqlcipher runs this
#    with it): a device enrolled encrypted records a resident, a visit and a PDF attachment;
#    `strings` finds no name, phone, note, token or attachment text in its database or WAL
#    (the WAL kept by a reader holding the file open), while the same check finds them in a
#    plain device's files; the wrong key and no key exit 8 and leave the file byte for byte;
#    the device syncs, a plain device of the grid receives its records; `gridsync rekey`
#    (exit 0) and the old key then exits 8, the new one reads and syncs.
# Where the SQLCipher CLI is not built it says `skip` with the command that builds it.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
CRYPT_BUILD=${CRYPT_BUILD:-build/sqlcipher}
t_setup client_crypt
PLAIN=$GRIDSYNC
NAME=张秀兰 PHONE=13912345678 NOTE=血压偏高需要复查 MARK=ATTACHMENT-SECRET-MARK

printf 'first key\n' >"$T/k1"
head -c 32 /dev/urandom >"$T/k2"
printf 'not the key\n' >"$T/bad"
chmod 600 "$T/k1" "$T/k2" "$T/bad"

# the plain build: a key is refused with exit 8, the plain file untouched
P0=$T/plain0.db
"$PLAIN" --db "$P0" resident add --name 李四 --grid g >/dev/null || notok plain_add "exit $?"
GRIDSYNC_KEY_FILE=$T/k1 "$PLAIN" --db "$P0" list residents >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 8 ] && grep -q 'SQLCIPHER=1' "$T/err"; then ok plain_build_key_exit_8
else notok plain_build_key_exit_8 "exit $rc: $(cat "$T/err")"; fi
[ "$("$PLAIN" --db "$P0" --json list residents | jq -r '.[0].name')" = 李四 ] &&
    ok plain_file_still_opens || notok plain_file_still_opens "$("$PLAIN" --db "$P0" list residents 2>&1)"
GRIDSYNC_KEY_FILE=$T/nope "$PLAIN" --db "$P0" status >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'cannot read the key file' "$T/err" && ok missing_key_file_exit_2 ||
    notok missing_key_file_exit_2 "exit $rc: $(cat "$T/err")"

CRYPT=$(cd "$CRYPT_BUILD/bin" 2>/dev/null && pwd)/gridsync
if [ ! -x "$CRYPT" ]; then
    skip client_crypt_sqlcipher "$CRYPT_BUILD/bin/gridsync is not built: make test-sqlcipher runs this part"
    t_done; exit
fi
if ! ldd "$CRYPT" | grep -q sqlcipher; then
    notok crypt_cli_links_sqlcipher "$(ldd "$CRYPT" | grep -i sqlite)"
    t_done; exit
fi
ok crypt_cli_links_sqlcipher
cp "$T/k1" "$T/key"
# the encrypted device's CLI: GRIDSYNC_KEY_FILE always set to $T/key
printf '#!/bin/sh\nGRIDSYNC_KEY_FILE=%s exec %s "$@"\n' "$T/key" "$CRYPT" >"$T/gs-crypt"
chmod +x "$T/gs-crypt"

t_server_init
t_server_start
C=$T/crypt.db P=$T/plain.db
GRIDSYNC=$T/gs-crypt t_enroll "$C" 西华-东关-01 王芳
C_TOKEN=$DEV_TOKEN
GRIDSYNC=$PLAIN t_enroll "$P" 西华-东关-01 李明
P_TOKEN=$DEV_TOKEN
cg() { "$T/gs-crypt" --db "$C" "$@"; }

printf '%%PDF-1.4\n1 0 obj (%s) endobj\n%%%%EOF\n' "$MARK" >"$T/doc.pdf"
# a reader holding the file open keeps the WAL from being checkpointed away at each exit,
# so the WAL's own pages are checked too (the key is the file's bytes without the newline)
mkfifo "$T/hold"
(printf "PRAGMA key='first key';\nBEGIN;\nSELECT count(*) FROM sqlite_master;\n"; cat "$T/hold") |
    sqlcipher "$C" >/dev/null 2>&1 &
HOLD=$!
T_PIDS+=("$HOLD")
exec 9>"$T/hold"
sleep 0.3
R=$(cg resident add --name "$NAME" --phone "$PHONE" --address 东关街12号 --born 1941 --tag elderly) ||
    notok crypt_resident_add "exit $?"
V=$(cg visit add --resident "$R" --kind elderly_checkin --notes "$NOTE" --follow-up) ||
    notok crypt_visit_add "exit $?"
A=$(cg attach "$R" "$T/doc.pdf" --caption 门牌) || notok crypt_attach "exit $?"
[ -s "$C-wal" ] && ok crypt_wal_present || notok crypt_wal_present "no WAL beside $C"
leaks() { # FILES...: the secrets strings(1) finds in them
    local f
    for f in "$@"; do [ -e "$f" ] && strings -a "$f"; done |
        grep -oE "$NAME|$PHONE|$NOTE|$MARK|${C_TOKEN#*.}|${P_TOKEN#*.}|CREATE TABLE" | sort -u | tr '\n' ' '
}
l=$(leaks "$C" "$C-wal" "$C-shm")
[ -z "$l" ] && ok strings_finds_nothing_on_encrypted_device || notok strings_finds_nothing_on_encrypted_device "found: $l"
exec 9>&-
wait "$HOLD" 2>/dev/null
# the same check finds them in a plain device's files: it can fail
"$PLAIN" --db "$P" resident add --name "$NAME" --phone "$PHONE" >/dev/null
"$PLAIN" --db "$P" attach "$("$PLAIN" --db "$P" --json list residents | jq -r '.[0].id')" "$T/doc.pdf" >/dev/null
l=$(leaks "$P" "$P-wal")
case "$l" in *"$PHONE"*"$MARK"*|*"$MARK"*"$PHONE"*) ok strings_finds_them_on_plain_device ;;
    *) notok strings_finds_them_on_plain_device "found only: '$l'" ;; esac
l=$(leaks "$C" "$C-wal" "$C-shm")
[ -z "$l" ] && ok strings_finds_nothing_after_close || notok strings_finds_nothing_after_close "found: $l"

# the wrong key, and no key: exit 8, the file byte for byte as it was
sum0=$(sha256sum "$C" | cut -d' ' -f1)
GRIDSYNC_KEY_FILE=$T/bad "$CRYPT" --db "$C" list residents >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 8 ] && grep -q 'key does not open' "$T/err" && ok wrong_key_exit_8 ||
    notok wrong_key_exit_8 "exit $rc: $(cat "$T/err")"
GRIDSYNC_KEY_FILE=$T/bad "$CRYPT" --db "$C" --json sync >"$T/out" 2>/dev/null; rc=$?
[ $rc -eq 8 ] && [ "$(jq -r .error.code "$T/out")" = key ] && ok wrong_key_json_code ||
    notok wrong_key_json_code "exit $rc: $(cat "$T/out")"
"$CRYPT" --db "$C" status >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 8 ] && grep -q 'GRIDSYNC_KEY_FILE' "$T/err" && ok no_key_exit_8 ||
    notok no_key_exit_8 "exit $rc: $(cat "$T/err")"
"$PLAIN" --db "$C" status >/dev/null 2>&1; rc=$?
[ $rc -eq 8 ] && ok plain_cli_on_encrypted_exit_8 || notok plain_cli_on_encrypted_exit_8 "exit $rc"
[ "$(sha256sum "$C" | cut -d' ' -f1)" = "$sum0" ] && [ ! -e "$C-wal" ] &&
    ok refused_opens_leave_file_untouched || notok refused_opens_leave_file_untouched "the file changed"

# a sync of the encrypted device; the plain device of the grid receives its records
cg sync >/dev/null 2>"$T/err" && ok crypt_sync || notok crypt_sync "$(cat "$T/err")"
[ "$(cg --json status | jq -r '.pending // 0')" = 0 ] && ok crypt_sync_sent_all ||
    notok crypt_sync_sent_all "$(cg --json status)"
"$PLAIN" --db "$P" sync >/dev/null 2>"$T/err" || notok plain_sync "$(cat "$T/err")"
got=$("$PLAIN" --db "$P" --json show "$V" | jq -r .notes)
[ "$got" = "$NOTE" ] && ok plain_device_receives_visit || notok plain_device_receives_visit "notes '$got'"
got=$("$PLAIN" --db "$P" --json show "$R" | jq -r .phone)
[ "$got" = "$PHONE" ] && ok plain_device_receives_resident || notok plain_device_receives_resident "phone '$got'"
"$PLAIN" --db "$P" resident update "$R" --address 东关街14号 >/dev/null
"$PLAIN" --db "$P" sync >/dev/null 2>&1
cg sync >/dev/null 2>"$T/err" || notok crypt_sync_pull "$(cat "$T/err")"
got=$(cg --json show "$R" | jq -r .address)
[ "$got" = 东关街14号 ] && ok crypt_device_pulls_edit || notok crypt_device_pulls_edit "address '$got'"

# rekey: atomic swap to the key in k2; the old key exits 8, the new one reads and syncs
GRIDSYNC_NEW_KEY_FILE=$T/k2 cg rekey >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && ok rekey_exit_0 || notok rekey_exit_0 "exit $rc: $(cat "$T/err")"
[ ! -e "$C.rekey" ] && ok rekey_leaves_no_copy || notok rekey_leaves_no_copy "$C.rekey is there"
cg status >/dev/null 2>&1; rc=$?
[ $rc -eq 8 ] && ok old_key_after_rekey_exit_8 || notok old_key_after_rekey_exit_8 "exit $rc"
cp "$T/k2" "$T/key"
[ "$(cg --json show "$R" | jq -r .phone)" = "$PHONE" ] && ok new_key_reads ||
    notok new_key_reads "$(cg show "$R" 2>&1)"
cg attachment get "$A" --out "$T/back.pdf" >/dev/null 2>"$T/err" && cmp -s "$T/doc.pdf" "$T/back.pdf" &&
    ok attachment_bytes_after_rekey || notok attachment_bytes_after_rekey "$(cat "$T/err")"
cg visit add --resident "$R" --kind routine --notes 复查正常 >/dev/null
cg sync >/dev/null 2>"$T/err" && ok sync_after_rekey || notok sync_after_rekey "$(cat "$T/err")"
"$PLAIN" --db "$P" sync >/dev/null 2>&1
n=$("$PLAIN" --db "$P" --json list visits --resident "$R" | jq length)
[ "$n" = 2 ] && ok plain_device_receives_after_rekey || notok plain_device_receives_after_rekey "visits $n"
cg rekey >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && ok rekey_without_new_key_exit_2 || notok rekey_without_new_key_exit_2 "exit $rc"
l=$(leaks "$C" "$C-wal")
[ -z "$l" ] && ok strings_finds_nothing_after_rekey || notok strings_finds_nothing_after_rekey "found: $l"
t_done
