/*
 * import.c: gs_db_import, JSON Lines into records, all or nothing.
 *
 * One pass inside one transaction: each good line is written (a bad line is refused before
 * it writes anything), each bad line is reported and skipped, and references are
 * collected rather than checked, because a line may refer to a record of a later line.
 * After the last line the references are checked against the database, which by then
 * holds every record of the file. Any bad line or reference rolls the whole transaction
 * back: nothing is imported.
 *
 * A line with an id that is already stored is compared, not written: identical (every field
 * the line gives equals the stored value, times compared as instants, tags as sets) counts
 * as skipped, so importing a file twice changes nothing; different is a bad line (import
 * never edits a record behind the worker's back; `gridsync <type> update` does).
 */
#include "common/alloc.h"
#include "common/buf.h"
#include "attach.h"
#include "capture.h"
#include "record_json.h"
#include "pval.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A line may hold several 4000-byte texts, escaped; more than this is not a record. */
#define IMPORT_LINE_MAX (256 * 1024)

/* A line whose reference turned out bad, reported after all references were checked. */
typedef struct bad_ref {
    int64_t line; /* its line */
    char *msg;    /* what is wrong (gs_malloc'd) */
} bad_ref;

typedef struct import_ctx {
    gs_db *db;              /* the handle */
    gs_import_cb *on_bad;   /* told about each bad line */
    void *ud;               /* for on_bad */
    gs_import_stats stats;  /* counts so far */
    int stopped;            /* on_bad asked to stop */
    bad_ref *bad_refs;      /* lines with a bad reference, in check order */
    size_t n_bad_refs;      /* entries in bad_refs */
    int nomem;              /* a bad_refs entry could not be kept */
} import_ctx;

static void bad_line(import_ctx *cx, int64_t line, const char *msg)
{
    char full[GS_ERR_MSG_MAX + 32];

    cx->stats.bad++;
    snprintf(full, sizeof(full), "line %lld: %s", (long long)line, msg);
    if (cx->on_bad && cx->on_bad(cx->ud, line, full))
        cx->stopped = 1;
}

/* References grouped by target (and the table it must be in), each group in line order. */
static int ref_order(const void *a, const void *b)
{
    const capture_ref *x = a, *y = b;
    int c = memcmp(x->target, y->target, UUID_LEN);
    if (c)
        return c;
    c = strcmp(x->f->ref_table, y->f->ref_table);
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int same_target(const capture_ref *a, const capture_ref *b)
{
    return memcmp(a->target, b->target, UUID_LEN) == 0 && strcmp(a->f->ref_table, b->f->ref_table) == 0;
}

static void mark_bad_ref(import_ctx *cx, const capture_ref *r, const char *msg)
{
    bad_ref *p = gs_realloc(cx->bad_refs, (cx->n_bad_refs + 1) * sizeof(*p));
    char *copy = gs_strdup(msg);

    if (!p || !copy) {
        gs_free(copy);
        if (p)
            cx->bad_refs = p;
        cx->nomem = 1;
        return;
    }
    cx->bad_refs = p;
    p[cx->n_bad_refs].line = r->line;
    p[cx->n_bad_refs].msg = copy;
    cx->n_bad_refs++;
}

static int bad_ref_order(const void *a, const void *b)
{
    const bad_ref *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Reports the lines with bad references in line order (each line once). */
static void report_bad_refs(import_ctx *cx)
{
    if (cx->n_bad_refs)
        qsort(cx->bad_refs, cx->n_bad_refs, sizeof(cx->bad_refs[0]), bad_ref_order);
    for (size_t i = 0; i < cx->n_bad_refs && !cx->stopped; i++) {
        if (i > 0 && cx->bad_refs[i].line == cx->bad_refs[i - 1].line)
            continue;
        bad_line(cx, cx->bad_refs[i].line, cx->bad_refs[i].msg);
        cx->stats.added--;
    }
}

static void free_bad_refs(import_ctx *cx)
{
    for (size_t i = 0; i < cx->n_bad_refs; i++)
        gs_free(cx->bad_refs[i].msg);
    gs_free(cx->bad_refs);
    cx->bad_refs = NULL;
    cx->n_bad_refs = 0;
}

/* Reads one line into line (without its newline); *eof when nothing more was read.
 * GS_E_TOO_LARGE after consuming the whole over-long line. */
static int read_line(FILE *f, gs_buf *line, int *eof)
{
    int c, rc = GS_OK;

    buf_reset(line);
    *eof = 0;
    while ((c = getc(f)) != EOF && c != '\n') {
        char ch = (char)c;
        if (rc == GS_OK)
            rc = buf_add(line, &ch, 1);
    }
    if (c == EOF && line->len == 0 && rc == GS_OK)
        *eof = 1;
    if (rc == GS_OK && line->len && line->ptr[line->len - 1] == '\r')
        line->ptr[--line->len] = '\0';
    return rc;
}

static int blank(const gs_buf *line)
{
    for (size_t i = 0; i < line->len; i++)
        if (line->ptr[i] != ' ' && line->ptr[i] != '\t')
            return 0;
    return 1;
}

/* Line errors are reported and counted; any other failure stops the import. A line of a
 * record type only the server writes (a warning: GS_E_READ_ONLY) is the file's mistake. */
static int line_error(int rc)
{
    return rc == GS_E_INVALID || rc == GS_E_EXISTS || rc == GS_E_TOO_LARGE ||
           rc == GS_E_READ_ONLY;
}

/* Compares the fields rec gives with the stored record; GS_OK when identical. */
static int compare_stored(gs_db *db, const gs_record *rec, const gs_record *cur)
{
    if (cur->t != rec->t)
        return gs_err_set(&db->err, GS_E_INVALID, "%s.id: %s is a %s already", rec->t->name,
                          rec->id_text, cur->t->name);
    if (cur->deleted)
        return gs_err_set(&db->err, GS_E_INVALID, "%s.id: %s was deleted on this device",
                          rec->t->name, rec->id_text);
    for (size_t i = 0; i < rec->t->n_fields; i++) {
        if (!rec->slots[i].set ||
            schema_value_eq(&rec->t->fields[i], &rec->slots[i].v, &cur->slots[i].v))
            continue;
        return gs_err_set(&db->err, GS_E_INVALID,
                          "%s.%s: differs from the stored %s %s (import does not change "
                          "existing records; use update)",
                          rec->t->name, rec->t->fields[i].name, rec->t->name, rec->id_text);
    }
    return GS_OK;
}

static int import_line(import_ctx *cx, const gs_buf *line, int64_t lineno, capture_refs *refs)
{
    gs_db *db = cx->db;
    json_error_t jerr;
    json_t *obj;
    gs_record *rec = NULL, *cur = NULL;
    size_t n_refs;
    int rc;

    obj = json_loadb(line->ptr, line->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        rc = gs_err_set(&db->err, GS_E_INVALID, "not valid JSON: %s (column %d)", jerr.text,
                        jerr.column);
        goto out;
    }
    rc = record_json_to_record(db, obj, &rec);
    if (rc)
        goto out;
    if (rec->has_id) {
        rc = record_load(db, rec->id, &cur);
        if (rc == GS_OK) {
            rc = compare_stored(db, rec, cur);
            if (rc == GS_OK)
                cx->stats.skipped++;
            goto out;
        }
        if (rc != GS_E_NOTFOUND)
            goto out;
    }
    if (strcmp(rec->t->name, ATTACH_TABLE) == 0) { /* its bytes must come with it */
        rc = gs_err_set(&db->err, GS_E_INVALID,
                        "attachments cannot be imported: attach the files (gridsync attach)");
        goto out;
    }
    refs->line = lineno;
    n_refs = refs->n;
    rc = capture_add(db, rec, refs);
    if (rc == GS_OK)
        cx->stats.added++;
    else
        refs->n = n_refs; /* a refused line's references are not checked or reported again */
out:
    if (rc && line_error(rc)) {
        bad_line(cx, lineno, db->err.msg);
        rc = GS_OK;
    }
    json_decref(obj);
    gs_record_free(rec);
    gs_record_free(cur);
    return rc;
}

int gs_db_import(gs_db *db, const char *path, gs_import_cb *on_bad, void *ud,
                 gs_import_stats *stats)
{
    import_ctx cx;
    capture_refs refs;
    gs_buf line;
    FILE *f;
    int64_t lineno = 0;
    int eof = 0, began, rc, last_crc = GS_OK;

    if (stats)
        memset(stats, 0, sizeof(*stats));
    if (!db || !path)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    memset(&cx, 0, sizeof(cx));
    memset(&refs, 0, sizeof(refs));
    cx.db = db;
    cx.on_bad = on_bad;
    cx.ud = ud;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return gs_err_set(&db->err, errno == ENOENT ? GS_E_NOTFOUND : GS_E_IO,
                          "cannot open %s: %s", path, strerror(errno));
    buf_init(&line, IMPORT_LINE_MAX);
    /* undoable: an import inside a caller's batch that fails leaves the batch as it was */
    rc = db_tx_begin_undoable(db);
    began = rc == GS_OK;
    while (rc == GS_OK && !cx.stopped) {
        int rrc = read_line(f, &line, &eof);
        lineno++;
        if (eof)
            break;
        if (lineno == 1 && line.len >= 3 && memcmp(line.ptr, "\xEF\xBB\xBF", 3) == 0) {
            /* a byte order mark, as spreadsheet exports write */
            memmove(line.ptr, line.ptr + 3, line.len - 2);
            line.len -= 3;
        }
        if (rrc == GS_E_TOO_LARGE) {
            cx.stats.lines++;
            bad_line(&cx, lineno, "longer than 256 KiB");
            continue;
        }
        if (rrc) {
            rc = gs_err_set(&db->err, rrc, "out of memory");
            break;
        }
        if (blank(&line))
            continue;
        cx.stats.lines++;
        rc = import_line(&cx, &line, lineno, &refs);
    }
    if (rc == GS_OK && ferror(f))
        rc = gs_err_set(&db->err, GS_E_IO, "reading %s failed", path);
    /* the references, each target looked up once (10,000 visits point at 50 residents),
       bad lines reported in line order */
    if (refs.n)
        qsort(refs.items, refs.n, sizeof(refs.items[0]), ref_order);
    for (size_t i = 0; rc == GS_OK && i < refs.n && !cx.stopped; i++) {
        const capture_ref *r = &refs.items[i];
        int crc = i > 0 && same_target(&refs.items[i - 1], r) ? last_crc
                                                              : capture_check_ref(db, r->t, r->f,
                                                                                  r->target);
        last_crc = crc;
        if (crc && !line_error(crc)) {
            rc = crc;
            break;
        }
        if (crc)
            mark_bad_ref(&cx, r, db->err.msg);
    }
    if (rc == GS_OK && cx.nomem)
        rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    if (rc == GS_OK)
        report_bad_refs(&cx);
    if (rc == GS_OK && (cx.stats.bad || cx.stopped)) {
        rc = gs_err_set(&db->err, GS_E_INVALID,
                        "%lld of %lld lines are bad: nothing was imported",
                        (long long)cx.stats.bad, (long long)cx.stats.lines);
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc) {
        if (began)
            db_tx_rollback(db);
        cx.stats.added = 0;
        cx.stats.skipped = 0;
    }
    if (f != stdin)
        fclose(f);
    buf_free(&line);
    capture_refs_free(&refs);
    free_bad_refs(&cx);
    if (stats)
        *stats = cx.stats;
    return rc;
}
