/*
 * cli_sync.c: `gridsync sync`. Progress (changes and bytes each way) goes to stderr when it
 * is a terminal; the summary to stdout, as one JSON object with --json. Exit codes
 * (common/cmdline.h): 0 synced, 2 not enrolled, 4 server unreachable or timed out
 * (everything kept), 5 authentication refused, 6 some changes rejected (listed by
 * `gridsync status`), 7 the device was revoked with a wipe and its files are deleted, 1
 * anything else.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int takes_value(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "batch") == 0 || strcmp(name, "attachments-budget") == 0;
}

/* "2M", "500K", "1G", "12345" (bytes, K = 1024); 0 means none. -1 when malformed. */
static int64_t parse_budget(const char *text)
{
    char *end;
    long long v;
    int64_t mul = 1;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || v < 0 || text[0] == '-' || text[0] == '+')
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1024;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024;
    else if (*end == 'G' || *end == 'g')
        mul = 1024LL * 1024 * 1024;
    else if (*end)
        return -1;
    if (*end && end[1] && !((end[1] == 'B' || end[1] == 'b') && !end[2]))
        return -1;
    if (v > (1LL << 40) / mul)
        return -1;
    return (int64_t)v * mul;
}

static void human_bytes(uint64_t n, char *buf, size_t cap)
{
    if (n < 10 * 1024)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else if (n < 10 * 1024 * 1024)
        snprintf(buf, cap, "%.1f KB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

static void on_progress(void *ud, const gs_sync_summary *s)
{
    char up[32], down[32];
    (void)ud;
    human_bytes(s->bytes_up, up, sizeof(up));
    human_bytes(s->bytes_down, down, sizeof(down));
    fprintf(stderr, "\r  sent %llu changes (%s), received %llu (%s), %llu requests   ",
            (unsigned long long)s->pushed, up, (unsigned long long)s->pulled, down,
            (unsigned long long)s->requests);
    fflush(stderr);
}

static int print_json(const gs_sync_summary *s, int rc, const char *msg)
{
    json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", rc == GS_OK,
                          "requests", (json_int_t)s->requests, "connects",
                          (json_int_t)s->connects, "pushed", (json_int_t)s->pushed, "accepted",
                          (json_int_t)s->accepted, "rejected", (json_int_t)s->rejected,
                          "pulled", (json_int_t)s->pulled, "kept_local",
                          (json_int_t)s->kept_local, "lost", (json_int_t)s->lost, "bytes_up",
                          (json_int_t)s->bytes_up, "bytes_down", (json_int_t)s->bytes_down);
    int printed;

    if (!o)
        return -1;
    /* the server was restored: records sent again (PROTOCOL.md 2.9) */
    json_object_set_new(o, "requeued", json_integer((json_int_t)s->requeued));
    json_object_set_new(o, "attachments",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)s->att_sent,
                                  "bytes_sent", (json_int_t)s->att_bytes_up, "received",
                                  (json_int_t)s->att_received, "deferred",
                                  (json_int_t)s->att_deferred, "refused",
                                  (json_int_t)s->att_refused));
    if (rc != GS_OK)
        json_object_set_new(o, "error",
                            json_pack("{s:s,s:s}", "code", gs_rc_name(rc), "message", msg));
    printed = cmdline_print_json(o, CMDLINE_JSON_FLAGS);
    json_decref(o);
    return printed == GS_OK ? 0 : -1;
}

int cli_cmd_sync(cli *c)
{
    gs_sync_opts opts;
    gs_sync_summary sum;
    cli_opt opt;
    int i = 0, r, code, rc, tty;
    char up[32], down[32];

    memset(&opts, 0, sizeof(opts));
    while ((r = cli_next_opt(c, &i, &opt, takes_value, NULL)) > 0) {
        if (opt.name && strcmp(opt.name, "batch") == 0) {
            char *end;
            long n = strtol(opt.value, &end, 10);
            if (*end || n < 1 || n > 5000)
                return cli_usage_error(c, "--batch takes 1..5000 changes");
            opts.batch_changes = (uint32_t)n;
        } else if (opt.name && strcmp(opt.name, "attachments-budget") == 0) {
            int64_t b = parse_budget(opt.value);
            if (b < 0)
                return cli_usage_error(c, "--attachments-budget takes bytes, e.g. 2M, 500K or "
                                          "0 (no attachments this time), not '%.40s'",
                                       opt.value);
            opts.attachments_budget = b == 0 ? GS_SYNC_NO_ATTACHMENTS : b;
        } else {
            return cli_usage_error(c, "sync: unexpected '%s'", opt.name ? opt.name : opt.value);
        }
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        printf("usage: gridsync sync [--batch N] [--attachments-budget SIZE]\n\n"
               "Sends the changes recorded on this device to the server given at init and\n"
               "receives the changes of its grids, until nothing remains either way. Safe to\n"
               "interrupt at any moment: nothing is lost or sent twice.\n\n"
               "Then attachment bytes, in requests of their own: thumbnails first, then the\n"
               "files, in 64 KiB chunks resumed where a cut left them; thumbnails of the\n"
               "grids' attachments come down. --attachments-budget 2M moves at most 2 MiB of\n"
               "them in this sync (K, M, G; 0: none): a file that does not fit waits whole\n"
               "for a later sync. A file the server refuses (over its quota) is reported\n"
               "here and in gridsync status; the records are synced all the same.\n\n"
               "exit status: 0 synced, 2 not enrolled (run gridsync init first), 4 server\n"
               "unreachable or timed out (everything kept), 5 authentication refused (device\n"
               "revoked?), 6 some changes were rejected (see gridsync status), 7 the device\n"
               "was revoked with a wipe: what the admin allowed was sent, then the database,\n"
               "its attachments and the token were deleted (enrol again), 1 other failure\n");
        return CLI_OK;
    }
    code = cli_open(c);
    if (code)
        return code;
    tty = isatty(STDERR_FILENO) && !c->json;
    if (tty)
        opts.progress = on_progress;
    memset(&sum, 0, sizeof(sum));
    rc = gs_sync_run(c->db, &opts, &sum);
    if (tty && sum.requests)
        fputc('\n', stderr);
    if (c->json) {
        if (print_json(&sum, rc, rc ? gs_db_errmsg(c->db) : "") != 0)
            return cli_fail(c, GS_E_NOMEM);
        if (rc)
            fprintf(stderr, "gridsync: %s\n", gs_db_errmsg(c->db));
        return cmdline_exit_code(rc);
    }
    human_bytes(sum.bytes_up, up, sizeof(up));
    human_bytes(sum.bytes_down, down, sizeof(down));
    if (rc == GS_OK || rc == GS_E_REJECTED)
        printf("synced: sent %llu (%llu accepted, %llu rejected), received %llu; "
               "%llu request%s, %s up, %s down\n",
               (unsigned long long)sum.pushed, (unsigned long long)sum.accepted,
               (unsigned long long)sum.rejected, (unsigned long long)sum.pulled,
               (unsigned long long)sum.requests, sum.requests == 1 ? "" : "s", up, down);
    if ((rc == GS_OK || rc == GS_E_REJECTED) &&
        (sum.att_sent || sum.att_received || sum.att_deferred || sum.att_refused))
        printf("attachments: %llu sent (%llu bytes), %llu thumbnail%s received, %llu "
               "deferred, %llu refused\n",
               (unsigned long long)sum.att_sent, (unsigned long long)sum.att_bytes_up,
               (unsigned long long)sum.att_received, sum.att_received == 1 ? "" : "s",
               (unsigned long long)sum.att_deferred, (unsigned long long)sum.att_refused);
    if ((rc == GS_OK || rc == GS_E_REJECTED) && sum.att_refused)
        fprintf(stderr, "gridsync: %llu attachment(s) refused by the server: see gridsync "
                        "status\n",
                (unsigned long long)sum.att_refused);
    if ((rc == GS_OK || rc == GS_E_REJECTED) && sum.requeued)
        printf("the server was restored from a backup: %llu record%s sent again so that it "
               "has everything this device holds, and everything pulled again\n",
               (unsigned long long)sum.requeued, sum.requeued == 1 ? "" : "s");
    if (rc)
        return cli_fail(c, rc);
    return CLI_OK;
}
