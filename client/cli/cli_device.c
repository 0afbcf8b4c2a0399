/*
 * cli_device.c: the device commands: init (enrolment settings), enroll (by enrolment code),
 * status, import.
 */
#include "cli.h"

#include "common/buf.h"
#include "common/isotime.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Largest CA file read at init (a bundle of a few certificates). */
#define CA_FILE_MAX (256 * 1024)

static int init_takes_value(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "device") == 0 || strcmp(name, "token") == 0 ||
           strcmp(name, "server") == 0 || strcmp(name, "ca") == 0 || strcmp(name, "grid") == 0 ||
           strcmp(name, "worker") == 0;
}

static const char init_help[] =
    "usage: gridsync init --device ID --token TOKEN --server URL --ca PEM --grid GRID\n"
    "                     [--grid GRID]... [--worker NAME]\n"
    "\n"
    "Stores this device's enrolment (from gridsync-admin device add) in the database:\n"
    "  --device ID     the device id\n"
    "  --token TOKEN   its token (kept in the database, which is created mode 0600)\n"
    "  --server URL    the town server, https://host:port\n"
    "  --ca PEM        the CA certificate file; its contents are copied in\n"
    "  --grid GRID     a grid this device works in; repeat for several, the first is the\n"
    "                  default for new records\n"
    "  --worker NAME   the name put on visits (default: the device id)\n"
    "Running init again with the same device id updates the settings.\n";

/* Reads a whole small file with a cap; why gets the message. */
static int read_file(const char *path, size_t cap, gs_buf *out, char *why, size_t why_cap)
{
    gs_err err;
    int rc;

    buf_init(out, cap);
    rc = buf_read_file(out, path, &err);
    if (rc) {
        snprintf(why, why_cap, "%s", err.msg);
        buf_free(out);
    }
    return rc;
}

int cli_cmd_init(cli *c)
{
    gs_device_config cfg;
    const char *grids[GS_GRIDS_MAX];
    const char *ca_path = NULL;
    gs_buf ca;
    cli_opt opt;
    char why[512];
    int i = 0, r, code, rc;

    memset(&cfg, 0, sizeof(cfg));
    buf_init(&ca, CA_FILE_MAX);
    cfg.grids = grids;
    while ((r = cli_next_opt(c, &i, &opt, init_takes_value, NULL)) > 0) {
        if (!opt.name)
            return cli_usage_error(c, "init: unexpected '%.60s'", opt.value);
        if (strcmp(opt.name, "device") == 0)
            cfg.device_id = opt.value;
        else if (strcmp(opt.name, "token") == 0)
            cfg.token = opt.value;
        else if (strcmp(opt.name, "server") == 0)
            cfg.server_url = opt.value;
        else if (strcmp(opt.name, "ca") == 0)
            ca_path = opt.value;
        else if (strcmp(opt.name, "worker") == 0)
            cfg.worker = opt.value;
        else if (strcmp(opt.name, "grid") == 0) {
            if (cfg.n_grids == GS_GRIDS_MAX)
                return cli_usage_error(c, "init: at most %d grids", GS_GRIDS_MAX);
            grids[cfg.n_grids++] = opt.value;
        } else
            return cli_usage_error(c, "init: unknown option --%.60s", opt.name);
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(init_help, stdout);
        return CLI_OK;
    }
    if (!cfg.device_id || !cfg.token || !cfg.server_url || !ca_path || cfg.n_grids == 0)
        return cli_usage_error(c, "init needs --device, --token, --server, --ca and --grid");
    rc = read_file(ca_path, CA_FILE_MAX, &ca, why, sizeof(why));
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof(msg), "--ca: %s", why);
        /* a CA file that is there but unreadable or too big is bad input, not a failure */
        return cmdline_fail("gridsync", c->json, rc == GS_E_NOTFOUND ? rc : GS_E_INVALID, msg);
    }
    cfg.ca_pem = ca.ptr;
    cfg.ca_pem_len = ca.len;
    code = cli_open(c);
    if (code == CLI_OK) {
        rc = gs_db_init_device(c->db, &cfg);
        if (rc) {
            code = cli_fail(c, rc);
        } else if (c->json) {
            json_t *o = json_pack("{s:s,s:I}", "device", cfg.device_id, "grids",
                                  (json_int_t)cfg.n_grids);
            if (!o || cmdline_print_json(o, CMDLINE_JSON_FLAGS) != GS_OK)
                code = cli_fail(c, GS_E_NOMEM);
            json_decref(o);
        } else {
            printf("initialised device %s (grid%s", cfg.device_id, cfg.n_grids > 1 ? "s" : "");
            for (size_t k = 0; k < cfg.n_grids; k++)
                printf("%s %s", k ? "," : "", grids[k]);
            printf(")\n");
        }
    }
    buf_free(&ca);
    return code;
}

/* ---- enroll ---- */

static int enroll_takes_value(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "server") == 0 || strcmp(name, "fingerprint") == 0 ||
           strcmp(name, "worker") == 0;
}

static const char enroll_help[] =
    "usage: gridsync enroll URI [--worker NAME]\n"
    "       gridsync enroll CODE --server URL --fingerprint HEX [--worker NAME]\n"
    "\n"
    "Enrols this device with an enrolment code from gridsync-admin device add: the URI its\n"
    "QR code holds (gridsync://enroll?u=SERVER&c=CODE&fp=FINGERPRINT), or the code typed with\n"
    "the server and the CA fingerprint. Fetches the server's CA certificate, trusts it only\n"
    "if its SHA-256 is the fingerprint, then uses the code (once) and stores the device's\n"
    "id, token, grids, server and CA in the database, as init does.\n"
    "  --worker NAME   the name put on visits (default: the name the admin gave the device,\n"
    "                  else its id)\n"
    "Exit codes: 2 a bad URI or code, or a database that is a device already; 1 the CA does\n"
    "not match the fingerprint (nothing was sent); 5 the code was refused (unknown, expired,\n"
    "used or revoked); 4 the server is unreachable.\n";

int cli_cmd_enroll(cli *c)
{
    const char *what = NULL, *server = NULL, *fp = NULL, *worker = NULL;
    gs_status st;
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, enroll_takes_value, NULL)) > 0) {
        if (!opt.name) {
            if (what)
                return cli_usage_error(c, "enroll: one code or URI only");
            what = opt.value;
        } else if (strcmp(opt.name, "server") == 0)
            server = opt.value;
        else if (strcmp(opt.name, "fingerprint") == 0)
            fp = opt.value;
        else if (strcmp(opt.name, "worker") == 0)
            worker = opt.value;
        else
            return cli_usage_error(c, "enroll: unknown option --%.60s", opt.name);
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(enroll_help, stdout);
        return CLI_OK;
    }
    if (!what)
        return cli_usage_error(c, "enroll: give the enrolment URI (or the code with --server "
                                  "and --fingerprint)");
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_enroll(c->db, what, server, fp, worker);
    if (rc == GS_OK)
        rc = gs_db_status(c->db, &st);
    if (rc)
        return cli_fail(c, rc);
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "device", st.device_id, "worker", st.worker,
                              "server", st.server_url, "grids", st.grids);
        rc = o ? cmdline_print_json(o, CMDLINE_JSON_FLAGS) : GS_E_NOMEM;
        json_decref(o);
        return rc ? cli_fail(c, rc) : CLI_OK;
    }
    printf("enrolled as device %s (worker %s, grids %s) with %s\n", st.device_id, st.worker,
           st.grids, st.server_url);
    return CLI_OK;
}

/* ---- status ---- */

typedef struct rej_ctx {
    json_t *arr;   /* --json: the list being built */
    int n;         /* printed so far */
} rej_ctx;

static int on_rejected(void *ud, const gs_rejected_info *info)
{
    rej_ctx *rx = ud;
    char when[64];

    if (rx->arr) {
        char iso[ISOTIME_MAX];
        json_t *o;
        isotime_format(info->at_ms, iso);
        o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)info->seq, "type",
                      info->table, "id", info->id, "code", info->code, "message", info->message,
                      "at", iso);
        if (!o || json_array_append_new(rx->arr, o))
            return GS_E_NOMEM;
        return GS_OK;
    }
    cli_local_time(info->at_ms, when, sizeof(when));
    printf("  #%llu %s %s  %s: %s  (%s)\n", (unsigned long long)info->seq, info->table,
           info->id, info->code, info->message, when);
    rx->n++;
    return GS_OK;
}

int cli_cmd_status(cli *c)
{
    gs_status st;
    int64_t warnings_open = 0, att_files = 0, att_bytes = 0;
    rej_ctx rx;
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, init_takes_value, NULL)) > 0)
        return cli_usage_error(c, "status takes no arguments");
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        printf("usage: gridsync status\n\nShows this device's settings, the changes waiting "
               "to be synced, the last sync\nand its result, the open warnings, and any "
               "changes the server rejected.\n");
        return CLI_OK;
    }
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_status(c->db, &st);
    if (rc == GS_OK)
        rc = gs_db_warnings_open(c->db, &warnings_open);
    if (rc == GS_OK)
        rc = gs_db_attachments_pending(c->db, &att_files, &att_bytes);
    if (rc)
        return cli_fail(c, rc);
    memset(&rx, 0, sizeof(rx));
    if (c->json) {
        char iso[ISOTIME_MAX] = "";
        json_t *o;
        rx.arr = json_array();
        if (!rx.arr)
            return cli_fail(c, GS_E_NOMEM);
        rc = gs_db_rejected(c->db, on_rejected, &rx);
        if (rc) {
            json_decref(rx.arr);
            return cli_fail(c, rc);
        }
        json_t *grids = json_array();
        if (!grids) {
            json_decref(rx.arr);
            return cli_fail(c, GS_E_NOMEM);
        }
        for (char *g = st.grids; st.initialised && *g;) {
            char *comma = strchr(g, ',');
            size_t n = comma ? (size_t)(comma - g) : strlen(g);
            json_array_append_new(grids, json_stringn(g, n));
            g += n + (comma ? 1 : 0);
        }
        if (st.last_sync_ms)
            isotime_format(st.last_sync_ms, iso);
        o = json_pack("{s:b,s:s?,s:s?,s:s?,s:o,s:I,s:I,s:I,s:I,s:s?,s:s?,s:I,s:I,s:I,s:I,s:o}",
                      "initialised", st.initialised, "device",
                      st.initialised ? st.device_id : NULL, "worker",
                      st.initialised ? st.worker : NULL, "server",
                      st.initialised ? st.server_url : NULL, "grids", grids, "records",
                      (json_int_t)st.records,
                      "pending", (json_int_t)st.pending, "pending_sent",
                      (json_int_t)st.pending_sent, "rejected_count", (json_int_t)st.rejected,
                      "last_sync", st.last_sync_ms ? iso : NULL, "last_sync_result",
                      st.last_sync_result[0] ? st.last_sync_result : NULL, "cursor",
                      (json_int_t)st.cursor, "warnings_open", (json_int_t)warnings_open,
                      "attachments_pending", (json_int_t)att_files,
                      "attachments_pending_bytes", (json_int_t)att_bytes, "rejected", rx.arr);
        rc = o ? cmdline_print_json(o, CMDLINE_JSON_FLAGS) : GS_E_NOMEM;
        json_decref(o);
        return rc ? cli_fail(c, rc) : CLI_OK;
    }
    if (st.initialised) {
        printf("device     %s (worker %s)\n", st.device_id, st.worker);
        printf("server     %s\n", st.server_url);
        printf("grids      %s\n", st.grids);
    } else {
        printf("device     not initialised (run gridsync init)\n");
    }
    printf("records    %lld\n", (long long)st.records);
    printf("pending    %lld change%s", (long long)st.pending, st.pending == 1 ? "" : "s");
    if (st.pending_sent)
        printf(" (%lld sent, waiting for the server's answer)", (long long)st.pending_sent);
    putchar('\n');
    if (st.last_sync_ms) {
        char when[64];
        cli_local_time(st.last_sync_ms, when, sizeof(when));
        printf("last sync  %s: %s\n", when, st.last_sync_result);
    } else {
        printf("last sync  never\n");
    }
    printf("warnings   %lld open%s\n", (long long)warnings_open,
           warnings_open ? " (gridsync warnings lists them)" : "");
    if (att_files)
        printf("attachments %lld file%s, %.1f KB waiting to upload\n", (long long)att_files,
               att_files == 1 ? "" : "s", (double)att_bytes / 1024.0);
    else
        printf("attachments nothing waiting to upload\n");
    printf("rejected   %lld change%s\n", (long long)st.rejected, st.rejected == 1 ? "" : "s");
    if (st.rejected) {
        rc = gs_db_rejected(c->db, on_rejected, &rx);
        if (rc)
            return cli_fail(c, rc);
    }
    return CLI_OK;
}

/* ---- rejected changes: retry, drop ---- */

/* The one SEQ argument of retry/drop ("7" or "#7", as status prints it). */
static int one_seq(cli *c, const char *cmd, uint64_t *seq)
{
    const char *word = NULL;
    cli_opt opt;
    int i = 0, r;

    while ((r = cli_next_opt(c, &i, &opt, init_takes_value, NULL)) > 0) {
        if (opt.name || word)
            return cli_usage_error(c, "%s takes one SEQ (from gridsync status)", cmd);
        word = opt.value;
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        if (strcmp(cmd, "retry") == 0)
            printf("usage: gridsync retry SEQ\n\nSends the rejected change SEQ (listed by "
                   "gridsync status) again, as a new\nchange made now: fix its cause first "
                   "(set the clock, sync the resident it\nrefers to). The record then shows "
                   "the change's values until the next sync.\n");
        else
            printf("usage: gridsync drop SEQ\n\nGives up the rejected change SEQ (listed by "
                   "gridsync status): it is removed\nfrom this device; the record keeps the "
                   "server's values.\n");
        return -1;
    }
    if (!word)
        return cli_usage_error(c, "%s: which change? give its SEQ (gridsync status lists them)",
                               cmd);
    if (word[0] == '#')
        word++;
    {
        char *end = NULL;
        unsigned long long v;
        if (word[0] < '0' || word[0] > '9')
            return cli_usage_error(c, "%s: '%.40s' is not a SEQ number", cmd, word);
        v = strtoull(word, &end, 10);
        if (!end || *end || v == 0)
            return cli_usage_error(c, "%s: '%.40s' is not a SEQ number", cmd, word);
        *seq = (uint64_t)v;
    }
    return CLI_OK;
}

/* {"seq":SEQ,"<done>":true[,"new_seq":N]}: what retry and drop print with --json. */
static int print_seq_json(cli *c, uint64_t seq, const char *done, const uint64_t *new_seq)
{
    json_t *o = json_pack("{s:I,s:b}", "seq", (json_int_t)seq, done, 1);
    int rc = o ? GS_OK : GS_E_NOMEM;

    if (!rc && new_seq && json_object_set_new(o, "new_seq", json_integer((json_int_t)*new_seq)))
        rc = GS_E_NOMEM;
    if (!rc)
        rc = cmdline_print_json(o, CMDLINE_JSON_FLAGS);
    json_decref(o);
    return rc ? cli_fail(c, rc) : CLI_OK;
}

int cli_cmd_retry(cli *c)
{
    uint64_t seq = 0, new_seq = 0;
    int code = one_seq(c, "retry", &seq), rc;

    if (code)
        return code < 0 ? CLI_OK : code;
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_retry(c->db, seq, &new_seq);
    if (rc)
        return cli_fail(c, rc);
    if (c->json)
        return print_seq_json(c, seq, "retried", &new_seq);
    if (new_seq)
        printf("change #%llu will be sent again as #%llu at the next sync\n",
               (unsigned long long)seq, (unsigned long long)new_seq);
    else
        printf("change #%llu: the record already holds its values; nothing to send\n",
               (unsigned long long)seq);
    return CLI_OK;
}

int cli_cmd_drop(cli *c)
{
    uint64_t seq = 0;
    int code = one_seq(c, "drop", &seq), rc;

    if (code)
        return code < 0 ? CLI_OK : code;
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_drop(c->db, seq);
    if (rc)
        return cli_fail(c, rc);
    if (c->json)
        return print_seq_json(c, seq, "dropped", NULL);
    printf("dropped change #%llu\n", (unsigned long long)seq);
    return CLI_OK;
}

/* ---- import ---- */

typedef struct bad_ctx {
    json_t *arr;   /* --json: errors collected */
} bad_ctx;

static int on_bad(void *ud, int64_t line, const char *message)
{
    bad_ctx *bx = ud;

    if (bx->arr) {
        json_t *o = json_pack("{s:I,s:s}", "line", (json_int_t)line, "message", message);
        if (!o || json_array_append_new(bx->arr, o))
            return 1;
    }
    fprintf(stderr, "gridsync: %s\n", message);
    return 0;
}

int cli_cmd_import(cli *c)
{
    gs_import_stats st;
    const char *path = NULL;
    bad_ctx bx;
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, init_takes_value, NULL)) > 0) {
        if (opt.name)
            return cli_usage_error(c, "import: unknown option --%.60s", opt.name);
        if (path)
            return cli_usage_error(c, "import: one file only");
        path = opt.value;
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        printf("usage: gridsync import FILE.jsonl   (- reads standard input)\n\n"
               "Adds records from JSON Lines: one object per line with \"type\" (resident,\n"
               "visit, care), optionally \"id\", and the schema's field names. Every line is\n"
               "checked first; if any is bad, each is reported and nothing is imported.\n"
               "Lines whose id is already stored with the same values are skipped, so a file\n"
               "can be imported twice; a stored record with other values is a bad line.\n");
        return CLI_OK;
    }
    if (!path)
        return cli_usage_error(c, "import: which file?");
    code = cli_open(c);
    if (code)
        return code;
    memset(&bx, 0, sizeof(bx));
    if (c->json) {
        bx.arr = json_array();
        if (!bx.arr)
            return cli_fail(c, GS_E_NOMEM);
    }
    rc = gs_db_import(c->db, path, on_bad, &bx, &st);
    if (c->json) {
        json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:o}", "ok", rc == GS_OK, "lines",
                              (json_int_t)st.lines, "added", (json_int_t)st.added, "skipped",
                              (json_int_t)st.skipped, "bad", (json_int_t)st.bad, "errors",
                              bx.arr);
        if (o)
            cmdline_print_json(o, CMDLINE_JSON_FLAGS);
        json_decref(o);
        if (rc) {
            fprintf(stderr, "gridsync: %s\n", gs_db_errmsg(c->db));
            return cmdline_exit_code(rc);
        }
        return CLI_OK;
    }
    if (rc)
        return cli_fail(c, rc);
    printf("imported %lld record%s", (long long)st.added, st.added == 1 ? "" : "s");
    if (st.skipped)
        printf(" (%lld already there, skipped)", (long long)st.skipped);
    putchar('\n');
    return CLI_OK;
}
