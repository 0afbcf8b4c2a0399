#!/usr/bin/env bash
# e2e_cross.sh: the ARM `gridsync` CLI ($CROSS_BUILD/bin/gridsync under $QEMU) against the
# x86-64 gridsyncd of $BUILD on 127.0.0.1 with real TLS, and an x86-64 device in the same
# grid: a resident and a visit recorded offline on the ARM device reach the other device
# byte for byte (Chinese text, a float coordinate, a 64-bit time), an edit comes back the
# other way, a wrong token is refused with the documented exit code (5, README
# "Exit codes"), and a 2,000-visit sync (CROSS_VISITS) prints the ARM client's peak RSS under qemu as a
# "figure" line (qemu's own pages included: compare with `--version` in the same line).
# Run by scripts/test-cross.sh (make test-cross).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
QEMU=${QEMU:-qemu-aarch64}
ARCH=${ARCH:-aarch64}
CROSS_BUILD=${CROSS_BUILD:-build/cross/aarch64}
ARM_BIN=$(cd "$CROSS_BUILD/bin" && pwd)/gridsync
X86=$GRIDSYNC
t_setup e2e_cross
# lib.sh's helpers (t_enroll, t_gs) run $GRIDSYNC: make it the ARM CLI under qemu
printf '#!/bin/sh\nexec %s %s "$@"\n' "$QEMU" "$ARM_BIN" >"$T/gridsync-arm"
chmod +x "$T/gridsync-arm"
GRIDSYNC=$T/gridsync-arm
file -L "$ARM_BIN" | grep -qiE 'ARM|aarch64' && ok cross_binary_is_arm || notok cross_binary_is_arm "$(file -L "$ARM_BIN")"

t_server_init
t_server_start
ARM=$T/arm.db X=$T/x86.db
t_enroll "$ARM" 东风村3组 张三
ARM_ID=$DEV_ID ARM_TOKEN=$DEV_TOKEN
GRIDSYNC=$X86 t_enroll "$X" 东风村3组 李四
GRIDSYNC=$T/gridsync-arm

# recorded offline on the ARM device (the server is up, but nothing syncs until asked)
R=$(t_gs "$ARM" resident add --name "王秀英" --phone 13800138000 --address "东风村3组12号" --born 1946) ||
    notok arm_resident_add "exit $?"
V=$(t_gs "$ARM" visit add --resident "$R" --kind elderly_checkin --notes "血压偏高，已提醒按时服药" \
    --lat 33.7901 --lon 114.5202) || notok arm_visit_add "exit $?"
n=$(t_gs "$ARM" --json status | jq -r '.pending')
[ "$n" -ge 2 ] 2>/dev/null && ok arm_offline_pending || notok arm_offline_pending "pending '$n'"
t_gs "$ARM" sync >/dev/null 2>"$T/err" && ok arm_sync || notok arm_sync "$(cat "$T/err")"
[ "$(jq -r '.pending // 0' <<<"$(t_gs "$ARM" --json status)")" = 0 ] && ok arm_sync_left_nothing ||
    notok arm_sync_left_nothing "$(t_gs "$ARM" --json status)"

"$X86" --db "$X" sync >/dev/null 2>"$T/err" || notok x86_sync "$(cat "$T/err")"
a=$(t_gs "$ARM" --json show "$V"); b=$("$X86" --db "$X" --json show "$V")
pick() { jq -cS 'del(.pending, .synced, .updated_at, .conflicts)' <<<"$1"; }
if [ -n "$b" ] && [ "$(pick "$a")" = "$(pick "$b")" ]; then ok arm_visit_arrives_identical
else notok arm_visit_arrives_identical "arm $(pick "$a") vs x86 $(pick "$b")"; fi
[ "$(jq -r .name <<<"$("$X86" --db "$X" --json show "$R")")" = "王秀英" ] && ok arm_resident_arrives ||
    notok arm_resident_arrives "$("$X86" --db "$X" --json show "$R")"

# and back: an edit on the x86 device reaches the ARM one
"$X86" --db "$X" resident update "$R" --address "东风村3组14号" >/dev/null
"$X86" --db "$X" sync >/dev/null 2>"$T/err" || notok x86_sync_edit "$(cat "$T/err")"
t_gs "$ARM" sync >/dev/null 2>"$T/err" || notok arm_sync_pull "$(cat "$T/err")"
got=$(t_gs "$ARM" --json show "$R" | jq -r .address)
[ "$got" = "东风村3组14号" ] && ok arm_pulls_edit || notok arm_pulls_edit "address '$got'"

# a wrong token: refused with exit 5 (README "Exit codes"), the unsent change kept
arm_init() { t_gs "$ARM" init --device "$ARM_ID" --token "$1" --server "$URL" --ca "$CA" \
    --grid 东风村3组 --worker 张三 >/dev/null 2>"$T/err" || notok arm_reinit "$(cat "$T/err")"; }
arm_init "$ARM_ID.wrongsecret"
t_gs "$ARM" visit add --resident "$R" --kind routine --notes "再访" >/dev/null
t_gs "$ARM" sync >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 5 ] && ok arm_wrong_token_exit_5 || notok arm_wrong_token_exit_5 "exit $rc: $(cat "$T/err")"
arm_init "$ARM_TOKEN"
t_gs "$ARM" sync >/dev/null 2>"$T/err" && ok arm_sync_after_token_fixed || notok arm_sync_after_token_fixed "$(cat "$T/err")"
[ "$(t_gs "$ARM" --json status | jq -r '.pending // 0')" = 0 ] && ok arm_kept_change_sent ||
    notok arm_kept_change_sent "$(t_gs "$ARM" --json status)"

# a figure, not a check: the ARM CLI's peak RSS syncing 2,000 visits (CROSS_VISITS), under qemu
NV=${CROSS_VISITS:-2000}
python3 tests/bench/gen_visits.py "$NV" --seed 5 >"$T/v.jsonl"
B=$T/big.db
t_enroll "$B" 东风村3组 王五
t_gs "$B" import "$T/v.jsonl" >/dev/null || notok arm_import "exit $?"
/usr/bin/time -v "$GRIDSYNC" --version >/dev/null 2>"$T/v.time"
/usr/bin/time -v "$GRIDSYNC" --db "$B" --json sync >"$T/s.json" 2>"$T/s.time" && ok arm_sync_many ||
    notok arm_sync_many "$(tail -n 5 "$T/s.time")"
rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
echo "figure {\"bench\":\"cross_sync_qemu\",\"visits\":$NV,\"arch\":\"$ARCH\",\"peak_rss_kb\":$(rss "$T/s.time"),\"version_peak_rss_kb\":$(rss "$T/v.time"),\"note\":\"qemu-user RSS: the emulator's pages are included\"}"
t_done
