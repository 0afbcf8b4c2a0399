/*
 * pval.c: see pval.h. Tags are kept as a JSON array so SQLite's json_each can search them
 * (list residents --tag elderly); jansson parses them back.
 */
#include "pval.h"

#include "common/alloc.h"
#include "common/realfmt.h"
#include "common/isotime.h"
#include "common/uuid.h"
#include "proto/value_text.h"

#include <jansson.h>
#include <string.h>

/* Bytes a stored tags column may have; the schema allows 32 names of 64 bytes. */
#define TAGS_JSON_MAX 8192

void pval_free(proto_value *v)
{
    if (v->type == PV_STR || v->type == PV_BIN) {
        gs_free((void *)v->u.s.ptr);
    } else if (v->type == PV_STRLIST) {
        for (uint32_t i = 0; i < v->u.list.n; i++)
            gs_free((void *)v->u.list.items[i].ptr);
        gs_free(v->u.list.items);
    }
    memset(v, 0, sizeof(*v));
    v->type = PV_NIL;
}

static int str_copy(proto_str *dst, proto_str src)
{
    char *p = gs_malloc((size_t)src.len + 1);
    if (!p)
        return GS_E_NOMEM;
    if (src.len)
        memcpy(p, src.ptr, src.len);
    p[src.len] = '\0';
    dst->ptr = p;
    dst->len = src.len;
    return GS_OK;
}

int pval_copy(proto_value *dst, const proto_value *src)
{
    proto_value v;

    memset(&v, 0, sizeof(v));
    v.type = src->type;
    switch (src->type) {
    case PV_STR:
    case PV_BIN:
        if (str_copy(&v.u.s, src->u.s))
            goto nomem;
        break;
    case PV_STRLIST:
        v.u.list.items = gs_calloc(src->u.list.n ? src->u.list.n : 1, sizeof(proto_str));
        if (!v.u.list.items)
            goto nomem;
        for (uint32_t i = 0; i < src->u.list.n; i++) {
            if (str_copy(&v.u.list.items[i], src->u.list.items[i]))
                goto nomem_list;
            v.u.list.n = i + 1;
        }
        v.u.list.n = src->u.list.n;
        break;
    default:
        v.u = src->u;
    }
    *dst = v;
    return GS_OK;
nomem_list:
    pval_free(&v);
nomem:
    memset(dst, 0, sizeof(*dst));
    dst->type = PV_NIL;
    return GS_E_NOMEM;
}

static int json_str(gs_buf *out, proto_str s)
{
    int rc = buf_add(out, "\"", 1);
    for (uint32_t i = 0; i < s.len && rc == GS_OK; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\')
            rc = buf_addf(out, "\\%c", c);
        else if (c < 0x20)
            rc = buf_addf(out, "\\u%04x", c);
        else
            rc = buf_add(out, &s.ptr[i], 1);
    }
    if (rc == GS_OK)
        rc = buf_add(out, "\"", 1);
    return rc;
}

int pval_tags_json(const proto_value *v, gs_buf *out)
{
    int rc = buf_add(out, "[", 1);
    for (uint32_t i = 0; i < v->u.list.n && rc == GS_OK; i++) {
        if (i)
            rc = buf_add(out, ",", 1);
        if (rc == GS_OK)
            rc = json_str(out, v->u.list.items[i]);
    }
    if (rc == GS_OK)
        rc = buf_add(out, "]", 1);
    return rc;
}

int pval_bind(sqlite3_stmt *st, int col, const schema_field *f, const proto_value *v)
{
    switch (v->type) {
    case PV_NIL:
        return sqlite3_bind_null(st, col);
    case PV_BOOL:
        return sqlite3_bind_int(st, col, v->u.b ? 1 : 0);
    case PV_INT:
        if (f->type == ST_REAL)
            return sqlite3_bind_double(st, col, (double)v->u.i);
        return sqlite3_bind_int64(st, col, v->u.i);
    case PV_REAL:
        return sqlite3_bind_double(st, col, v->u.r);
    case PV_STR:
        return sqlite3_bind_text(st, col, v->u.s.len ? v->u.s.ptr : "", (int)v->u.s.len,
                                 SQLITE_TRANSIENT);
    case PV_BIN:
        return sqlite3_bind_blob(st, col, v->u.s.len ? v->u.s.ptr : "", (int)v->u.s.len,
                                 SQLITE_TRANSIENT);
    case PV_STRLIST: {
        gs_buf b;
        int src;
        buf_init(&b, TAGS_JSON_MAX);
        if (pval_tags_json(v, &b) != GS_OK) {
            buf_free(&b);
            return SQLITE_NOMEM;
        }
        src = sqlite3_bind_text(st, col, b.ptr, (int)b.len, SQLITE_TRANSIENT);
        buf_free(&b);
        return src;
    }
    }
    return SQLITE_MISMATCH;
}

static int read_tags(const char *txt, size_t len, proto_value *out)
{
    json_error_t jerr;
    json_t *arr = json_loadb(txt, len, 0, &jerr);
    proto_value v;
    size_t n;
    int rc = GS_OK;

    memset(&v, 0, sizeof(v));
    if (!arr || !json_is_array(arr)) {
        json_decref(arr);
        return GS_E_DB;
    }
    n = json_array_size(arr);
    v.type = PV_STRLIST;
    v.u.list.items = gs_calloc(n ? n : 1, sizeof(proto_str));
    if (!v.u.list.items) {
        json_decref(arr);
        return GS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        proto_str src;
        if (!json_is_string(s)) {
            rc = GS_E_DB;
            break;
        }
        src.ptr = json_string_value(s);
        src.len = (uint32_t)json_string_length(s);
        rc = str_copy(&v.u.list.items[i], src);
        if (rc)
            break;
        v.u.list.n = (uint32_t)i + 1;
    }
    json_decref(arr);
    if (rc) {
        pval_free(&v);
        return rc;
    }
    *out = v;
    return GS_OK;
}

int pval_read(sqlite3_stmt *st, int col, const schema_field *f, proto_value *out, gs_err *err)
{
    int ctype = sqlite3_column_type(st, col);
    proto_value v;
    proto_str s;
    int rc = GS_OK;

    memset(&v, 0, sizeof(v));
    v.type = PV_NIL;
    if (ctype == SQLITE_NULL) {
        *out = v;
        return GS_OK;
    }
    switch (f->type) {
    case ST_TEXT:
    case ST_ENUM:
        if (ctype != SQLITE_TEXT)
            goto wrong;
        s.ptr = (const char *)sqlite3_column_text(st, col);
        s.len = (uint32_t)sqlite3_column_bytes(st, col);
        if (!s.ptr)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
        v.type = PV_STR;
        rc = str_copy(&v.u.s, s);
        break;
    case ST_INT:
    case ST_TIME:
        if (ctype != SQLITE_INTEGER)
            goto wrong;
        v.type = PV_INT;
        v.u.i = sqlite3_column_int64(st, col);
        break;
    case ST_BOOL:
        if (ctype != SQLITE_INTEGER)
            goto wrong;
        v.type = PV_BOOL;
        v.u.b = sqlite3_column_int64(st, col) != 0;
        break;
    case ST_REAL:
        if (ctype != SQLITE_FLOAT && ctype != SQLITE_INTEGER)
            goto wrong;
        v.type = PV_REAL;
        v.u.r = sqlite3_column_double(st, col);
        break;
    case ST_REF:
        if (ctype != SQLITE_BLOB || sqlite3_column_bytes(st, col) != UUID_LEN)
            goto wrong;
        s.ptr = sqlite3_column_blob(st, col);
        s.len = UUID_LEN;
        if (!s.ptr)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
        v.type = PV_BIN;
        rc = str_copy(&v.u.s, s);
        break;
    case ST_TAGS: {
        const char *txt;
        if (ctype != SQLITE_TEXT)
            goto wrong;
        txt = (const char *)sqlite3_column_text(st, col);
        if (!txt)
            return gs_err_set(err, GS_E_NOMEM, "out of memory");
        rc = read_tags(txt, (size_t)sqlite3_column_bytes(st, col), &v);
        if (rc == GS_E_DB)
            goto wrong;
        break;
    }
    }
    if (rc)
        return gs_err_set(err, rc, "out of memory");
    *out = v;
    return GS_OK;
wrong:
    return gs_err_set(err, GS_E_DB, "%s: the database holds a value of the wrong type",
                      f->name);
}

int pval_parse(const schema_table *t, const schema_field *f, const char *text,
               proto_value *out, gs_err *err)
{
    gs_arena a;
    proto_value v;
    int rc;

    arena_init(&a, ARENA_NO_CAP); /* bounded by the text */
    rc = proto_value_parse(t, f, text, &a, &v, err);
    if (rc == GS_OK && pval_copy(out, &v) != GS_OK)
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
    arena_free(&a);
    return rc;
}

int pval_format(const schema_field *f, const proto_value *v, gs_buf *out)
{
    char tbuf[ISOTIME_MAX];
    char idbuf[UUID_TEXT_LEN + 1];
    char rbuf[REALFMT_MAX];

    switch (v->type) {
    case PV_NIL:
        return GS_OK;
    case PV_BOOL:
        return buf_adds(out, v->u.b ? "true" : "false");
    case PV_INT:
        if (f->type == ST_TIME && isotime_format(v->u.i, tbuf) == GS_OK)
            return buf_adds(out, tbuf);
        return buf_addf(out, "%lld", (long long)v->u.i);
    case PV_REAL:
        return buf_adds(out, realfmt_shortest(v->u.r, rbuf));
    case PV_STR:
        return buf_add(out, v->u.s.ptr, v->u.s.len);
    case PV_BIN:
        if (v->u.s.len == UUID_LEN) {
            uuid_format((const uint8_t *)v->u.s.ptr, idbuf);
            return buf_adds(out, idbuf);
        }
        for (uint32_t i = 0; i < v->u.s.len; i++) {
            int rc = buf_addf(out, "%02x", (unsigned char)v->u.s.ptr[i]);
            if (rc)
                return rc;
        }
        return GS_OK;
    case PV_STRLIST:
        for (uint32_t i = 0; i < v->u.list.n; i++) {
            int rc = i ? buf_add(out, ",", 1) : GS_OK;
            if (rc == GS_OK)
                rc = buf_add(out, v->u.list.items[i].ptr, v->u.list.items[i].len);
            if (rc)
                return rc;
        }
        return GS_OK;
    }
    return GS_OK;
}
