/*
 * warn.c: the warning rules at work (see warn.h for the design, docs/WARNINGS.md for the
 * rules as a town admin reads them).
 *
 * A watch row's condition holds at time now when deadline != 0, deadline <= now and
 * (until == 0 or now < until). Settling a row opens a warning when it holds and none is
 * open, clears the open one when it no longer holds, and sets due to the next time that
 * can change by the clock alone: the deadline while no warning is open, until while one
 * is. A row with nothing left to watch goes, except a resident's last-visit row, which is
 * a fact the next tag change needs.
 */
#include "warn.h"

#include "common/isotime.h"
#include "common/uuid.h"
#include "merge.h"
#include "sval.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

/* A resident's tags as a mask: bit i is the i-th value of resident.tags in the schema (the
 * watch row keeps it whole, for the dashboard's residents by tag; rules.h). */
#define TAG_ALONE rules_tag_bit("lives_alone")
#define TAG_SPECIAL rules_tag_bit("special_care")
#define TAG_ELDERLY rules_tag_bit("elderly")

/* Levels: their index in the schema's warning levels. */
enum { LEVEL_NOTICE = 0, LEVEL_ATTENTION = 1, LEVEL_URGENT = 2 };
static const char *const level_names[] = {"notice", "attention", "urgent"};

void warn_init(warn_batch *wb, const rules_config *cfg, store *st, hlc *clock, gs_arena *arena,
               int64_t now_ms)
{
    memset(wb, 0, sizeof(*wb));
    wb->cfg = cfg;
    wb->st = st;
    wb->clock = clock;
    wb->arena = arena;
    wb->now_ms = now_ms;
}

/* ---- the rows of this transaction ------------------------------------------------------- */

static uint32_t row_hash(rule_id rule, const char *subject)
{
    uint32_t h = 2166136261u ^ (uint32_t)rule;
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* The chain of this batch's follow-up rows whose resident hashes to the same bucket. */
static uint32_t ref_bucket(rule_id rule, const char *ref)
{
    return row_hash(rule, ref) % WARN_REF_BUCKETS;
}

/* The slot of (rule, subject): its row's index + 1 there, or 0 where it would go. */
static uint32_t *row_slot(warn_batch *wb, rule_id rule, const char *subject)
{
    uint32_t mask = wb->cap_slots - 1, i = row_hash(rule, subject) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t k = wb->slots[i];
        if (!k || (wb->rows[k - 1].rule == rule && strcmp(wb->rows[k - 1].w.subject, subject) == 0))
            return &wb->slots[i];
    }
}

/* Room for one more row (the rows and the slots grow by doubling; arena memory). */
static int rows_grow(warn_batch *wb, gs_err *err)
{
    if (wb->n_rows == wb->cap_rows) {
        uint32_t cap = wb->cap_rows ? wb->cap_rows * 2 : 64;
        struct warn_row *r = arena_alloc_array(wb->arena, cap, sizeof(*r));
        if (!r)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
        if (wb->n_rows)
            memcpy(r, wb->rows, wb->n_rows * sizeof(*r));
        wb->rows = r;
        wb->cap_rows = cap;
    }
    if (2 * (wb->n_rows + 1) > wb->cap_slots) {
        uint32_t cap = wb->cap_slots ? wb->cap_slots * 2 : 128;
        uint32_t *slots = arena_alloc_array(wb->arena, cap, sizeof(*slots));
        if (!slots)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
        memset(slots, 0, cap * sizeof(*slots));
        wb->slots = slots;
        wb->cap_slots = cap;
        for (uint32_t k = 0; k < wb->n_rows; k++)
            *row_slot(wb, (rule_id)wb->rows[k].rule, wb->rows[k].w.subject) = k + 1;
    }
    return GS_OK;
}

/* Remembers row's grid and ref as the store now holds them. */
static void row_stored(struct warn_row *row)
{
    row->found = 1;
    memcpy(row->grid0, row->w.grid, sizeof(row->grid0));
    memcpy(row->ref0, row->w.ref, sizeof(row->ref0));
}

/* The row of (rule, subject): this transaction's copy, else the store's, else a new one
 * (found 0). The pointer stays valid until the next row_get of a row not yet held. */
static int row_get(warn_batch *wb, rule_id rule, const char *subject, struct warn_row **out,
                   gs_err *err)
{
    struct warn_row *r;
    uint32_t *slot;
    int rc;

    if (wb->cap_slots) {
        slot = row_slot(wb, rule, subject);
        if (*slot) {
            *out = &wb->rows[*slot - 1];
            return GS_OK;
        }
    }
    rc = rows_grow(wb, err);
    if (rc)
        return rc;
    r = &wb->rows[wb->n_rows];
    memset(r, 0, sizeof(*r));
    r->rule = (uint8_t)rule;
    rc = store_watch_get(wb->st, rule_key(rule), subject, &r->w, err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    if (rc == GS_OK)
        row_stored(r);
    else {
        snprintf(r->w.rule, sizeof(r->w.rule), "%s", rule_key(rule));
        snprintf(r->w.subject, sizeof(r->w.subject), "%s", subject);
    }
    *row_slot(wb, rule, subject) = ++wb->n_rows;
    *out = r;
    return GS_OK;
}

/* A changed row, settled and written once by warn_settle. */
static int row_changed(warn_batch *wb, struct warn_row *r, gs_err *err)
{
    (void)wb;
    (void)err;
    r->dirty = r->queued = 1;
    return GS_OK;
}

/* ---- reading records -------------------------------------------------------------------- */

static const proto_value *rec_value(const store_rec *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return &r->f[i].value;
    return NULL;
}

static int rec_str(const store_rec *r, const char *name, const char *want)
{
    const proto_value *v = rec_value(r, name);
    return v && v->type == PV_STR && proto_str_eq(v->u.s, want);
}

static int64_t rec_int(const store_rec *r, const char *name)
{
    const proto_value *v = rec_value(r, name);
    return v && v->type == PV_INT ? v->u.i : 0;
}

static int rec_bool(const store_rec *r, const char *name)
{
    const proto_value *v = rec_value(r, name);
    return v && v->type == PV_BOOL && v->u.b;
}

/* A reference field as id text ("" when absent). */
static void rec_ref(const store_rec *r, const char *name, char out[UUID_TEXT_LEN + 1])
{
    const proto_value *v = rec_value(r, name);
    out[0] = '\0';
    if (v && v->type == PV_BIN && v->u.s.len == UUID_LEN)
        uuid_format((const uint8_t *)v->u.s.ptr, out);
}

static void rec_text(const store_rec *r, const char *name, char *out, size_t cap)
{
    const proto_value *v = rec_value(r, name);
    if (v && v->type == PV_STR)
        snprintf(out, cap, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    else
        snprintf(out, cap, "%s", "");
}

static unsigned tag_mask(const store_rec *r)
{
    const proto_value *v = rec_value(r, "tags");
    unsigned mask = 0;
    char name[GS_LIMIT_NAME + 1];

    if (!v || v->type != PV_STRLIST)
        return 0;
    for (uint32_t i = 0; i < v->u.list.n; i++) {
        snprintf(name, sizeof(name), "%.*s", (int)v->u.list.items[i].len, v->u.list.items[i].ptr);
        mask |= rules_tag_bit(name);
    }
    return mask;
}

/* How long a resident with these tags may go unvisited; 0: not watched (rules.h). */
static int64_t unvisited_window(const rules_config *c, unsigned mask)
{
    return rules_window_ms(c, rules_unvisited_window(mask));
}

static int64_t care_window(const rules_config *c, int64_t priority)
{
    return (priority == 2   ? c->care_overdue_hours_urgent
            : priority == 0 ? c->care_overdue_hours_low
                            : c->care_overdue_hours_normal) *
           HOUR_MS;
}

static int64_t priority_index(const store_rec *r)
{
    return rec_str(r, "priority", "urgent") ? 2 : rec_str(r, "priority", "low") ? 0 : 1;
}

/* ---- facts of a change ------------------------------------------------------------------- */

static int on_resident(warn_batch *wb, const char *rid, const store_rec *r, gs_err *err)
{
    struct warn_row *row;
    unsigned mask = r->meta.deleted ? 0 : tag_mask(r);
    int64_t window = unvisited_window(wb->cfg, mask);
    int rc = row_get(wb, RULE_UNVISITED, rid, &row, err);

    if (rc)
        return rc;
    snprintf(row->w.grid, sizeof(row->w.grid), "%s", r->meta.grid);
    if (!row->found && !row->dirty) /* no visit yet: the clock runs from the creation */
        row->w.since = (int64_t)hlc_physical(r->meta.created_hlc);
    row->w.info = mask | ((unsigned)row->w.info & RULES_INFO_VISITED);
    row->w.deadline = window ? row->w.since + window : 0;
    return row_changed(wb, row, err);
}

typedef struct close_ctx {
    int64_t at;            /* the closing visit's time */
    char (*keys)[GS_LIMIT_NAME + 1]; /* rows to close, collected while the statement steps */
    uint32_t n, cap;
} close_ctx;

static int collect_earlier(void *ud, const store_watch *w)
{
    close_ctx *cc = ud;
    if (w->since > cc->at || w->deadline == 0 || cc->n == cc->cap)
        return 0; /* more than a resident ever has open: the rest wait for their own visit */
    for (uint32_t i = 0; i < cc->n; i++)
        if (strcmp(cc->keys[i], w->subject) == 0)
            return 0;
    snprintf(cc->keys[cc->n++], sizeof(cc->keys[0]), "%s", w->subject);
    return 0;
}

/* A dispute or hazard visit with follow-up opens a watch of its own; one without closes the
 * resident's earlier ones (and itself). */
static int on_followup(warn_batch *wb, rule_id rule, int64_t days, const char *vid,
                       const char *rid, int64_t at, int follow_up, const char *grid, gs_err *err)
{
    struct warn_row *row;
    char keys[32][GS_LIMIT_NAME + 1];
    close_ctx cc = {at, keys, 0, 31}; /* the last slot is this visit's */
    int rc;

    if (follow_up) {
        rc = row_get(wb, rule, vid, &row, err);
        if (rc)
            return rc;
        snprintf(row->w.grid, sizeof(row->w.grid), "%s", grid);
        if (!row->linked) { /* closing visits of this batch find it by its resident */
            uint32_t *head = &wb->ref_head[ref_bucket(rule, rid)];
            row->next_ref = *head;
            *head = (uint32_t)(row - wb->rows) + 1;
            row->linked = 1;
        }
        snprintf(row->w.ref, sizeof(row->w.ref), "%s", rid);
        row->w.since = at;
        row->w.deadline = at + days * DAY_MS;
        return row_changed(wb, row, err);
    }
    /* the resident's open rows: this batch's own (not written yet), then the store's */
    for (uint32_t k = wb->ref_head[ref_bucket(rule, rid)]; k; k = wb->rows[k - 1].next_ref) {
        struct warn_row *o = &wb->rows[k - 1];
        if (o->rule == rule && strcmp(o->w.ref, rid) == 0)
            collect_earlier(&cc, &o->w);
    }
    rc = store_watch_by_ref(wb->st, rule_key(rule), rid, collect_earlier, &cc, err);
    if (rc)
        return rc;
    snprintf(keys[cc.n++], sizeof(keys[0]), "%s", vid);
    for (uint32_t i = 0; i < cc.n && !rc; i++) {
        rc = row_get(wb, rule, keys[i], &row, err);
        if (rc || (!row->found && !row->dirty))
            continue;
        row->w.deadline = 0;
        rc = row_changed(wb, row, err);
    }
    return rc;
}

static int on_dispute(warn_batch *wb, const char *vid, const char *rid, int64_t at,
                      const char *grid, gs_err *err)
{
    const rules_config *c = wb->cfg;
    int64_t count = 0, nth_at = 0;
    struct warn_row *row;
    int rc = store_dispute_add(wb->st, rid, at, vid, grid, err);

    if (!rc)
        rc = store_dispute_recent(wb->st, rid, wb->now_ms - c->dispute_repeated_days * DAY_MS,
                                  (uint32_t)c->dispute_repeated_count, &count, &nth_at, err);
    if (rc || count < c->dispute_repeated_count)
        return rc;
    rc = row_get(wb, RULE_DISPUTE_REPEATED, rid, &row, err);
    if (rc)
        return rc;
    snprintf(row->w.grid, sizeof(row->w.grid), "%s", grid);
    row->w.since = nth_at;
    row->w.deadline = nth_at; /* it holds since the n-th latest of them ... */
    row->w.until = nth_at + c->dispute_repeated_days * DAY_MS; /* ... until that leaves */
    row->w.info = count;
    return row_changed(wb, row, err);
}

static int on_visit(warn_batch *wb, const char *vid, const store_rec *r, gs_err *err)
{
    char rid[UUID_TEXT_LEN + 1];
    int64_t at = rec_int(r, "visited_at");
    struct warn_row *row;
    int rc;

    rec_ref(r, "resident", rid);
    if (r->meta.deleted || !rid[0])
        return GS_OK; /* a deleted visit leaves the facts as they were */
    /* the resident's last visit */
    rc = row_get(wb, RULE_UNVISITED, rid, &row, err);
    if (rc)
        return rc;
    if (!row->found && !row->dirty)
        snprintf(row->w.grid, sizeof(row->w.grid), "%s", r->meta.grid);
    /* the first visit counts even when dated before the resident was recorded */
    if (at > row->w.since || !((unsigned)row->w.info & RULES_INFO_VISITED)) {
        int64_t window = unvisited_window(wb->cfg, (unsigned)row->w.info);
        row->w.info |= RULES_INFO_VISITED;
        row->w.since = at;
        row->w.deadline = window ? at + window : 0;
        rc = row_changed(wb, row, err);
    }
    if (!rc && rec_str(r, "kind", "dispute")) {
        rc = on_dispute(wb, vid, rid, at, r->meta.grid, err);
        if (!rc)
            rc = on_followup(wb, RULE_DISPUTE_OPEN, wb->cfg->dispute_open_days, vid, rid, at,
                             rec_bool(r, "follow_up"), r->meta.grid, err);
    }
    if (!rc && rec_str(r, "kind", "safety_hazard"))
        rc = on_followup(wb, RULE_HAZARD_OPEN, wb->cfg->hazard_open_days, vid, rid, at,
                         rec_bool(r, "follow_up"), r->meta.grid, err);
    return rc;
}

static int on_care(warn_batch *wb, const char *cid, const store_rec *r, gs_err *err)
{
    struct warn_row *row;
    int ended = r->meta.deleted || rec_str(r, "status", "done") || rec_str(r, "status", "cancelled");
    int rc = row_get(wb, RULE_CARE_OVERDUE, cid, &row, err);

    if (rc)
        return rc;
    if (ended && !row->found && !row->dirty)
        return GS_OK;
    snprintf(row->w.grid, sizeof(row->w.grid), "%s", r->meta.grid);
    rec_ref(r, "resident", row->w.ref);
    row->w.since = rec_int(r, "requested_at");
    row->w.info = priority_index(r);
    row->w.deadline = ended ? 0 : row->w.since + care_window(wb->cfg, row->w.info);
    return row_changed(wb, row, err);
}


static int days_flush(warn_batch *wb, gs_err *err)
{
    int rc = GS_OK;
    for (uint32_t i = 0; i < wb->n_days && !rc; i++)
        rc = store_visit_day_add(wb->st, wb->days[i].grid, wb->days[i].day, wb->days[i].n, err);
    wb->n_days = 0;
    return rc;
}

/* Counts a new visit of grid on day; written by days_flush. */
static int day_count(warn_batch *wb, const char *grid, int64_t day, gs_err *err)
{
    struct warn_day *d;
    for (uint32_t i = wb->n_days; i-- > 0;) {
        d = &wb->days[i];
        if (d->day == day && strcmp(d->grid, grid) == 0) {
            d->n++;
            return GS_OK;
        }
    }
    if (wb->n_days == WARN_DAYS) {
        int rc = days_flush(wb, err);
        if (rc)
            return rc;
    }
    d = &wb->days[wb->n_days++];
    snprintf(d->grid, sizeof(d->grid), "%s", grid);
    d->day = day;
    d->n = 1;
    return GS_OK;
}

int warn_on_record(warn_batch *wb, const schema_table *t, const uint8_t id[16],
                   const store_rec *r, int created, gs_err *err)
{
    char text[UUID_TEXT_LEN + 1];
    int rc;

    if (!wb)
        return GS_OK;
    /* the dashboard's visits per day count whatever the rules do */
    if (created && strcmp(t->name, "visit") == 0 && !r->meta.deleted) {
        rc = day_count(wb, r->meta.grid,
                       isotime_local_day(rec_int(r, "visited_at"), ISOTIME_LOCAL_OFFSET_MIN), err);
        if (rc)
            return rc;
    }
    if (!wb->cfg->enabled)
        return GS_OK;
    uuid_format(id, text);
    if (strcmp(t->name, "resident") == 0)
        return on_resident(wb, text, r, err);
    if (strcmp(t->name, "visit") == 0)
        return on_visit(wb, text, r, err);
    if (strcmp(t->name, "care") == 0)
        return on_care(wb, text, r, err);
    return GS_OK;
}

int warn_on_sync(warn_batch *wb, const store_device *d, gs_err *err)
{
    struct warn_row *row;
    int rc;

    if (!wb || !wb->cfg->enabled)
        return GS_OK;
    rc = row_get(wb, RULE_DEVICE_SILENT, d->id, &row, err);
    if (rc)
        return rc;
    snprintf(row->w.grid, sizeof(row->w.grid), "%s", d->n_grids ? d->grids[0] : "");
    row->w.since = wb->now_ms;
    row->w.deadline = wb->now_ms + wb->cfg->silent_days * DAY_MS;
    return row_changed(wb, row, err);
}

/* ---- opening and clearing ---------------------------------------------------------------- */

/* The title field of record id (text) of table tbl, or "". */
static void record_title(warn_batch *wb, const char *tbl, const char *id_text, char *out,
                         size_t cap, store_rec *keep)
{
    uint8_t id[UUID_LEN];
    store_rec r;
    gs_err ignored;

    snprintf(out, cap, "%s", "");
    if (!id_text[0] || uuid_parse(id_text, strlen(id_text), id) != GS_OK ||
        store_rec_get(wb->st, tbl, id, wb->arena, &r, &ignored) != GS_OK)
        return;
    rec_text(&r, strcmp(tbl, "resident") == 0 ? "name" : "title", out, cap);
    if (keep)
        *keep = r;
}

static const char *enum_label(const char *tbl, const char *field, const store_rec *r)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    const schema_field *f = t ? schema_field_find(t, field, strlen(field)) : NULL;
    const proto_value *v = rec_value(r, field);
    const schema_enum *e = f && v && v->type == PV_STR ? schema_enum_find(f, v->u.s.ptr, v->u.s.len)
                                                       : NULL;
    return e ? e->label_zh : "";
}

static int level_of(const store_watch *w, rule_id rule)
{
    switch (rule) {
    case RULE_CARE_OVERDUE:
        return w->info == 2 ? LEVEL_URGENT : LEVEL_ATTENTION;
    case RULE_DISPUTE_REPEATED:
    case RULE_HAZARD_OPEN:
        return LEVEL_URGENT;
    case RULE_DEVICE_SILENT:
        return LEVEL_NOTICE;
    default:
        return LEVEL_ATTENTION;
    }
}

/* The warning's title in Chinese, from the rule and its subject. */
static void title_of(warn_batch *wb, const store_watch *w, rule_id rule, char *out, size_t cap)
{
    char name[256];
    int64_t days = (wb->now_ms - w->since) / DAY_MS;

    switch (rule) {
    case RULE_UNVISITED: {
        unsigned m = (unsigned)w->info;
        record_title(wb, "resident", w->subject, name, sizeof(name), NULL);
        snprintf(out, cap, "%s%s已%" PRId64 "天未走访",
                 m & TAG_ALONE     ? "独居老人"
                 : m & TAG_SPECIAL ? "特殊关爱对象"
                 : m & TAG_ELDERLY ? "高龄老人"
                                   : "残疾人",
                 name, days);
        break;
    }
    case RULE_CARE_OVERDUE: {
        store_rec care;
        char ignored[8];
        memset(&care, 0, sizeof(care));
        record_title(wb, "resident", w->ref, name, sizeof(name), NULL);
        record_title(wb, "care", w->subject, ignored, sizeof(ignored), &care);
        snprintf(out, cap, "%s的%s需求（%s）已超过%" PRId64 "小时未办结", name,
                 enum_label("care", "category", &care), enum_label("care", "priority", &care),
                 (wb->now_ms - w->since) / HOUR_MS);
        break;
    }
    case RULE_DISPUTE_OPEN:
        record_title(wb, "resident", w->ref, name, sizeof(name), NULL);
        snprintf(out, cap, "%s的矛盾纠纷已%" PRId64 "天未化解", name, days);
        break;
    case RULE_DISPUTE_REPEATED:
        record_title(wb, "resident", w->subject, name, sizeof(name), NULL);
        snprintf(out, cap, "%s%d天内发生%" PRId64 "次矛盾纠纷", name,
                 wb->cfg->dispute_repeated_days, w->info);
        break;
    case RULE_HAZARD_OPEN:
        record_title(wb, "resident", w->ref, name, sizeof(name), NULL);
        snprintf(out, cap, "%s处的安全隐患已%" PRId64 "天未整改", name, days);
        break;
    case RULE_DEVICE_SILENT: {
        store_device d;
        gs_err ignored;
        int got = store_device_get(wb->st, w->subject, strlen(w->subject), &d, &ignored) == GS_OK;
        snprintf(out, cap, "设备%s（%s）已%" PRId64 "天未同步", got ? d.name : "", w->subject,
                 days);
        break;
    }
    default:
        snprintf(out, cap, "%s", rule_key(rule));
    }
}

static const char *subject_type_of(rule_id rule)
{
    switch (rule) {
    case RULE_UNVISITED:
    case RULE_DISPUTE_REPEATED:
        return "resident";
    case RULE_CARE_OVERDUE:
        return "care";
    case RULE_DEVICE_SILENT:
        return "device";
    default:
        return "visit";
    }
}

/* The merge context of the warnings' changes: one per batch (a sweep of thousands of
 * warnings zeroed its reference cache and allocated its records once per warning: half
 * of the catch-up sweep's instructions). */
static int batch_merge(warn_batch *wb, merge_ctx **out, gs_err *err)
{
    if (!wb->merge) {
        wb->merge = arena_alloc(wb->arena, sizeof(*wb->merge));
        if (!wb->merge)
            return gs_err_set(err, GS_E_NOMEM, "rules: no memory for a warning's change");
        merge_init(wb->merge, wb->st, wb->clock, wb->arena, wb->now_ms);
    }
    *out = wb->merge;
    return GS_OK;
}

static int open_warning(warn_batch *wb, store_watch *w, rule_id rule, gs_err *err)
{
    char title[400];
    proto_field f[8];
    merge_ctx *m;
    int level = level_of(w, rule);
    int rc = uuid_v7(w->warning, (uint64_t)wb->now_ms);

    if (rc)
        return gs_err_set(err, rc, "no random bytes for a warning id");
    title_of(wb, w, rule, title, sizeof(title));
    memset(f, 0, sizeof(f));
    f[0].name = proto_cstr("rule");
    f[0].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(rule_key(rule))};
    f[1].name = proto_cstr("grid");
    f[1].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(w->grid)};
    f[2].name = proto_cstr("subject_type");
    f[2].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(subject_type_of(rule))};
    f[3].name = proto_cstr("subject");
    f[3].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(w->subject)};
    f[4].name = proto_cstr("level");
    f[4].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(level_names[level])};
    f[5].name = proto_cstr("title");
    f[5].value = (proto_value){.type = PV_STR, .u.s = proto_cstr(title)};
    f[6].name = proto_cstr("since");
    f[6].value = (proto_value){.type = PV_INT, .u.i = w->since};
    f[7].name = proto_cstr("state");
    f[7].value = (proto_value){.type = PV_STR, .u.s = proto_cstr("open")};
    rc = batch_merge(wb, &m, err);
    if (!rc)
        rc = merge_server_put(m, "warning", w->warning, f, 8, NULL, err);
    if (rc)
        return rc;
    w->has_warning = 1;
    w->level = level;
    wb->n_opened++;
    return GS_OK;
}

static int clear_warning(warn_batch *wb, store_watch *w, gs_err *err)
{
    proto_field f[2];
    merge_ctx *m;
    int rc;

    memset(f, 0, sizeof(f));
    f[0].name = proto_cstr("state");
    f[0].value = (proto_value){.type = PV_STR, .u.s = proto_cstr("cleared")};
    f[1].name = proto_cstr("cleared_at");
    f[1].value = (proto_value){.type = PV_INT, .u.i = wb->now_ms};
    rc = batch_merge(wb, &m, err);
    if (!rc)
        rc = merge_server_put(m, "warning", w->warning, f, 2, NULL, err);
    if (rc)
        return rc;
    w->has_warning = 0;
    w->level = 0;
    wb->n_cleared++;
    return GS_OK;
}

static int settle_one(warn_batch *wb, struct warn_row *row, gs_err *err)
{
    store_watch *w = &row->w;
    rule_id rule = (rule_id)row->rule;
    int64_t now = wb->now_ms;
    int holds = rule_on(wb->cfg, rule) && w->deadline && w->deadline <= now &&
                (!w->until || now < w->until);
    int rc = GS_OK;

    if (wb->facts_only) /* the sweep decides, by due */
        holds = w->has_warning;
    if (holds && !w->has_warning)
        rc = open_warning(wb, w, rule, err);
    else if (!holds && w->has_warning)
        rc = clear_warning(wb, w, err);
    if (rc)
        return rc;
    if (w->has_warning)
        w->due = w->until;
    else if (wb->facts_only)
        w->due = rule_on(wb->cfg, rule) ? w->deadline : 0;
    else
        w->due = w->deadline > now && rule_on(wb->cfg, rule) ? w->deadline : 0;
    /* a resident's last visit stays known; other rows with nothing to watch go */
    if (!w->has_warning && !w->deadline && rule != RULE_UNVISITED)
        return row->found ? store_watch_del(wb->st, w->rule, w->subject, err) : GS_OK;
    if (row->found && strcmp(w->grid, row->grid0) == 0 && strcmp(w->ref, row->ref0) == 0)
        return store_watch_update(wb->st, w, err);
    return store_watch_put(wb->st, w, err);
}

int warn_settle(warn_batch *wb, gs_err *err)
{
    int rc = days_flush(wb, err);

    /* a row is settled once however often the batch touched it; rows read only to look
     * (a resident already visited later) are left as they are */
    for (uint32_t i = 0; i < wb->n_rows && !rc; i++) {
        struct warn_row *row = &wb->rows[i];
        if (!row->queued)
            continue;
        rc = settle_one(wb, row, err);
        row->queued = row->dirty = 0;
        row_stored(row);
    }
    return rc;
}

/* Ends a transaction of warn_backfill or warn_rederive: keeps the HLC its warnings took and
 * commits, or rolls back after a failure (rc). */
static int txn_end(store *st, hlc *clock, int rc, gs_err *err)
{
    if (!rc)
        rc = store_hlc_set(st, clock->last, err);
    if (!rc)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    return rc;
}

typedef struct backfill_ctx {
    warn_batch *wb;
    const schema_table *t;
    int count_days; /* visit_days is empty: count every visit (it was kept with rules off) */
    gs_err *err;
} backfill_ctx;

static int backfill_one(void *ud, const uint8_t id[16], const store_rec *r)
{
    backfill_ctx *bc = ud;
    return warn_on_record(bc->wb, bc->t, id, r, bc->count_days, bc->err);
}

int warn_backfill(const rules_config *cfg, store *st, hlc *clock, int64_t now_ms,
                  uint64_t *n_records, gs_err *err)
{
    static const char *const tables[] = {"resident", "visit", "care"};
    int count_days = 0, rc = store_visit_days_empty(st, &count_days, err);

    *n_records = 0;
    for (size_t k = 0; k < 3 && !rc; k++) {
        int64_t after = 0;
        uint32_t n = 1000;
        while (!rc && n == 1000) {
            gs_arena arena;
            warn_batch wb;
            backfill_ctx bc;

            arena_init(&arena, SVAL_ARENA_MAX);
            warn_init(&wb, cfg, st, clock, &arena, now_ms);
            wb.facts_only = 1;
            bc.wb = &wb;
            bc.t = schema_table_find(tables[k], strlen(tables[k]));
            bc.err = err;
            bc.count_days = count_days;
            rc = store_begin(st, err);
            if (!rc)
                rc = store_rec_scan(st, tables[k], &after, 1000, &arena, backfill_one, &bc, &n,
                                    err);
            if (!rc)
                rc = warn_settle(&wb, err);
            rc = txn_end(st, clock, rc, err);
            if (!rc)
                *n_records += n;
            arena_free(&arena);
        }
    }
    return rc;
}

/* ---- a changed configuration ---------------------------------------------------------- */

#define REDERIVE_ROWS 1000 /* rows read per transaction */

typedef struct rederive_ctx {
    warn_batch *wb;
    gs_err *err;
    uint32_t seen;                     /* rows read in this transaction */
    uint64_t changed;                  /* rows queued to settle, in all */
    char rule[32];                     /* the last row read */
    char subject[GS_LIMIT_NAME + 1];
} rederive_ctx;

/* Row w's deadline (and window's end) under the thresholds of c, from the facts the row
 * keeps. dispute_repeated's count is not kept: its window moves, its count applies from
 * the resident's next dispute visit. */
static void rederive(const rules_config *c, rule_id r, store_watch *w)
{
    switch (r) {
    case RULE_UNVISITED: {
        int64_t window = unvisited_window(c, (unsigned)w->info);
        w->deadline = window ? w->since + window : 0;
        break;
    }
    case RULE_CARE_OVERDUE: /* 0: the request ended */
        w->deadline = w->deadline ? w->since + care_window(c, w->info) : 0;
        break;
    case RULE_DISPUTE_OPEN: /* 0: closed by a later visit */
        w->deadline = w->deadline ? w->since + c->dispute_open_days * DAY_MS : 0;
        break;
    case RULE_HAZARD_OPEN:
        w->deadline = w->deadline ? w->since + c->hazard_open_days * DAY_MS : 0;
        break;
    case RULE_DISPUTE_REPEATED:
        w->until = w->since + c->dispute_repeated_days * DAY_MS;
        break;
    case RULE_DEVICE_SILENT:
        w->deadline = w->since + c->silent_days * DAY_MS;
        break;
    default:
        break;
    }
}

static int rederive_row(void *ud, const store_watch *w)
{
    rederive_ctx *ctx = ud;
    warn_batch *wb = ctx->wb;
    rule_id r = rule_find(w->rule);
    store_watch nw = *w;
    struct warn_row *row;
    int on, rc;

    ctx->seen++;
    snprintf(ctx->rule, sizeof(ctx->rule), "%s", w->rule);
    snprintf(ctx->subject, sizeof(ctx->subject), "%s", w->subject);
    if (r == RULE_COUNT)
        return GS_OK;
    rederive(wb->cfg, r, &nw);
    on = rule_on(wb->cfg, r);
    /* settle only what the new numbers change: a deadline, a rule turned off with a row
     * open or waiting, a rule turned on with a row that nothing waits for */
    if (nw.deadline == w->deadline && nw.until == w->until &&
        !(!on && (w->has_warning || w->due)) && !(on && !w->has_warning && !w->due && nw.deadline))
        return GS_OK;
    rc = rows_grow(wb, ctx->err);
    if (rc)
        return rc;
    row = &wb->rows[wb->n_rows];
    memset(row, 0, sizeof(*row));
    row->w = nw;
    row->rule = (uint8_t)r;
    row->queued = 1;
    row_stored(row);
    *row_slot(wb, r, w->subject) = ++wb->n_rows;
    ctx->changed++;
    return GS_OK;
}

int warn_rederive(const rules_config *cfg, store *st, hlc *clock, int64_t now_ms,
                  uint64_t *n_changed, gs_err *err)
{
    rederive_ctx ctx;
    int rc = GS_OK;

    memset(&ctx, 0, sizeof(ctx));
    ctx.err = err;
    do {
        gs_arena arena;
        warn_batch wb;

        arena_init(&arena, SVAL_ARENA_MAX);
        warn_init(&wb, cfg, st, clock, &arena, now_ms);
        ctx.wb = &wb;
        ctx.seen = 0;
        rc = store_begin(st, err);
        if (!rc)
            rc = store_watch_scan(st, ctx.rule, ctx.subject, REDERIVE_ROWS, rederive_row, &ctx,
                                  err);
        if (!rc)
            rc = warn_settle(&wb, err);
        if (!rc && ctx.seen < REDERIVE_ROWS) /* the last: the rows now follow cfg */
            rc = store_rules_sig_set(st, rules_signature(cfg), err);
        rc = txn_end(st, clock, rc, err);
        arena_free(&arena);
    } while (!rc && ctx.seen == REDERIVE_ROWS);
    *n_changed = ctx.changed;
    return rc;
}

static int collect_due(void *ud, const store_watch *w)
{
    void **pair = ud;
    warn_batch *wb = pair[0];
    gs_err *err = pair[1];
    rule_id r = rule_find(w->rule);
    struct warn_row *row;
    int rc;

    if (r == RULE_COUNT)
        return GS_OK;
    /* the row as the statement read it: no second read while it steps */
    rc = rows_grow(wb, err);
    if (rc)
        return rc;
    row = &wb->rows[wb->n_rows];
    memset(row, 0, sizeof(*row));
    row->w = *w;
    row->rule = (uint8_t)r;
    row->queued = 1;
    row_stored(row);
    *row_slot(wb, r, w->subject) = ++wb->n_rows;
    (*(uint32_t *)pair[2])++;
    return GS_OK;
}

int warn_sweep(warn_batch *wb, uint32_t max, uint32_t *n_rows, gs_err *err)
{
    uint32_t n = 0;
    void *pair[3] = {wb, err, &n};
    int rc = store_watch_due(wb->st, wb->now_ms, max, collect_due, pair, err);

    *n_rows = n;
    return rc ? rc : warn_settle(wb, err);
}
