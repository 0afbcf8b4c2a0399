/* value_text.c: see value_text.h. */
#include "value_text.h"

#include "common/isotime.h"
#include "common/uuid.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        if (x != *b)
            return 0;
    }
    return *a == *b;
}

static int copy_str(gs_arena *a, const char *s, size_t n, proto_str *out)
{
    char *p;

    if (n > UINT32_MAX)
        n = UINT32_MAX; /* anything this long is refused by the length checks anyway */
    p = arena_strndup(a, s, n);
    if (!p)
        return GS_E_NOMEM;
    out->ptr = p;
    out->len = (uint32_t)n;
    return GS_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits "a, b,c" into a tag list. */
static int parse_tags(const char *text, gs_arena *a, proto_value *v)
{
    size_t n = 1;
    const char *p = text;

    for (const char *q = text; *q; q++)
        n += *q == ',';
    v->type = PV_STRLIST;
    v->u.list.n = 0;
    v->u.list.items = arena_alloc_array(a, n, sizeof(proto_str));
    if (!v->u.list.items)
        return GS_E_NOMEM;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && is_blank(*p)) {
            p++;
            len--;
        }
        while (len && is_blank(p[len - 1]))
            len--;
        if (len && copy_str(a, p, len, &v->u.list.items[v->u.list.n++]))
            return GS_E_NOMEM;
        if (!end)
            return GS_OK;
        p = end + 1;
    }
}

int proto_time_from_text(const schema_table *t, const schema_field *f, const char *s,
                         size_t len, int64_t *ms, gs_err *err)
{
    if (isotime_parse(s, len, ms))
        return gs_err_set(err, GS_E_INVALID,
                          "%s.%s: '%.40s' is not a time; write 2026-11-27T09:30:00+08:00, "
                          "2026-11-27T01:30:00Z or 2026-11-27",
                          t->name, f->name, s);
    return GS_OK;
}

int proto_id_from_text(const schema_table *t, const schema_field *f, const char *s, size_t len,
                       gs_arena *a, proto_value *out, gs_err *err)
{
    uint8_t *id = arena_alloc(a, UUID_LEN);

    if (!id)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (uuid_parse(s, len, id))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.40s' is not a record id", t->name,
                          f->name, s);
    out->type = PV_BIN;
    out->u.s.ptr = (const char *)id;
    out->u.s.len = UUID_LEN;
    return GS_OK;
}

int proto_value_parse(const schema_table *t, const schema_field *f, const char *text,
                      gs_arena *a, proto_value *out, gs_err *err)
{
    size_t len = strlen(text);
    proto_value v;
    char *end;
    int rc = GS_OK;

    memset(&v, 0, sizeof(v));
    v.type = PV_NIL;
    if (len == 0) {
        *out = v;
        return GS_OK;
    }
    switch (f->type) {
    case ST_TEXT:
    case ST_ENUM:
        v.type = PV_STR;
        rc = copy_str(a, text, len, &v.u.s);
        break;
    case ST_INT:
        errno = 0;
        v.type = PV_INT;
        v.u.i = strtoll(text, &end, 10);
        if (errno || end == text || *end != '\0')
            return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.40s' is not a whole number",
                              t->name, f->name, text);
        break;
    case ST_REAL:
        errno = 0;
        v.type = PV_REAL;
        v.u.r = strtod(text, &end);
        if (errno || end == text || *end != '\0' || !isfinite(v.u.r))
            return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.40s' is not a number", t->name,
                              f->name, text);
        break;
    case ST_BOOL:
        v.type = PV_BOOL;
        if (ascii_ieq(text, "true") || ascii_ieq(text, "yes") || strcmp(text, "1") == 0)
            v.u.b = 1;
        else if (ascii_ieq(text, "false") || ascii_ieq(text, "no") || strcmp(text, "0") == 0)
            v.u.b = 0;
        else
            return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.40s' is not true or false",
                              t->name, f->name, text);
        break;
    case ST_TIME:
        v.type = PV_INT;
        rc = proto_time_from_text(t, f, text, len, &v.u.i, err);
        if (rc)
            return rc;
        break;
    case ST_REF:
        rc = proto_id_from_text(t, f, text, len, a, &v, err);
        if (rc)
            return rc;
        break;
    case ST_TAGS:
        rc = parse_tags(text, a, &v);
        break;
    }
    if (rc)
        return gs_err_set(err, rc, "out of memory");
    *out = v;
    return GS_OK;
}
