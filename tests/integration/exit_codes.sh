#!/usr/bin/env bash
# exit_codes.sh: gridsync, gridsync-admin (and gridsyncd where it has the case) give the same
# exit code, the one the README's "Exit codes" table gives, for the same kind of error:
# usage (2), configuration (2), exists (2), not found (3), server unreachable (4), token
# refused (5); with --json both print the same {"error":{"code","message"}} object, and a
# usage error reads the same on stderr.
. "$(dirname "$0")/lib.sh"
t_setup exit_codes
t_server_init
t_server_start

# run NAME CMD...: the exit code in $rc, stdout in $T/NAME.out, stderr in $T/NAME.err
run() {
    local name=$1; shift
    "$@" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
}
# json_code NAME: the "code" of the error object NAME printed on stdout ("-" if none)
json_code() {
    "$PY" -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["error"]["code"])
except Exception: print("-")' "$T/$1.out"
}
# same KIND WANT NAME1 NAME2...: every run NAME exited WANT; for NAMEs ending in _json,
# the error object's code is the same in all of them
same() {
    local kind=$1 want=$2 n codes="" bad=""; shift 2
    for n in "$@"; do
        [ "${codes_of[$n]}" -eq "$want" ] || bad="$bad $n=${codes_of[$n]}"
        [[ $n == *_json ]] && codes="$codes $(json_code "$n")"
    done
    if [ -n "$bad" ]; then notok "exit_${kind}_is_$want" "exits:$bad (want $want)"; return; fi
    if [ -n "$codes" ] && [ "$(tr ' ' '\n' <<<"$codes" | sort -u | grep -c .)" -ne 1 ]; then
        notok "exit_${kind}_is_$want" "error codes differ:$codes"; return
    fi
    ok "exit_${kind}_is_$want"
}
declare -A codes_of
each() { # NAME CMD...
    run "$@"
    codes_of[$1]=$rc
}

# --- usage ------------------------------------------------------------------------------
each usage_gs "$GRIDSYNC" frobnicate
each usage_admin "$GRIDSYNC_ADMIN" frobnicate
each usage_gs_json "$GRIDSYNC" --json frobnicate
each usage_admin_json t_admin --json frobnicate
each usage_gsd "$GRIDSYNCD" --frobnicate
same usage 2 usage_gs usage_admin usage_gs_json usage_admin_json usage_gsd
[ "$(json_code usage_gs_json)" = usage ] && ok usage_json_code_is_usage \
    || notok usage_json_code_is_usage "$(cat "$T/usage_gs_json.out")"
# the same two lines, but for the program's name
a=$(sed 's/^gridsync: /PROG: /; s/(gridsync --help/(PROG --help/' "$T/usage_gs.err")
b=$(sed 's/^gridsync-admin: /PROG: /; s/(gridsync-admin --help/(PROG --help/' "$T/usage_admin.err")
[ "$a" = "$b" ] && [ "$(wc -l <"$T/usage_gs.err")" -eq 2 ] && ok usage_error_reads_the_same \
    || notok usage_error_reads_the_same "gridsync: $(cat "$T/usage_gs.err") / admin: $(cat "$T/usage_admin.err")"

# --- configuration: a device not enrolled, an admin.conf / gridsyncd.conf with a typo ----
printf 'server = %s\nsrever = x\n' "$URL" >"$T/bad_admin.conf"
printf 'workers = 2\nwrokers = 3\n' >"$T/bad_server.conf"
each config_gs "$GRIDSYNC" --db "$T/blank.db" sync
each config_gs_json "$GRIDSYNC" --db "$T/blank.db" --json sync
each config_admin "$GRIDSYNC_ADMIN" --config "$T/bad_admin.conf" status
each config_admin_json "$GRIDSYNC_ADMIN" --config "$T/bad_admin.conf" --json status
each config_gsd "$GRIDSYNCD" --config "$T/bad_server.conf"
same config 2 config_gs config_admin config_gsd
# gridsync sync --json prints its summary with the error inside; the admin the bare error
c1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' \
    "$T/config_gs_json.out" 2>/dev/null)
c2=$(json_code config_admin_json)
[ "$c1" = config ] && [ "$c2" = config ] && [ "${codes_of[config_gs_json]}" -eq 2 ] \
    && [ "${codes_of[config_admin_json]}" -eq 2 ] && ok config_json_code_is_config \
    || notok config_json_code_is_config "gridsync '$c1' exit ${codes_of[config_gs_json]}, admin '$c2' exit ${codes_of[config_admin_json]}"

# --- exists: another device's database, an initialised server folder ---------------------
t_enroll "$T/a.db" G1 王芳; A_ID=$DEV_ID; A_TOKEN=$DEV_TOKEN
each exists_gs "$GRIDSYNC" --db "$T/a.db" init --device d-other --token d-other.x \
    --server "$URL" --ca "$CA" --grid G1
each exists_gs_json "$GRIDSYNC" --db "$T/a.db" --json init --device d-other --token d-other.x \
    --server "$URL" --ca "$CA" --grid G1
each exists_gsd "$GRIDSYNCD" init --dir "$T/town"
same exists 2 exists_gs exists_gs_json exists_gsd
[ "$(json_code exists_gs_json)" = exists ] && ok exists_json_code_is_exists \
    || notok exists_json_code_is_exists "$(cat "$T/exists_gs_json.out")"

# --- not found ---------------------------------------------------------------------------
each notfound_gs "$GRIDSYNC" --db "$T/a.db" show 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d
each notfound_admin t_admin conflicts show 99999
each notfound_gs_json "$GRIDSYNC" --db "$T/a.db" --json show 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d
each notfound_admin_json t_admin --json device revoke d-000000000000
same notfound 3 notfound_gs notfound_admin notfound_gs_json notfound_admin_json
[ "$(json_code notfound_admin_json)" = not_found ] && ok notfound_json_code_is_not_found \
    || notok notfound_json_code_is_not_found "$(cat "$T/notfound_admin_json.out")"

# --- token refused -----------------------------------------------------------------------
t_admin device revoke "$A_ID" >/dev/null || notok revoke "exit $?"
each auth_gs "$GRIDSYNC" --db "$T/a.db" sync
each auth_admin "$GRIDSYNC_ADMIN" --server "$URL" --ca "$CA" --token "$A_TOKEN" status
each auth_admin_json "$GRIDSYNC_ADMIN" --server "$URL" --ca "$CA" --token "$A_TOKEN" --json status
same auth 5 auth_gs auth_admin auth_admin_json
[ "$(json_code auth_admin_json)" = auth ] && ok auth_json_code_is_auth \
    || notok auth_json_code_is_auth "$(cat "$T/auth_admin_json.out")"

# --- server unreachable ------------------------------------------------------------------
t_enroll "$T/b.db" G1 李强
t_server_stop
each down_gs "$GRIDSYNC" --db "$T/b.db" sync
each down_admin t_admin status
each down_admin_json t_admin --json status
same unreachable 4 down_gs down_admin down_admin_json
[ "$(json_code down_admin_json)" = network ] && ok unreachable_json_code_is_network \
    || notok unreachable_json_code_is_network "$(cat "$T/down_admin_json.out")"
t_done
