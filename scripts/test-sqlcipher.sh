#!/usr/bin/env bash
# test-sqlcipher.sh: the client on SQLCipher (make SQLCIPHER=1, mk/sqlcipher.mk).
#   1. every client unit test binary of $CRYPT_BUILD/tests (test_client_crypt's encrypted
#      cases run only here);
#   2. tests/integration/client_crypt.sh: an encrypted device against $BUILD's gridsyncd;
#   3. the client's CLI tests with $CRYPT_BUILD's gridsync as the device CLI
#      (GS_TEST_GRIDSYNC), without a key: the same SQL on SQLCipher's SQLite 3.15;
#   4. tests/integration/java_binding.sh with $CRYPT_BUILD's binding: every JUnit device
#      encrypted (GridSync.canEncrypt()), wrong key and rekey included.
# Ends with the same summary line as scripts/run-tests.sh: "N passed, N failed".
set -u
BUILD=${BUILD:-build}
CRYPT_BUILD=${CRYPT_BUILD:-build/sqlcipher}
export BUILD CRYPT_BUILD
logs=$CRYPT_BUILD/test-logs
mkdir -p "$logs"
CLI=$(cd "$CRYPT_BUILD/bin" && pwd)/gridsync
echo "test-sqlcipher: $("$CLI" --version), $(ldd "$CLI" | grep -o 'libsqlcipher[^ ]*' | head -n 1)"

pass=0 fail=0
count() { # NAME LOG RC KIND: adds the log's passes and failures
    local p f
    if [ "$4" = unit ]; then
        p=$(grep -aoE '\[  PASSED  \] [0-9]+' "$2" | awk '{s+=$4} END {print s+0}')
        f=$(grep -aoE '\[  FAILED  \] [0-9]+ test' "$2" | awk '{s+=$4} END {print s+0}')
    else
        p=$(grep -acE '^ok ' "$2"); f=$(grep -acE '^not ok ' "$2")
    fi
    [ "$3" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1   # ran no case: did not pass
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -ne 0 ]; then
        printf 'FAIL %-32s (exit %d)\n' "$1" "$3"; tail -n 30 "$2" | sed 's/^/    | /'
    else
        printf 'ok   %-32s %3d passed\n' "$1" "$p"
    fi
}
for t in "$CRYPT_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    CMOCKA_MESSAGE_OUTPUT=stdout timeout -k 10 300 "$t" >"$logs/$n.log" 2>&1 </dev/null
    count "$n" "$logs/$n.log" $? unit
done
timeout -k 10 300 bash tests/integration/client_crypt.sh >"$logs/client_crypt.log" 2>&1 </dev/null
count client_crypt "$logs/client_crypt.log" $? it
for n in client_cli cli_json e2e_conflict attach_cli e2e_warnings; do
    GS_TEST_GRIDSYNC=$CLI timeout -k 10 300 bash "tests/integration/$n.sh" >"$logs/$n.log" 2>&1 </dev/null
    count "$n (sqlcipher cli)" "$logs/$n.log" $? it
done
GS_TEST_JAVA=$CRYPT_BUILD/java timeout -k 10 300 bash tests/integration/java_binding.sh \
    >"$logs/java_binding.log" 2>&1 </dev/null
count "java_binding (encrypted)" "$logs/java_binding.log" $? it
grep -ahE '^skip ' "$logs"/*.log | sed 's/^/  /'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
