#!/usr/bin/env bash
# valgrind.sh: no leak and no memory error in the client library, under valgrind
# (--leak-check=full, definite and indirect leaks are errors, exit 99 on any error):
#   - the gridsync CLI: resident add, sync (pushing 3 records) against a live server, list;
#   - the library's unit test binary $BUILD/tests/test_client_api.
# Needs a non-sanitizer build (valgrind and ASan do not mix); skips with a reason otherwise.
. "$(dirname "$0")/../integration/lib.sh"
command -v valgrind >/dev/null || { skip valgrind "valgrind is not installed"; exit 0; }
if nm -D "$GRIDSYNC" 2>/dev/null | grep -q __asan_init; then
    skip valgrind "$GRIDSYNC is an ASan build"; exit 0
fi
t_setup valgrind
t_server_init
# a client under valgrind is ~50x slower: give its TLS handshake time
sed -i 's/^read_timeout_ms = .*/read_timeout_ms = 120000/; s/^request_timeout_ms = .*/request_timeout_ms = 300000/' \
    "$T/town/gridsyncd.conf"
t_server_start
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect)
DB=$T/dev.db
t_enroll "$DB" 东风村3组 张三
vg() { # name, args...
    local name=$1; shift
    "${VG[@]}" --log-file="$T/vg.$name" "$GRIDSYNC" --db "$DB" "$@" >"$T/out.$name" 2>&1
    local rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/vg.$name" ]; then ok "valgrind_cli_$name"
    else notok "valgrind_cli_$name" "exit $rc: $(head -c 600 "$T/vg.$name" "$T/out.$name" | tr '\n' ' ')"; fi
}
R=$("$GRIDSYNC" --db "$DB" resident add --name 王秀英)
"$GRIDSYNC" --db "$DB" visit add --resident "$R" --kind routine --notes 老人精神很好 >/dev/null
vg resident_add resident add --name 李四 --phone 13800000000 --tag elderly
vg sync sync
vg list list visits
T_BIN=$BUILD/tests/test_client_api
if [ -x "$T_BIN" ]; then
    CMOCKA_MESSAGE_OUTPUT=stdout "${VG[@]}" --log-file="$T/vg.api" "$T_BIN" >"$T/out.api" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$T/vg.api" ]; then ok valgrind_test_client_api
    else notok valgrind_test_client_api "exit $rc: $(grep -E 'FAILED|definitely|indirectly|Invalid' "$T/vg.api" "$T/out.api" | head -5 | tr '\n' ' ')"; fi
else
    notok valgrind_test_client_api "$T_BIN missing (make BUILD=$BUILD $T_BIN)"
fi
t_done
