# lib.sh: shared helpers for integration tests that run a real gridsyncd with real devices.
# Source it from a test script:   . "$(dirname "$0")/lib.sh"
#
#   t_setup NAME            temp folder $T, BUILD/bin paths, cleanup trap (KEEP=1 keeps $T)
#   t_server_init           gridsyncd init into $T/town (sets TOWN, ADMIN_TOKEN, CA, PORT, URL)
#   t_server_use DIR TOKEN  the same for a folder the test initialised itself (to check init)
#   t_server_start [ARGS]   starts gridsyncd of $TOWN on $PORT, waits for /v1/health (SERVER_PID);
#                           through $T_SERVER_EXEC when set, a command prefix that execs (e.g.
#                           "env FAKETIME=+8d LD_PRELOAD=...": SERVER_PID stays gridsyncd's)
#   t_server_stop           SIGTERM and wait; t_server_kill: kill -9
#   t_admin ARGS...         gridsync-admin against $URL (run through $T_ADMIN_EXEC when set,
#                           e.g. "ip netns exec NS")
#   t_enroll DB GRID [NAME] [GRID2...]  creates a device and inits the DB (sets DEV_ID,
#                           DEV_TOKEN); the device's server is $T_DEVICE_URL, else $URL
#   t_gs DB ARGS...         gridsync --db DB ARGS...
#   t_sql DB SQL            sqlite3 query (one value per line); DB may be $SRV_STORE, the
#                           server's store (SQLite file or PostgreSQL URL: GS_TEST_STORE=pg)
#   ok NAME / notok NAME WHY / skip NAME WHY / check NAME CMD...
#   t_done                  exits 1 if any check failed
# Every helper prints what went wrong; a test's own checks print "ok"/"not ok" lines that
# scripts/run-tests.sh counts.

BUILD=${BUILD:-build}
GS_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd)
# GS_TEST_GRIDSYNC: another device CLI (make test-sqlcipher runs the client tests with its own)
GRIDSYNC=${GS_TEST_GRIDSYNC:-$GS_BIN/gridsync}
GRIDSYNCD=$GS_BIN/gridsyncd
GRIDSYNC_ADMIN=$GS_BIN/gridsync-admin
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
T_PGTMP=$TOOLS/pgtmp.sh
# Debian's python3 (with python3-msgpack) starts in 0.3 s; a pyenv shim first on PATH can
# take 2 s a call, which adds up over many enrolments.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T_FAILS=0
SERVER_PID=
TOWN=
T_PIDS=()

ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; T_FAILS=$((T_FAILS + 1)); }
skip() { echo "skip $1: $2"; }
check() {
    local name=$1; shift
    if "$@"; then ok "$name"; else notok "$name" "command failed: $*"; fi
}

t_cleanup() {
    local p
    for p in "${T_PIDS[@]}" $SERVER_PID; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    [ -n "${T_PG_URL:-}" ] && "$T_PGTMP" stop "$T/pg"
    if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}

t_setup() {
    T=$(mktemp -d "/tmp/gs_$1.XXXXXX")
    trap t_cleanup EXIT
    for b in "$GRIDSYNC" "$GRIDSYNCD" "$GRIDSYNC_ADMIN"; do
        if [ ! -x "$b" ]; then
            echo "not ok build: $b is missing (make BUILD=$BUILD)"
            exit 1
        fi
    done
}

t_free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# GS_TEST_STORE=pg: the server's store is a throwaway PostgreSQL 15 cluster in $T/pg
# (tests/tools/pgtmp.sh) instead of a SQLite file (make test-pg). Sets T_STORE_ARGS, the
# `gridsyncd init` options for it (empty on SQLite).
t_store() {
    T_STORE_ARGS=
    [ "${GS_TEST_STORE:-}" = pg ] || return 0
    if [ -z "${T_PG_URL:-}" ]; then
        chmod 711 "$T" # the cluster's owner (postgres, when run as root) must reach $T/pg
        T_PG_URL=$("$T_PGTMP" start "$T/pg") || {
            echo "not ok pg_start: pgtmp.sh start failed"; exit 1; }
    fi
    T_STORE_ARGS="--store $T_PG_URL"
}

t_server_init() {
    local token
    t_store
    # shellcheck disable=SC2086 # the URL has no spaces
    token=$("$GRIDSYNCD" init --dir "$T/town" --hostname localhost $T_STORE_ARGS \
        2>"$T/init.err") || { echo "not ok server_init: $(cat "$T/init.err")"; exit 1; }
    t_server_use "$T/town" "$token"
}

# t_server_use DIR TOKEN: the server folder DIR (made by `gridsyncd init`, which printed
# the admin TOKEN) is the one t_server_start runs, on a free port unless PORT is set.
t_server_use() {
    TOWN=$1
    ADMIN_TOKEN=$2
    # the server's store, for t_sql and tests/tools/gsstore.py: its file, or its URL
    SRV_STORE=${T_PG_URL:-$TOWN/gridsyncd.db}
    CA=$TOWN/ca.pem
    PORT=${PORT:-$(t_free_port)}
    URL=https://localhost:$PORT
}

t_server_start() {
    ${T_SERVER_EXEC:-} "$GRIDSYNCD" --config "$TOWN/gridsyncd.conf" --listen "127.0.0.1:$PORT" "$@" \
        >>"$T/gridsyncd.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        curl -sf --cacert "$CA" "$URL/v1/health" >/dev/null 2>&1 && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "not ok server_start: gridsyncd did not come up; log:"; tail -n 20 "$T/gridsyncd.log"
    exit 1
}

t_server_stop() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

t_server_kill() {
    [ -n "$SERVER_PID" ] || return 0
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

t_admin() {
    # shellcheck disable=SC2086 # T_ADMIN_EXEC is a command prefix, split on purpose
    ${T_ADMIN_EXEC:-} "$GRIDSYNC_ADMIN" --server "$URL" --ca "$CA" --token "$ADMIN_TOKEN" "$@"
}

# t_enroll DB GRID [NAME] [MORE GRIDS...]: sets DEV_ID and DEV_TOKEN
t_enroll() {
    local db=$1 grid=$2 name=${3:-worker} out g grid_args=(--grid "$2") init_grids=(--grid "$2")
    shift 3 2>/dev/null || shift $#
    for g in "$@"; do grid_args+=(--grid "$g"); init_grids+=(--grid "$g"); done
    out=$(t_admin --json device add --print-token "${grid_args[@]}" --name "$name") || {
        echo "not ok enroll: device add failed: $out"; exit 1; }
    DEV_ID=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
    DEV_TOKEN=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$out")
    "$GRIDSYNC" --db "$db" init --device "$DEV_ID" --token "$DEV_TOKEN" \
        --server "${T_DEVICE_URL:-$URL}" --ca "$CA" "${init_grids[@]}" --worker "$name" \
        >/dev/null || {
        echo "not ok enroll: gridsync init failed"; exit 1; }
}

t_gs() {
    local db=$1; shift
    "$GRIDSYNC" --db "$db" "$@"
}

# t_faketime OFFSET CMD...: runs CMD with its wall clock moved by OFFSET ("+3d", "-2h"),
# monotonic clock untouched (a date set on a handheld never moves it). libfaketime is
# preloaded directly: the faketime(1) wrapper keeps a named semaphore per pid that a
# SIGKILL leaves behind, and a later wrapper given the same pid then fails with
# "sem_open: File exists". Returns 127 when libfaketime is not installed.
T_FAKETIME_LIB=${FAKETIME_LIB:-$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)}
# t_faketime_exec OFFSET: the same as a command prefix that execs (for T_SERVER_EXEC, so
# that SERVER_PID is gridsyncd's own); empty when libfaketime is not installed.
t_faketime_exec() {
    [ -n "$T_FAKETIME_LIB" ] || return 0
    echo "env LD_PRELOAD=$T_FAKETIME_LIB FAKETIME=$1 FAKETIME_DONT_FAKE_MONOTONIC=1" \
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}
t_faketime() {
    local off=$1; shift
    [ -n "$T_FAKETIME_LIB" ] || return 127
    LD_PRELOAD="$T_FAKETIME_LIB" FAKETIME="$off" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}

# t_sql STORE SQL: STORE a SQLite file or, for $SRV_STORE on PostgreSQL, its URL (the test
# cluster has hex(bytea) as SQLite's, tests/tools/pgtmp.sh).
t_sql() {
    case $1 in
    postgresql://*) psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
    *) sqlite3 -batch -noheader "$1" "$2" ;;
    esac
}

t_done() {
    [ "$T_FAILS" -eq 0 ]
}
