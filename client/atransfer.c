/*
 * atransfer.c: see atransfer.h. What it keeps true:
 *  - `sent` of a blob row never passes what the server acknowledged durably (the committed
 *    offset of an answer), and a row is done (sent == length) only once the server said
 *    done: it verified the SHA-256;
 *  - a blob fetched from the server is stored only when its SHA-256 is the one its
 *    attachment record names, so a damaged or hostile answer leaves nothing behind;
 *  - memory: one chunk on the way up; one file (at most ATTWIRE_BLOB_MAX) on the way down.
 */
#include "atransfer.h"

#include "attach.h"
#include "common/alloc.h"
#include "common/sha256.h"
#include "common/uuid.h"
#include "device.h"
#include "proto/attwire.h"
#include "proto/proto.h"

#include <stdio.h>
#include <string.h>

/* One blob to send. */
typedef struct up_item {
    char key[SHA256_HEX_LEN + 1]; /* its SHA-256 */
    char att[UUID_TEXT_LEN + 1];  /* an attachment record naming it */
    int64_t size, sent;           /* bytes, bytes acknowledged */
} up_item;

/* The server's words in an Error body, or "". */
static void error_words(const gs_buf *body, char *out, size_t cap)
{
    proto_error *e = NULL;

    out[0] = '\0';
    if (body->len && proto_decode_error(body->ptr, body->len, &e, NULL) == GS_OK)
        snprintf(out, cap, "%.*s: %.*s", (int)e->code.len, e->code.ptr, (int)e->msg.len,
                 e->msg.ptr);
    proto_error_free(e);
}

/* The error code of an Error body is code. */
static int error_is(const gs_buf *body, const char *code)
{
    proto_error *e = NULL;
    int is = 0;

    if (body->len && proto_decode_error(body->ptr, body->len, &e, NULL) == GS_OK)
        is = e->code.len == strlen(code) && memcmp(e->code.ptr, code, e->code.len) == 0;
    proto_error_free(e);
    return is;
}

/* A status the transfer cannot go on after, as a gs_rc. */
static int fatal_status(gs_db *db, long status, const gs_buf *body)
{
    char what[300];

    error_words(body, what, sizeof(what));
    if (status == 401 || status == 403)
        return gs_err_set(&db->err, GS_E_AUTH, "the server refused this device's token for "
                                               "attachments (%s)", what);
    if (status == 429 || status == 503)
        return gs_err_set(&db->err, GS_E_BUSY, "the server is busy; attachments wait for the "
                                               "next sync (%ld)", status);
    return gs_err_set(&db->err, GS_E_SERVER, "attachments: the server answered %ld %s", status,
                      what);
}

static int set_sent(gs_db *db, const char *key, int64_t sent)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "UPDATE attachment_blob SET sent = ?2 WHERE key = ?1",
                                    &st);

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sent);
    src = sqlite3_step(st);
    db_done(st);
    return src == SQLITE_DONE ? GS_OK : db_fail(db, src, "recording an upload's progress");
}

/* Bytes [off, off + n) of blob key into out. */
static int read_chunk(gs_db *db, const char *key, int64_t off, size_t n, gs_buf *out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(
        db, "SELECT substr(data, ?2, ?3) FROM attachment_blob WHERE key = ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, off + 1);
    sqlite3_bind_int64(st, 3, (int64_t)n);
    src = sqlite3_step(st);
    buf_reset(out);
    if (src == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == n)
        rc = buf_add(out, sqlite3_column_blob(st, 0), n);
    else if (src == SQLITE_ROW || src == SQLITE_DONE)
        rc = gs_err_set(&db->err, GS_E_STATE, "attachment bytes %.16s... changed while sent",
                        key);
    else
        rc = db_fail(db, src, "reading attachment bytes");
    db_done(st);
    return rc;
}

/* The blobs still to send, thumbnails first, then by the bytes left. */
static int up_list(gs_db *db, up_item **out, size_t *n_out)
{
    static const char sql[] =
        "SELECT b.key, a.id, length(b.data), b.sent FROM attachment_blob b JOIN attachment a"
        " ON a.deleted = 0 AND (a.sha256 = b.key OR a.thumb_sha256 = b.key)"
        " WHERE b.kind IN (1, 2) AND b.sent < length(b.data)"
        " GROUP BY b.key ORDER BY b.kind = 2 DESC, length(b.data) - b.sent, b.key";
    sqlite3_stmt *st;
    up_item *items = NULL;
    size_t n = 0, cap = 0;
    int src, rc = db_prepare_static(db, sql, &st);

    if (rc)
        return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (!key || strlen(key) != SHA256_HEX_LEN || sqlite3_column_bytes(st, 1) != UUID_LEN)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            void *p = gs_realloc(items, ncap * sizeof(*items));
            if (!p) {
                rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
                break;
            }
            items = p;
            cap = ncap;
        }
        memcpy(items[n].key, key, SHA256_HEX_LEN + 1);
        uuid_format(sqlite3_column_blob(st, 1), items[n].att);
        items[n].size = sqlite3_column_int64(st, 2);
        items[n].sent = sqlite3_column_int64(st, 3);
        n++;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "listing attachments to send");
    db_done(st);
    if (rc) {
        gs_free(items);
        return rc;
    }
    *out = items;
    *n_out = n;
    return GS_OK;
}

/* Where the server stands with blob key (GET .../key?att=...). */
static int ask_state(gs_db *db, transport *link, const char *path, gs_buf *resp,
                     attwire_state *st, long *status)
{
    int rc = transport_get(link, path, status, resp, &db->err);

    if (rc || *status != 200)
        return rc;
    if (attwire_decode_state(resp->ptr, resp->len, st))
        return gs_err_set(&db->err, GS_E_PROTO, "the server's attachment state is malformed");
    return GS_OK;
}

/* Outcome of one blob's upload. */
enum { UP_DONE, UP_WAIT, UP_REFUSED };

/* Sends blob it from it->sent until the server says done, or refuses. */
static int upload_one(gs_db *db, transport *link, up_item *it, gs_buf *chunk, gs_buf *resp,
                      int *outcome, uint64_t *moved, char *refusal, size_t cap)
{
    char base[160], path[220];
    attwire_state st;
    long status = 0;
    int stuck = 0, rc = GS_OK;

    snprintf(base, sizeof(base), ATTWIRE_PREFIX "%s?att=%s", it->key, it->att);
    *outcome = UP_WAIT;
    while (it->sent <= it->size) {
        size_t n = (size_t)(it->size - it->sent < ATTWIRE_CHUNK ? it->size - it->sent
                                                                  : ATTWIRE_CHUNK);
        if (n == 0) { /* everything acknowledged but not "done": ask */
            rc = ask_state(db, link, base, resp, &st, &status);
        } else {
            rc = read_chunk(db, it->key, it->sent, n, chunk);
            if (rc)
                return rc;
            snprintf(path, sizeof(path), "%s&offset=%lld", base, (long long)it->sent);
            rc = transport_put(link, path, ATTWIRE_OCTETS, chunk->ptr, n, &status, resp,
                               &db->err);
            if (rc == GS_OK && status == 200 &&
                attwire_decode_state(resp->ptr, resp->len, &st))
                rc = gs_err_set(&db->err, GS_E_PROTO, "the server's chunk answer is malformed");
            if (rc == GS_OK && status == 409) /* the server holds less: ask where */
                rc = ask_state(db, link, base, resp, &st, &status);
        }
        if (rc)
            return rc;
        if (status == 404 && error_is(resp, "no_attachment"))
            return GS_OK; /* its record is not on the server (yet): a later sync */
        if (status == 507 || status == 422 || status == 416 || status == 413) {
            error_words(resp, refusal, cap);
            *outcome = UP_REFUSED;
            if (status == 422) /* the server discarded the bytes: start over next time */
                rc = set_sent(db, it->key, 0);
            return rc;
        }
        if (status != 200)
            return fatal_status(db, status, resp);
        if (st.size != (uint64_t)it->size)
            return gs_err_set(&db->err, GS_E_PROTO,
                              "the server expects %llu bytes for %.16s..., the device has %lld",
                              (unsigned long long)st.size, it->key, (long long)it->size);
        if ((int64_t)st.off > it->sent)
            *moved += st.off - (uint64_t)it->sent;
        stuck = (int64_t)st.off == it->sent && !st.done ? stuck + 1 : 0;
        if (stuck > 2)
            return gs_err_set(&db->err, GS_E_PROTO, "the server takes no more bytes of %.16s...",
                              it->key);
        it->sent = st.done ? it->size : (int64_t)st.off;
        rc = set_sent(db, it->key, it->sent);
        if (rc)
            return rc;
        if (st.done) {
            *outcome = UP_DONE;
            return GS_OK;
        }
    }
    return GS_OK;
}

static int upload_all(gs_db *db, transport *link, int64_t *budget, gs_sync_summary *sum,
                      char *refusal, size_t cap)
{
    up_item *items = NULL;
    size_t n = 0;
    gs_buf chunk, resp;
    int rc = up_list(db, &items, &n);

    if (rc)
        return rc;
    buf_init(&chunk, ATTWIRE_CHUNK);
    buf_init(&resp, ATTWIRE_STATE_MAX * 64);
    for (size_t i = 0; i < n && rc == GS_OK; i++) {
        int64_t left = items[i].size - items[i].sent;
        uint64_t moved = 0;
        int outcome;
        if (*budget >= 0 && left > *budget) {
            sum->att_deferred++;
            continue;
        }
        rc = upload_one(db, link, &items[i], &chunk, &resp, &outcome, &moved, refusal, cap);
        sum->att_bytes_up += moved;
        if (*budget >= 0)
            *budget -= left;
        if (rc == GS_OK && outcome == UP_DONE)
            sum->att_sent++;
        else if (rc == GS_OK && outcome == UP_REFUSED)
            sum->att_refused++;
    }
    buf_free(&chunk);
    buf_free(&resp);
    gs_free(items);
    return rc;
}

/* Fetches blob key (size bytes, named by attachment att) and stores it as kind, checked
 * against its hash. *got 0 when the server does not hold it yet. */
static int fetch_blob(gs_db *db, transport *link, const char *key, const char *att,
                      int64_t size, int kind, int *got)
{
    char path[240];
    uint8_t sum[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    gs_buf data, resp;
    long status = 0;
    sqlite3_stmt *st;
    int src, rc = GS_OK;

    *got = 0;
    if (size <= 0 || size > (int64_t)ATTWIRE_BLOB_MAX)
        return gs_err_set(&db->err, GS_E_PROTO, "attachment %s claims %lld bytes", att,
                          (long long)size);
    buf_init(&data, (size_t)size);
    buf_init(&resp, ATTWIRE_GET_MAX);
    while (rc == GS_OK && (int64_t)data.len < size) {
        snprintf(path, sizeof(path), ATTWIRE_PREFIX "%s?att=%s&offset=%zu&length=%u", key, att,
                 data.len, ATTWIRE_GET_MAX);
        rc = transport_get(link, path, &status, &resp, &db->err);
        if (rc)
            break;
        if (status == 404) { /* not sent yet, or not ours: nothing to store */
            rc = GS_E_NOTFOUND;
            break;
        }
        if (status != 200) {
            rc = fatal_status(db, status, &resp);
            break;
        }
        if (resp.len == 0 || buf_add(&data, resp.ptr, resp.len) != GS_OK) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "the server sent %s wrong bytes", att);
            break;
        }
    }
    if (rc == GS_E_NOTFOUND) {
        rc = GS_OK;
        goto out;
    }
    if (rc)
        goto out;
    if (sha256_of(data.ptr, data.len, sum) != GS_OK) {
        rc = gs_err_set(&db->err, GS_E_CRYPTO, "cannot compute a SHA-256");
        goto out;
    }
    sha256_hex(sum, hex);
    if (strcmp(hex, key) != 0) {
        rc = gs_err_set(&db->err, GS_E_PROTO,
                        "the bytes the server sent for attachment %s do not match its SHA-256: "
                        "nothing stored",
                        att);
        goto out;
    }
    rc = db_prepare_static(db,
                           "INSERT OR IGNORE INTO attachment_blob(key, kind, data, sent)"
                           " VALUES(?1, ?2, ?3, ?4)",
                           &st);
    if (rc)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, kind);
    sqlite3_bind_blob64(st, 3, data.ptr, data.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)data.len); /* came from the server: nothing to send */
    src = sqlite3_step(st);
    db_done(st);
    rc = src == SQLITE_DONE ? GS_OK : db_fail(db, src, "storing attachment bytes");
    if (rc == GS_OK)
        *got = 1;
out:
    buf_free(&data);
    buf_free(&resp);
    return rc;
}

/* One thumbnail to fetch. */
typedef struct down_item {
    char key[SHA256_HEX_LEN + 1]; /* its SHA-256 */
    char att[UUID_TEXT_LEN + 1];  /* the attachment record */
    int64_t size;                 /* its bytes */
} down_item;

static int thumbs_all(gs_db *db, transport *link, int64_t *budget, gs_sync_summary *sum)
{
    static const char sql[] =
        "SELECT a.thumb_sha256, a.id, a.thumb_bytes FROM attachment a WHERE a.deleted = 0"
        " AND length(a.thumb_sha256) = 64 AND a.thumb_bytes > 0 AND NOT EXISTS"
        " (SELECT 1 FROM attachment_blob b WHERE b.key = a.thumb_sha256) ORDER BY a.id";
    down_item *items = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, sql, &st);

    if (rc)
        return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != UUID_LEN)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            void *p = gs_realloc(items, ncap * sizeof(*items));
            if (!p) {
                rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
                break;
            }
            items = p;
            cap = ncap;
        }
        memcpy(items[n].key, sqlite3_column_text(st, 0), SHA256_HEX_LEN + 1);
        uuid_format(sqlite3_column_blob(st, 1), items[n].att);
        items[n].size = sqlite3_column_int64(st, 2);
        n++;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "listing thumbnails to fetch");
    db_done(st);
    for (size_t i = 0; i < n && rc == GS_OK; i++) {
        int got = 0;
        if (*budget >= 0 && items[i].size > *budget) {
            sum->att_deferred++;
            continue;
        }
        rc = fetch_blob(db, link, items[i].key, items[i].att, items[i].size, ATTACH_KIND_THUMB,
                        &got);
        if (rc == GS_OK && got) {
            sum->att_received++;
            if (*budget >= 0)
                *budget -= items[i].size;
        }
    }
    gs_free(items);
    return rc;
}

int atransfer_run(gs_db *db, transport *link, const char *device_id, int64_t budget,
                  gs_sync_summary *sum, char *refusal, size_t cap)
{
    int64_t left = budget > 0 ? budget : -1;
    int rc;

    (void)device_id;
    refusal[0] = '\0';
    rc = upload_all(db, link, &left, sum, refusal, cap);
    if (rc == GS_OK)
        rc = thumbs_all(db, link, &left, sum);
    return rc;
}

int gs_db_attachment_fetch(gs_db *db, const char *att_id, int which, const gs_sync_opts *opts)
{
    uint8_t raw[UUID_LEN];
    char id_text[UUID_TEXT_LEN + 1], key[SHA256_HEX_LEN + 1];
    device_settings dev;
    transport_opts topts;
    transport *link = NULL;
    sqlite3_stmt *st;
    int64_t size = 0;
    int src, rc, got = 0, have = 0;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    if (which != GS_ATT_FULL && which != GS_ATT_THUMB)
        return gs_err_set(&db->err, GS_E_INVALID,
                          "only the file or its thumbnail can be fetched (an original never "
                          "leaves the device that made it)");
    if (uuid_parse(att_id ? att_id : "", att_id ? strlen(att_id) : 0, raw))
        return gs_err_set(&db->err, GS_E_INVALID, "'%.40s' is not an attachment id",
                          att_id ? att_id : "");
    uuid_format(raw, id_text);
    rc = db_prepare_static(db,
                           which == GS_ATT_FULL
                               ? "SELECT a.sha256, a.bytes, EXISTS(SELECT 1 FROM attachment_blob"
                                 " b WHERE b.key = a.sha256) FROM attachment a WHERE a.id = ?1"
                                 " AND a.deleted = 0"
                               : "SELECT a.thumb_sha256, a.thumb_bytes, EXISTS(SELECT 1 FROM"
                                 " attachment_blob b WHERE b.key = a.thumb_sha256) FROM"
                                 " attachment a WHERE a.id = ?1 AND a.deleted = 0",
                           &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, raw, UUID_LEN, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SHA256_HEX_LEN) {
        memcpy(key, sqlite3_column_text(st, 0), SHA256_HEX_LEN + 1);
        size = sqlite3_column_int64(st, 1);
        have = sqlite3_column_int(st, 2);
    } else if (src == SQLITE_ROW || src == SQLITE_DONE) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no attachment %s%s on this device",
                        id_text, src == SQLITE_ROW ? " with a thumbnail" : "");
    } else {
        rc = db_fail(db, src, "reading an attachment");
    }
    db_done(st);
    if (rc || have)
        return rc;
    rc = device_load(db, &dev);
    if (rc)
        return rc;
    if (!dev.device_id || !dev.server_url || !dev.token || !dev.ca_pem) {
        device_settings_free(&dev);
        return gs_err_set(&db->err, GS_E_CONFIG,
                          "this device is not enrolled: run gridsync init first");
    }
    memset(&topts, 0, sizeof(topts));
    topts.base_url = dev.server_url;
    topts.ca_pem = dev.ca_pem;
    topts.ca_pem_len = dev.ca_pem_len;
    topts.token = dev.token;
    topts.connect_timeout_ms = opts ? opts->connect_timeout_ms : 0;
    topts.total_timeout_ms = opts ? opts->request_timeout_ms : 0;
    rc = transport_new(&link, &topts, &db->err);
    if (rc == GS_OK)
        rc = fetch_blob(db, link, key, id_text, size,
                        which == GS_ATT_FULL ? ATTACH_KIND_FULL : ATTACH_KIND_THUMB, &got);
    if (rc == GS_OK && !got)
        rc = gs_err_set(&db->err, GS_E_NOTFOUND,
                        "the server does not hold attachment %s yet: the device that made it "
                        "has not sent it (sync there, then try again)",
                        id_text);
    transport_free(link);
    device_settings_free(&dev);
    return rc;
}
