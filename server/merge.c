/*
 * merge.c: see merge.h for the flow and invariants, docs/MERGE.md for the rules with
 * examples. Every decision below is a pure function of the stored field state and the
 * pushed change, so the same batch against the same state always gives the same result.
 *
 * A change reads its record once (store_rec_get, every field), decides field by field on
 * a working copy, and writes it once (store_rec_put, which keeps the pull index from the
 * copy before and after). Acks of accepted changes without lost fields are kept as runs
 * (one ack_ranges row per run of consecutive seqs), the rest one by one.
 */
#include "merge.h"
#include "warn.h"

#include "common/uuid.h"
#include "proto/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void merge_init(merge_ctx *m, store *st, hlc *clock, gs_arena *arena, int64_t now_ms)
{
    memset(m, 0, sizeof(*m));
    m->st = st;
    m->clock = clock;
    m->arena = arena;
    m->now_ms = now_ms;
}

/* What one change does while it is being applied. */
typedef struct apply {
    merge_ctx *m;                  /* the batch */
    const store_device *dev;       /* the writer */
    int scoped;                    /* 1 for devices (acks, scope, clock), 0 for the admin */
    const proto_change *c;         /* the change */
    const schema_table *t;         /* its table */
    uint64_t version;              /* V: the version it gets */
    proto_field *lost;             /* fields the device must take from the server */
    uint32_t n_lost;               /* entries in lost */
    store_conflict *conflicts;     /* conflicts found, written once the grid is final */
    uint32_t n_conflicts;          /* entries in conflicts */
    uint32_t n_noted, n_opened, n_unlogged; /* of them: recorded, opened, beyond the cap */
    int tomb_written;              /* the tombstone was written */
    int deleted;                   /* the tombstone's value when written */
    char grid[GS_LIMIT_NAME + 1]; /* the record's grid: current, or as this change sets it */
    int is_new;                    /* no record row yet */
    store_rec *rec;                /* the working copy: the record as this change leaves it */
    uint64_t max_hlc;              /* the greatest clock of the change (any field's) */
    uint64_t written_hlc;          /* the greatest clock among the fields written */
    int lowered;                   /* a field was written with a clock below the one it
                                      replaced: the record's updated must be recomputed */
    int exists;                    /* the store holds the record */
    store_rec *old;                /* the record as the store holds it, or NULL */
    store_record meta;             /* its row (zeroed when it does not exist) */
} apply;

/* The clock of one pushed field: its own edit's (PROTOCOL.md 2.2); a change built by hand
 * (admin resolutions, tests) may leave it 0 and use the change's. */
static uint64_t field_hlc(const proto_change *c, const proto_field *pf)
{
    return pf->hlc ? pf->hlc : c->hlc;
}

/* The greatest clock a change carries: what the clock guard checks and the server HLC
 * follows. */
static uint64_t change_max_hlc(const proto_change *c)
{
    uint64_t h = c->hlc;
    for (uint32_t i = 0; i < c->n_fields; i++)
        if (field_hlc(c, &c->fields[i]) > h)
            h = field_hlc(c, &c->fields[i]);
    return h;
}

static int in_grids(const store_device *dev, const char *g, size_t len)
{
    for (size_t i = 0; i < dev->n_grids; i++)
        if (strlen(dev->grids[i]) == len && memcmp(dev->grids[i], g, len) == 0)
            return 1;
    return 0;
}

/* Accepted changes without lost fields are kept as runs: this ack joins the open run, or
 * the run is written and a new one opened. */
static int ack_run_add(merge_ctx *m, const store_device *dev, const proto_ack *ack, gs_err *err)
{
    if (m->run_n && ack->seq == m->run_last + 1 &&
        ack->version == m->run_first_ver + (m->run_last + 1 - m->run_first)) {
        m->run_last = ack->seq;
        m->run_n++;
        return GS_OK;
    }
    if (m->run_n) {
        int rc = store_ack_range_put(m->st, dev->id, m->run_first, m->run_last, m->run_first_ver,
                                     err);
        if (rc)
            return rc;
    }
    m->run_first = m->run_last = ack->seq;
    m->run_first_ver = ack->version;
    m->run_n = 1;
    return GS_OK;
}

static int ack_run_flush(merge_ctx *m, const store_device *dev, gs_err *err)
{
    int rc = GS_OK;
    if (m->run_n)
        rc = store_ack_range_put(m->st, dev->id, m->run_first, m->run_last, m->run_first_ver, err);
    m->run_n = 0;
    return rc;
}

/* Stores an ack: in the open run when it can be, else on its own. */
static int ack_store(merge_ctx *m, const store_device *dev, const proto_ack *ack, gs_err *err)
{
    int rc;
    if (ack->ok && ack->n_lost == 0)
        return ack_run_add(m, dev, ack, err);
    rc = ack_run_flush(m, dev, err);
    return rc ? rc : store_ack_put(m->st, dev->id, ack, err);
}

static int reject(apply *a, proto_ack *ack, proto_reject code, const char *msg, gs_err *err)
{
    merge_ctx *m = a->m;
    char *copy = arena_strndup(m->arena, msg, strlen(msg));
    int rc;

    if (!copy)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    ack->ok = 0;
    ack->version = 0;
    ack->err = proto_cstr(proto_reject_name(code));
    ack->msg = proto_cstr(copy);
    ack->lost = NULL;
    ack->n_lost = 0;
    if (a->scoped) {
        rc = ack_store(m, a->dev, ack, err);
        if (rc)
            return rc;
        if (ack->seq > m->ack_max)
            m->ack_max = ack->seq;
    }
    m->n_rejected++;
    return GS_OK;
}

/* "2 days 23 h 59 min 58 s": a duration to the second, leading zero units left out. */
static void duration_text(uint64_t ms, char *out, size_t cap)
{
    uint64_t s = ms / 1000, d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    size_t n = 0;

    out[0] = '\0';
    if (d)
        n += (size_t)snprintf(out + n, cap - n, "%" PRIu64 " day%s ", d, d == 1 ? "" : "s");
    if ((d || h) && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%" PRIu64 " h ", h);
    if ((d || h || m) && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%" PRIu64 " min ", m);
    if (n < cap)
        snprintf(out + n, cap - n, "%" PRIu64 " s", s % 60);
}

/* "the change is stamped 3 days 0 h 0 min 12 s ahead of the server's clock ...": exact to
 * the second (rounding 2.9 days down to "2 days" once told a worker the wrong thing). */
static void clock_msg(const hlc *clock, uint64_t remote, char *out, size_t cap)
{
    uint64_t wall = clock->clock(clock->clock_ud);
    uint64_t ahead = hlc_physical(remote) > wall ? hlc_physical(remote) - wall : 0;
    char d[64];

    duration_text(ahead, d, sizeof(d));
    snprintf(out, cap,
             "device clock is %s ahead of the server (at most %" PRIu64
             " s allowed): set the date and time on the handheld, then retry the change",
             d, clock->max_drift_ms / 1000);
}

/* The slot of a reference in the cache (open addressing on the id's random bits). */
static uint32_t ref_slot(const schema_table *t, const uint8_t id[16])
{
    uint32_t h = (uint32_t)id[12] << 24 | (uint32_t)id[13] << 16 | (uint32_t)id[14] << 8 | id[15];
    return (h ^ (uint32_t)(uintptr_t)t->name) % MERGE_REF_CACHE;
}

/* Whether the store holds record id of table t: GS_OK, GS_E_NOTFOUND or a store error.
 * Records found are remembered (they are never removed within a batch): a day's visits
 * point at a few dozen residents. */
static int ref_exists(merge_ctx *m, const schema_table *t, const uint8_t id[16], gs_err *err)
{
    store_record target;
    uint32_t k = ref_slot(t, id);
    int rc;

    for (uint32_t probe = 0; probe < 8; probe++) {
        uint32_t i = (k + probe) % MERGE_REF_CACHE;
        if (!m->refs[i].tbl)
            break;
        if (m->refs[i].tbl == t->name && memcmp(m->refs[i].id, id, 16) == 0) {
            m->n_ref_hits++;
            return GS_OK;
        }
    }
    rc = store_record_get(m->st, t->name, id, &target, err);
    if (rc == GS_OK) {
        uint32_t probe, i = k;
        for (probe = 0; probe < 8; probe++) {
            i = (k + probe) % MERGE_REF_CACHE;
            if (!m->refs[i].tbl)
                break;
        }
        if (probe == 8)
            i = k; /* a full neighbourhood: the newest wins */
        m->refs[i].tbl = t->name;
        memcpy(m->refs[i].id, id, 16);
    }
    return rc;
}

/* The working copy's field name, or NULL. */
static store_field *rec_field(store_rec *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return &r->f[i];
    return NULL;
}

static const proto_field *find_field(const proto_change *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_fields; i++)
        if (proto_str_eq(c->fields[i].name, name))
            return &c->fields[i];
    return NULL;
}

/* A reference from a device must name a record of one of the device's grids (issue 18,
 * item 7): a worker records visits, care requests and cases of the people of the grids he
 * holds. A reference the server does not have and one of another grid get the same answer
 * (ref_reject), so the reply does not tell a device that an id exists elsewhere, and it
 * never names another grid. *in is set to 0 when the target is outside the device's grids. */
static int ref_in_scope(apply *a, const schema_table *rt, const uint8_t id[UUID_LEN], int *in,
                        gs_err *err)
{
    store_record target;
    int rc;

    *in = 1;
    if (!a->scoped || !schema_scope_field(rt))
        return GS_OK;
    rc = store_record_get(a->m->st, rt->name, id, &target, err);
    if (rc == GS_E_NOTFOUND) {
        *in = 0;
        return GS_OK;
    }
    if (rc)
        return rc;
    *in = in_grids(a->dev, target.grid, strlen(target.grid));
    return GS_OK;
}

/* The one rejection of a reference that does not resolve for this change's writer. */
static void ref_reject(const apply *a, const schema_table *t, const schema_field *f,
                       const uint8_t id[UUID_LEN], proto_reject *code, char *msg, size_t cap)
{
    char text[UUID_TEXT_LEN + 1];

    uuid_format(id, text);
    *code = PROTO_REJ_NOT_FOUND;
    if (a->scoped)
        snprintf(msg, cap, "%s.%s refers to %s %s, which is not found in this device's grids",
                 t->name, f->name, f->ref_table, text);
    else
        snprintf(msg, cap, "%s.%s refers to %s %s, which the server does not have", t->name,
                 f->name, f->ref_table, text);
}

/* Record ids are unique across all types (issue 18, item 8): a change creating a record of
 * t whose id is a record of another table is refused, so no id ever names two records (and a
 * delete by id cannot reach the wrong one). *code is PROTO_REJ_ID_TAKEN then. One point
 * lookup per other table, and only for a record new to its own table. */
static int id_unique(apply *a, proto_reject *code, char *msg, size_t cap, gs_err *err)
{
    store_record other;
    char text[UUID_TEXT_LEN + 1];

    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *o = &schema_tables[i];
        int rc;
        if (o == a->t)
            continue;
        rc = store_record_get(a->m->st, o->name, a->c->id, &other, err);
        if (rc == GS_E_NOTFOUND)
            continue;
        if (rc)
            return rc;
        uuid_format(a->c->id, text);
        *code = PROTO_REJ_ID_TAKEN;
        snprintf(msg, cap, "id %s is already a %s record: a new %s needs an id of its own", text,
                 o->name, a->t->name);
        return GS_OK;
    }
    gs_err_clear(err);
    return GS_OK;
}

/* A status with a declared path (schema_field.next), written by a device that saw the
 * current value (its base is that value's version, or it wrote that value itself), must
 * follow the path; a concurrent edit is no transition and is left to the SP_STATUS policy.
 * The admin's conflict resolutions are not bound: they settle between the two sides of a
 * conflict, and keeping the side the policy refused is what they are for. */
static int check_transition(apply *a, int exists, const schema_field *f, const proto_field *pf,
                            proto_reject *code, char *msg, size_t cap)
{
    const store_field *cur;
    gs_err why;

    if (!exists || f->policy != SP_STATUS || !a->scoped)
        return GS_OK;
    cur = rec_field(a->rec, f->name);
    if (!cur || (cur->version != pf->ver && strcmp(cur->device, a->dev->id) != 0))
        return GS_OK;
    if (schema_transition_ok(a->t, f, &cur->value, &pf->value, &why) == GS_OK)
        return GS_OK;
    *code = PROTO_REJ_TRANSITION;
    snprintf(msg, cap, "%s", why.msg);
    return GS_OK;
}

/* Checks scope, immutable fields and references. Returns GS_OK with *code PROTO_REJ_NONE
 * when the change may be applied, GS_OK with *code set (and msg) to reject it, or a store error. */
static int check(apply *a, int exists, const store_record *rec, proto_reject *code, char *msg,
                 size_t cap, gs_err *err)
{
    const proto_change *c = a->c;
    const schema_table *t = a->t;
    const schema_field *scope = schema_scope_field(t);
    int rc;

    *code = PROTO_REJ_NONE;
    if (!exists) {
        rc = id_unique(a, code, msg, cap, err);
        if (rc || *code)
            return rc;
    }
    if (a->scoped) {
        const proto_field *g = scope ? find_field(c, scope->name) : NULL;
        if (g && g->value.type == PV_STR && !in_grids(a->dev, g->value.u.s.ptr, g->value.u.s.len)) {
            *code = PROTO_REJ_OUT_OF_SCOPE;
            snprintf(msg, cap, "grid '%.*s' is not one of this device's grids",
                     (int)(g->value.u.s.len > GS_LIMIT_NAME ? GS_LIMIT_NAME : g->value.u.s.len),
                     g->value.u.s.ptr);
            return GS_OK;
        }
        if (exists && !in_grids(a->dev, rec->grid, strlen(rec->grid))) {
            *code = PROTO_REJ_OUT_OF_SCOPE;
            /* the record's grid is not named: the device does not hold it */
            snprintf(msg, cap, "this %s is not in one of this device's grids", t->name);
            return GS_OK;
        }
        if (t->server_only) {
            /* a warning: a device may acknowledge it with a note, nothing else */
            gs_err why;
            int w = exists ? GS_OK : schema_device_may_create(t, &why);
            for (uint32_t i = 0; i < c->n_fields && !w; i++) {
                const proto_field *pf = &c->fields[i];
                const schema_field *f = schema_field_find(t, pf->name.ptr, pf->name.len);
                const store_field *cur = exists ? rec_field(a->rec, f->name) : NULL;
                const schema_enum *ce = NULL;
                w = schema_device_may_write(t, f, &pf->value, &why);
                /* a final state the device has seen (its base is the current version) is
                 * not undone by it: SP_STATUS only keeps it against concurrent edits */
                if (!w && cur && f->policy == SP_STATUS && cur->value.type == PV_STR)
                    ce = schema_enum_find(f, cur->value.u.s.ptr, cur->value.u.s.len);
                if (ce && (ce->flags & SEF_TERMINAL))
                    w = gs_err_set(&why, GS_E_READ_ONLY, "%s.%s is %s: it cannot change", t->name,
                                   f->name, ce->name);
            }
            if (w) {
                *code = PROTO_REJ_READ_ONLY;
                snprintf(msg, cap, "%s", why.msg);
                return GS_OK;
            }
        }
    }
    for (uint32_t i = 0; i < c->n_fields; i++) {
        const proto_field *pf = &c->fields[i];
        const schema_field *f = schema_field_find(t, pf->name.ptr, pf->name.len);
        if (f->flags & SF_IMMUTABLE && exists && a->scoped) {
            const store_field *cur = rec_field(a->rec, f->name);
            if (!cur || !schema_value_eq(f, &pf->value, &cur->value)) {
                *code = PROTO_REJ_IMMUTABLE;
                snprintf(msg, cap, "%s.%s is set when the record is created and cannot change",
                         t->name, f->name);
                return GS_OK;
            }
        }
        if (f->type == ST_REF && pf->value.type == PV_BIN && pf->value.u.s.len == UUID_LEN) {
            const schema_table *rt = schema_table_find(f->ref_table, strlen(f->ref_table));
            const uint8_t *rid = (const uint8_t *)pf->value.u.s.ptr;
            int in = 1;
            rc = rt ? ref_exists(a->m, rt, rid, err) : GS_E_NOTFOUND;
            if (rc && rc != GS_E_NOTFOUND)
                return rc;
            if (rc == GS_OK) {
                rc = ref_in_scope(a, rt, rid, &in, err);
                if (rc)
                    return rc;
            }
            if (rc == GS_E_NOTFOUND || !in) {
                ref_reject(a, t, f, rid, code, msg, cap);
                return GS_OK;
            }
        }
        rc = check_transition(a, exists, f, pf, code, msg, cap);
        if (rc || *code)
            return rc;
    }
    return GS_OK;
}

/* The device must take the server's value: the winner's value, version and clock. */
static int add_lost(apply *a, const char *name, const store_field *cur)
{
    proto_field *lf = &a->lost[a->n_lost++];
    lf->name = proto_cstr(name);
    lf->value = cur->value; /* arena memory from the store read */
    lf->ver = cur->version;
    lf->hlc = cur->hlc;
    return GS_OK;
}

static void side_set(store_side *s, const proto_value *v, uint64_t ts, uint64_t version,
                     const char *device)
{
    s->value = *v;
    s->hlc = ts;
    s->version = version;
    snprintf(s->device, sizeof(s->device), "%s", device);
}

/* A conflict row of this change; the rows are allocated on the first conflict only (every
 * change zeroing room for its fields' conflicts cost ~5 KB each). NULL: out of memory. */
static store_conflict *new_conflict(apply *a, const schema_field *f, int winner_pushed)
{
    store_conflict *cf;

    if (!a->conflicts) {
        a->conflicts = arena_alloc(a->m->arena, (a->c->n_fields + 1) * sizeof(store_conflict));
        if (!a->conflicts)
            return NULL;
    }
    cf = &a->conflicts[a->n_conflicts++];
    memset(cf, 0, sizeof(*cf));
    snprintf(cf->tbl, sizeof(cf->tbl), "%s", a->t->name);
    memcpy(cf->rid, a->c->id, 16);
    snprintf(cf->field, sizeof(cf->field), "%s", f->name);
    cf->policy = f->policy;
    cf->winner_pushed = winner_pushed;
    cf->created_ms = a->m->now_ms;
    return cf;
}

/* Greater HLC wins; equal HLCs: the greater device id in byte order. */
static int lww_pushed_wins(uint64_t ts, const char *device, const store_field *cur)
{
    if (ts != cur->hlc)
        return ts > cur->hlc;
    return strcmp(device, cur->device) > 0;
}

static unsigned enum_flags(const schema_field *f, const proto_value *v)
{
    const schema_enum *e;
    if (v->type != PV_STR)
        return 0;
    e = schema_enum_find(f, v->u.s.ptr, v->u.s.len);
    return e ? e->flags : 0;
}

/* The status policy, symmetric so the arrival order of two concurrent edits does not
 * change the outcome: a terminal value beats a non-terminal one, except an explicit
 * reopen that is the later edit; otherwise LWW. */
static int status_pushed_wins(const schema_field *f, const proto_value *x, uint64_t ts,
                              const char *device, const store_field *cur)
{
    unsigned xf = enum_flags(f, x), cf = enum_flags(f, &cur->value);
    int lww = lww_pushed_wins(ts, device, cur);

    if ((cf & SEF_TERMINAL) && !(xf & SEF_TERMINAL))
        return (xf & SEF_REOPEN) && lww;
    if ((xf & SEF_TERMINAL) && !(cf & SEF_TERMINAL))
        return !((cf & SEF_REOPEN) && !lww);
    return lww;
}

/* Writes the pushed value into the working copy; cur is the state it replaces (NULL:
 * none). */
static int write_field(apply *a, const schema_field *f, const proto_field *pf,
                       const proto_value *x, const store_field *cur, gs_err *err)
{
    store_rec *r = a->rec;
    store_field *nf = rec_field(r, f->name);

    if (!nf) {
        if (r->n >= STORE_REC_FIELDS)
            return gs_err_set(err, GS_E_INVALID, "%s: too many fields", a->t->name);
        r->names[r->n] = f->name;
        nf = &r->f[r->n++];
    }
    nf->value = *x; /* the request's memory, alive until the answer is sent */
    nf->version = a->version;
    nf->hlc = field_hlc(a->c, pf);
    snprintf(nf->device, sizeof(nf->device), "%s", a->dev->id);
    nf->writer = a->dev->num;
    if (nf->hlc > a->written_hlc)
        a->written_hlc = nf->hlc;
    if (cur && cur->hlc > nf->hlc)
        a->lowered = 1;
    if (f->flags & SF_SCOPE && x->type == PV_STR)
        snprintf(a->grid, sizeof(a->grid), "%.*s", (int)x->u.s.len, x->u.s.ptr);
    if (f->policy == SP_DELETE) {
        a->tomb_written = 1;
        a->deleted = x->type == PV_BOOL && x->u.b;
    }
    return GS_OK;
}

static int is_true(const proto_value *v)
{
    return v->type == PV_BOOL && v->u.b;
}

/* The tombstone (SP_DELETE): a delete wins against a concurrent update or undelete. */
static int merge_tombstone(apply *a, const schema_field *f, const proto_field *pf,
                           const proto_value *x, int found, const store_field *cur, gs_err *err)
{
    const char *dev = a->dev->id;
    const store_field *had = found ? cur : NULL;
    uint64_t ts = field_hlc(a->c, pf);
    int ff = !found || cur->version == pf->ver || strcmp(cur->device, dev) == 0;
    int cur_del = found && is_true(&cur->value);
    static const proto_value v_true = {.type = PV_BOOL, .u.b = 1};
    static const proto_value v_false = {.type = PV_BOOL, .u.b = 0};
    store_conflict *cf;
    size_t ui = 0;
    int rc;

    if (is_true(x)) {
        if (cur_del)
            return ff ? write_field(a, f, pf, x, had, err) : add_lost(a, f->name, cur);
        rc = write_field(a, f, pf, x, had, err);
        if (rc)
            return rc;
        /* an update of another device this delete did not see: the delete wins, recorded */
        if (store_rec_latest_other(a->rec, dev, pf->ver, &ui)) {
            const store_field *upd = &a->rec->f[ui];
            cf = new_conflict(a, f, 1);
            if (!cf)
                return gs_err_set(err, GS_E_NOMEM, "out of memory");
            side_set(&cf->winner, &v_true, ts, a->version, dev);
            side_set(&cf->other, &v_false, upd->hlc, upd->version, upd->device);
        } else if (found && !ff) {
            /* a concurrent undelete */
            cf = new_conflict(a, f, 1);
            if (!cf)
                return gs_err_set(err, GS_E_NOMEM, "out of memory");
            side_set(&cf->winner, &v_true, ts, a->version, dev);
            side_set(&cf->other, &cur->value, cur->hlc, cur->version, cur->device);
        }
        return GS_OK;
    }
    if (!cur_del)
        return ff ? write_field(a, f, pf, x, had, err) : add_lost(a, f->name, cur);
    if (ff)
        return write_field(a, f, pf, x, had, err); /* an undelete by one who saw the delete */
    /* an undelete concurrent with a delete: the delete stays */
    cf = new_conflict(a, f, 0);
    if (!cf)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    side_set(&cf->winner, &cur->value, cur->hlc, cur->version, cur->device);
    side_set(&cf->other, x, ts, a->version, dev);
    return add_lost(a, f->name, cur);
}

static int merge_field(apply *a, const proto_field *pf, gs_err *err)
{
    const schema_field *f = schema_field_find(a->t, pf->name.ptr, pf->name.len);
    proto_value x; /* stored in the field's normal form, so equal values compare equal */
    const char *dev = a->dev->id;
    uint64_t ts = field_hlc(a->c, pf);
    const store_field *sf = rec_field(a->rec, f->name);
    store_field cur;
    store_conflict *cf;
    int found = sf != NULL, pushed_wins;

    schema_value_normal(f, &pf->value, &x);
    if (found)
        cur = *sf; /* a copy: write_field overwrites the working copy's */
    else
        memset(&cur, 0, sizeof(cur));
    if (f->policy == SP_DELETE)
        return merge_tombstone(a, f, pf, &x, found, &cur, err);
    /* fast-forward: nothing there, the device saw the current value, or wrote it itself */
    if (!found || cur.version == pf->ver || strcmp(cur.device, dev) == 0)
        return write_field(a, f, pf, &x, found ? &cur : NULL, err);
    /* concurrent, same value: nothing to resolve; the device takes the server's version */
    if (schema_value_eq(f, &x, &cur.value))
        return add_lost(a, f->name, &cur);
    /* concurrent: the policy compares this field's own clock, never a later edit's of
     * another field that travelled in the same change */
    if (f->policy == SP_STATUS)
        pushed_wins = status_pushed_wins(f, &x, ts, dev, &cur);
    else
        pushed_wins = lww_pushed_wins(ts, dev, &cur);
    cf = new_conflict(a, f, pushed_wins);
    if (!cf)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (pushed_wins) {
        side_set(&cf->winner, &x, ts, a->version, dev);
        side_set(&cf->other, &cur.value, cur.hlc, cur.version, cur.device);
        return write_field(a, f, pf, &x, &cur, err);
    }
    side_set(&cf->winner, &cur.value, cur.hlc, cur.version, cur.device);
    side_set(&cf->other, &x, ts, a->version, dev);
    return add_lost(a, f->name, &cur);
}

/* An update that did not see a delete of another device is applied beneath the tombstone;
 * the delete stays, and the conflict lets an admin restore the record. */
static int under_tombstone(apply *a, gs_err *err)
{
    const store_field *dp = rec_field(a->rec, SCHEMA_DELETED_FIELD);
    const schema_field *f =
        schema_field_find(a->t, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD));
    static const proto_value v_false = {.type = PV_BOOL, .u.b = 0};
    uint64_t max_base = 0;
    store_conflict *cf;
    store_field del;

    if (!dp)
        return GS_OK;
    del = *dp;
    for (uint32_t i = 0; i < a->c->n_fields; i++)
        if (a->c->fields[i].ver > max_base)
            max_base = a->c->fields[i].ver;
    if (!is_true(&del.value) || del.version <= max_base || strcmp(del.device, a->dev->id) == 0)
        return GS_OK;
    cf = new_conflict(a, f, 0);
    if (!cf)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    side_set(&cf->winner, &del.value, del.hlc, del.version, del.device);
    side_set(&cf->other, &v_false, a->max_hlc, a->version, a->dev->id);
    return add_lost(a, f->name, &del);
}

/* The greatest clock among the record's current field values (after this change). */
static uint64_t record_max_hlc(const store_rec *r)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->f[i].hlc > m)
            m = r->f[i].hlc;
    return m;
}

/* A change the device sent before: its stored ack again (*done), or a seq below the
 * device's low mark, rejected (*done). GS_OK with *done 0 for a new change. */
static int replay(apply *a, uint64_t low, proto_ack *ack, int *done, gs_err *err)
{
    merge_ctx *m = a->m;
    const proto_change *c = a->c;
    char msg[128];
    int rc;

    *done = 1;
    if (c->seq > m->ack_max) {
        rc = GS_E_NOTFOUND;
    } else if (m->run_n && c->seq >= m->run_first && c->seq <= m->run_last) {
        /* in the run this batch has not written yet */
        ack->ok = 1;
        ack->version = m->run_first_ver + (c->seq - m->run_first);
        rc = GS_OK;
    } else {
        rc = store_ack_get(m->st, a->dev->id, c->seq, m->arena, ack, err);
    }
    if (rc == GS_OK) {
        m->n_duplicate++;
        return GS_OK;
    }
    if (rc != GS_E_NOTFOUND)
        return rc;
    if (c->seq == 0 || c->seq < low) {
        snprintf(msg, sizeof(msg), "seq %" PRIu64 " is below low %" PRIu64 " (settled) or zero",
                 c->seq, low);
        return reject(a, ack, PROTO_REJ_INVALID, msg, err);
    }
    *done = 0;
    return GS_OK;
}

/* The record once, every field: what this change reads of the store. a->rec becomes the
 * working copy (empty for a new record). */
static int load(apply *a, gs_err *err)
{
    merge_ctx *m = a->m;
    int rc;

    if (!m->recs) {
        m->recs = arena_alloc(m->arena, 2 * sizeof(store_rec));
        if (!m->recs)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
    }
    a->rec = &m->recs[1];
    a->rec->n = 0;
    if (!a->t)
        return GS_OK; /* refused by the schema check */
    rc = store_rec_get(m->st, a->t->name, a->c->id, m->arena, &m->recs[0], err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    a->exists = rc == GS_OK;
    if (a->exists) {
        a->old = &m->recs[0];
        a->meta = a->old->meta;
        *a->rec = *a->old;
    }
    return GS_OK;
}

/* Schema, the clock guard, then scope, immutable fields and references: GS_OK with *code
 * PROTO_REJ_NONE when the change may be applied, else the code and msg to refuse it. */
static int validate(apply *a, proto_reject *code, char *msg, size_t cap, gs_err *err)
{
    const proto_change *c = a->c;
    gs_err verr;

    gs_err_clear(&verr);
    *code = PROTO_REJ_INVALID;
    if (c->n_fields == 0) {
        snprintf(msg, cap, "a change must carry at least one field");
        return GS_OK;
    }
    if (schema_check_change(c, !a->exists, &verr)) {
        snprintf(msg, cap, "%s", gs_err_msg(&verr, verr.rc));
        return GS_OK;
    }
    a->max_hlc = change_max_hlc(c);
    if (a->scoped && hlc_check_drift(a->m->clock, a->max_hlc)) {
        *code = PROTO_REJ_CLOCK_AHEAD;
        clock_msg(a->m->clock, a->max_hlc, msg, cap);
        return GS_OK;
    }
    return check(a, a->exists, &a->meta, code, msg, cap, err);
}

/* Every field through the merge, the grid first: every field written is stored with the
 * record's final grid. A write under a tombstone keeps the record deleted. */
static int merge_fields(apply *a, gs_err *err)
{
    const proto_change *c = a->c;
    const schema_field *scope = schema_scope_field(a->t);
    const proto_field *grid_pf = scope ? find_field(c, scope->name) : NULL;
    int rc = GS_OK;

    if (a->exists)
        memcpy(a->grid, a->meta.grid, sizeof(a->grid));
    a->is_new = !a->exists;
    if (grid_pf)
        rc = merge_field(a, grid_pf, err);
    for (uint32_t i = 0; i < c->n_fields && !rc; i++)
        if (&c->fields[i] != grid_pf)
            rc = merge_field(a, &c->fields[i], err);
    if (!rc && a->scoped && a->exists && a->meta.deleted && !find_field(c, SCHEMA_DELETED_FIELD))
        rc = under_tombstone(a, err);
    return rc;
}

/* The record row as the change leaves it, a move to another grid, the conflicts found and
 * the change log entry. */
static int write_record(apply *a, gs_err *err)
{
    merge_ctx *m = a->m;
    store_record *meta = &a->rec->meta;
    int rc = GS_OK;

    if (a->exists)
        *meta = a->meta;
    else
        meta->created_hlc = a->c->hlc; /* the clock of the change's first edit: the creation */
    memcpy(meta->grid, a->grid, sizeof(meta->grid));
    if (a->tomb_written)
        meta->deleted = a->deleted;
    meta->version = a->version;
    if (a->exists && strcmp(meta->grid, a->meta.grid) != 0) {
        /* moved: the whole record goes to the new grid's devices with this version */
        for (uint32_t i = 0; i < a->rec->n; i++)
            a->rec->f[i].version = a->version;
        rc = store_move_add(m->st, a->t->name, a->c->id, schema_scope_field(a->t)->name,
                            a->meta.grid, meta->grid, a->version, a->c->hlc, a->dev->id, err);
        if (rc)
            return rc;
    }
    /* updated is the greatest clock among the record's current values, so every device
       that holds the same values shows the same time */
    if (a->lowered)
        meta->updated_hlc = record_max_hlc(a->rec);
    else if (a->written_hlc > meta->updated_hlc)
        meta->updated_hlc = a->written_hlc;
    rc = store_rec_put(m->st, a->t->name, a->c->id, a->old, a->rec, a->dev->num, err);
    /* one open conflict per (record, field); past the batch's cap, open ones are updated
       and no new one is opened (docs/RELIABILITY.md, conflict floods) */
    for (uint32_t i = 0; i < a->n_conflicts && !rc; i++) {
        int may_open = !m->max_new_conflicts || m->n_opened + a->n_opened < m->max_new_conflicts;
        int opened = 0;
        memcpy(a->conflicts[i].grid, meta->grid, sizeof(meta->grid));
        rc = store_conflict_note(m->st, &a->conflicts[i], may_open, &opened, NULL, err);
        if (!rc && opened < 0)
            a->n_unlogged++;
        else if (!rc) {
            a->n_noted++;
            a->n_opened += opened == 1;
        }
    }
    if (!rc)
        rc = store_change_add(m->st, a->version, a->dev->id, a->c->seq, a->t->name, a->c->id,
                              err);
    return rc;
}

/* The accepted ack, kept for a retried batch (devices only). */
static int accept(apply *a, proto_ack *ack, gs_err *err)
{
    merge_ctx *m = a->m;
    int rc;

    ack->ok = 1;
    ack->version = a->version;
    ack->lost = a->n_lost ? a->lost : NULL;
    ack->n_lost = a->n_lost;
    if (a->scoped) {
        rc = ack_store(m, a->dev, ack, err);
        if (rc)
            return rc;
        if (a->c->seq > m->ack_max)
            m->ack_max = a->c->seq;
    }
    m->n_accepted++;
    m->n_conflicts += a->n_noted;
    m->n_opened += a->n_opened;
    m->n_unlogged += a->n_unlogged;
    return GS_OK;
}

/* Applies or rejects one change; see merge.h. */
static int merge_change(merge_ctx *m, const store_device *dev, int scoped, uint64_t low,
                        const proto_change *c, proto_ack *ack, gs_err *err)
{
    apply a;
    char msg[GS_ERR_MSG_MAX];
    proto_reject code = PROTO_REJ_NONE;
    uint64_t ts;
    int rc, done = 0;

    memset(ack, 0, sizeof(*ack));
    memset(&a, 0, sizeof(a));
    ack->seq = c->seq;
    a.m = m;
    a.dev = dev;
    a.scoped = scoped;
    a.c = c;
    a.t = schema_table_find(c->table.ptr, c->table.len);
    rc = scoped ? replay(&a, low, ack, &done, err) : GS_OK;
    if (rc || done)
        return rc;
    rc = load(&a, err);
    if (!rc)
        rc = validate(&a, &code, msg, sizeof(msg), err);
    if (rc)
        return rc;
    if (code)
        return reject(&a, ack, code, msg, err);

    /* accepted: from here on every failure is a store fault and fails the batch */
    if (scoped && hlc_recv(m->clock, a.max_hlc, &ts)) {
        clock_msg(m->clock, a.max_hlc, msg, sizeof(msg));
        return reject(&a, ack, PROTO_REJ_CLOCK_AHEAD, msg, err);
    }
    rc = store_version_next(m->st, &a.version, err);
    if (rc)
        return rc;
    a.lost = arena_alloc(m->arena, (c->n_fields + 1) * sizeof(proto_field));
    if (!a.lost)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = merge_fields(&a, err);
    if (!rc)
        rc = write_record(&a, err);
    if (!rc && m->warn && !a.t->server_only)
        rc = warn_on_record(m->warn, a.t, c->id, a.rec, !a.exists, err);
    if (!rc)
        rc = accept(&a, ack, err);
    return rc;
}

int merge_batch(merge_ctx *m, const store_device *dev, const proto_sync_req *req, proto_ack *acks,
                gs_err *err)
{
    int rc;

    if (dev->num == 0) /* 0 is the admin's: a device read from the store has its own */
        return gs_err_set(err, GS_E_INVALID, "merge: device %s has no number", dev->id);
    rc = store_ack_max(m->st, dev->id, &m->ack_max, err);

    if (rc)
        return rc;
    m->run_n = 0;
    for (uint32_t i = 0; i < req->n_changes; i++) {
        rc = merge_change(m, dev, 1, req->low, &req->changes[i], &acks[i], err);
        if (rc) {
            gs_err_prefix(err, "ch[%u]: ", i);
            return rc;
        }
    }
    rc = ack_run_flush(m, dev, err);
    return rc ? rc : store_ack_prune(m->st, dev->id, req->low, err);
}

int merge_server_put(merge_ctx *m, const char *tbl, const uint8_t id[16], proto_field *fields,
                     uint32_t n, uint64_t *version_out, gs_err *err)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    store_device server;
    store_rec cur;
    proto_change c;
    proto_ack ack;
    int rc;

    if (!t)
        return gs_err_set(err, GS_E_INVALID, "unknown record type %s", tbl);
    rc = store_rec_get(m->st, t->name, id, m->arena, &cur, err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    if (rc == GS_E_NOTFOUND)
        cur.n = 0; /* a new record */
    memset(&c, 0, sizeof(c));
    c.table = proto_cstr(t->name);
    memcpy(c.id, id, 16);
    c.fields = fields;
    c.n_fields = n;
    rc = hlc_now(m->clock, &c.hlc);
    if (rc)
        return gs_err_set(err, rc, "server clock overflow");
    for (uint32_t i = 0; i < n; i++) {
        const store_field *f = NULL;
        for (uint32_t k = 0; k < cur.n; k++)
            if (proto_str_eq(fields[i].name, cur.names[k]))
                f = &cur.f[k];
        fields[i].ver = f ? f->version : 0; /* the current version: a fast-forward */
        fields[i].hlc = c.hlc;
    }
    memset(&server, 0, sizeof(server));
    snprintf(server.id, sizeof(server.id), "%s", STORE_SERVER_DEVICE);
    server.num = STORE_SERVER_NUM;
    rc = merge_change(m, &server, 0, 0, &c, &ack, err);
    if (rc)
        return rc;
    if (!ack.ok)
        return gs_err_set(err, GS_E_INVALID, "%.*s", (int)ack.msg.len,
                          ack.msg.ptr ? ack.msg.ptr : "");
    if (version_out)
        *version_out = ack.version;
    return GS_OK;
}

int merge_admin_set(merge_ctx *m, const char *tbl, const uint8_t id[16], const char *field,
                    const proto_value *v, uint64_t *version_out, gs_err *err)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    const schema_field *f = t ? schema_field_find(t, field, strlen(field)) : NULL;
    store_device admin;
    store_record rec;
    store_field cur;
    proto_field pf;
    proto_change c;
    proto_ack ack;
    gs_err verr;
    int rc;

    if (!f)
        return gs_err_set(err, GS_E_INVALID, "unknown field %s.%s", tbl, field);
    rc = store_record_get(m->st, t->name, id, &rec, err);
    if (rc)
        return rc;
    gs_err_clear(&verr);
    if (schema_check_value(t, f, v, &verr))
        return gs_err_set(err, GS_E_INVALID, "%s", verr.msg);
    rc = store_field_get(m->st, t->name, id, f->name, m->arena, &cur, err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    memset(&pf, 0, sizeof(pf));
    pf.name = proto_cstr(f->name);
    pf.value = *v;
    pf.ver = rc == GS_OK ? cur.version : 0; /* the current version: always a fast-forward */
    memset(&c, 0, sizeof(c));
    c.table = proto_cstr(t->name);
    memcpy(c.id, id, 16);
    c.fields = &pf;
    c.n_fields = 1;
    rc = hlc_now(m->clock, &c.hlc);
    if (rc)
        return gs_err_set(err, rc, "server clock overflow");
    memset(&admin, 0, sizeof(admin));
    snprintf(admin.id, sizeof(admin.id), "%s", MERGE_ADMIN_DEVICE);
    admin.num = 0; /* the admin's device number (store.h) */
    rc = merge_change(m, &admin, 0, 0, &c, &ack, err);
    if (rc)
        return rc;
    if (!ack.ok)
        return gs_err_set(
            err, proto_reject_parse(ack.err) == PROTO_REJ_NOT_FOUND ? GS_E_NOTFOUND : GS_E_INVALID,
            "%.*s", (int)ack.msg.len, ack.msg.ptr ? ack.msg.ptr : "");
    *version_out = ack.version;
    return GS_OK;
}
