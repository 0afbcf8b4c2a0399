#!/usr/bin/env bash
# libgridsync as an app sees it: the shared library exports exactly the functions declared
# with GS_API in the public headers (nothing unprefixed that could clash with an app's own
# symbols, nothing public missing), and the installed headers compile on their own.
set -u
. "$(dirname "$0")/lib.sh"
t_setup lib_exports
so="$BUILD/lib/libgridsync.so"
tmp=$T

# Symbols the toolchain itself may place in a shared object's dynamic table.
toolchain='^(_init|_fini|_edata|_end|__bss_start)$'
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -Ev "$toolchain" |
    sort >"$tmp/exported"
grep -hoE '^GS_API [^(]*\bgs_[a-z0-9_]+\(' client/gridsync.h client/gridsync_rc.h |
    grep -oE 'gs_[a-z0-9_]+' | sort -u >"$tmp/declared"

if [ -s "$tmp/exported" ]; then ok exports_listed; else notok exports_listed "nm found nothing in $so"; fi
bad=$(grep -v '^gs_' "$tmp/exported" | head -n 10 | tr '\n' ' ')
if [ -z "$bad" ]; then ok only_gs_prefixed; else notok only_gs_prefixed "$bad"; fi
extra=$(comm -23 "$tmp/exported" "$tmp/declared" | head -n 10 | tr '\n' ' ')
if [ -z "$extra" ]; then ok nothing_undeclared; else notok nothing_undeclared "exported but not in gridsync.h: $extra"; fi
missing=$(comm -13 "$tmp/exported" "$tmp/declared" | head -n 10 | tr '\n' ' ')
if [ -z "$missing" ]; then ok every_declared_exported; else notok every_declared_exported "$missing"; fi

# An app built against the installed headers and library, nothing of the source tree.
make -s install BUILD="$BUILD" PREFIX=/usr DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
    { notok install "$(tail -n 3 "$tmp/install.log")"; exit 1; }
cat >"$tmp/app.c" <<'EOF'
#include <gridsync.h>
#include <stdio.h>
#include <string.h>
/* an app's own helper named like a library internal: must not be taken over */
int buf_add(void) { return 42; }
int main(void)
{
    if (buf_add() != 42 || strcmp(gs_rc_name(GS_E_STATE), "state") != 0)
        return 1;
    printf("%s %s\n", gs_version(), gs_strerror(GS_E_NOTFOUND));
    return 0;
}
EOF
if cc -std=c11 -Wall -Wextra -Werror -I"$tmp/root/usr/include" -o "$tmp/app" "$tmp/app.c" \
    -L"$tmp/root/usr/lib" -lgridsync $(case "$so" in *asan*) echo -fsanitize=address,undefined;; esac) \
    >"$tmp/cc.log" 2>&1; then
    ok app_compiles_against_installed_headers
else
    notok app_compiles_against_installed_headers "$(head -n 5 "$tmp/cc.log" | tr '\n' ' ')"
    exit 1
fi
out=$(LD_LIBRARY_PATH="$tmp/root/usr/lib" "$tmp/app" 2>&1)
if [ "$out" = "$(sed -n 's/^VERSION *:= *//p' Makefile) not found" ]; then
    ok app_runs
else
    notok app_runs "'$out'"
fi
t_done
