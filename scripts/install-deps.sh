#!/bin/sh
# Installs the Debian 12 packages gridsync needs to build, test and run its demo.
# Idempotent: asks apt only for what dpkg does not already report as installed.
# Called by `make` once (it keeps a stamp in build/, see the Makefile), by `make deps`, and
# by .ci/run.
set -eu

BUILD="build-essential pkg-config libsqlite3-dev libcurl4-openssl-dev libmbedtls-dev \
libmsgpack-dev libcmocka-dev libjansson-dev zlib1g-dev libxlsxwriter-dev libturbojpeg0-dev libpng-dev \
libpq-dev libqrencode-dev libsqlcipher-dev"
# libsqlcipher-dev: the encrypted device database of `make SQLCIPHER=1` (docs/CLIENT.md)
# chromium and a CJK font: the web console's browser test (tests/integration/console_browser.sh);
# python3-openpyxl reads gridsync-admin's exports back (tests/integration/admin_export.sh);
# openjdk-17-jdk-headless and junit5: the Java binding and its tests (client/java/)
# postgresql-15: a throwaway cluster for the PostgreSQL store's tests (tests/tools/pgtmp.sh);
# haproxy: the TCP load balancer in front of several gridsyncd (tests/faults/county_cluster.sh)
# sqlcipher (the shell) holds an encrypted device database open in client_crypt.sh, so its WAL stays
# python3-pil makes camera-like photos and reads their EXIF (tests/integration/attach_cli.sh)
# zbar-tools (zbarimg) decodes the enrolment QR code back (tests/integration/enroll_qr.sh)
TEST="python3 python3-msgpack python3-openpyxl python3-pil zbar-tools sqlite3 jq clang libclang-rt-14-dev valgrind faketime \
iproute2 iptables procps curl ca-certificates openssl chromium fonts-wqy-microhei testssl.sh \
openjdk-17-jdk-headless junit5 postgresql-15 haproxy sqlcipher"

# The handhelds' ARM client (mk/cross.mk, `make cross`/`make test-cross`): Debian's cross
# compiler, the arm64 -dev packages through multiarch, qemu-user to run the result.
# armhf is built only on request (`install-deps.sh cross-armhf`).
cross_pkgs() { # DEBIAN_ARCH GCC_TRIPLE
    echo "gcc-$2 libc6-dev-$1-cross qemu-user libsqlite3-dev:$1 libcurl4-openssl-dev:$1 \
libmsgpack-dev:$1 libcmocka-dev:$1 libjansson-dev:$1 zlib1g-dev:$1 libturbojpeg0-dev:$1 libpng-dev:$1 \
libmbedtls-dev:$1"
}
CROSS=$(cross_pkgs arm64 aarch64-linux-gnu)
ARCHS=""

want="$BUILD"
case "${1:-build}" in
    build) ;;
    test) want="$BUILD $TEST" ;;
    all) want="$BUILD $TEST $CROSS"; ARCHS=arm64 ;;
    cross) want="$BUILD $CROSS"; ARCHS=arm64 ;;
    cross-armhf) want="$BUILD $(cross_pkgs armhf arm-linux-gnueabihf)"; ARCHS=armhf ;;
    *) echo "usage: $0 [build|test|all|cross|cross-armhf]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
for a in $ARCHS; do
    dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
