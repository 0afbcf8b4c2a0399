/*
 * pull.c: see pull.h. Rows arrive from store_pull_scan in (version, table, record, field)
 * order; a group is the rows of one (version, record); the groups of one version are
 * "pending" until the first row of the next version shows the version is complete, and are
 * then committed to the page or, if they do not fit, dropped with more = 1. Each change is
 * encoded as it is closed, so dropping a version is cutting the encoded bytes back.
 */
#include "pull.h"

#include <string.h>

typedef struct pull_state {
    gs_arena *a;                          /* where changes and values go */
    uint32_t max_changes;                   /* page limit in changes */
    size_t max_bytes;                       /* page limit in encoded bytes */
    proto_change *changes;                  /* the page so far, committed then pending */
    uint32_t n, cap;                        /* entries in use and allocated in changes */
    uint32_t n_committed;                   /* changes of complete versions on the page */
    size_t bytes;                           /* encoded bytes of all n changes */
    size_t bytes_committed;                 /* encoded bytes of the committed changes */
    uint64_t last_version;                  /* the last version committed (0: none) */
    int in_group;                           /* a group is open */
    uint64_t g_version;                     /* the open group's version */
    const char *g_tbl;                      /* its table (static schema name) */
    uint8_t g_id[16];                       /* its record */
    uint64_t g_hlc;                         /* greatest HLC of its fields */
    proto_field g_fields[PROTO_MAX_FIELDS]; /* its fields */
    uint32_t g_n;                           /* entries in g_fields */
    gs_buf *enc;                            /* the encoded changes; its length past enc0 is bytes */
    size_t enc0;                            /* enc's length before the page */
    gs_buf scratch;                         /* enc when the caller wants no encoding */
    store *st;                              /* where records' creation clocks are read */
    uint32_t version;                       /* the response's protocol version */
    int more;                               /* rows remain after the page */
    gs_err *err;                            /* where failures are described */
} pull_state;

static int grow(pull_state *ps)
{
    uint32_t cap = ps->cap ? ps->cap * 2 : 64;
    proto_change *c = arena_alloc(ps->a, cap * sizeof(*c));
    if (!c)
        return gs_err_set(ps->err, GS_E_NOMEM, "pull: out of memory");
    if (ps->n)
        memcpy(c, ps->changes, ps->n * sizeof(*c));
    ps->changes = c;
    ps->cap = cap;
    return GS_OK;
}

/* Closes the open group into a pending change. */
static int close_group(pull_state *ps)
{
    proto_change *c;
    int rc;

    if (!ps->in_group)
        return GS_OK;
    ps->in_group = 0;
    if (ps->n == ps->cap && (rc = grow(ps)))
        return rc;
    c = &ps->changes[ps->n];
    memset(c, 0, sizeof(*c));
    c->table = proto_cstr(ps->g_tbl);
    memcpy(c->id, ps->g_id, 16);
    c->hlc = ps->g_hlc;
    c->n_fields = ps->g_n;
    c->fields = arena_alloc(ps->a, ps->g_n * sizeof(proto_field));
    if (!c->fields)
        return gs_err_set(ps->err, GS_E_NOMEM, "pull: out of memory");
    memcpy(c->fields, ps->g_fields, ps->g_n * sizeof(proto_field));
    if (ps->version >= 2) {
        /* ct: a device that first meets the record here shows the same creation time as
           the device that made it */
        store_record rec;
        rc = store_record_get(ps->st, ps->g_tbl, ps->g_id, &rec, ps->err);
        if (rc && rc != GS_E_NOTFOUND)
            return rc;
        c->created = rc == GS_OK ? rec.created_hlc : 0;
    }
    rc = proto_encode_change(ps->enc, c, PROTO_CH_PULLED, ps->version);
    if (rc)
        return gs_err_set(ps->err, rc, "pull: cannot encode a change of %s (%s)", ps->g_tbl,
                          gs_strerror(rc));
    ps->bytes = ps->enc->len - ps->enc0;
    ps->n++;
    return GS_OK;
}

/* The pending version is complete: commit it, or drop it when it does not fit. Returns 1
 * when the page is full. */
static int close_version(pull_state *ps)
{
    if (ps->n == ps->n_committed)
        return 0;
    if (ps->n_committed > 0 && (ps->n > ps->max_changes || ps->bytes > ps->max_bytes)) {
        ps->n = ps->n_committed;
        ps->bytes = ps->bytes_committed;
        ps->enc->len = ps->enc0 + ps->bytes;
        ps->more = 1;
        return 1;
    }
    ps->n_committed = ps->n;
    ps->bytes_committed = ps->bytes;
    ps->last_version = ps->g_version;
    return 0;
}

static int on_row(void *ud, const store_pull_row *r)
{
    pull_state *ps = ud;
    proto_field *f;
    int rc;

    if (ps->in_group && r->version != ps->g_version) {
        rc = close_group(ps);
        if (rc)
            return rc;
        if (close_version(ps))
            return 1;
        if (ps->n_committed >= ps->max_changes) {
            ps->more = 1;
            return 1;
        }
    }
    if (ps->in_group && (strcmp(r->tbl, ps->g_tbl) != 0 || memcmp(r->rid, ps->g_id, 16) != 0 ||
                         ps->g_n == PROTO_MAX_FIELDS)) {
        rc = close_group(ps);
        if (rc)
            return rc;
    }
    if (!ps->in_group) {
        ps->in_group = 1;
        ps->g_version = r->version;
        ps->g_tbl = r->tbl;
        memcpy(ps->g_id, r->rid, 16);
        ps->g_hlc = 0;
        ps->g_n = 0;
    }
    f = &ps->g_fields[ps->g_n];
    memset(f, 0, sizeof(*f));
    f->name = proto_cstr(r->field);
    f->ver = r->version;
    f->hlc = r->hlc;
    f->value = *r->value; /* the scan's arena is ps->a: it lives as long as the page */
    ps->g_n++;
    if (r->hlc > ps->g_hlc)
        ps->g_hlc = r->hlc;
    return 0;
}

int pull_read(store *st, const store_device *dev, uint64_t cursor, uint32_t max_changes,
              size_t max_bytes, uint32_t version, gs_arena *a, gs_buf *enc, pull_page *out,
              gs_err *err)
{
    pull_state *ps = arena_alloc(a, sizeof(*ps));
    uint64_t last = 0;
    int rc;

    if (!ps)
        return gs_err_set(err, GS_E_NOMEM, "pull: out of memory");
    ps->a = a;
    ps->max_changes = max_changes ? max_changes : 1;
    ps->max_bytes = max_bytes;
    ps->err = err;
    ps->st = st;
    ps->version = version;
    buf_init(&ps->scratch, PROTO_MAX_BODY);
    ps->enc = enc ? enc : &ps->scratch;
    ps->enc0 = ps->enc->len;
    rc = store_pull_scan(st, dev, cursor, a, on_row, ps, err);
    if (!rc && !ps->more) {
        rc = close_group(ps);
        if (!rc)
            close_version(ps);
    }
    if (!rc && !ps->more)
        rc = store_version_last(st, &last, err);
    buf_free(&ps->scratch);
    if (rc) {
        if (enc) {
            enc->len = ps->enc0;
            if (enc->ptr)
                enc->ptr[enc->len] = '\0';
        }
        return rc;
    }
    if (enc && enc->ptr)
        enc->ptr[enc->len] = '\0';
    out->changes = ps->changes;
    out->n_changes = ps->n_committed;
    out->more = ps->more;
    out->bytes = ps->bytes_committed;
    if (ps->more)
        out->cursor = ps->last_version > cursor ? ps->last_version : cursor;
    else
        out->cursor = last > cursor ? last : cursor;
    return GS_OK;
}

/* ---- record states ---- */

typedef struct state_fill {
    gs_arena *a;        /* where the fields go */
    proto_field *fields;  /* PROTO_MAX_FIELDS + 1 entries */
    uint32_t n;           /* entries filled */
} state_fill;

static int on_state_field(void *ud, const char *field, const store_field *f)
{
    state_fill *sf = ud;
    proto_field *pf;

    if (sf->n > PROTO_MAX_FIELDS)
        return GS_E_DB; /* the schema allows fewer fields than the protocol */
    pf = &sf->fields[sf->n++];
    pf->name = proto_cstr(field);
    pf->value = f->value;
    pf->ver = f->version;
    pf->hlc = f->hlc;
    return 0;
}

int pull_record_state(store *st, const store_device *dev, const char *tbl, const uint8_t id[16],
                      gs_arena *a, proto_change *out, gs_err *err)
{
    store_record rec;
    state_fill sf;
    int rc, visible = 0;

    memset(out, 0, sizeof(*out));
    out->table = proto_cstr(tbl);
    memcpy(out->id, id, 16);
    rc = store_record_get(st, tbl, id, &rec, err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    for (size_t i = 0; rc == GS_OK && i < dev->n_grids; i++)
        visible |= strcmp(dev->grids[i], rec.grid) == 0;
    if (!visible)
        return GS_OK; /* no such record for this device: no ct, no fields */
    sf.a = a;
    sf.n = 0;
    sf.fields = arena_alloc(a, (PROTO_MAX_FIELDS + 1) * sizeof(proto_field));
    if (!sf.fields)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = store_fields_each(st, tbl, id, a, on_state_field, &sf, err);
    if (rc == GS_E_DB && sf.n > PROTO_MAX_FIELDS)
        return gs_err_set(err, rc, "store: %s has more fields than a message holds", tbl);
    if (rc)
        return rc;
    out->created = rec.created_hlc ? rec.created_hlc : 1;
    out->fields = sf.fields;
    out->n_fields = sf.n;
    return GS_OK;
}
