/*
 * export.c: see export.h. Phases, each a function: the arguments; the dashboard's figures
 * (xlsx); the file opened beside FILE; the summary sheet; each type's records, page by
 * page, one row each; the file closed and renamed into place.
 *
 * A "sink" is the file being written, xlsx (libxlsxwriter, constant-memory mode: rows go
 * to disk as they are written, in order) or csv (RFC 4180, CRLF, a BOM first). Values
 * become cells once (render) and each sink writes a cell its way: a time is a date cell in
 * a workbook and "2026-11-27 09:30" in a CSV.
 *
 * The summary sheet's layout, which tests and readers rely on: column A a figure's label,
 * column B its value, one figure a row (导出范围 ... 未同步设备), then the residents by
 * tag, then the per-grid table. A text cell that would start a formula in Excel (=, +, -,
 * @) is written to a CSV with a leading ' (a workbook's strings are never formulas).
 */
#define _POSIX_C_SOURCE 200809L
#include "export.h"

#include "dashboard.h"

#include "common/alloc.h"
#include "common/cmdline.h"
#include "common/isotime.h"
#include "common/limits.h"
#include "proto/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define DAY_MS INT64_C(86400000)
#define TEXT_MAX 8192         /* a cell's text: a 4,000-byte note, or 16 tag labels */
#define XLSX_ROWS_MAX 1048576 /* Excel's rows per sheet, the header included */
#define SUMMARY_SHEET "汇总"

typedef enum export_kind { EXPORT_XLSX, EXPORT_CSV } export_kind;

typedef struct export_opts {
    int64_t from_ms, to_ms;   /* the records created in from..to, both included */
    const char *out;          /* FILE.xlsx or FILE.csv */
    export_kind kind;         /* by the extension */
    const schema_table *type; /* csv: the one type */
    char grid_q[300];         /* "&grid=G" (escaped) with --grid, else "" */
} export_opts;

typedef enum cell_kind { CELL_EMPTY, CELL_TEXT, CELL_NUMBER, CELL_TIME, CELL_PERCENT } cell_kind;

typedef struct cell {
    cell_kind kind;      /* what it holds */
    char text[TEXT_MAX]; /* CELL_TEXT */
    double number;       /* CELL_NUMBER, CELL_PERCENT (a ratio) */
    int64_t ms;          /* CELL_TIME */
} cell;

typedef struct sink {
    export_kind kind;              /* which file */
    lxw_workbook *wb;              /* xlsx */
    lxw_worksheet *ws;             /* its sheet being written */
    lxw_format *bold, *when, *pct; /* headers, times, shares */
    FILE *f;                       /* csv */
    cell *text;                    /* for sink_text (8 KiB: made once) */
    uint32_t row;                  /* the row being written, 0 the header */
    uint16_t col;                  /* the next cell's column */
    gs_err *err;                   /* what failed */
} sink;

/* ---- arguments -------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *ext)
{
    size_t n = strlen(s), e = strlen(ext);
    return n > e && strcasecmp(s + n - e, ext) == 0;
}

/* DATE as ms; a date alone is Beijing midnight, or with end set the day's last ms. */
static int parse_date(const char *text, int end, int64_t *out)
{
    size_t n = strlen(text);
    int64_t ms;

    if (isotime_parse(text, n, &ms) != GS_OK)
        return GS_E_INVALID;
    *out = end && n == 10 ? ms + DAY_MS - 1 : ms;
    return GS_OK;
}

static int parse_args(admin *a, int argc, char **argv, export_opts *o)
{
    const char *from = NULL, *to = NULL, *type = NULL, *grid = NULL;

    memset(o, 0, sizeof(*o));
    for (int i = 0; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--from") == 0   ? &from
                           : strcmp(argv[i], "--to") == 0   ? &to
                           : strcmp(argv[i], "--out") == 0  ? &o->out
                           : strcmp(argv[i], "--type") == 0 ? &type
                           : strcmp(argv[i], "--grid") == 0 ? &grid
                                                            : NULL;
        if (!dst || i + 1 >= argc)
            return admin_usage_error(a, "export: unexpected '%s'", argv[i]);
        if (*dst)
            return admin_usage_error(a, "export: %s given twice", argv[i]);
        *dst = argv[++i];
    }
    if (!from || !to || !o->out)
        return admin_usage_error(a, "export: --from DATE, --to DATE and --out FILE are needed");
    if (ends_with(o->out, ".xlsx"))
        o->kind = EXPORT_XLSX;
    else if (ends_with(o->out, ".csv"))
        o->kind = EXPORT_CSV;
    else
        return admin_usage_error(a, "export: --out must end in .xlsx or .csv, not '%s'", o->out);
    if (parse_date(from, 0, &o->from_ms) || parse_date(to, 1, &o->to_ms))
        return admin_usage_error(a, "export: --from and --to take ISO 8601 dates (2026-11-01) "
                                    "or times");
    if (o->from_ms > o->to_ms || o->from_ms < 0)
        return admin_usage_error(a, "export: --from must not be after --to, nor before 1970");
    if (type && o->kind != EXPORT_CSV)
        return admin_usage_error(a, "export: --type is for a .csv export (a workbook has every "
                                    "type)");
    if (grid) { /* one grid (a town admin: of its towns, or the server answers not found) */
        admin_query_add(o->grid_q, sizeof(o->grid_q), "grid", grid);
        o->grid_q[0] = '&';
    }
    o->type = schema_table_by_cli(type ? type : "visit");
    if (!o->type)
        return admin_usage_error(a, "export: --type: '%s' is not a record type", type);
    return 0;
}

/* ---- values as cells --------------------------------------------------------------------- */

static void set_text(cell *c, const char *s)
{
    c->kind = s && *s ? CELL_TEXT : CELL_EMPTY;
    snprintf(c->text, sizeof(c->text), "%s", s ? s : "");
}

static const char *enum_label(const schema_field *f, const char *name)
{
    const schema_enum *e = name ? schema_enum_find(f, name, strlen(name)) : NULL;
    return e ? e->label_zh : name;
}

/* The value v of field f (the API's JSON form) as a person reads it; titles holds the names
 * the references name. */
static void render(const schema_field *f, json_t *v, json_t *titles, cell *c)
{
    int64_t ms;

    c->kind = CELL_EMPTY;
    c->text[0] = '\0';
    if (!v || json_is_null(v))
        return;
    switch (f->type) {
    case ST_INT:
    case ST_REAL:
        c->kind = CELL_NUMBER;
        c->number = json_number_value(v);
        return;
    case ST_BOOL:
        set_text(c, json_is_true(v) ? "是" : "否");
        return;
    case ST_TIME:
        if (json_is_string(v) &&
            isotime_parse(json_string_value(v), json_string_length(v), &ms) == GS_OK) {
            c->kind = CELL_TIME;
            c->ms = ms;
        }
        return;
    case ST_ENUM:
        set_text(c, enum_label(f, json_string_value(v)));
        return;
    case ST_TAGS: {
        size_t i, n = 0;
        json_t *tag;
        json_array_foreach(v, i, tag)
        {
            n += (size_t)snprintf(c->text + n, n < sizeof(c->text) ? sizeof(c->text) - n : 0,
                                  "%s%s", i ? "、" : "", enum_label(f, json_string_value(tag)));
            if (n >= sizeof(c->text))
                break;
        }
        c->kind = c->text[0] ? CELL_TEXT : CELL_EMPTY;
        return;
    }
    case ST_REF: {
        const char *name = json_string_value(json_object_get(titles, f->name));
        set_text(c, name ? name : json_string_value(v));
        return;
    }
    case ST_TEXT:
        set_text(c, json_string_value(v));
        return;
    }
}

/* ---- sinks ------------------------------------------------------------------------------- */

static int xlsx_fail(sink *s, lxw_error e, const char *what)
{
    return gs_err_set(s->err,
                      e == LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE ? GS_E_TOO_LARGE : GS_E_IO,
                      "export: %s: %s", what, lxw_strerror(e));
}

static int sink_open(sink *s, export_kind kind, const char *path, gs_err *err)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->err = err;
    s->text = gs_malloc(sizeof(*s->text));
    if (!s->text)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (kind == EXPORT_CSV) {
        s->f = fopen(path, "wb");
        if (!s->f || fputs("\xEF\xBB\xBF", s->f) < 0)
            return gs_err_set(err, GS_E_IO, "export: cannot write %s", path);
        return GS_OK;
    }
    {
        lxw_workbook_options opts = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
        s->wb = workbook_new_opt(path, &opts);
    }
    if (!s->wb)
        return gs_err_set(err, GS_E_IO, "export: cannot create %s", path);
    s->bold = workbook_add_format(s->wb);
    s->when = workbook_add_format(s->wb);
    s->pct = workbook_add_format(s->wb);
    format_set_bold(s->bold);
    format_set_num_format(s->when, "yyyy-mm-dd hh:mm");
    format_set_num_format(s->pct, "0.0%");
    return GS_OK;
}

/* A new sheet (xlsx; a CSV has one). widths: of its first columns, 0 to end. */
static int sink_sheet(sink *s, const char *name, const double *widths)
{
    s->row = 0;
    s->col = 0;
    if (s->kind == EXPORT_CSV)
        return GS_OK;
    s->ws = workbook_add_worksheet(s->wb, name);
    if (!s->ws)
        return gs_err_set(s->err, GS_E_IO, "export: cannot add the sheet %s", name);
    for (lxw_col_t c = 0; widths && widths[c] > 0; c++)
        worksheet_set_column(s->ws, c, c, widths[c], NULL);
    worksheet_freeze_panes(s->ws, 1, 0);
    return GS_OK;
}

static int csv_text(FILE *f, const char *t)
{
    int quote = strpbrk(t, ",\"\r\n") != NULL, guard = t[0] && strchr("=+-@\t", t[0]) != NULL;

    if (quote && fputc('"', f) == EOF)
        return EOF;
    if (guard && fputc('\'', f) == EOF)
        return EOF;
    for (; *t; t++)
        if ((*t == '"' && fputc('"', f) == EOF) || fputc(*t, f) == EOF)
            return EOF;
    return quote && fputc('"', f) == EOF ? EOF : 0;
}

static int csv_cell(sink *s, const cell *c)
{
    char b[ISOTIME_MAX + 32];
    int bad = s->col > 0 && fputc(',', s->f) == EOF;

    switch (c->kind) {
    case CELL_EMPTY:
        break;
    case CELL_TEXT:
        bad = bad || csv_text(s->f, c->text) == EOF;
        break;
    case CELL_NUMBER:
        if (c->number == (double)(int64_t)c->number)
            snprintf(b, sizeof(b), "%" PRId64, (int64_t)c->number);
        else
            snprintf(b, sizeof(b), "%.15g", c->number);
        bad = bad || fputs(b, s->f) < 0;
        break;
    case CELL_PERCENT:
        snprintf(b, sizeof(b), "%.1f%%", c->number * 100.0);
        bad = bad || fputs(b, s->f) < 0;
        break;
    case CELL_TIME:
        if (isotime_format_local(c->ms, ISOTIME_LOCAL_OFFSET_MIN, b) == GS_OK)
            bad = bad || fputs(b, s->f) < 0;
        break;
    }
    return bad ? gs_err_set(s->err, GS_E_IO, "export: cannot write the CSV") : GS_OK;
}

/* ms as Excel's date and time of day in Beijing. */
static lxw_datetime beijing(int64_t ms)
{
    int64_t local = ms + (int64_t)ISOTIME_LOCAL_OFFSET_MIN * 60000;
    int64_t day = isotime_local_day(ms, ISOTIME_LOCAL_OFFSET_MIN), y, in_day;
    unsigned m, d;
    lxw_datetime dt;

    isotime_civil_from_days(day, &y, &m, &d);
    in_day = local - day * DAY_MS;
    dt.year = (int)y;
    dt.month = (int)m;
    dt.day = (int)d;
    dt.hour = (int)(in_day / 3600000);
    dt.min = (int)(in_day / 60000 % 60);
    dt.sec = (double)(in_day % 60000) / 1000.0;
    return dt;
}

static int xlsx_cell(sink *s, const cell *c, int header)
{
    lxw_error e = LXW_NO_ERROR;
    lxw_datetime dt;

    switch (c->kind) {
    case CELL_EMPTY:
        return GS_OK;
    case CELL_TEXT:
        e = worksheet_write_string(s->ws, s->row, s->col, c->text, header ? s->bold : NULL);
        break;
    case CELL_NUMBER:
        e = worksheet_write_number(s->ws, s->row, s->col, c->number, NULL);
        break;
    case CELL_PERCENT:
        e = worksheet_write_number(s->ws, s->row, s->col, c->number, s->pct);
        break;
    case CELL_TIME:
        dt = beijing(c->ms);
        e = worksheet_write_datetime(s->ws, s->row, s->col, &dt, s->when);
        break;
    }
    return e ? xlsx_fail(s, e, "writing a cell") : GS_OK;
}

/* The next cell of the row; header: in bold. */
static int sink_cell(sink *s, const cell *c, int header)
{
    int rc;

    if (s->kind == EXPORT_XLSX && s->row >= XLSX_ROWS_MAX)
        return gs_err_set(s->err, GS_E_TOO_LARGE,
                          "export: more than %d rows for one sheet: export a shorter range, or "
                          "one type as .csv",
                          XLSX_ROWS_MAX - 1);
    rc = s->kind == EXPORT_CSV ? csv_cell(s, c) : xlsx_cell(s, c, header);
    s->col++;
    return rc;
}

static int sink_text(sink *s, const char *text, int header)
{
    set_text(s->text, text);
    return sink_cell(s, s->text, header);
}

static int sink_number(sink *s, json_t *n, int percent)
{
    cell c;

    c.kind = json_is_number(n) ? (percent ? CELL_PERCENT : CELL_NUMBER) : CELL_EMPTY;
    c.number = json_number_value(n);
    c.text[0] = '\0';
    return sink_cell(s, &c, 0);
}

static int sink_end_row(sink *s)
{
    if (s->kind == EXPORT_CSV && fputs("\r\n", s->f) < 0)
        return gs_err_set(s->err, GS_E_IO, "export: cannot write the CSV");
    s->row++;
    s->col = 0;
    return GS_OK;
}

/* Closes the file: complete with rc GS_OK; the caller removes it otherwise. */
static int sink_close(sink *s, int rc)
{
    if (s->f && fclose(s->f) != 0 && !rc)
        rc = gs_err_set(s->err, GS_E_IO, "export: cannot write the CSV");
    if (s->wb) {
        lxw_error e = workbook_close(s->wb);
        if (e && !rc)
            rc = xlsx_fail(s, e, "closing the workbook");
    }
    gs_free(s->text);
    s->f = NULL;
    s->wb = NULL;
    s->text = NULL;
    return rc;
}

/* ---- the records ---------------------------------------------------------------------------- */

static int header_row(sink *s, const schema_table *t)
{
    int rc = sink_text(s, "编号", 1);

    for (size_t i = 0; !rc && i < t->n_fields; i++)
        rc = sink_text(s, t->fields[i].label_zh, 1);
    if (!rc)
        rc = sink_text(s, "录入时间", 1);
    return rc ? rc : sink_end_row(s);
}

static int record_row(sink *s, const schema_table *t, json_t *rec, cell *c)
{
    json_t *fields = json_object_get(rec, "fields"), *titles = json_object_get(rec, "ref_titles");
    const char *created = json_string_value(json_object_get(rec, "created"));
    int rc = sink_text(s, admin_str(rec, "id"), 0);

    for (size_t i = 0; !rc && i < t->n_fields; i++) {
        render(&t->fields[i], json_object_get(fields, t->fields[i].name), titles, c);
        rc = sink_cell(s, c, 0);
    }
    c->kind = created && isotime_parse(created, strlen(created), &c->ms) == GS_OK ? CELL_TIME
                                                                                  : CELL_EMPTY;
    if (!rc)
        rc = sink_cell(s, c, 0);
    return rc ? rc : sink_end_row(s);
}

/* Every record of t created in the range, page by page; *n: how many. */
static int write_type(admin *a, sink *s, const export_opts *o, const schema_table *t, long *n)
{
    static const double widths[] = {38, 12, 12, 12, 18, 12, 24, 12, 12, 12, 12, 0};
    char path[512], after[64] = "";
    cell *c = gs_malloc(sizeof(*c));
    int rc =
        c ? sink_sheet(s, t->label_zh, widths) : gs_err_set(&a->err, GS_E_NOMEM, "out of memory");

    *n = 0;
    if (!rc)
        rc = header_row(s, t);
    while (!rc) {
        json_t *res = NULL, *rec;
        const char *next;
        size_t i;
        snprintf(path, sizeof(path),
                 "/records?type=%s&from=%" PRId64 "&to=%" PRId64 "&limit=%d%s%s%s", t->name,
                 o->from_ms, o->to_ms, EXPORT_PAGE, after[0] ? "&after=" : "", after, o->grid_q);
        rc = admin_call(a, "GET", path, NULL, &res);
        if (rc)
            break;
        json_array_foreach(json_object_get(res, "records"), i, rec)
        {
            if (!rc)
                rc = record_row(s, t, rec, c);
            (*n)++;
        }
        next = json_string_value(json_object_get(res, "next_after"));
        if (next)
            snprintf(after, sizeof(after), "%s", next);
        json_decref(res);
        if (!next)
            break;
    }
    gs_free(c);
    return rc;
}

/* ---- the summary sheet ------------------------------------------------------------------- */

/* The member at a path of keys ("care_open.by_priority.urgent.total"), or NULL. */
static json_t *jat(json_t *j, const char *path)
{
    while (j && *path) {
        char key[64];
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)(n < 63 ? n : 63), path);
        j = json_object_get(j, key);
        path += n + (path[n] == '.');
    }
    return j;
}

/* One figure's row: label, value (a ratio as a percentage). */
static int figure(sink *s, const char *label, json_t *v, int percent)
{
    int rc = sink_text(s, label, 0);
    if (!rc)
        rc = sink_number(s, v, percent);
    return rc ? rc : sink_end_row(s);
}

static int summary_figures(sink *s, json_t *d)
{
    char range[2 * ISOTIME_MAX + 16], a[ISOTIME_MAX], b[ISOTIME_MAX];
    int rc;

    admin_time(d, "from_ms", a, sizeof(a));
    admin_time(d, "to_ms", b, sizeof(b));
    snprintf(range, sizeof(range), "%s 至 %s", a, b);
    rc = sink_text(s, "导出范围", 0);
    if (!rc)
        rc = sink_text(s, range, 0);
    if (!rc)
        rc = sink_end_row(s);
    if (!rc)
        rc = figure(s, "重点人员", jat(d, "coverage.vulnerable"), 0);
    if (!rc)
        rc = figure(s, "按时走访", jat(d, "coverage.visited"), 0);
    if (!rc)
        rc = figure(s, "走访覆盖率", jat(d, "coverage.ratio"), 1);
    if (!rc)
        rc = figure(s, "走访次数", jat(d, "visits.total"), 0);
    if (!rc)
        rc = figure(s, "待办服务需求", jat(d, "care_open.total"), 0);
    if (!rc)
        rc = figure(s, "其中紧急", jat(d, "care_open.by_priority.urgent.total"), 0);
    if (!rc)
        rc = figure(s, "矛盾纠纷", jat(d, "disputes.total"), 0);
    if (!rc)
        rc = figure(s, "已化解", jat(d, "disputes.closed"), 0);
    if (!rc)
        rc = figure(s, "化解率", jat(d, "disputes.ratio"), 1);
    if (!rc)
        rc = figure(s, "未解除预警", jat(d, "warnings_open.total"), 0);
    if (!rc)
        rc = figure(s, "未同步设备", jat(d, "devices_silent.total"), 0);
    return rc ? rc : sink_end_row(s);
}

static int summary_tags(sink *s, json_t *d)
{
    const schema_table *t = schema_table_find("resident", strlen("resident"));
    const schema_field *f = t ? schema_field_find(t, "tags", strlen("tags")) : NULL;
    json_t *by = jat(d, "residents.by_tag");
    int rc = sink_text(s, "居民标签", 1);

    if (!rc)
        rc = sink_text(s, "人数", 1);
    if (!rc)
        rc = sink_end_row(s);
    for (size_t i = 0; !rc && f && i < f->n_enums; i++)
        rc = figure(s, f->enums[i].label_zh, json_object_get(by, f->enums[i].name), 0);
    return rc ? rc : sink_end_row(s);
}

static int summary_grids(sink *s, json_t *d)
{
    static const char *const head[] = {"网格",     "重点人员",   "已走访",    "覆盖率",
                                       "走访次数", "待办需求",   "矛盾纠纷",  "已化解",
                                       "化解率",   "未解除预警", "未同步设备"};
    static const char *const keys[] = {
        "vulnerable", "visited",         "coverage",      "visits",        "care_open",
        "disputes",   "disputes_closed", "dispute_ratio", "warnings_open", "devices_silent"};
    json_t *g;
    size_t i;
    int rc = GS_OK;

    for (size_t k = 0; !rc && k < sizeof(head) / sizeof(head[0]); k++)
        rc = sink_text(s, head[k], 1);
    if (!rc)
        rc = sink_end_row(s);
    json_array_foreach(json_object_get(d, "grids"), i, g)
    {
        if (!rc)
            rc = sink_text(s, admin_str(g, "grid"), 0);
        for (size_t k = 0; !rc && k < sizeof(keys) / sizeof(keys[0]); k++)
            rc = sink_number(s, json_object_get(g, keys[k]),
                             strcmp(keys[k], "coverage") == 0 ||
                                 strcmp(keys[k], "dispute_ratio") == 0);
        if (!rc)
            rc = sink_end_row(s);
    }
    return rc;
}

static int write_summary(sink *s, json_t *d)
{
    static const double widths[] = {16, 36, 10, 10, 10, 10, 10, 10, 10, 12, 12, 0};
    int rc = sink_sheet(s, SUMMARY_SHEET, widths);

    if (!rc)
        rc = sink_text(s, "指标", 1);
    if (!rc)
        rc = sink_text(s, "数值", 1);
    if (!rc)
        rc = sink_end_row(s);
    if (!rc)
        rc = summary_figures(s, d);
    if (!rc)
        rc = summary_tags(s, d);
    return rc ? rc : summary_grids(s, d);
}

/* ---- the command ------------------------------------------------------------------------- */

static int fetch_dashboard(admin *a, const export_opts *o, json_t **out)
{
    char path[512];
    snprintf(path, sizeof(path), "/dashboard?from=%" PRId64 "&to=%" PRId64 "%s", o->from_ms,
             o->to_ms, o->grid_q);
    return admin_call(a, "GET", path, NULL, out);
}

static void report(admin *a, const export_opts *o, const long *n)
{
    json_t *o_json, *counts;
    int first = 1;

    if (a->json) {
        counts = json_object();
        for (size_t i = 0; i < schema_n_tables; i++)
            if (o->kind == EXPORT_XLSX || &schema_tables[i] == o->type)
                json_object_set_new(counts, schema_tables[i].name, json_integer(n[i]));
        o_json =
            json_pack("{s:s, s:s, s:I, s:I, s:o}", "out", o->out, "format",
                      o->kind == EXPORT_XLSX ? "xlsx" : "csv", "from_ms", (json_int_t)o->from_ms,
                      "to_ms", (json_int_t)o->to_ms, "records", counts);
        admin_print_json(o_json);
        json_decref(o_json);
        return;
    }
    printf("已导出到 %s：", o->out);
    for (size_t i = 0; i < schema_n_tables; i++)
        if (o->kind == EXPORT_XLSX || &schema_tables[i] == o->type) {
            printf("%s%s %ld 条", first ? "" : "，", schema_tables[i].label_zh, n[i]);
            first = 0;
        }
    printf("\n");
}

int export_cmd(admin *a, int argc, char **argv)
{
    export_opts o;
    long n[16] = {0};
    char tmp[1100];
    json_t *dash = NULL;
    sink s;
    int rc, code = parse_args(a, argc, argv, &o);

    if (code)
        return code;
    memset(&s, 0, sizeof(s));
    snprintf(tmp, sizeof(tmp), "%s.part-%ld", o.out, (long)getpid());
    rc = o.kind == EXPORT_XLSX ? fetch_dashboard(a, &o, &dash) : GS_OK;
    if (!rc)
        rc = sink_open(&s, o.kind, tmp, &a->err);
    if (!rc && o.kind == EXPORT_XLSX)
        rc = write_summary(&s, dash);
    for (size_t i = 0; !rc && i < schema_n_tables && i < 16; i++)
        if (o.kind == EXPORT_XLSX || &schema_tables[i] == o.type)
            rc = write_type(a, &s, &o, &schema_tables[i], &n[i]);
    rc = sink_close(&s, rc);
    if (!rc && rename(tmp, o.out) != 0)
        rc = gs_err_set(&a->err, GS_E_IO, "export: cannot write %s", o.out);
    json_decref(dash);
    if (rc) {
        unlink(tmp);
        return admin_fail(a, rc);
    }
    report(a, &o, n);
    return 0;
}
