#!/usr/bin/env bash
# java_binding.sh: the Java binding (client/java/) through JUnit 5 against a real gridsyncd
# on 127.0.0.1 with TLS and two enrolled devices: client/java/test/.../GridSyncTest.java
# (record offline, sync with progress, a conflict, error codes, a 600-record list, delete,
# warnings, an attachment: a PNG shrunk to JPEG with a thumbnail, a non-image refused; a
# third device, revoked with a wipe, gets WIPED and its file is deleted). java runs with -Xcheck:jni, and any JNI warning it prints (a leaked local
# reference, a call with an exception pending) fails the test. Says `skip` where the
# binding was not built (no javac, or a sanitizer build: mk/java.mk says why).
set -u
. "$(dirname "$0")/lib.sh"
# GS_TEST_JAVA: the binding of another build (make test-sqlcipher: build/sqlcipher/java,
# where every test device is encrypted), the server still $BUILD's
JDIR=${GS_TEST_JAVA:-$BUILD/java}
JAR=$JDIR/gridsync.jar
CONSOLE=/usr/share/java/junit-platform-console-standalone.jar
if [ ! -f "$JAR" ] || [ ! -f "$JDIR/test/.stamp" ]; then
    skip java_binding "not built in $JDIR (needs javac, and no sanitizer: see mk/java.mk)"; exit 0
fi
[ -f "$CONSOLE" ] || { skip java_binding "$CONSOLE missing (Debian package junit5)"; exit 0; }
t_setup java_binding
t_server_init
t_server_start
props=()
for n in 1 2 3; do
    out=$(t_admin --json device add --print-token --grid 东风村3组 --name "java$n") || { notok device_add "$out"; exit 1; }
    props+=("-Dgs.dev$n=$(jq -r .id <<<"$out")" "-Dgs.tok$n=$(jq -r .token <<<"$out")")
done
# the third is revoked with a remote wipe: GridSyncTest.revokedWithWipeDeletesTheDatabase
t_admin device revoke "$(jq -r .id <<<"$out")" --wipe >/dev/null || notok revoke_wipe "exit $?"
java -Xcheck:jni -Djava.library.path="$JDIR" -Dgs.dir="$T" -Dgs.url="$URL" -Dgs.ca="$CA" \
    "${props[@]}" -jar "$CONSOLE" --disable-banner --details=flat --disable-ansi-colors \
    -cp "$JAR:$JDIR/test" --select-class org.gridsync.GridSyncTest >"$T/junit.out" 2>&1
rc=$?
cat "$T/junit.out"
n_ok=$(awk '/tests successful/ {print $2}' "$T/junit.out")
n_bad=$(awk '/tests failed/ {print $2}' "$T/junit.out")
[ $rc -eq 0 ] && [ "${n_bad:-1}" = 0 ] && [ "${n_ok:-0}" -ge 4 ] && ok "java_junit_${n_ok}_tests" ||
    notok java_junit "exit $rc, ${n_ok:-?} successful, ${n_bad:-?} failed"
if grep -qE 'WARNING in native method|JNI local refs|FATAL ERROR in native method' "$T/junit.out"; then
    notok java_xcheck_jni "$(grep -E 'WARNING|FATAL' "$T/junit.out" | head -n 3)"
else
    ok java_xcheck_jni_clean
fi
t_done
