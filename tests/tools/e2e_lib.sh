# e2e_lib.sh: small helpers shared by tests/integration/e2e_*.sh, sourced after lib.sh.
# (It lives here, not in tests/integration/, because run-tests.sh runs every .sh there.)

# lib.sh starts python3 a few times per device; a pyenv shim takes 1-2 s per start on a
# loaded machine, the system interpreter a fraction of that.
e2e_fast_python() {
    if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
}

# e2e_json KEY JSON: one value of a JSON object (jq syntax for KEY, e.g. .pending)
e2e_json() {
    jq -r "$1" <<<"$2"
}

# e2e_pending DB: changes waiting in the device's outbox, as `gridsync status` reports them
e2e_pending() {
    t_gs "$1" --json status | jq -r .pending
}

# e2e_import_residents DB N PREFIX: N new residents in one transaction (gridsync import)
e2e_import_residents() {
    local i
    for ((i = 1; i <= $2; i++)); do
        printf '{"type":"resident","name":"%s-%d","address":"东关村%d组","born":1950}\n' "$3" "$i" $((i % 9))
    done >"$T/import.jsonl"
    t_gs "$1" import "$T/import.jsonl" >/dev/null
}
