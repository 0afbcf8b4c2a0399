#!/usr/bin/env bash
# e2e_requests.sh: what a sync costs on the wire, from `gridsync --json sync`.
#   - a sync with nothing to do is exactly ONE HTTP request;
#   - 1000 changes with --batch 100 go in 10 requests over ONE connection (keep-alive and
#     the TLS session reused), all accepted, outbox empty;
#   - the other device pulls them (one page) and its next sync is one request again.
# Real gridsyncd on 127.0.0.1, real TLS, real SQLite files. About 5 s.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/e2e_lib.sh"
e2e_fast_python
t_setup e2e_requests
t_server_init
t_server_start
t_enroll "$T/a1.db" gridA a1
t_enroll "$T/a2.db" gridA a2
expect() { # NAME JSON JQ-CONDITION
    if jq -e "$3" <<<"$2" >/dev/null 2>&1; then ok "$1"; else notok "$1" "want $3, got $2"; fi
}

s=$(t_gs "$T/a1.db" --json sync 2>"$T/err")
expect req_noop_sync_is_one_request "$s" '.ok and .requests == 1 and .connects == 1 and .pushed == 0'
e2e_import_residents "$T/a1.db" 1000 r || notok req_setup "import failed"
s=$(t_gs "$T/a1.db" --json sync --batch 100 2>"$T/err")
expect req_batch100_of_1000_is_10_requests "$s" '.ok and .requests == 10 and .pushed == 1000 and .accepted == 1000'
expect req_batch_one_connection_reused "$s" '.connects == 1'
[ "$(e2e_pending "$T/a1.db")" = 0 ] && ok req_batch_outbox_empty || notok req_batch_outbox_empty "pending $(e2e_pending "$T/a1.db")"
n=$(t_sql "$T/town/gridsyncd.db" "SELECT count(*) || '/' || count(DISTINCT seq) FROM changes")
[ "$n" = 1000/1000 ] && ok req_server_holds_1000_changes_once || notok req_server_holds_1000_changes_once "changes/distinct seqs $n"
s=$(t_gs "$T/a1.db" --json sync 2>"$T/err")
expect req_noop_after_push_is_one_request "$s" '.ok and .requests == 1 and .pulled == 0'
s=$(t_gs "$T/a2.db" --json sync 2>"$T/err")
expect req_pull_1000 "$s" '.ok and .pulled == 1000 and .connects == 1'
s=$(t_gs "$T/a2.db" --json sync 2>"$T/err")
expect req_noop_after_pull_is_one_request "$s" '.ok and .requests == 1 and .pulled == 0'
t_done
