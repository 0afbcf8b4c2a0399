#!/bin/bash
# pgtmp.sh: a throwaway PostgreSQL 15 cluster for the PostgreSQL store's tests (issue 20).
#
#   pgtmp.sh start DIR   initdb into DIR/data, start it on a Unix socket in DIR (no TCP),
#                        make the database "gridsync", print its URL on stdout
#   pgtmp.sh url DIR     the URL again
#   pgtmp.sh restart DIR pg_ctl restart -m fast (the fault tests' database restart)
#   pgtmp.sh stop DIR    stop the cluster (DIR is left for the caller to remove)
#   pgtmp.sh up DIR      start a stopped cluster again (the database-down tests)
#
# initdb refuses to run as root: as root the cluster belongs to the "postgres" user that
# Debian's postgresql-15 package creates, and DIR is handed to it (its parents must let that
# user through: chmod 711). fsync stays on: the
# tests kill servers and restart the database, and a lost commit there must be a bug of
# ours, not of the test's settings. Exit 3 when PostgreSQL 15 is not installed.
set -eu
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|url|restart|stop|up DIR" >&2; exit 2; }
[ -x "$PGBIN/initdb" ] || { echo "pgtmp: no PostgreSQL 15 in $PGBIN (apt-get install postgresql-15)" >&2; exit 3; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
url() {
    local user
    user=$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un )
    echo "postgresql://$user@/gridsync?host=$(cd "$dir" && pwd)"
}

pg_start() {
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses='' -k $(cd "$dir" && pwd) -c max_connections=200" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    pg_start
    as_owner "$PGBIN/createdb" -h "$(cd "$dir" && pwd)" gridsync
    # SQLite's hex(), for the tests' queries of the server's store (tests/integration/lib.sh)
    as_owner "$PGBIN/psql" -X -q -h "$(cd "$dir" && pwd)" -d gridsync -c \
        "CREATE FUNCTION hex(bytea) RETURNS text IMMUTABLE LANGUAGE sql AS \$\$ SELECT upper(encode(\$1, 'hex')) \$\$" >/dev/null
    url
    ;;
url) url ;;
up) pg_start ;;
restart) as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 restart >/dev/null ;;
stop) as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true ;;
*) echo "usage: $0 start|url|restart|stop|up DIR" >&2; exit 2 ;;
esac
