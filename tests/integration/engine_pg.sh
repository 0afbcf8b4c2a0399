#!/usr/bin/env bash
# engine_pg.sh: the store's engine tests (tests/unit/test_srv_engine.c) against a real
# PostgreSQL 15: a throwaway cluster (tests/tools/pgtmp.sh) on a Unix socket in a temp
# folder, its URL in GS_TEST_PG. The same binary also runs alone on SQLite in `make test`.
# Skips only when PostgreSQL 15 is not installed (scripts/install-deps.sh test installs it).
. "$(dirname "$0")/lib.sh"
t_setup engine_pg
PGTMP=$(dirname "$0")/../tools/pgtmp.sh
bin=$BUILD/tests/test_srv_engine
[ -x "$bin" ] || { notok engine_pg "no $bin (make $bin)"; exit 1; }
chmod 711 "$T" # the cluster's owner (postgres, when run as root) must reach $T/pg
set +e
url=$("$PGTMP" start "$T/pg")
rc=$?
if [ $rc -eq 3 ]; then
    skip engine_pg "PostgreSQL 15 is not installed"
    exit 0
fi
[ $rc -eq 0 ] || { notok pg_start "pgtmp.sh start failed ($rc)"; exit 1; }
trap '"$PGTMP" stop "$T/pg"; t_cleanup' EXIT
GS_TEST_PG=$url CMOCKA_MESSAGE_OUTPUT=stdout "$bin"
rc=$?
# the binary's own [  PASSED  ] / [  FAILED  ] lines are what run-tests.sh counts
[ $rc -eq 0 ] || echo "not ok test_srv_engine: exit $rc"
exit $rc
