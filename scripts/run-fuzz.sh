#!/usr/bin/env bash
# Runs each libFuzzer binary given for FUZZ_SECONDS from its committed seed corpus
# (tests/fuzz/corpus/<name>/), with new inputs kept in build/fuzz/corpus-<name>/ so the
# committed corpus changes only when someone chooses to. Crashes land in build/fuzz/.
set -u
secs=${FUZZ_SECONDS:-30}
status=0
for bin in "$@"; do
    name=$(basename "$bin"); name=${name#fuzz_}
    seeds=tests/fuzz/corpus/$name
    work=build/fuzz/corpus-$name
    mkdir -p "$work" "$seeds"
    dict=tests/fuzz/$name.dict
    extra=()
    [ -f "$dict" ] && extra+=("-dict=$dict")
    echo "fuzz $name: ${secs}s from $(ls "$seeds" | wc -l) seeds"
    if ! "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix=build/fuzz/"$name"- "${extra[@]}" \
        "$work" "$seeds" >build/fuzz/"$name".log 2>&1; then
        echo "fuzz $name: FAILED, see build/fuzz/$name.log"; tail -n 30 build/fuzz/"$name".log
        status=1
    else
        grep -E 'stat::number_of_executed_units|cov: ' build/fuzz/"$name".log | tail -n 2 | sed 's/^/    /'
        echo "fuzz $name: ok"
    fi
done
exit $status
