/*
 * cli_attach.c: the attachment commands (issue 19), over gs_db_attach, gs_db_attachments and
 * gs_db_attachment_get:
 *   attach RECORD_ID FILE [--caption TEXT] [--long-side PX] [--quality Q] [--thumb-side PX]
 *          [--keep-original]                 prints the new attachment's id
 *   attachments RECORD_ID                    the record's attachments
 *   attachment get ATT_ID --out FILE [--thumb | --original]
 * `attachment get` writes FILE whole or not at all (a temporary file renamed over it).
 */
#include "cli.h"

#include "common/buf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ATTACH_FILE_MAX (32u * 1024u * 1024u) /* what gs_db_attach accepts */

static const char attach_help[] =
    "usage: gridsync attach RECORD_ID FILE [--caption TEXT] [--long-side PX] [--quality Q]\n"
    "                       [--thumb-side PX] [--keep-original]\n"
    "\n"
    "Attaches a photo (JPEG or PNG) or a scanned document (PDF) to record RECORD_ID (a\n"
    "visit, a care request, a resident, ...). A photo is shrunk to a long side of 1600 px\n"
    "(--long-side), turned upright, re-encoded as JPEG quality 80 (--quality) without any\n"
    "metadata (the camera's GPS position and serial number are removed), and a 320 px\n"
    "thumbnail (--thumb-side) is made; a PDF is kept as it is. --keep-original also keeps\n"
    "the file as given, on this device only. Prints the attachment's id; it syncs with the\n"
    "record and is deleted with it. Exit 2: not a JPEG, PNG or PDF, or too large; 3: no\n"
    "such record.\n";

static const char list_help[] =
    "usage: gridsync attachments RECORD_ID\n"
    "\n"
    "Lists the attachments of record RECORD_ID: id, type, size, pixels, whether the file and\n"
    "its thumbnail are on this device, and the caption.\n";

static const char get_help[] =
    "usage: gridsync attachment get ATT_ID --out FILE [--thumb | --original]\n"
    "\n"
    "Writes attachment ATT_ID (from gridsync attachments) to FILE: the stored photo or PDF,\n"
    "or its thumbnail with --thumb, or the original as given with --original (only when it\n"
    "was attached with --keep-original). A file or thumbnail that is not on this device is\n"
    "fetched from the server first (checked against its SHA-256). Exit 3: no such\n"
    "attachment, or neither this device nor the server holds its file yet; 4: the server\n"
    "cannot be reached.\n";

static int attach_takes(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "caption") == 0 || strcmp(name, "long-side") == 0 ||
           strcmp(name, "quality") == 0 || strcmp(name, "thumb-side") == 0;
}

static int get_takes(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "out") == 0;
}

static int takes_none(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return 0;
}

/* A positive number of pixels or a quality from an option value. */
static int parse_int(cli *c, const char *flag, const char *text, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return cli_usage_error(c, "attach: --%s wants a number from %d to %d, not '%.40s'", flag,
                               lo, hi, text);
    *out = (int)v;
    return CLI_OK;
}

int cli_cmd_attach(cli *c)
{
    const char *pos[2] = {NULL, NULL}, *caption = NULL;
    gs_attach_opts opts;
    char id[GS_ID_TEXT_LEN + 1];
    cli_opt opt;
    gs_buf file;
    gs_err err;
    int i = 0, r, n_pos = 0, code, rc;

    memset(&opts, 0, sizeof(opts));
    while ((r = cli_next_opt(c, &i, &opt, attach_takes, NULL)) > 0) {
        if (!opt.name) {
            if (n_pos == 2)
                return cli_usage_error(c, "attach: unexpected '%.60s'", opt.value);
            pos[n_pos++] = opt.value;
        } else if (strcmp(opt.name, "caption") == 0) {
            caption = opt.value;
        } else if (strcmp(opt.name, "long-side") == 0) {
            if ((code = parse_int(c, opt.name, opt.value, 16, 16384, &opts.long_side)))
                return code;
        } else if (strcmp(opt.name, "thumb-side") == 0) {
            if ((code = parse_int(c, opt.name, opt.value, 16, 16384, &opts.thumb_side)))
                return code;
        } else if (strcmp(opt.name, "quality") == 0) {
            if ((code = parse_int(c, opt.name, opt.value, 1, 100, &opts.quality)))
                return code;
        } else if (strcmp(opt.name, "keep-original") == 0) {
            opts.keep_original = 1;
        } else {
            return cli_usage_error(c, "attach: unknown option --%.60s (see --help)", opt.name);
        }
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(attach_help, stdout);
        return CLI_OK;
    }
    if (n_pos < 2)
        return cli_usage_error(c, "attach: give RECORD_ID and FILE");
    buf_init(&file, ATTACH_FILE_MAX);
    gs_err_clear(&err);
    rc = buf_read_file(&file, pos[1], &err);
    if (rc) {
        buf_free(&file);
        return cmdline_fail("gridsync", c->json, rc == GS_E_TOO_LARGE ? GS_E_TOO_LARGE : rc,
                            err.msg);
    }
    code = cli_open(c);
    if (code) {
        buf_free(&file);
        return code;
    }
    rc = gs_db_attach(c->db, pos[0], file.ptr, file.len, caption, &opts, id);
    buf_free(&file);
    if (rc)
        return cli_fail(c, rc);
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s}", "id", id, "record", pos[0]);
        if (!o || cmdline_print_json(o, CMDLINE_JSON_FLAGS)) {
            json_decref(o);
            return cli_fail(c, GS_E_NOMEM);
        }
        json_decref(o);
    } else {
        printf("%s\n", id);
    }
    return CLI_OK;
}

typedef struct list_ctx {
    table *tab;     /* the table being filled, without --json */
    json_t *arr;    /* the array being filled, with --json */
    int n;          /* attachments seen */
} list_ctx;

static int list_one(void *ud, const gs_attachment_info *a)
{
    list_ctx *x = ud;
    char size[32], px[32], local[16];

    x->n++;
    if (x->arr) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:b,s:b}", "id", a->id,
                              "record", a->record, "mime", a->mime, "sha256", a->sha256,
                              "caption", a->caption, "bytes", (json_int_t)a->bytes,
                              "thumb_bytes", (json_int_t)a->thumb_bytes, "width", a->width,
                              "height", a->height, "have_full", a->have_full, "have_thumb",
                              a->have_thumb);
        return o && json_array_append_new(x->arr, o) == 0 ? GS_OK : GS_E_NOMEM;
    }
    if (a->bytes < 10 * 1024)
        snprintf(size, sizeof(size), "%lld B", (long long)a->bytes);
    else
        snprintf(size, sizeof(size), "%.1f KB", (double)a->bytes / 1024.0);
    if (a->width)
        snprintf(px, sizeof(px), "%dx%d", a->width, a->height);
    else
        snprintf(px, sizeof(px), "-");
    snprintf(local, sizeof(local), "%s%s", a->have_full ? "file" : "",
             a->have_thumb ? (a->have_full ? "+thumb" : "thumb") : "");
    const char *cells[6] = {a->id, strcmp(a->mime, "application/pdf") == 0 ? "pdf" : "photo",
                            size, px, local[0] ? local : "-", a->caption};
    return table_add(x->tab, cells) ? GS_E_NOMEM : GS_OK;
}

int cli_cmd_attachments(cli *c)
{
    static const char *const head[] = {"id", "type", "size", "pixels", "here", "caption"};
    const char *record = NULL;
    list_ctx x;
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, takes_none, NULL)) > 0) {
        if (opt.name)
            return cli_usage_error(c, "attachments: unknown option --%.60s", opt.name);
        if (record)
            return cli_usage_error(c, "attachments: unexpected '%.60s'", opt.value);
        record = opt.value;
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(list_help, stdout);
        return CLI_OK;
    }
    if (!record)
        return cli_usage_error(c, "attachments: which record? give its ID");
    code = cli_open(c);
    if (code)
        return code;
    memset(&x, 0, sizeof(x));
    if (c->json)
        x.arr = json_array();
    else if (table_new(&x.tab, 6) || table_add(x.tab, head))
        rc = GS_E_NOMEM;
    rc = (c->json ? x.arr != NULL : x.tab != NULL) ? GS_OK : GS_E_NOMEM;
    if (rc == GS_OK)
        rc = gs_db_attachments(c->db, record, list_one, &x);
    if (rc == GS_OK && x.arr)
        rc = cmdline_print_json(x.arr, CMDLINE_JSON_FLAGS);
    else if (rc == GS_OK && x.n == 0)
        printf("no attachments\n");
    else if (rc == GS_OK)
        table_print(x.tab, stdout, 48);
    json_decref(x.arr);
    table_free(x.tab);
    return rc ? cli_fail(c, rc) : CLI_OK;
}

/* data to path whole or not at all. */
static int write_whole(const char *path, const void *data, size_t len, gs_err *err)
{
    char tmp[4096];
    FILE *f;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.part%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return gs_err_set(err, GS_E_INVALID, "the path %.60s... is too long", path);
    f = fopen(tmp, "wb");
    if (!f)
        return gs_err_set(err, GS_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return gs_err_set(err, GS_E_IO, "cannot write %s: %s", path, strerror(e));
    }
    return GS_OK;
}

int cli_cmd_attachment_get(cli *c)
{
    const char *id = NULL, *out = NULL;
    int which = GS_ATT_FULL, i = 0, r, code, rc;
    void *data = NULL;
    size_t len = 0;
    cli_opt opt;
    gs_err err;

    while ((r = cli_next_opt(c, &i, &opt, get_takes, NULL)) > 0) {
        if (!opt.name) {
            if (id)
                return cli_usage_error(c, "attachment get: unexpected '%.60s'", opt.value);
            id = opt.value;
        } else if (strcmp(opt.name, "out") == 0) {
            out = opt.value;
        } else if (strcmp(opt.name, "thumb") == 0) {
            which = GS_ATT_THUMB;
        } else if (strcmp(opt.name, "original") == 0) {
            which = GS_ATT_ORIGINAL;
        } else {
            return cli_usage_error(c, "attachment get: unknown option --%.60s", opt.name);
        }
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(get_help, stdout);
        return CLI_OK;
    }
    if (!id || !out)
        return cli_usage_error(c, "attachment get: give ATT_ID and --out FILE");
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_attachment_get(c->db, id, which, &data, &len);
    if (rc == GS_E_NOTFOUND && which != GS_ATT_ORIGINAL &&
        gs_db_attachment_fetch(c->db, id, which, NULL) == GS_OK)
        rc = gs_db_attachment_get(c->db, id, which, &data, &len); /* fetched from the server */
    else if (rc == GS_E_NOTFOUND && which != GS_ATT_ORIGINAL &&
             gs_db_errcode(c->db) != GS_E_NOTFOUND)
        return cli_fail(c, gs_db_errcode(c->db)); /* offline, refused, ...: say so */
    if (rc)
        return cli_fail(c, rc);
    gs_err_clear(&err);
    rc = write_whole(out, data, len, &err);
    gs_free(data);
    if (rc)
        return cmdline_fail("gridsync", c->json, rc, err.msg);
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s,s:I}", "id", id, "out", out, "bytes", (json_int_t)len);
        rc = o ? cmdline_print_json(o, CMDLINE_JSON_FLAGS) : GS_E_NOMEM;
        json_decref(o);
    } else {
        printf("wrote %zu bytes to %s\n", len, out);
    }
    return rc ? cli_fail(c, rc) : CLI_OK;
}
