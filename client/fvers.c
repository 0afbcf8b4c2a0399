/*
 * fvers.c: see fvers.h. The blob is decoded by hand (three MessagePack types: array, str,
 * uint), checked whole before anything is used, so a damaged row is reported, never half
 * read.
 */
#include "client/fvers.h"

#include <msgpack.h>
#include <string.h>

static int write_cb(void *data, const char *buf, size_t len)
{
    return buf_add(data, buf, len) == GS_OK ? 0 : -1;
}

int fvers_encode(const fvers *fv, gs_buf *out)
{
    msgpack_packer pk;
    size_t mark = out->len;

    msgpack_packer_init(&pk, out, write_cb);
    if (msgpack_pack_array(&pk, fv->n))
        goto fail;
    for (uint32_t i = 0; i < fv->n; i++) {
        size_t n = strlen(fv->e[i].name);
        if (msgpack_pack_array(&pk, 3) || msgpack_pack_str(&pk, n) ||
            msgpack_pack_str_body(&pk, fv->e[i].name, n) || msgpack_pack_uint64(&pk, fv->e[i].ver) ||
            msgpack_pack_uint64(&pk, fv->e[i].hlc))
            goto fail;
    }
    return GS_OK;
fail:
    out->len = mark;
    return GS_E_NOMEM;
}

/* ---- a reader of the three types the blob holds ---- */

typedef struct rd {
    const uint8_t *p; /* the bytes */
    size_t len, pos;  /* their length, the next byte */
} rd;

static int rd_be(rd *r, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (r->len - r->pos < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[r->pos++];
    *out = v;
    return 0;
}

static int rd_array(rd *r, uint64_t *n)
{
    uint8_t b;
    if (r->pos >= r->len)
        return -1;
    b = r->p[r->pos++];
    if ((b & 0xf0) == 0x90) {
        *n = b & 0x0f;
        return 0;
    }
    if (b == 0xdc)
        return rd_be(r, 2, n);
    if (b == 0xdd)
        return rd_be(r, 4, n);
    return -1;
}

static int rd_uint(rd *r, uint64_t *v)
{
    uint8_t b;
    if (r->pos >= r->len)
        return -1;
    b = r->p[r->pos++];
    if (b <= 0x7f) {
        *v = b;
        return 0;
    }
    switch (b) {
    case 0xcc: return rd_be(r, 1, v);
    case 0xcd: return rd_be(r, 2, v);
    case 0xce: return rd_be(r, 4, v);
    case 0xcf: return rd_be(r, 8, v);
    default: return -1;
    }
}

static int rd_str(rd *r, const char **s, size_t *n)
{
    uint64_t len;
    uint8_t b;
    if (r->pos >= r->len)
        return -1;
    b = r->p[r->pos++];
    if ((b & 0xe0) == 0xa0)
        len = b & 0x1f;
    else if (b != 0xd9 || rd_be(r, 1, &len))
        return -1;
    if (r->len - r->pos < len)
        return -1;
    *s = (const char *)r->p + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return 0;
}

int fvers_decode(const void *p, size_t len, fvers *out)
{
    rd r = {p, len, 0};
    uint64_t n, three;

    out->n = 0;
    out->dirty = 0;
    if (len == 0)
        return GS_OK;
    if (rd_array(&r, &n) || n > PROTO_MAX_FIELDS + 1)
        return GS_E_DB;
    for (uint64_t i = 0; i < n; i++) {
        fvers_entry *e = &out->e[i];
        const char *s;
        size_t sl;
        if (rd_array(&r, &three) || three != 3 || rd_str(&r, &s, &sl) || sl == 0 ||
            sl > PROTO_MAX_NAME || rd_uint(&r, &e->ver) || rd_uint(&r, &e->hlc))
            return GS_E_DB;
        memcpy(e->name, s, sl);
        e->name[sl] = '\0';
    }
    if (r.pos != len)
        return GS_E_DB;
    out->n = (uint32_t)n;
    return GS_OK;
}

/* ---- the row ---- */

int fvers_load(gs_db *db, const uint8_t id[16], fvers *out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "SELECT fields FROM record_version WHERE rid = ?1", &st);

    if (rc)
        return rc;
    out->n = 0;
    out->dirty = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if (fvers_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out))
            rc = gs_err_set(&db->err, GS_E_DB, "a record's field versions are damaged");
    } else if (src != SQLITE_DONE) {
        rc = db_fail(db, src, "reading field versions");
    }
    db_done(st);
    return rc;
}

int fvers_drop(gs_db *db, const uint8_t id[16])
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "DELETE FROM record_version WHERE rid = ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing field versions");
    db_done(st);
    return rc;
}

int fvers_store(gs_db *db, const uint8_t id[16], fvers *fv)
{
    gs_buf b;
    sqlite3_stmt *st;
    int src, rc;

    if (!fv->dirty)
        return GS_OK;
    if (fv->n == 0)
        return fvers_drop(db, id);
    buf_init(&b, (PROTO_MAX_FIELDS + 1) * (PROTO_MAX_NAME + 24));
    rc = fvers_encode(fv, &b);
    if (rc) {
        buf_free(&b);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    rc = db_prepare_static(db, "INSERT OR REPLACE INTO record_version(rid, fields) VALUES(?1, ?2)",
                    &st);
    if (rc == GS_OK) {
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, b.ptr, (int)b.len, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_fail(db, src, "writing field versions");
        db_done(st);
    }
    buf_free(&b);
    if (rc == GS_OK)
        fv->dirty = 0;
    return rc;
}

/* ---- the set ---- */

const fvers_entry *fvers_find(const fvers *fv, const char *name, size_t len)
{
    for (uint32_t i = 0; i < fv->n; i++)
        if (strlen(fv->e[i].name) == len && memcmp(fv->e[i].name, name, len) == 0)
            return &fv->e[i];
    return NULL;
}

uint64_t fvers_ver(const fvers *fv, const char *name, size_t len)
{
    const fvers_entry *e = fvers_find(fv, name, len);
    return e ? e->ver : 0;
}

uint64_t fvers_max_ver(const fvers *fv)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < fv->n; i++)
        if (fv->e[i].ver > m)
            m = fv->e[i].ver;
    return m;
}

uint64_t fvers_max_hlc(const fvers *fv, int *unknown)
{
    uint64_t m = 0;
    *unknown = 0;
    for (uint32_t i = 0; i < fv->n; i++) {
        if (fv->e[i].hlc > m)
            m = fv->e[i].hlc;
        if (fv->e[i].hlc == 0)
            *unknown = 1;
    }
    return m;
}

static fvers_entry *slot(fvers *fv, const char *name, size_t len, int *made)
{
    fvers_entry *e = (fvers_entry *)fvers_find(fv, name, len);

    *made = 0;
    if (e)
        return e;
    if (fv->n >= PROTO_MAX_FIELDS + 1 || len == 0 || len > PROTO_MAX_NAME)
        return NULL;
    e = &fv->e[fv->n++];
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->ver = e->hlc = 0;
    *made = 1;
    return e;
}

int fvers_raise(fvers *fv, const char *name, size_t len, uint64_t ver, uint64_t clock)
{
    int made;
    fvers_entry *e = slot(fv, name, len, &made);

    if (!e)
        return GS_E_TOO_LARGE;
    if (made || ver >= e->ver) {
        if (e->ver != ver || e->hlc != clock)
            fv->dirty = 1;
        e->ver = ver;
        e->hlc = clock;
    }
    return GS_OK;
}

int fvers_put(fvers *fv, const char *name, size_t len, uint64_t ver, uint64_t clock)
{
    int made;
    fvers_entry *e = slot(fv, name, len, &made);

    if (!e)
        return GS_E_TOO_LARGE;
    if (made || e->ver != ver || e->hlc != clock)
        fv->dirty = 1;
    e->ver = ver;
    e->hlc = clock;
    return GS_OK;
}

void fvers_clear(fvers *fv, const char *name, size_t len)
{
    fvers_entry *e = (fvers_entry *)fvers_find(fv, name, len);

    if (!e)
        return;
    *e = fv->e[--fv->n];
    fv->dirty = 1;
}
