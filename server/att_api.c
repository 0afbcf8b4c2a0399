/*
 * att_api.c: see att_api.h. One request:
 *
 *   target parsed (proto/attwire.c)  method  device token
 *   ---- lock --- the attachment record read: live, of the device's grids, names H ----
 *   PUT: type, chunk size, range, quota (under the lock)  ->  blobs_write (no store lock)
 *        complete: ---- lock, group flush --- index row --- commit ---- State
 *   GET: State, or bytes of a complete blob
 *
 * The blob write happens outside the store lock so that records never wait behind a chunk
 * and its fsync; blobs.c serialises writes among themselves.
 */
#define _POSIX_C_SOURCE 200809L
#include "att_api.h"

#include "common/alloc.h"
#include "common/arena.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/uuid.h"
#include "group.h"
#include "http.h"
#include "proto/attwire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int slice_is(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static int slice_starts(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len >= n && memcmp(s.ptr, lit, n) == 0;
}

int att_api_owns(srv_slice path)
{
    return slice_starts(path, ATTWIRE_PREFIX);
}

int att_admin_owns(srv_slice path)
{
    return slice_is(path, "/v1/admin/attachments") ||
           slice_starts(path, "/v1/admin/attachments/");
}

static void fail(srv_response *resp, int status, const char *code, const char *msg)
{
    http_error_response(resp, status, code, msg, 1);
}

/* The media type before any parameters is type (case-insensitive). */
static int type_is(srv_slice s, const char *type)
{
    size_t n = 0;
    while (n < s.len && s.ptr[n] != ';' && s.ptr[n] != ' ')
        n++;
    return s.ptr && http_slice_ieq((srv_slice){s.ptr, n}, type);
}

/* What the attachment record says about hash H for this device. */
typedef struct att_owner {
    uint64_t size;                 /* the blob's size */
    char grid[GS_LIMIT_NAME + 1];  /* the record's grid */
    int thumb;                     /* 1: H is the record's thumbnail */
} att_owner;

static int str_is(const proto_value *v, const char *s, size_t n)
{
    return v && v->type == PV_STR && v->u.s.len == n && memcmp(v->u.s.ptr, s, n) == 0;
}

/* GS_OK with *o when the live attachment record att of one of dev's grids names hex;
 * GS_E_NOTFOUND otherwise (one answer for "no such record", "not yours" and "another
 * hash": a device learns nothing of other grids). Takes the lock. */
static int owner_find(att_env *env, const store_device *dev, const attwire_req *r,
                      att_owner *o, gs_err *err)
{
    uint8_t id[UUID_LEN];
    gs_arena a;
    store_rec rec;
    const proto_value *sum, *thumb, *size;
    int rc, mine = 0;

    if (uuid_parse(r->att, strlen(r->att), id))
        return GS_E_NOTFOUND;
    arena_init(&a, 1u << 20);
    pthread_mutex_lock(env->lock);
    rc = store_rec_get(env->st, "attachment", id, &a, &rec, err);
    pthread_mutex_unlock(env->lock);
    if (rc)
        goto out;
    for (size_t i = 0; i < dev->n_grids; i++)
        if (strcmp(dev->grids[i], rec.meta.grid) == 0)
            mine = 1;
    rc = GS_E_NOTFOUND;
    if (!mine || rec.meta.deleted)
        goto out;
    sum = store_rec_value(&rec, "sha256");
    thumb = store_rec_value(&rec, "thumb_sha256");
    memset(o, 0, sizeof(*o));
    if (str_is(sum, r->sha256, 64)) {
        size = store_rec_value(&rec, "bytes");
    } else if (str_is(thumb, r->sha256, 64)) {
        size = store_rec_value(&rec, "thumb_bytes");
        o->thumb = 1;
    } else {
        goto out;
    }
    if (!size || size->type != PV_INT || size->u.i <= 0 || size->u.i > ATTWIRE_BLOB_MAX)
        goto out;
    o->size = (uint64_t)size->u.i;
    snprintf(o->grid, sizeof(o->grid), "%s", rec.meta.grid);
    rc = GS_OK;
out:
    arena_free(&a);
    return rc;
}

static int state_answer(srv_response *resp, uint64_t off, uint64_t size, int done)
{
    attwire_state s = {off, size, done};

    buf_reset(&resp->body);
    if (attwire_encode_state(&resp->body, &s)) {
        fail(resp, 500, "server", "cannot encode the state");
        return GS_E_NOMEM;
    }
    resp->status = 200;
    resp->content_type = PROTO_CONTENT_TYPE;
    return GS_OK;
}

/* Indexes the complete blob hex (idempotent). */
static int index_blob(att_env *env, const char *hex, const att_owner *o, const char *device,
                      gs_err *err)
{
    store_att_blob b;
    int rc;

    memset(&b, 0, sizeof(b));
    snprintf(b.sha256, sizeof(b.sha256), "%s", hex);
    b.size = (int64_t)o->size;
    snprintf(b.device, sizeof(b.device), "%s", device);
    snprintf(b.grid, sizeof(b.grid), "%s", o->grid);
    b.created_ms = (int64_t)hlc_wall_ms(NULL);
    pthread_mutex_lock(env->lock);
    if (env->group)
        group_flush(env->group);
    rc = store_begin(env->st, err);
    if (rc == GS_OK) {
        rc = store_att_put(env->st, &b, err);
        if (rc == GS_OK)
            rc = store_commit(env->st, err);
        if (rc)
            store_rollback(env->st);
    }
    pthread_mutex_unlock(env->lock);
    return rc;
}

/* The quota refusal, or GS_OK when the blob fits (takes the lock). */
static int quota_check(att_env *env, const store_device *dev, const att_owner *o,
                       srv_response *resp, gs_err *err)
{
    int64_t used_dev = 0, used_grid = 0;
    char msg[200];
    int rc;

    if (!env->quota_device && !env->quota_grid)
        return GS_OK;
    pthread_mutex_lock(env->lock);
    rc = store_att_usage(env->st, dev->id, o->grid, &used_dev, &used_grid, err);
    pthread_mutex_unlock(env->lock);
    if (rc) {
        fail(resp, 500, "server", "server fault: try again later");
        return rc;
    }
    if (env->quota_device && (uint64_t)used_dev + o->size > env->quota_device) {
        snprintf(msg, sizeof(msg),
                 "this device's attachment quota is full (%lld of %llu bytes used, this one "
                 "needs %llu): ask the admin",
                 (long long)used_dev, (unsigned long long)env->quota_device,
                 (unsigned long long)o->size);
        fail(resp, 507, "quota_device", msg);
        return GS_E_TOO_LARGE;
    }
    if (env->quota_grid && (uint64_t)used_grid + o->size > env->quota_grid) {
        snprintf(msg, sizeof(msg),
                 "grid %.64s's attachment quota is full (%lld of %llu bytes used, this one "
                 "needs %llu): ask the admin",
                 o->grid, (long long)used_grid, (unsigned long long)env->quota_grid,
                 (unsigned long long)o->size);
        fail(resp, 507, "quota_grid", msg);
        return GS_E_TOO_LARGE;
    }
    return GS_OK;
}

static void handle_put(att_env *env, const srv_request *req, srv_response *resp,
                       const store_device *dev, const attwire_req *r, const att_owner *o)
{
    uint64_t committed = 0;
    int done = 0, rc;
    gs_err err;

    gs_err_clear(&err);
    if (!type_is(req->content_type, ATTWIRE_OCTETS)) {
        fail(resp, 415, "content_type", "a chunk's body must be " ATTWIRE_OCTETS);
        return;
    }
    if (req->content_encoding.len) {
        fail(resp, 415, "content_encoding", "chunks are sent as they are, without deflate");
        return;
    }
    if (!r->has_offset) {
        fail(resp, 400, "malformed", "a PUT needs offset=");
        return;
    }
    if (req->body_len == 0) {
        fail(resp, 400, "malformed", "a chunk has at least one byte");
        return;
    }
    if (req->body_len > ATTWIRE_CHUNK) {
        fail(resp, 413, "too_large", "a chunk has at most 65536 bytes");
        return;
    }
    if (r->offset > o->size || req->body_len > o->size - r->offset) {
        fail(resp, 416, "range", "the chunk goes beyond the end of the attachment");
        return;
    }
    rc = blobs_stat(env->b, r->sha256, &committed, &done, &err);
    if (rc == GS_OK && done) {
        /* stored once: the content is there already (maybe from another device) */
        if (index_blob(env, r->sha256, o, dev->id, &err) == GS_OK)
            state_answer(resp, committed, committed, 1);
        else
            fail(resp, 500, "server", "server fault: try again later");
        return;
    }
    if (rc == GS_OK && quota_check(env, dev, o, resp, &err) != GS_OK)
        return;
    if (rc == GS_OK)
        rc = blobs_write(env->b, r->sha256, o->size, r->offset, req->body, req->body_len,
                         &committed, &done, &err);
    switch (rc) {
    case GS_OK:
        break;
    case GS_E_STATE:
        fail(resp, 409, "offset", err.msg);
        return;
    case GS_E_INVALID:
        fail(resp, 416, "range", err.msg);
        return;
    case GS_E_CRYPTO:
        log_warn(env->lg, "attachment %.16s from %s: %s", r->sha256, dev->id, err.msg);
        fail(resp, 422, "hash", err.msg);
        return;
    default:
        log_error(env->lg, "attachment %.16s: %s", r->sha256, err.msg);
        fail(resp, 500, "server", "server fault: try again later");
        return;
    }
    if (done && index_blob(env, r->sha256, o, dev->id, &err) != GS_OK) {
        log_error(env->lg, "attachment %.16s: indexing: %s", r->sha256, err.msg);
        fail(resp, 500, "server", "server fault: try again later");
        return;
    }
    state_answer(resp, committed, o->size, done);
}

static void handle_get(att_env *env, srv_response *resp, const store_device *dev,
                       const attwire_req *r, const att_owner *o)
{
    uint64_t committed = 0, size = 0;
    size_t max = ATTWIRE_CHUNK;
    int done = 0, rc;
    gs_err err;

    gs_err_clear(&err);
    if (!r->has_offset) { /* where an upload stands */
        rc = blobs_stat(env->b, r->sha256, &committed, &done, &err);
        if (rc == GS_OK && done)
            rc = index_blob(env, r->sha256, o, dev->id, &err);
        if (rc) {
            log_error(env->lg, "attachment %.16s: %s", r->sha256, err.msg);
            fail(resp, 500, "server", "server fault: try again later");
            return;
        }
        state_answer(resp, committed > o->size ? 0 : committed, o->size, done);
        return;
    }
    if (r->has_length)
        max = r->length > ATTWIRE_GET_MAX ? ATTWIRE_GET_MAX : (size_t)r->length;
    if (r->offset > o->size) {
        fail(resp, 416, "range", "offset is beyond the end of the attachment");
        return;
    }
    buf_reset(&resp->body);
    rc = blobs_read(env->b, r->sha256, r->offset, max, &resp->body, &size, &err);
    if (rc == GS_E_NOTFOUND) {
        fail(resp, 404, "not_stored", "the server does not hold these bytes yet (the device "
                                      "that made the attachment has not sent them)");
        return;
    }
    if (rc == GS_E_INVALID) {
        fail(resp, 416, "range", err.msg);
        return;
    }
    if (rc) {
        log_error(env->lg, "attachment %.16s: %s", r->sha256, err.msg);
        fail(resp, 500, "server", "server fault: try again later");
        return;
    }
    resp->status = 200;
    resp->content_type = ATTWIRE_OCTETS;
    snprintf(resp->extra_headers, sizeof(resp->extra_headers),
             "Cache-Control: private, max-age=31536000, immutable\r\n");
}

/* Target, method, token: GS_OK with *r and *dev, else resp holds the refusal. */
static int admit(att_env *env, const srv_request *req, srv_response *resp, attwire_req *r,
                 store_device *dev)
{
    const char *why = "malformed";
    int rc = attwire_parse(req->path.ptr, req->path.len, req->query.ptr, req->query.len, r,
                           &why);

    if (rc) {
        fail(resp, rc == GS_E_NOTFOUND ? 404 : 400, rc == GS_E_NOTFOUND ? "not_found" : "malformed",
             rc == GS_E_NOTFOUND ? "no such path" : why);
        return rc;
    }
    if (!slice_is(req->method, "PUT") && !slice_is(req->method, "GET") &&
        !slice_is(req->method, "HEAD")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET, HEAD, PUT\r\n");
        fail(resp, 405, "method", "use PUT to send a chunk, GET for the state or the bytes");
        return GS_E_INVALID;
    }
    rc = env->device_auth(env->auth_ud, req, dev);
    if (rc == GS_E_AUTH) {
        fail(resp, 401, "auth", "no valid device token: re-enrol this device with the admin");
        return rc;
    }
    if (rc) {
        fail(resp, 500, "server", "server fault: try again later");
        return rc;
    }
    snprintf(resp->log_note, sizeof(resp->log_note), "dev=%s att=%.12s off=%llu", dev->id,
             r->sha256, (unsigned long long)r->offset);
    return GS_OK;
}

void att_api_handle(att_env *env, const srv_request *req, srv_response *resp)
{
    store_device *dev = gs_malloc(sizeof(*dev));
    attwire_req r;
    att_owner o;
    gs_err err;
    int rc;

    resp->status = 500;
    if (!dev) {
        fail(resp, 500, "server", "out of memory");
        return;
    }
    gs_err_clear(&err);
    if (admit(env, req, resp, &r, dev) != GS_OK)
        goto out;
    rc = owner_find(env, dev, &r, &o, &err);
    if (rc == GS_E_NOTFOUND) {
        fail(resp, 404, "no_attachment",
             "no live attachment record of this device's grids names these bytes (att and "
             "the hash must match a synced attachment: sync the records first)");
        goto out;
    }
    if (rc) {
        log_error(env->lg, "attachment record lookup: %s", err.msg);
        fail(resp, 500, "server", "server fault: try again later");
        goto out;
    }
    if (slice_is(req->method, "PUT"))
        handle_put(env, req, resp, dev, &r, &o);
    else
        handle_get(env, resp, dev, &r, &o);
out:
    gs_free(dev);
}

int att_api_head_check(att_env *env, const srv_request *req, srv_response *resp,
                       size_t *max_body)
{
    store_device *dev = gs_malloc(sizeof(*dev));
    attwire_req r;
    int rc;

    if (!dev) {
        fail(resp, 500, "server", "out of memory");
        return 1;
    }
    rc = admit(env, req, resp, &r, dev);
    gs_free(dev);
    if (rc)
        return 1;
    resp->log_note[0] = '\0';
    *max_body = ATTWIRE_CHUNK;
    return 0;
}

/* ---- garbage collection ---------------------------------------------------------------- */

/* The hashes live attachment records name, sorted. */
typedef struct live_set {
    char (*h)[65];   /* entries */
    size_t n, cap;   /* used, allocated */
    int nomem;       /* an allocation failed */
} live_set;

static void live_add(live_set *ls, const proto_value *v)
{
    if (!v || v->type != PV_STR || v->u.s.len != 64)
        return;
    if (ls->n == ls->cap) {
        size_t ncap = ls->cap ? ls->cap * 2 : 256;
        void *p = gs_realloc(ls->h, ncap * sizeof(*ls->h));
        if (!p) {
            ls->nomem = 1;
            return;
        }
        ls->h = p;
        ls->cap = ncap;
    }
    memcpy(ls->h[ls->n], v->u.s.ptr, 64);
    ls->h[ls->n][64] = '\0';
    ls->n++;
}

static int live_cb(void *ud, const uint8_t id[16], const store_rec *r)
{
    live_set *ls = ud;
    (void)id;
    if (!r->meta.deleted) {
        live_add(ls, store_rec_value(r, "sha256"));
        live_add(ls, store_rec_value(r, "thumb_sha256"));
    }
    return ls->nomem ? GS_E_NOMEM : GS_OK;
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, 64);
}

static int live_has(const live_set *ls, const char *hex)
{
    return ls->n && bsearch(hex, ls->h, ls->n, sizeof(*ls->h), cmp_hash) != NULL;
}

typedef struct dead_list {
    const live_set *live;  /* what stays */
    store_att_blob *rows;  /* what goes */
    size_t n, cap;         /* used, allocated */
    uint64_t kept;         /* rows that stay */
} dead_list;

static int dead_cb(void *ud, const store_att_blob *b)
{
    dead_list *d = ud;

    if (live_has(d->live, b->sha256)) {
        d->kept++;
        return GS_OK;
    }
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 64;
        void *p = gs_realloc(d->rows, ncap * sizeof(*d->rows));
        if (!p)
            return GS_E_NOMEM;
        d->rows = p;
        d->cap = ncap;
    }
    d->rows[d->n++] = *b;
    return GS_OK;
}

/* A part in ROOT/tmp of a hash no live record names is an abandoned upload. */
static int part_cb(void *ud, const char *hex)
{
    const live_set *ls = ud;
    return live_has(ls, hex) ? 0 : 1;
}

int att_gc(att_env *env, att_gc_stats *out, gs_err *err)
{
    live_set ls;
    dead_list dl;
    gs_arena a;
    int64_t after = 0;
    uint32_t n = 0;
    int rc = GS_OK;

    memset(&ls, 0, sizeof(ls));
    memset(&dl, 0, sizeof(dl));
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(env->lock);
    if (env->group)
        group_flush(env->group);
    do {
        arena_init(&a, 8u << 20);
        rc = store_rec_scan(env->st, "attachment", &after, 1000, &a, live_cb, &ls, &n, err);
        arena_free(&a);
    } while (rc == GS_OK && n > 0);
    if (rc == GS_E_NOMEM)
        gs_err_set(err, rc, "out of memory listing the attachments");
    if (rc == GS_OK) {
        qsort(ls.h, ls.n, sizeof(*ls.h), cmp_hash);
        dl.live = &ls;
        rc = store_att_each(env->st, dead_cb, &dl, err);
    }
    if (rc == GS_OK && dl.n) {
        rc = store_begin(env->st, err);
        for (size_t i = 0; i < dl.n && rc == GS_OK; i++)
            rc = store_att_del(env->st, dl.rows[i].sha256, err);
        if (rc == GS_OK)
            rc = store_commit(env->st, err);
        if (rc)
            store_rollback(env->st);
    }
    pthread_mutex_unlock(env->lock);
    /* the index rows are gone: a file left by a failure here is only unused space */
    for (size_t i = 0; i < dl.n && rc == GS_OK; i++) {
        blobs_remove(env->b, dl.rows[i].sha256, NULL);
        out->removed++;
        out->removed_bytes += (uint64_t)dl.rows[i].size;
    }
    if (rc == GS_OK)
        blobs_parts_prune(env->b, part_cb, &ls);
    out->kept = dl.kept;
    gs_free(ls.h);
    gs_free(dl.rows);
    return rc;
}

/* ---- the admin's view ------------------------------------------------------------------ */

typedef struct usage_row {
    char key[GS_LIMIT_NAME + 1]; /* grid or device */
    uint64_t blobs, bytes;       /* counted */
} usage_row;

typedef struct usage {
    usage_row *grids, *devices;  /* sums */
    size_t n_grids, n_devices, cap_grids, cap_devices;
    uint64_t blobs, bytes;       /* totals */
} usage;

static int usage_bump(usage_row **rows, size_t *n, size_t *cap, const char *key, int64_t size)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*rows)[i].key, key) == 0) {
            (*rows)[i].blobs++;
            (*rows)[i].bytes += (uint64_t)size;
            return GS_OK;
        }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = gs_realloc(*rows, ncap * sizeof(**rows));
        if (!p)
            return GS_E_NOMEM;
        *rows = p;
        *cap = ncap;
    }
    snprintf((*rows)[*n].key, sizeof((*rows)[*n].key), "%s", key);
    (*rows)[*n].blobs = 1;
    (*rows)[*n].bytes = (uint64_t)size;
    (*n)++;
    return GS_OK;
}

static int usage_cb(void *ud, const store_att_blob *b)
{
    usage *u = ud;
    int rc = usage_bump(&u->grids, &u->n_grids, &u->cap_grids, b->grid, b->size);
    if (rc == GS_OK)
        rc = usage_bump(&u->devices, &u->n_devices, &u->cap_devices, b->device, b->size);
    u->blobs++;
    u->bytes += (uint64_t)b->size;
    return rc;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const usage_row *)a)->key, ((const usage_row *)b)->key);
}

static json_t *usage_array(usage_row *rows, size_t n, const char *key, uint64_t quota, int *bad)
{
    json_t *arr = json_array();

    if (!arr) {
        *bad = 1;
        return NULL;
    }
    qsort(rows, n, sizeof(*rows), cmp_row);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:I,s:I,s:I}", key, rows[i].key, "blobs",
                              (json_int_t)rows[i].blobs, "bytes", (json_int_t)rows[i].bytes,
                              "quota", (json_int_t)quota);
        if (!o || json_array_append_new(arr, o))
            *bad = 1;
    }
    return arr;
}

static void admin_json(srv_response *resp, int status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    buf_reset(&resp->body);
    if (!text || buf_adds(&resp->body, text) || buf_adds(&resp->body, "\n")) {
        resp->status = 500;
        buf_reset(&resp->body);
        buf_adds(&resp->body, "{\"error\":\"server\",\"message\":\"out of memory\"}\n");
    } else {
        resp->status = status;
    }
    resp->content_type = "application/json";
    free(text);
}

static void admin_error(srv_response *resp, int status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "error", code, "message", msg);
    admin_json(resp, status, o);
    json_decref(o);
}

void att_admin_handle(att_env *env, const srv_request *req, srv_response *resp)
{
    gs_err err;
    int rc, bad = 0;

    gs_err_clear(&err);
    if (slice_is(req->path, "/v1/admin/attachments/gc")) {
        att_gc_stats gs;
        json_t *o;
        if (!slice_is(req->method, "POST")) {
            snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: POST\r\n");
            admin_error(resp, 405, "method", "use POST for /v1/admin/attachments/gc");
            return;
        }
        rc = att_gc(env, &gs, &err);
        if (rc) {
            log_error(env->lg, "attachment gc: %s", err.msg);
            admin_error(resp, 500, "server", "the collection failed: see the server log");
            return;
        }
        log_info(env->lg, "attachment gc: %llu removed (%llu bytes), %llu kept",
                 (unsigned long long)gs.removed, (unsigned long long)gs.removed_bytes,
                 (unsigned long long)gs.kept);
        o = json_pack("{s:I,s:I,s:I}", "removed", (json_int_t)gs.removed, "removed_bytes",
                      (json_int_t)gs.removed_bytes, "kept", (json_int_t)gs.kept);
        admin_json(resp, 200, o);
        json_decref(o);
        return;
    }
    if (!slice_is(req->path, "/v1/admin/attachments")) {
        admin_error(resp, 404, "not_found", "no such path");
        return;
    }
    if (!slice_is(req->method, "GET") && !slice_is(req->method, "HEAD")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET\r\n");
        admin_error(resp, 405, "method", "use GET for /v1/admin/attachments");
        return;
    }
    {
        usage u;
        json_t *o = NULL;
        memset(&u, 0, sizeof(u));
        pthread_mutex_lock(env->lock);
        if (env->group)
            group_flush(env->group);
        rc = store_att_each(env->st, usage_cb, &u, &err);
        pthread_mutex_unlock(env->lock);
        if (rc == GS_OK) {
            o = json_pack("{s:I,s:I,s:I,s:I}", "blobs", (json_int_t)u.blobs, "bytes",
                          (json_int_t)u.bytes, "quota_device", (json_int_t)env->quota_device,
                          "quota_grid", (json_int_t)env->quota_grid);
            if (o) {
                json_object_set_new(o, "grids", usage_array(u.grids, u.n_grids, "grid",
                                                            env->quota_grid, &bad));
                json_object_set_new(o, "devices", usage_array(u.devices, u.n_devices, "device",
                                                              env->quota_device, &bad));
            }
        }
        if (rc || !o || bad)
            admin_error(resp, 500, "server", "cannot read the attachment index");
        else
            admin_json(resp, 200, o);
        json_decref(o);
        gs_free(u.grids);
        gs_free(u.devices);
    }
}
