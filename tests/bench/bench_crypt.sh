#!/usr/bin/env bash
# bench_crypt.sh: figure 12 (docs/BENCHMARKS.md), what encryption at rest costs, against
# plain storage in the same run and the same SQLCipher build ($BUILD-sqlcipher, which
# `make bench` builds; mk/sqlcipher.mk):
#   - client_crypt_write: bench_client_crypt (library writes, open; see that file);
#   - client_crypt_sync_10000: `gridsync import` of 10,000 visits (+50 residents), the
#     initial sync pushing them to a real gridsyncd on 127.0.0.1 over TLS, and a new device
#     of the grid pulling them, each with three device CLIs: today's (SQLite 3.40, $BUILD),
#     the SQLCipher build without a key, and with one; wall seconds and the client's CPU
#     seconds (/usr/bin/time), the better of two runs. *_ratio: encrypted / today's.
# One JSON line per figure on stdout.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/release}
CRYPT_BUILD=${CRYPT_BUILD:-$BUILD-sqlcipher}
. tests/integration/lib.sh
CRYPT_CLI=$(cd "$CRYPT_BUILD/bin" 2>/dev/null && pwd)/gridsync
if [ ! -x "$CRYPT_BUILD/bench/bench_client_crypt" ] || [ ! -x "$CRYPT_CLI" ]; then
    echo "{\"bench\":\"client_crypt\",\"skip\":\"$CRYPT_BUILD is not built (make bench builds it)\"}"
    exit 0
fi
"$CRYPT_BUILD/bench/bench_client_crypt" || exit 1

t_setup bench_crypt
printf 'a passphrase the app keeps in the Android Keystore\n' >"$T/key"
printf '#!/bin/sh\nGRIDSYNC_KEY_FILE=%s exec %s "$@"\n' "$T/key" "$CRYPT_CLI" >"$T/gs-key"
chmod +x "$T/gs-key"
python3 tests/bench/gen_visits.py 10000 >"$T/v10k.jsonl"
t_server_init
t_server_start

now_s() { date +%s.%N; }
cpu_of() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.3f", u + s}' "$1"; }
# timed CLI DB OUT ARGS...: sets W (wall s) and C (client CPU s)
timed() {
    local cli=$1 db=$2 out=$3 t0 t1; shift 3
    t0=$(now_s)
    /usr/bin/time -v "$cli" --db "$db" "$@" >/dev/null 2>"$out" || { echo "bench_crypt: $* failed: $(tail -n 3 "$out")" >&2; exit 1; }
    t1=$(now_s)
    W=$(python3 -c "print('%.3f' % ($t1 - $t0))"); C=$(cpu_of "$out")
}
best() { python3 -c "import sys; print(min(float(a) for a in sys.argv[1:]))" "$@"; }
declare -A R
for run in 1 2; do
    for mode in sqlite plain key; do
        cli=$CRYPT_CLI; [ $mode = key ] && cli=$T/gs-key; [ $mode = sqlite ] && cli=$GRIDSYNC
        grid=东风村3组
        D=$T/$mode-$run.db N=$T/$mode-$run-new.db
        GRIDSYNC=$cli t_enroll "$D" "$grid" 张三
        timed "$cli" "$D" "$T/t" import "$T/v10k.jsonl"; R[$mode.import.$run]=$W
        timed "$cli" "$D" "$T/t" sync; R[$mode.push.$run]=$W R[$mode.pushcpu.$run]=$C
        GRIDSYNC=$cli t_enroll "$N" "$grid" 李四
        timed "$cli" "$N" "$T/t" sync; R[$mode.pull.$run]=$W R[$mode.pullcpu.$run]=$C
        t_server_stop; rm -rf "$T/town"; PORT=; t_server_init; t_server_start
    done
done
out=""
for k in import push pushcpu pull pullcpu; do
    for m in sqlite plain key; do
        v=$(best "${R[$m.$k.1]}" "${R[$m.$k.2]}"); R[$m.$k]=$v
        out+="\"${k}_${m/key/encrypted}_s\":$v,"
    done
done
ratio() { python3 -c "print('%.2f' % ($1 / max($2, 0.001)))"; }
echo "{\"bench\":\"client_crypt_sync_10000\",\"visits\":10000,\"residents\":50,$out\
\"import_ratio\":$(ratio "${R[key.import]}" "${R[sqlite.import]}"),\
\"push_ratio\":$(ratio "${R[key.push]}" "${R[sqlite.push]}"),\
\"pull_ratio\":$(ratio "${R[key.pull]}" "${R[sqlite.pull]}"),\
\"note\":\"device CLI: sqlite = today's build (SQLite 3.40), plain = SQLCipher build without a key, encrypted = with one; best of 2; a fresh server per device pair\"}"
