/*
 * test_proto.c: the MessagePack codec of the sync protocol (proto/codec.c, proto/encode.c).
 *
 * - the committed vectors (proto/vectors/, or $GS_PROTO_VECTORS), both ways: each valid and
 *   lax .msgpack decodes to the meaning in its .json; each valid .json encodes to exactly the
 *   bytes of its .msgpack; each invalid .msgpack fails with the gs_rc_name in its .json;
 * - every vector again with its last byte against a guard page, and every prefix of each
 *   valid one (which must be "truncated"), so an out-of-bounds read faults even without ASan;
 * - hand-built messages with every field and value kind round-trip through encode/decode;
 * - limits at and past their edges, too-large bodies, what msgpack-c does with deep nesting;
 * - error messages name the path; encoders refuse what decoders would refuse and leave the
 *   buffer as it was; streaming encoders equal the whole-message ones;
 * - every allocation failure while decoding or encoding gives GS_E_NOMEM and leaks nothing.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <msgpack.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"

/* ---- helpers: files, a pool for hand-built messages ------------------------------------- */

static const char *vec_dir(void)
{
    const char *d = getenv("GS_PROTO_VECTORS");
    return d && *d ? d : "proto/vectors";
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return p;
}

/* Memory of hand-built messages, released at once. */
typedef struct pool {
    void **ptrs; /* every allocation */
    size_t n;    /* entries in ptrs */
} pool;

static void *pool_alloc(pool *pl, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    void **grown = realloc(pl->ptrs, (pl->n + 1) * sizeof(*grown));
    assert_non_null(p);
    assert_non_null(grown);
    pl->ptrs = grown;
    pl->ptrs[pl->n++] = p;
    return p;
}

static void pool_free(pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->ptrs[i]);
    free(pl->ptrs);
    pl->ptrs = NULL;
    pl->n = 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the .msgpack files in dir, without the extension, sorted. */
static char **list_vectors(const char *sub, size_t *n_out)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", vec_dir(), sub);
    d = opendir(path);
    if (!d)
        fail_msg("cannot open the vectors in %s (run from the repo root or set "
                 "GS_PROTO_VECTORS)", path);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 8 && strcmp(e->d_name + l - 8, ".msgpack") == 0) {
            names = realloc(names, (n + 1) * sizeof(*names));
            assert_non_null(names);
            names[n] = strndup(e->d_name, l - 8);
            n++;
        }
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    *n_out = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static json_t *load_json(const char *sub, const char *name)
{
    char path[512];
    json_error_t jerr;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s/%s.json", vec_dir(), sub, name);
    j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

static unsigned char *load_msgpack(const char *sub, const char *name, size_t *len)
{
    char path[512];
    unsigned char *p;

    snprintf(path, sizeof(path), "%s/%s/%s.msgpack", vec_dir(), sub, name);
    p = read_all(path, len);
    if (!p)
        fail_msg("cannot read %s", path);
    return p;
}

typedef enum kind { K_REQ, K_RESP, K_ERROR } kind;

static kind kind_of(const char *name)
{
    if (strncmp(name, "req_", 4) == 0)
        return K_REQ;
    if (strncmp(name, "resp_", 5) == 0)
        return K_RESP;
    if (strncmp(name, "error_", 6) == 0)
        return K_ERROR;
    fail_msg("vector %s: name must start with req_, resp_ or error_", name);
    return K_REQ;
}

/* Decodes with the decoder of k and frees at once; the code. */
static int decode_rc(kind k, const void *p, size_t len, gs_err *err)
{
    int rc;
    if (k == K_REQ) {
        proto_sync_req *m = NULL;
        rc = proto_decode_sync_req(p, len, &m, err);
        proto_sync_req_free(m);
    } else if (k == K_RESP) {
        proto_sync_resp *m = NULL;
        rc = proto_decode_sync_resp(p, len, &m, err);
        proto_sync_resp_free(m);
    } else {
        proto_error *m = NULL;
        rc = proto_decode_error(p, len, &m, err);
        proto_error_free(m);
    }
    return rc;
}

/* ---- struct -> JSON (the vectors' meaning) ------------------------------------------------ */

static json_t *ju(uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        fail_msg("value %llu cannot be shown in JSON here", (unsigned long long)v);
    return json_integer((json_int_t)v);
}

static json_t *jstr(proto_str s)
{
    json_t *j = json_stringn(s.len ? s.ptr : "", s.len);
    if (!j)
        fail_msg("str of %u bytes is not UTF-8", s.len);
    return j;
}

static json_t *jbin(const void *p, size_t n)
{
    char hex[2 * 64 + 1];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)p)[i]);
    hex[2 * n] = '\0';
    return json_pack("{s:s}", "$bin", hex);
}

static json_t *value_json(const proto_value *v)
{
    json_t *a;
    switch (v->type) {
    case PV_NIL: return json_null();
    case PV_BOOL: return json_boolean(v->u.b);
    case PV_INT: return json_integer(v->u.i);
    case PV_REAL: return json_real(v->u.r);
    case PV_STR: return jstr(v->u.s);
    case PV_BIN: return jbin(v->u.s.ptr, v->u.s.len);
    case PV_STRLIST:
        a = json_array();
        for (uint32_t i = 0; i < v->u.list.n; i++)
            json_array_append_new(a, jstr(v->u.list.items[i]));
        return a;
    }
    fail_msg("bad value type %d", (int)v->type);
    return NULL;
}

/* name -> [value, ver], with the field's own clock as a third element in the canonical
 * form: when it differs from the change's (ctx_hlc), or always (record states). */
static json_t *fields_json(const proto_field *f, uint32_t n, uint64_t ctx_hlc, int always)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < n; i++) {
        char name[PROTO_MAX_NAME + 1];
        memcpy(name, f[i].name.ptr, f[i].name.len);
        name[f[i].name.len] = '\0';
        if (always || (f[i].hlc && f[i].hlc != ctx_hlc))
            json_object_set_new(o, name, json_pack("[o,o,o]", value_json(&f[i].value),
                                                   ju(f[i].ver), ju(f[i].hlc)));
        else
            json_object_set_new(o, name,
                                json_pack("[o,o]", value_json(&f[i].value), ju(f[i].ver)));
    }
    return o;
}

static json_t *change_json(const proto_change *c, int ck)
{
    json_t *o = json_object();
    if (ck == PROTO_CH_PUSHED)
        json_object_set_new(o, "seq", ju(c->seq));
    json_object_set_new(o, "t", jstr(c->table));
    json_object_set_new(o, "id", jbin(c->id, 16));
    if (ck != PROTO_CH_STATE)
        json_object_set_new(o, "hlc", ju(c->hlc));
    if (c->created)
        json_object_set_new(o, "ct", ju(c->created));
    json_object_set_new(o, "f", fields_json(c->fields, c->n_fields,
                                            ck == PROTO_CH_STATE ? 0 : c->hlc,
                                            ck == PROTO_CH_STATE));
    return o;
}

static json_t *req_json(const proto_sync_req *m)
{
    json_t *o = json_object(), *ch = json_array();
    json_object_set_new(o, "v", ju(m->version));
    json_object_set_new(o, "dev", jstr(m->device));
    json_object_set_new(o, "cur", ju(m->cursor));
    json_object_set_new(o, "low", ju(m->low));
    json_object_set_new(o, "now", ju(m->now));
    if (m->pull_max)
        json_object_set_new(o, "max", ju(m->pull_max));
    for (uint32_t i = 0; i < m->n_changes; i++)
        json_array_append_new(ch, change_json(&m->changes[i], PROTO_CH_PUSHED));
    json_object_set_new(o, "ch", ch);
    return o;
}

static json_t *resp_json(const proto_sync_resp *m)
{
    json_t *o = json_object(), *acks = json_array(), *ch = json_array();
    json_object_set_new(o, "v", ju(m->version));
    json_object_set_new(o, "now", ju(m->now));
    for (uint32_t i = 0; i < m->n_acks; i++) {
        const proto_ack *a = &m->acks[i];
        json_t *ao = json_object();
        json_object_set_new(ao, "seq", ju(a->seq));
        json_object_set_new(ao, "ok", json_boolean(a->ok));
        if (a->ok) {
            json_object_set_new(ao, "ver", ju(a->version));
            if (a->n_lost)
                json_object_set_new(ao, "lost", fields_json(a->lost, a->n_lost, 0, 0));
        } else {
            json_object_set_new(ao, "err", jstr(a->err));
            json_object_set_new(ao, "msg", jstr(a->msg));
        }
        json_array_append_new(acks, ao);
    }
    json_object_set_new(o, "ack", acks);
    for (uint32_t i = 0; i < m->n_changes; i++)
        json_array_append_new(ch, change_json(&m->changes[i], PROTO_CH_PULLED));
    json_object_set_new(o, "ch", ch);
    json_object_set_new(o, "cur", ju(m->cursor));
    json_object_set_new(o, "more", json_boolean(m->more));
    if (m->version >= 2)
        json_object_set_new(o, "clk", ju(m->clock_ms));
    if (m->version >= 3)
        json_object_set_new(o, "ep", ju(m->epoch));
    if (m->n_fixes) {
        json_t *fx = json_array();
        for (uint32_t i = 0; i < m->n_fixes; i++)
            json_array_append_new(fx, change_json(&m->fixes[i], PROTO_CH_STATE));
        json_object_set_new(o, "fix", fx);
    }
    return o;
}

static json_t *error_json(const proto_error *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "err", jstr(m->code));
    json_object_set_new(o, "msg", jstr(m->msg));
    if (m->min_version)
        json_object_set_new(o, "min_v", ju(m->min_version));
    return o;
}

/* ---- JSON -> struct ----------------------------------------------------------------------- */

static uint64_t uj(json_t *j, const char *what)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        fail_msg("%s: expected a JSON integer >= 0", what);
    return (uint64_t)json_integer_value(j);
}

static proto_str sj(json_t *j)
{
    proto_str s;
    if (!json_is_string(j))
        fail_msg("expected a JSON string");
    s.ptr = json_string_value(j);
    s.len = (uint32_t)json_string_length(j);
    return s;
}

static void binj(json_t *j, unsigned char *out, size_t n)
{
    const char *hex = json_string_value(json_object_get(j, "$bin"));
    if (!hex || strlen(hex) != 2 * n)
        fail_msg("expected {\"$bin\": %zu hex digits}", 2 * n);
    for (size_t i = 0; i < n; i++) {
        char two[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (unsigned char)strtoul(two, NULL, 16);
    }
}

static void value_from(pool *pl, json_t *j, proto_value *v)
{
    if (json_is_null(j)) {
        v->type = PV_NIL;
    } else if (json_is_boolean(j)) {
        v->type = PV_BOOL;
        v->u.b = json_is_true(j);
    } else if (json_is_integer(j)) {
        v->type = PV_INT;
        v->u.i = json_integer_value(j);
    } else if (json_is_real(j)) {
        v->type = PV_REAL;
        v->u.r = json_real_value(j);
    } else if (json_is_string(j)) {
        v->type = PV_STR;
        v->u.s = sj(j);
    } else if (json_is_object(j)) {
        unsigned char *b = pool_alloc(pl, 16);
        binj(j, b, 16);
        v->type = PV_BIN;
        v->u.s.ptr = (const char *)b;
        v->u.s.len = 16;
    } else {
        size_t n = json_array_size(j);
        v->type = PV_STRLIST;
        v->u.list.n = (uint32_t)n;
        v->u.list.items = n ? pool_alloc(pl, n * sizeof(proto_str)) : NULL;
        for (size_t i = 0; i < n; i++)
            v->u.list.items[i] = sj(json_array_get(j, i));
    }
}

static void fields_from(pool *pl, json_t *o, proto_field **out, uint32_t *n_out)
{
    size_t n = json_object_size(o), i = 0;
    proto_field *f = n ? pool_alloc(pl, n * sizeof(*f)) : NULL;
    const char *key;
    json_t *pair;

    json_object_foreach(o, key, pair) {
        f[i].name = proto_cstr(key);
        value_from(pl, json_array_get(pair, 0), &f[i].value);
        f[i].ver = uj(json_array_get(pair, 1), key);
        f[i].hlc = json_array_size(pair) > 2 ? uj(json_array_get(pair, 2), key) : 0;
        i++;
    }
    *out = f;
    *n_out = (uint32_t)n;
}

static void change_from(pool *pl, json_t *o, proto_change *c)
{
    json_t *seq = json_object_get(o, "seq"), *h = json_object_get(o, "hlc");
    json_t *ct = json_object_get(o, "ct");
    c->seq = seq ? uj(seq, "seq") : 0;
    c->table = sj(json_object_get(o, "t"));
    binj(json_object_get(o, "id"), c->id, 16);
    c->hlc = h ? uj(h, "hlc") : 0;
    c->created = ct ? uj(ct, "ct") : 0;
    fields_from(pl, json_object_get(o, "f"), &c->fields, &c->n_fields);
}

static void changes_from(pool *pl, json_t *a, proto_change **out, uint32_t *n_out)
{
    size_t n = json_array_size(a);
    proto_change *c = n ? pool_alloc(pl, n * sizeof(*c)) : NULL;
    for (size_t i = 0; i < n; i++)
        change_from(pl, json_array_get(a, i), &c[i]);
    *out = c;
    *n_out = (uint32_t)n;
}

static void req_from(pool *pl, json_t *o, proto_sync_req *m)
{
    json_t *max = json_object_get(o, "max");
    memset(m, 0, sizeof(*m));
    m->version = (uint32_t)uj(json_object_get(o, "v"), "v");
    m->device = sj(json_object_get(o, "dev"));
    m->cursor = uj(json_object_get(o, "cur"), "cur");
    m->low = uj(json_object_get(o, "low"), "low");
    m->now = uj(json_object_get(o, "now"), "now");
    m->pull_max = max ? (uint32_t)uj(max, "max") : 0;
    changes_from(pl, json_object_get(o, "ch"), &m->changes, &m->n_changes);
}

static void resp_from(pool *pl, json_t *o, proto_sync_resp *m)
{
    json_t *acks = json_object_get(o, "ack");
    size_t n = json_array_size(acks);

    memset(m, 0, sizeof(*m));
    m->version = (uint32_t)uj(json_object_get(o, "v"), "v");
    m->now = uj(json_object_get(o, "now"), "now");
    m->n_acks = (uint32_t)n;
    m->acks = n ? pool_alloc(pl, n * sizeof(proto_ack)) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(acks, i), *lost = json_object_get(a, "lost");
        proto_ack *ack = &m->acks[i];
        ack->seq = uj(json_object_get(a, "seq"), "seq");
        ack->ok = json_is_true(json_object_get(a, "ok"));
        if (ack->ok) {
            ack->version = uj(json_object_get(a, "ver"), "ver");
            if (lost)
                fields_from(pl, lost, &ack->lost, &ack->n_lost);
        } else {
            ack->err = sj(json_object_get(a, "err"));
            ack->msg = sj(json_object_get(a, "msg"));
        }
    }
    changes_from(pl, json_object_get(o, "ch"), &m->changes, &m->n_changes);
    m->cursor = uj(json_object_get(o, "cur"), "cur");
    m->more = json_is_true(json_object_get(o, "more"));
    if (json_object_get(o, "clk"))
        m->clock_ms = uj(json_object_get(o, "clk"), "clk");
    if (json_object_get(o, "ep"))
        m->epoch = uj(json_object_get(o, "ep"), "ep");
    if (json_object_get(o, "fix"))
        changes_from(pl, json_object_get(o, "fix"), &m->fixes, &m->n_fixes);
}

/* Encodes the meaning j as a message of kind k into out. */
static int encode_json(kind k, json_t *j, gs_buf *out)
{
    pool pl = {NULL, 0};
    int rc;

    if (k == K_REQ) {
        proto_sync_req m;
        req_from(&pl, j, &m);
        rc = proto_encode_sync_req(out, &m);
    } else if (k == K_RESP) {
        proto_sync_resp m;
        resp_from(&pl, j, &m);
        rc = proto_encode_sync_resp(out, &m);
    } else {
        json_t *min_v = json_object_get(j, "min_v");
        rc = proto_encode_error(out, json_string_value(json_object_get(j, "err")),
                                json_string_value(json_object_get(j, "msg")),
                                min_v ? (uint32_t)uj(min_v, "min_v") : 0);
    }
    pool_free(&pl);
    return rc;
}

/* Decodes p as kind k; on success its meaning as JSON and, in *canon, its re-encoding. */
static int decode_json(kind k, const void *p, size_t len, json_t **out, gs_buf *canon,
                       gs_err *err)
{
    int rc;
    if (k == K_REQ) {
        proto_sync_req *m = NULL;
        rc = proto_decode_sync_req(p, len, &m, err);
        if (!rc) {
            *out = req_json(m);
            assert_int_equal(proto_encode_sync_req(canon, m), GS_OK);
        }
        proto_sync_req_free(m);
    } else if (k == K_RESP) {
        proto_sync_resp *m = NULL;
        rc = proto_decode_sync_resp(p, len, &m, err);
        if (!rc) {
            *out = resp_json(m);
            assert_int_equal(proto_encode_sync_resp(canon, m), GS_OK);
        }
        proto_sync_resp_free(m);
    } else {
        proto_error *m = NULL;
        rc = proto_decode_error(p, len, &m, err);
        if (!rc) {
            char code[PROTO_MAX_NAME + 1], *msg = strndup(m->msg.ptr ? m->msg.ptr : "",
                                                          m->msg.len);
            memcpy(code, m->code.ptr, m->code.len);
            code[m->code.len] = '\0';
            *out = error_json(m);
            assert_int_equal(proto_encode_error(canon, code, msg, m->min_version), GS_OK);
            free(msg);
        }
        proto_error_free(m);
    }
    return rc;
}

static void hexdiff(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    size_t i = 0;
    while (i < alen && i < blen && ((const unsigned char *)a)[i] == ((const unsigned char *)b)[i])
        i++;
    fail_msg("%s: encoder wrote %zu bytes, vector has %zu; first difference at byte %zu "
             "(0x%02x vs 0x%02x)",
             name, alen, blen, i, i < alen ? ((const unsigned char *)a)[i] : 0,
             i < blen ? ((const unsigned char *)b)[i] : 0);
}

/* ---- the vectors ---------------------------------------------------------------------------- */

static void check_decodes_to_meaning(const char *sub, int canonical)
{
    size_t n;
    char **names = list_vectors(sub, &n);

    if (n < 5)
        fail_msg("only %zu vectors in %s/%s", n, vec_dir(), sub);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        unsigned char *bytes = load_msgpack(sub, names[i], &len);
        json_t *want = load_json(sub, names[i]), *got = NULL;
        kind k = kind_of(names[i]);
        gs_buf canon, enc;
        gs_err err;
        int rc;

        buf_init(&canon, PROTO_MAX_BODY);
        buf_init(&enc, PROTO_MAX_BODY);
        rc = decode_json(k, bytes, len, &got, &canon, &err);
        if (rc)
            fail_msg("%s/%s: decode failed: %s: %s", sub, names[i], gs_rc_name(rc), err.msg);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
            print_error("decoded: %s\nwanted:  %s\n", g, w);
            fail_msg("%s/%s: decoded meaning differs from the .json", sub, names[i]);
        }
        /* encoding the meaning gives the canonical bytes: the vector itself when valid */
        assert_int_equal(encode_json(k, want, &enc), GS_OK);
        if (enc.len != canon.len || memcmp(enc.ptr, canon.ptr, enc.len) != 0)
            hexdiff(names[i], enc.ptr, enc.len, canon.ptr, canon.len);
        if (canonical && (enc.len != len || memcmp(enc.ptr, bytes, len) != 0))
            hexdiff(names[i], enc.ptr, enc.len, bytes, len);
        if (!canonical && enc.len == len && memcmp(enc.ptr, bytes, len) == 0)
            fail_msg("%s/%s is canonical: it belongs in valid/", sub, names[i]);
        buf_free(&canon);
        buf_free(&enc);
        json_decref(got);
        json_decref(want);
        free(bytes);
    }
    free_names(names, n);
}

static void test_valid_vectors_decode_and_encode_exactly(void **state)
{
    (void)state;
    check_decodes_to_meaning("valid", 1);
}

static void test_lax_vectors_decode_to_their_meaning(void **state)
{
    (void)state;
    check_decodes_to_meaning("lax", 0);
}

static void test_invalid_vectors_fail_with_their_code(void **state)
{
    static const char *const classes[] = {"malformed", "wrong_type", "missing_field",
                                          "unknown_field", "over_limit", "truncated",
                                          "trailing_bytes", "too_deep", "version"};
    int seen[sizeof(classes) / sizeof(classes[0])] = {0};
    size_t n;
    char **names = list_vectors("invalid", &n);
    (void)state;

    if (n < 50)
        fail_msg("only %zu invalid vectors", n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        unsigned char *bytes = load_msgpack("invalid", names[i], &len);
        json_t *want = load_json("invalid", names[i]);
        const char *code = json_string_value(json_object_get(want, "error"));
        gs_err err;
        int rc;

        gs_err_clear(&err);
        assert_non_null(code);
        rc = decode_rc(kind_of(names[i]), bytes, len, &err);
        if (rc == GS_OK || strcmp(gs_rc_name(rc), code) != 0)
            fail_msg("invalid/%s: want %s, got %s (%s)", names[i], code, gs_rc_name(rc),
                     err.msg);
        if (err.rc != rc || err.msg[0] == '\0')
            fail_msg("invalid/%s: no message for %s", names[i], code);
        for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++)
            if (strcmp(classes[c], code) == 0)
                seen[c]++;
        json_decref(want);
        free(bytes);
    }
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++)
        if (!seen[c])
            fail_msg("no invalid vector for %s", classes[c]);
    free_names(names, n);
}

/* Places len bytes so that the last one is just before an inaccessible page. */
typedef struct guarded {
    unsigned char *map; /* two or more pages; the last is PROT_NONE */
    size_t size;        /* bytes mapped */
} guarded;

static unsigned char *guard_place(guarded *g, const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page + 1;

    g->size = (data_pages + 1) * page;
    g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + data_pages * page, page, PROT_NONE), 0);
    memcpy(g->map + data_pages * page - len, p, len);
    return g->map + data_pages * page - len;
}

static void guard_free(guarded *g)
{
    munmap(g->map, g->size);
}

static void test_vectors_and_prefixes_against_guard_page(void **state)
{
    static const char *const subs[] = {"valid", "lax", "invalid"};
    (void)state;

    for (size_t s = 0; s < 3; s++) {
        size_t n;
        char **names = list_vectors(subs[s], &n);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            unsigned char *bytes = load_msgpack(subs[s], names[i], &len);
            kind k = kind_of(names[i]);
            guarded g;
            unsigned char *p = guard_place(&g, bytes, len);
            gs_err err;
            int rc = decode_rc(k, p, len, &err);

            if ((s < 2) != (rc == GS_OK))
                fail_msg("%s/%s at a guard page: %s (%s)", subs[s], names[i], gs_rc_name(rc),
                         err.msg);
            /* every strict prefix of a message is a truncated message */
            for (size_t cut = 0; s < 2 && cut < len; cut++) {
                unsigned char *q = p + (len - cut);
                memmove(q, bytes, cut);
                rc = decode_rc(k, q, cut, &err);
                if (rc != GS_E_PROTO_TRUNCATED)
                    fail_msg("%s/%s cut to %zu bytes: %s (%s)", subs[s], names[i], cut,
                             gs_rc_name(rc), err.msg);
            }
            guard_free(&g);
            free(bytes);
        }
        free_names(names, n);
    }
}

/* ---- hand-built messages -------------------------------------------------------------------- */

static const uint8_t ID_A[16] = {0x01, 0x9a, 0xc5, 0xe0, 0xa0, 0x00, 0x7a, 0x1b,
                                 0x8c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83};
static const char REF_B[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

static proto_str TAGS[3] = {{"elderly", 7}, {"", 0}, {"lives_alone", 11}};

/* Every value kind, and ints at each encoding boundary. */
static proto_field RICH_FIELDS[] = {
    {{"nil", 3}, {.type = PV_NIL}, 0, 0},
    {{"yes", 3}, {.type = PV_BOOL, .u.b = 1}, 1, 0},
    {{"no", 2}, {.type = PV_BOOL, .u.b = 0}, 2, 0},
    {{"i_min", 5}, {.type = PV_INT, .u.i = INT64_MIN}, UINT64_MAX, 0},
    {{"i_max", 5}, {.type = PV_INT, .u.i = INT64_MAX}, (uint64_t)UINT32_MAX + 1, 0},
    {{"i_m33", 5}, {.type = PV_INT, .u.i = -33}, 255, 0},
    {{"i_m32", 5}, {.type = PV_INT, .u.i = -32}, 256, 0},
    {{"i_127", 5}, {.type = PV_INT, .u.i = 127}, 65535, 0},
    {{"i_128", 5}, {.type = PV_INT, .u.i = 128}, 65536, 0},
    {{"r", 1}, {.type = PV_REAL, .u.r = -1234.5e-7}, 3, 0},
    {{"s", 1}, {.type = PV_STR, .u.s = {"网格员 ok", 12}}, 4, 0},
    {{"empty", 5}, {.type = PV_STR, .u.s = {NULL, 0}}, 5, 0},
    {{"ref", 3}, {.type = PV_BIN, .u.s = {REF_B, 16}}, 6, 0},
    {{"tags", 4}, {.type = PV_STRLIST, .u.list = {TAGS, 3}}, 7, 0},
    {{"none", 4}, {.type = PV_STRLIST, .u.list = {NULL, 0}}, 8, 0},
};
#define N_RICH (sizeof(RICH_FIELDS) / sizeof(RICH_FIELDS[0]))

static proto_change rich_changes(uint64_t seq, proto_change *c)
{
    memset(c, 0, sizeof(*c));
    c->seq = seq;
    c->table = proto_cstr("visit");
    memcpy(c->id, ID_A, 16);
    c->hlc = UINT64_MAX - seq;
    c->fields = RICH_FIELDS;
    c->n_fields = N_RICH;
    return *c;
}

static void assert_str(proto_str a, proto_str b)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void assert_fields(const proto_field *a, uint32_t na, const proto_field *b, uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        assert_str(a[i].name, b[i].name);
        assert_int_equal(a[i].ver, b[i].ver);
        if (!proto_value_eq(&a[i].value, &b[i].value))
            fail_msg("field %u (%.*s) differs", i, (int)a[i].name.len, a[i].name.ptr);
    }
}

static void assert_change(const proto_change *a, const proto_change *b, int pushed)
{
    assert_int_equal(a->seq, pushed ? b->seq : 0);
    assert_str(a->table, b->table);
    assert_memory_equal(a->id, b->id, 16);
    assert_int_equal(a->hlc, b->hlc);
    assert_fields(a->fields, a->n_fields, b->fields, b->n_fields);
}

static void test_request_round_trips_every_field(void **state)
{
    proto_change ch[3];
    proto_sync_req m = {0}, *d = NULL;
    gs_buf b;
    gs_err err;
    (void)state;

    rich_changes(5, &ch[0]);
    rich_changes(6, &ch[1]);
    rich_changes(UINT64_MAX, &ch[2]);
    m.version = UINT32_MAX;
    m.device = proto_cstr("hh-0042");
    m.cursor = INT64_MAX; /* the largest a request may carry (versions are int64) */
    m.low = 5;
    m.now = (uint64_t)1 << 63;
    m.pull_max = 77;
    m.changes = ch;
    m.n_changes = 3;
    buf_init(&b, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&b, &m), GS_OK);
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->version, UINT32_MAX);
    assert_str(d->device, m.device);
    assert_int_equal(d->cursor, INT64_MAX);
    assert_int_equal(d->low, 5);
    assert_int_equal(d->now, (uint64_t)1 << 63);
    assert_int_equal(d->pull_max, 77);
    assert_int_equal(d->n_changes, 3);
    for (int i = 0; i < 3; i++)
        assert_change(&d->changes[i], &ch[i], 1);
    /* decoding borrows: strings point into the input */
    assert_true(d->device.ptr >= b.ptr && d->device.ptr < b.ptr + b.len);
    assert_true(d->changes[2].fields[13].value.u.list.items[2].ptr > b.ptr);
    assert_non_null(d->arena.head);
    proto_sync_req_free(d);
    /* absent max decodes as 0 */
    m.pull_max = 0;
    m.n_changes = 0;
    buf_reset(&b);
    assert_int_equal(proto_encode_sync_req(&b, &m), GS_OK);
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->pull_max, 0);
    assert_int_equal(d->n_changes, 0);
    assert_null(d->changes);
    proto_sync_req_free(d);
    /* a cursor of 2^63 or more is refused: as an int64 it would be negative (issue 18) */
    m.cursor = (uint64_t)INT64_MAX + 1;
    buf_reset(&b);
    assert_int_equal(proto_encode_sync_req(&b, &m), GS_OK);
    d = NULL;
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_E_PROTO_LIMIT);
    assert_null(d);
    buf_free(&b);
}

static void test_response_round_trips_every_field(void **state)
{
    proto_change ch[2];
    proto_ack acks[3] = {
        {.seq = 1, .ok = 1, .version = UINT64_MAX},
        {.seq = 2, .ok = 1, .version = 9, .lost = RICH_FIELDS, .n_lost = N_RICH},
        {.seq = UINT64_MAX, .ok = 0, .err = {"out_of_scope", 12}, .msg = {"not your grid", 13}},
    };
    proto_sync_resp m = {0}, *d = NULL;
    gs_buf b;
    gs_err err;
    (void)state;

    rich_changes(0, &ch[0]);
    rich_changes(0, &ch[1]);
    ch[1].table = proto_cstr("care");
    m.version = 1;
    m.now = 12345;
    m.acks = acks;
    m.n_acks = 3;
    m.changes = ch;
    m.n_changes = 2;
    m.cursor = UINT64_MAX - 1;
    m.more = 1;
    buf_init(&b, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_resp(&b, &m), GS_OK);
    assert_int_equal(proto_decode_sync_resp(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->version, 1);
    assert_int_equal(d->now, 12345);
    assert_int_equal(d->n_acks, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d->acks[i].seq, acks[i].seq);
        assert_int_equal(d->acks[i].ok, acks[i].ok);
        assert_int_equal(d->acks[i].version, acks[i].version);
        assert_fields(d->acks[i].lost, d->acks[i].n_lost, acks[i].lost, acks[i].n_lost);
        assert_str(d->acks[i].err, acks[i].err);
        assert_str(d->acks[i].msg, acks[i].msg);
    }
    assert_int_equal(d->n_changes, 2);
    for (int i = 0; i < 2; i++)
        assert_change(&d->changes[i], &ch[i], 0);
    assert_int_equal(d->cursor, UINT64_MAX - 1);
    assert_int_equal(d->more, 1);
    proto_sync_resp_free(d);
    buf_free(&b);
}

/* Version 3's "ep": written and read back, required in version 3, never 0, absent from a
 * version 2 answer (an older client would call it unknown_field). */
static void test_response_epoch_of_version_3(void **state)
{
    proto_sync_resp m = {0}, *d = NULL;
    gs_buf b;
    gs_err err;
    static const uint8_t no_ep[] = {0x87, 0xa1, 'v', 0x03, 0xa3, 'n', 'o', 'w', 0x01,
                                    0xa3, 'a', 'c', 'k', 0x90, 0xa2, 'c', 'h', 0x90,
                                    0xa3, 'c', 'u', 'r', 0x00, 0xa4, 'm', 'o', 'r', 'e',
                                    0xc2, 0xa3, 'c', 'l', 'k', 0x01};
    static const uint8_t ep_zero[] = {0x88, 0xa1, 'v', 0x03, 0xa3, 'n', 'o', 'w', 0x01,
                                      0xa3, 'a', 'c', 'k', 0x90, 0xa2, 'c', 'h', 0x90,
                                      0xa3, 'c', 'u', 'r', 0x00, 0xa4, 'm', 'o', 'r', 'e',
                                      0xc2, 0xa3, 'c', 'l', 'k', 0x01, 0xa2, 'e', 'p', 0x00};
    (void)state;

    buf_init(&b, PROTO_MAX_BODY);
    m.version = 3;
    m.now = 1;
    m.clock_ms = 1;
    m.epoch = UINT64_MAX;
    assert_int_equal(proto_encode_sync_resp(&b, &m), GS_OK);
    assert_int_equal(proto_decode_sync_resp(b.ptr, b.len, &d, &err), GS_OK);
    assert_true(d->epoch == UINT64_MAX);
    proto_sync_resp_free(d);
    d = NULL;
    buf_reset(&b);
    m.epoch = 0;
    assert_int_equal(proto_encode_sync_resp(&b, &m), GS_E_PROTO_LIMIT);
    buf_reset(&b);
    m.version = 2; /* a version 2 answer has no "ep", whatever the struct holds */
    m.epoch = 5;
    assert_int_equal(proto_encode_sync_resp(&b, &m), GS_OK);
    assert_int_equal(proto_decode_sync_resp(b.ptr, b.len, &d, &err), GS_OK);
    assert_true(d->epoch == 0);
    proto_sync_resp_free(d);
    d = NULL;
    assert_int_equal(proto_decode_sync_resp(no_ep, sizeof(no_ep), &d, &err), GS_E_PROTO_MISSING);
    assert_int_equal(proto_decode_sync_resp(ep_zero, sizeof(ep_zero), &d, &err),
                     GS_E_PROTO_LIMIT);
    buf_free(&b);
}

static void test_error_round_trips(void **state)
{
    static const struct {
        const char *code, *msg;
        uint32_t min_v;
    } cases[] = {
        {"upgrade_required", "update the app", 2},
        {"too_large", "", 0},
        {"server", NULL, UINT32_MAX},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_error *d = NULL;
        gs_buf b;
        gs_err err;
        buf_init(&b, 4096);
        assert_int_equal(proto_encode_error(&b, cases[i].code, cases[i].msg, cases[i].min_v),
                         GS_OK);
        assert_int_equal(proto_decode_error(b.ptr, b.len, &d, &err), GS_OK);
        assert_true(proto_str_eq(d->code, cases[i].code));
        assert_true(proto_str_eq(d->msg, cases[i].msg ? cases[i].msg : ""));
        assert_int_equal(d->min_version, cases[i].min_v);
        proto_error_free(d);
        buf_free(&b);
    }
}

static void test_streaming_encoders_equal_whole_messages(void **state)
{
    proto_change ch[2];
    proto_ack acks[2] = {{.seq = 3, .ok = 1, .version = 4},
                         {.seq = 4, .ok = 0, .err = {"invalid", 7}, .msg = {"no", 2}}};
    proto_sync_req q = {.version = 1, .device = {"d", 1}, .cursor = 9, .low = 3, .now = 10,
                        .pull_max = 500, .changes = ch, .n_changes = 2};
    proto_sync_resp r = {.version = 1, .now = 11, .acks = acks, .n_acks = 2, .changes = ch,
                         .n_changes = 2, .cursor = 99, .more = 1};
    gs_buf whole, parts;
    (void)state;

    rich_changes(3, &ch[0]);
    rich_changes(4, &ch[1]);
    buf_init(&whole, PROTO_MAX_BODY);
    buf_init(&parts, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&whole, &q), GS_OK);
    assert_int_equal(proto_encode_sync_req_head(&parts, &q, 2), GS_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(proto_encode_change(&parts, &ch[i], PROTO_CH_PUSHED, q.version), GS_OK);
    assert_int_equal(whole.len, parts.len);
    assert_memory_equal(whole.ptr, parts.ptr, whole.len);

    buf_reset(&whole);
    buf_reset(&parts);
    assert_int_equal(proto_encode_sync_resp(&whole, &r), GS_OK);
    assert_int_equal(proto_encode_sync_resp_head(&parts, &r, 2), GS_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(proto_encode_ack(&parts, &acks[i], r.version), GS_OK);
    assert_int_equal(proto_encode_sync_resp_mid(&parts, 2), GS_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(proto_encode_change(&parts, &ch[i], PROTO_CH_PULLED, r.version), GS_OK);
    assert_int_equal(proto_encode_sync_resp_tail(&parts, &r), GS_OK);
    assert_int_equal(whole.len, parts.len);
    assert_memory_equal(whole.ptr, parts.ptr, whole.len);
    buf_free(&whole);
    buf_free(&parts);
}

/* ---- limits and edges ----------------------------------------------------------------------- */

/* A request of n changes, each {"deleted": [true, 0]}, built through the encoders. */
static void build_batch(gs_buf *b, uint32_t n)
{
    proto_field del = {{"deleted", 7}, {.type = PV_BOOL, .u.b = 1}, 0, 0};
    proto_change c = {.table = {"visit", 5}, .fields = &del, .n_fields = 1};
    proto_sync_req q = {.version = 1, .device = {"d", 1}, .low = 1};

    memcpy(c.id, ID_A, 16);
    assert_int_equal(proto_encode_sync_req_head(b, &q, n), GS_OK);
    for (uint32_t i = 0; i < n; i++) {
        c.seq = i + 1;
        assert_int_equal(proto_encode_change(b, &c, PROTO_CH_PUSHED, q.version), GS_OK);
    }
}

static void test_change_count_limit(void **state)
{
    proto_sync_req *d = NULL;
    gs_buf b;
    gs_err err;
    (void)state;

    buf_init(&b, PROTO_MAX_BODY);
    build_batch(&b, PROTO_MAX_CHANGES);
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->n_changes, PROTO_MAX_CHANGES);
    assert_int_equal(d->changes[PROTO_MAX_CHANGES - 1].seq, PROTO_MAX_CHANGES);
    proto_sync_req_free(d);
    d = NULL;
    buf_reset(&b);
    assert_int_equal(proto_encode_sync_req_head(&b, &(proto_sync_req){.version = 1,
                                                                       .device = {"d", 1}},
                                                PROTO_MAX_CHANGES + 1),
                     GS_E_PROTO_LIMIT);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_body_over_max_is_too_large(void **state)
{
    unsigned char *big = calloc(1, (size_t)PROTO_MAX_BODY + 1);
    proto_sync_req *d = (proto_sync_req *)(uintptr_t)0x1; /* must stay untouched */
    gs_err err;
    (void)state;

    assert_non_null(big);
    big[0] = 0x80;
    assert_int_equal(proto_decode_sync_req(big, (size_t)PROTO_MAX_BODY + 1, &d, &err),
                     GS_E_TOO_LARGE);
    assert_true(d == (proto_sync_req *)(uintptr_t)0x1);
    assert_int_equal(decode_rc(K_RESP, big, (size_t)PROTO_MAX_BODY + 1, &err), GS_E_TOO_LARGE);
    assert_int_equal(decode_rc(K_ERROR, big, (size_t)PROTO_MAX_BODY + 1, &err), GS_E_TOO_LARGE);
    /* exactly the limit is not too large (it is trailing bytes after an empty map) */
    assert_int_equal(decode_rc(K_REQ, big, PROTO_MAX_BODY, &err), GS_E_PROTO_TRAILING);
    free(big);
    assert_int_equal(decode_rc(K_REQ, NULL, 0, &err), GS_E_PROTO_TRUNCATED);
    assert_int_equal(decode_rc(K_REQ, NULL, 5, &err), GS_E_INVALID);
}

/* Arrays nested depth deep (then nil), directly through msgpack-c. */
static int msgpack_c_on_depth(size_t depth)
{
    unsigned char *p = malloc(depth + 1);
    msgpack_unpacked up;
    size_t off = 0;
    int r;

    memset(p, 0x91, depth);
    p[depth] = 0xc0;
    msgpack_unpacked_init(&up);
    r = msgpack_unpack_next(&up, (const char *)p, depth + 1, &off);
    msgpack_unpacked_destroy(&up);
    free(p);
    return r;
}

static void test_deep_nesting_msgpack_c_and_ours(void **state)
{
    gs_err err;
    (void)state;

    /* the fact behind the scan in codec.c: msgpack-c's parse stack holds 32 levels and it
     * calls anything deeper out of memory */
    assert_int_equal(msgpack_c_on_depth(32), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(msgpack_c_on_depth(33), MSGPACK_UNPACK_NOMEM_ERROR);
    assert_int_equal(msgpack_c_on_depth(100000), MSGPACK_UNPACK_NOMEM_ERROR);
    /* ours: a top map holding 5 more levels is fine as far as depth goes (then it is the
     * wrong shape); 6 more is too deep, at any size */
    for (size_t extra = 1; extra <= 40; extra++) {
        size_t len = 3 + extra + 1;
        unsigned char *p = malloc(len);
        int rc;
        memcpy(p, "\x81\xa1v", 3);
        memset(p + 3, 0x91, extra);
        p[3 + extra] = 0xc0;
        rc = decode_rc(K_REQ, p, len, &err);
        if (extra < PROTO_MAX_DEPTH)
            assert_int_equal(rc, GS_E_PROTO_MISSING); /* "dev" and the rest */
        else if (rc != GS_E_PROTO_DEPTH)
            fail_msg("%zu levels: %s (%s)", extra + 1, gs_rc_name(rc), err.msg);
        free(p);
    }
}

/* Issue 18, item 3: a pushed change's field map is read against the schema; the first name
 * that is no field of its table ends it (kept by name, nil value, for the merge's `invalid`),
 * and nothing after it is decoded: an invented field whose value would fail to decode (a map)
 * costs nothing. Pulled changes are not screened. */
static void test_decode_stops_at_unknown_field(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    proto_sync_req *req = NULL;
    gs_err err;
    static const uint8_t id[16] = {1, 2, 3, 4, 5, 6, 0x70, 8, 0x80, 10, 11, 12, 13, 14, 15, 16};
    (void)state;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "dev", 3);
    msgpack_pack_str_with_body(&pk, "d-a", 3);
    msgpack_pack_str_with_body(&pk, "cur", 3);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_str_with_body(&pk, "low", 3);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "now", 3);
    msgpack_pack_uint64(&pk, 1ull << 40);
    msgpack_pack_str_with_body(&pk, "ch", 2);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "t", 1);
    msgpack_pack_str_with_body(&pk, "resident", 8);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_bin_with_body(&pk, id, 16);
    msgpack_pack_str_with_body(&pk, "hlc", 3);
    msgpack_pack_uint64(&pk, 1ull << 40);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_str_with_body(&pk, "invented", 8);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 1); /* no field value is a map: decoding it would fail the request */
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_str_with_body(&pk, "grid", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "g1", 2);
    msgpack_pack_uint64(&pk, 0);
    /* unscreened (the wire codec, the vectors): the map value fails the request */
    assert_int_equal(proto_decode_sync_req(sb.data, sb.size, &req, &err), GS_E_PROTO_TYPE);
    if (proto_decode_sync_req_screened(sb.data, sb.size, &req, &err) != GS_OK)
        fail_msg("decode: %s", err.msg);
    assert_int_equal(req->n_changes, 1);
    assert_int_equal(req->changes[0].n_fields, 2);
    assert_true(proto_str_eq(req->changes[0].fields[1].name, "invented"));
    assert_int_equal(req->changes[0].fields[1].value.type, PV_NIL);
    assert_int_equal(schema_check_change(&req->changes[0], 1, &err), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "unknown field 'invented'"));
    proto_sync_req_free(req);
    msgpack_sbuffer_destroy(&sb);
}

static void test_error_messages_name_the_path(void **state)
{
    static const struct {
        const char *vector, *msg;
    } cases[] = {
        {"req_tags_int_item", "ch[0].f.tags[0][1]: expected str, got int"},
        {"req_base_negative", "ch[0].f.kind[1]: expected uint, got negative int"},
        {"req_id_15_bytes", "ch[0].id: expected bin 16, got bin 15"},
        {"req_missing_dev", "required key 'dev' is missing"},
        {"req_change_missing_hlc", "ch[0]: required key 'hlc' is missing"},
        {"req_unknown_change_key", "ch[0].base: unknown key"},
        {"req_dup_field", "ch[0].f.kind: field given twice"},
        {"resp_rejected_ack_with_ver", "ack[0].ver: not sent when ok is false"},
        {"resp_pulled_change_with_seq", "ch[0].seq: not sent in a pulled change"},
        {"req_v_0", "v: protocol version 0 is older than the oldest supported, 1"},
        {"req_seq_below_low", "ch[0]: seq 3 is below low 4, so it is already settled"},
        {"req_value_map", "ch[0].f.kind[0]: expected a value (nil, bool, int, float, str, "
                          "bin 16 or array of str), got map"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        unsigned char *p = load_msgpack("invalid", cases[i].vector, &len);
        gs_err err;
        gs_err_clear(&err);
        assert_int_not_equal(decode_rc(kind_of(cases[i].vector), p, len, &err), GS_OK);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("%s: message '%s', wanted '%s'", cases[i].vector, err.msg, cases[i].msg);
        free(p);
    }
}

static void test_control_bytes_in_keys_do_not_reach_messages(void **state)
{
    /* {"v\n\x1b[31m": 1}: an unknown key with a newline and an escape */
    static const unsigned char p[] = {0x81, 0xa7, 'v', '\n', 0x1b, '[', '3', '1', 'm', 0x01};
    gs_err err;
    (void)state;

    assert_int_equal(decode_rc(K_REQ, p, sizeof(p), &err), GS_E_PROTO_UNKNOWN);
    assert_string_equal(err.msg, "v??[31m: unknown key");
}

/* ---- encoders refuse what decoders refuse ------------------------------------------------- */

static void test_encoders_refuse_invalid_messages(void **state)
{
    proto_field bad_bin = {{"ref", 3}, {.type = PV_BIN, .u.s = {REF_B, 15}}, 0, 0};
    proto_field bad_type = {{"x", 1}, {.type = (proto_vtype)42}, 0, 0};
    proto_field long_str = {{"s", 1}, {.type = PV_STR, .u.s = {NULL, PROTO_MAX_STR + 1}}, 0, 0};
    proto_str many[PROTO_MAX_TAGS + 1];
    proto_field many_tags = {
        {"tags", 4}, {.type = PV_STRLIST, .u.list = {many, PROTO_MAX_TAGS + 1}}, 0, 0};
    proto_field dup[2] = {RICH_FIELDS[1], RICH_FIELDS[1]};
    char *text = malloc(PROTO_MAX_STR + 1);
    struct {
        const char *what;
        proto_field *f;
        uint32_t n;
        uint64_t seq;
        int rc;
    } cases[] = {
        {"bin of 15 bytes", &bad_bin, 1, 1, GS_E_PROTO_TYPE},
        {"unknown value type", &bad_type, 1, 1, GS_E_PROTO_TYPE},
        {"4001-byte str", &long_str, 1, 1, GS_E_PROTO_LIMIT},
        {"33 tags", &many_tags, 1, 1, GS_E_PROTO_LIMIT},
        {"no fields", RICH_FIELDS, 0, 1, GS_E_PROTO_LIMIT},
        {"65 fields", RICH_FIELDS, PROTO_MAX_FIELDS + 1, 1, GS_E_PROTO_LIMIT},
        {"a field twice", dup, 2, 1, GS_E_PROTO},
        {"seq 0", RICH_FIELDS, 1, 0, GS_E_PROTO_LIMIT},
    };
    gs_buf b;
    (void)state;

    memset(text, 'x', PROTO_MAX_STR + 1);
    long_str.value.u.s.ptr = text;
    for (size_t i = 0; i < PROTO_MAX_TAGS + 1; i++)
        many[i] = proto_cstr("t");
    buf_init(&b, PROTO_MAX_BODY);
    assert_int_equal(buf_adds(&b, "prefix"), GS_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_change c = {.seq = cases[i].seq, .table = {"visit", 5}, .fields = cases[i].f,
                          .n_fields = cases[i].n};
        proto_sync_req q = {.version = 1, .device = {"d", 1}, .low = 1, .changes = &c,
                            .n_changes = 1};
        int rc = proto_encode_sync_req(&b, &q);
        if (rc != cases[i].rc)
            fail_msg("%s: %s, wanted %s", cases[i].what, gs_rc_name(rc), gs_rc_name(cases[i].rc));
        /* the buffer is as it was */
        assert_int_equal(b.len, 6);
        assert_string_equal(b.ptr, "prefix");
    }
    {
        proto_change c[2];
        proto_sync_req q = {.version = 1, .device = {"d", 1}, .low = 1, .changes = c,
                            .n_changes = 2};
        rich_changes(4, &c[0]);
        rich_changes(4, &c[1]);
        assert_int_equal(proto_encode_sync_req(&b, &q), GS_E_PROTO); /* seq must rise */
        c[1].seq = 5;
        q.low = 5;
        assert_int_equal(proto_encode_sync_req(&b, &q), GS_E_PROTO); /* 4 is below low */
        q.low = 4;
        q.device = proto_cstr("");
        assert_int_equal(proto_encode_sync_req(&b, &q), GS_E_PROTO_LIMIT);
        q.device = proto_cstr("d");
        q.version = 0;
        assert_int_equal(proto_encode_sync_req(&b, &q), GS_E_PROTO_VERSION);
        assert_int_equal(b.len, 6);
    }
    assert_int_equal(proto_encode_error(&b, "", "x", 0), GS_E_PROTO_LIMIT);
    assert_int_equal(proto_encode_error(&b, NULL, "x", 0), GS_E_PROTO_LIMIT);
    assert_int_equal(proto_encode_ack(&b, &(proto_ack){.seq = 0, .ok = 1}, PROTO_VERSION), GS_E_PROTO_LIMIT);
    assert_int_equal(b.len, 6);
    buf_free(&b);
    free(text);
}

/* A change whose fields carry different clocks: version 2 writes each field's own where it
 * differs, version 1 (which has one clock per change) the greatest, and no ct or fix. */
static void test_version_forms_of_field_clocks(void **state)
{
    proto_field f[2] = {{{"kind", 4}, {.type = PV_STR, .u.s = {"routine", 7}}, 3, 100},
                        {{"notes", 5}, {.type = PV_STR, .u.s = {"x", 1}}, 3, 300}};
    proto_change c = {.seq = 9, .table = {"visit", 5}, .hlc = 100, .fields = f, .n_fields = 2,
                      .created = 50};
    proto_sync_req q = {.version = 2, .device = {"d", 1}, .low = 9, .changes = &c,
                        .n_changes = 1};
    proto_sync_resp r = {.version = 1, .fixes = &c, .n_fixes = 1};
    proto_sync_req *d = NULL;
    gs_buf b;
    gs_err err;
    (void)state;

    memcpy(c.id, ID_A, 16);
    buf_init(&b, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&b, &q), GS_OK);
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->changes[0].hlc, 100);
    assert_int_equal(d->changes[0].fields[0].hlc, 100); /* none sent: the change's */
    assert_int_equal(d->changes[0].fields[1].hlc, 300);
    assert_int_equal(d->changes[0].created, 0);          /* never in a pushed change */
    proto_sync_req_free(d);

    buf_reset(&b);
    q.version = 1;
    assert_int_equal(proto_encode_sync_req(&b, &q), GS_OK);
    assert_int_equal(proto_decode_sync_req(b.ptr, b.len, &d, &err), GS_OK);
    assert_int_equal(d->changes[0].hlc, 300); /* version 1: the latest edit's clock */
    assert_int_equal(d->changes[0].fields[0].hlc, 300);
    assert_int_equal(d->changes[0].fields[1].hlc, 300);
    proto_sync_req_free(d);

    buf_reset(&b);
    assert_int_equal(proto_encode_sync_resp(&b, &r), GS_E_PROTO_UNKNOWN); /* no fix in v1 */
    assert_int_equal(b.len, 0);
    assert_int_equal(proto_encode_change(&b, &c, PROTO_CH_STATE, 1), GS_E_PROTO_LIMIT);
    buf_free(&b);
}

static void test_encoder_respects_the_buffer_cap(void **state)
{
    proto_change c;
    proto_sync_req q = {.version = 1, .device = {"d", 1}, .low = 1, .changes = &c,
                        .n_changes = 1};
    gs_buf b;
    size_t need;
    (void)state;

    rich_changes(1, &c);
    buf_init(&b, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&b, &q), GS_OK);
    need = b.len;
    buf_free(&b);
    for (size_t cap = 0; cap < need; cap += 7) {
        buf_init(&b, cap);
        assert_int_equal(proto_encode_sync_req(&b, &q), GS_E_TOO_LARGE);
        assert_int_equal(b.len, 0);
        buf_free(&b);
    }
    buf_init(&b, need);
    assert_int_equal(proto_encode_sync_req(&b, &q), GS_OK);
    buf_free(&b);
}

/* ---- allocation failure ------------------------------------------------------------------- */

static void test_allocation_failure_while_decoding(void **state)
{
    static const char *const names[] = {"req_batch", "req_limits_values", "resp_acks",
                                        "resp_pull", "error_auth"};
    (void)state;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len;
        unsigned char *p = load_msgpack("valid", names[i], &len);
        long n;
        int rc = GS_E_NOMEM;
        for (n = 0; rc == GS_E_NOMEM && n < 1000; n++) {
            gs_err err;
            gs_alloc_fail_after(n);
            rc = decode_rc(kind_of(names[i]), p, len, &err);
            gs_alloc_fail_after(-1);
            if (rc != GS_OK && rc != GS_E_NOMEM)
                fail_msg("%s with allocation %ld failing: %s", names[i], n, gs_rc_name(rc));
        }
        assert_int_equal(rc, GS_OK);
        assert_true(n > 1); /* at least one failure was injected and survived */
        free(p);
    }
    /* many changes need more than one arena chunk */
    {
        gs_buf b;
        long n;
        int rc = GS_E_NOMEM;
        buf_init(&b, PROTO_MAX_BODY);
        build_batch(&b, 3000);
        for (n = 0; rc == GS_E_NOMEM; n++) {
            gs_err err;
            gs_alloc_fail_after(n);
            rc = decode_rc(K_REQ, b.ptr, b.len, &err);
            gs_alloc_fail_after(-1);
        }
        assert_int_equal(rc, GS_OK);
        assert_true(n > 3);
        buf_free(&b);
    }
}

static void test_allocation_failure_while_encoding(void **state)
{
    proto_change c[2];
    proto_sync_req q = {.version = 1, .device = {"d", 1}, .low = 1, .changes = c,
                        .n_changes = 2};
    long n;
    int rc = GS_E_NOMEM;
    (void)state;

    rich_changes(1, &c[0]);
    rich_changes(2, &c[1]);
    for (n = 0; rc == GS_E_NOMEM; n++) {
        gs_buf b;
        buf_init(&b, PROTO_MAX_BODY);
        gs_alloc_fail_after(n);
        rc = proto_encode_sync_req(&b, &q);
        gs_alloc_fail_after(-1);
        if (rc == GS_E_NOMEM)
            assert_int_equal(b.len, 0);
        buf_free(&b);
    }
    assert_int_equal(rc, GS_OK);
    assert_true(n > 1);
}

/* ---- value helpers ------------------------------------------------------------------------ */

static void test_value_helpers(void **state)
{
    proto_str ab = {"ab", 2}, ab2 = {"abx", 2};
    proto_value a = {.type = PV_REAL, .u.r = 0.0}, b = {.type = PV_REAL, .u.r = -0.0};
    proto_value i1 = {.type = PV_INT, .u.i = 1}, r1 = {.type = PV_REAL, .u.r = 1.0};
    proto_value s = {.type = PV_STR, .u.s = {"ab", 2}}, bin = {.type = PV_BIN, .u.s = {"ab", 2}};
    proto_value l1 = {.type = PV_STRLIST, .u.list = {TAGS, 3}};
    proto_value l2 = {.type = PV_STRLIST, .u.list = {TAGS, 2}};
    proto_value nan1 = {.type = PV_REAL, .u.r = NAN};
    proto_value t1 = {.type = PV_BOOL, .u.b = 1}, t2 = {.type = PV_BOOL, .u.b = 2};
    (void)state;

    assert_true(proto_str_eq(ab, "ab"));
    assert_true(proto_str_eq(ab2, "ab"));
    assert_false(proto_str_eq(ab, "abc"));
    assert_false(proto_str_eq(ab, "a"));
    assert_true(proto_str_eq((proto_str){NULL, 0}, ""));
    assert_true(proto_str_eq((proto_str){NULL, 0}, NULL));
    assert_int_equal(proto_cstr("hello").len, 5);
    assert_int_equal(proto_cstr(NULL).len, 0);
    assert_true(proto_value_eq(&a, &b));
    assert_false(proto_value_eq(&i1, &r1));
    assert_false(proto_value_eq(&s, &bin));
    assert_true(proto_value_eq(&l1, &l1));
    assert_false(proto_value_eq(&l1, &l2));
    assert_true(proto_value_eq(&nan1, &nan1));
    assert_true(proto_value_eq(&t1, &t2));
}

/* Tags are a set: neither order nor a repeated tag makes two values differ (the schema
 * refuses repeats, so no stored value has one); another set of tags does. */
static void test_value_eq_tag_lists_are_sets(void **state)
{
    proto_str ab[] = {{"lives_alone", 11}, {"elderly", 7}};
    proto_str ba[] = {{"elderly", 7}, {"lives_alone", 11}};
    proto_str aa[] = {{"lives_alone", 11}, {"lives_alone", 11}};
    proto_str a[] = {{"lives_alone", 11}};
    proto_value x, y;
    (void)state;

    x.type = y.type = PV_STRLIST;
    x.u.list.items = ab, x.u.list.n = 2;
    y.u.list.items = ba, y.u.list.n = 2;
    assert_true(proto_value_eq(&x, &y));
    y.u.list.items = aa;
    assert_false(proto_value_eq(&x, &y));
    assert_false(proto_value_eq(&y, &x));
    y.u.list.items = a, y.u.list.n = 1;
    assert_false(proto_value_eq(&x, &y));
    x.u.list.items = aa; /* {lives_alone, lives_alone} is {lives_alone} */
    assert_true(proto_value_eq(&x, &y));
    assert_true(proto_value_eq(&y, &x));
    x.u.list.items = ab;
    y.type = PV_STR;
    y.u.s = a[0];
    assert_false(proto_value_eq(&x, &y));
}

/* The rejection codes PROTOCOL.md 2.5 lists, each named and read back as itself. */
static void test_reject_codes(void **state)
{
    static const char *const documented[] = {"invalid", "clock_ahead", "out_of_scope",
                                             "not_found", "immutable", "read_only",
                                             "transition", "id_taken"};
    (void)state;
    assert_int_equal(PROTO_REJ_COUNT - 1, sizeof(documented) / sizeof(documented[0]));
    for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++) {
        proto_reject r = proto_reject_parse(proto_cstr(documented[i]));
        assert_int_not_equal(r, PROTO_REJ_NONE);
        assert_string_equal(proto_reject_name(r), documented[i]);
    }
    assert_int_equal(proto_reject_parse(proto_cstr("over_quota")), PROTO_REJ_NONE);
    assert_int_equal(proto_reject_parse(proto_cstr("")), PROTO_REJ_NONE);
    assert_int_equal(proto_reject_parse(proto_cstr("invalidx")), PROTO_REJ_NONE);
    assert_string_equal(proto_reject_name(PROTO_REJ_NONE), "");
    assert_string_equal(proto_reject_name(PROTO_REJ_COUNT), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_decode_and_encode_exactly),
        cmocka_unit_test(test_lax_vectors_decode_to_their_meaning),
        cmocka_unit_test(test_invalid_vectors_fail_with_their_code),
        cmocka_unit_test(test_vectors_and_prefixes_against_guard_page),
        cmocka_unit_test(test_request_round_trips_every_field),
        cmocka_unit_test(test_response_round_trips_every_field),
        cmocka_unit_test(test_response_epoch_of_version_3),
        cmocka_unit_test(test_error_round_trips),
        cmocka_unit_test(test_streaming_encoders_equal_whole_messages),
        cmocka_unit_test(test_change_count_limit),
        cmocka_unit_test(test_body_over_max_is_too_large),
        cmocka_unit_test(test_deep_nesting_msgpack_c_and_ours),
        cmocka_unit_test(test_error_messages_name_the_path),
        cmocka_unit_test(test_control_bytes_in_keys_do_not_reach_messages),
        cmocka_unit_test(test_encoders_refuse_invalid_messages),
        cmocka_unit_test(test_version_forms_of_field_clocks),
        cmocka_unit_test(test_encoder_respects_the_buffer_cap),
        cmocka_unit_test(test_allocation_failure_while_decoding),
        cmocka_unit_test(test_allocation_failure_while_encoding),
        cmocka_unit_test(test_value_helpers),
        cmocka_unit_test(test_value_eq_tag_lists_are_sets),
        cmocka_unit_test(test_reject_codes),
        cmocka_unit_test(test_decode_stops_at_unknown_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
