/*
 * api.c: gridsyncd's application: routes each request from the network layer to the sync
 * exchange (/v1/sync), the admin API (/v1/admin/...) or the web console (/admin, console.c),
 * and owns the store, its lock and the server HLC.
 *
 * One sync, and what runs under the store lock:
 *
 *   method, Content-Type, Authorization (device lookup under the lock, hash check outside)
 *   inflate (capped), decode, dev == token's device
 *   ---- lock (group_lock) ---------------------------------------------------------------
 *   BEGIN IMMEDIATE unless the group's transaction is open; SAVEPOINT; device re-read (a
 *   revocation in between counts); merge the batch; encode head + acks; read a pull page
 *   that fits the rest of the body limit; encode it; persist the HLC and the device's last
 *   sync; RELEASE; COMMIT when no other sync waits, else sleep until a later one commits
 *   ---- unlock --------------------------------------------------------------------------
 *   deflate when the client accepts it
 *
 * Invariants:
 *  - one connection, one mutex: every store use holds app->lock, so SQLite never sees two
 *    writers and never answers SQLITE_BUSY to us (busy_timeout covers outside readers);
 *  - a batch is all or nothing: any failure rolls its savepoint back and answers 500 (or 413
 *    when the answer would pass the body limit) with nothing applied; a failed commit
 *    answers every batch it held 500 (group.h);
 *  - no token, secret or hash ever reaches a log line or log_note;
 *  - a revoked device reads nothing: 401 without a wipe, 410 with one (PROTOCOL.md 1,
 *    "Remote wipe"); only a wipe after upload still has its batches merged.
 */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "common/alloc.h"
#include "common/hlc.h"
#include "common/zbody.h"
#include "proto/proto.h"
#include "proto/schema_wire.h"
#include "admin_api.h"
#include "att_api.h"
#include "auth.h"
#include "console.h"
#include "engine.h"
#include "enroll.h"
#include "gate.h"
#include "group.h"
#include "merge.h"
#include "pull.h"
#include "store.h"
#include "warn.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <string.h>
#include <time.h>

struct srv_app {
    store *st;            /* the one store connection; only used holding lock */
    pthread_mutex_t lock; /* serialises every store use and the HLC */
    sync_group group;     /* the syncs sharing the open transaction (group.h) */
    /* the warning rules' sweep (warn.h): a thread that settles the rows whose time came */
    pthread_t sweeper;
    int sweeper_on;             /* the thread runs */
    int sweeper_stop;           /* it must end (guarded by sweep_lock) */
    pthread_mutex_t sweep_lock; /* guards sweeper_stop */
    pthread_cond_t sweep_wake;  /* signalled to stop */
    hlc clock;            /* server HLC, persisted in the store on every sync */
    srv_config cfg;       /* a copy of the settings */
    srv_metrics *metrics; /* counters (owned by the caller) */
    gs_logger *lg;        /* log (owned by the caller) */
    admin_env admin;      /* what the admin API works with */
    console *console;     /* the web console and its sign-in sessions */
    srv_gate large;       /* large bodies inflated and decoded at once (APP_LARGE_DECODES) */
    blobs *blobs;         /* attachment bytes in DIR/blobs (NULL: an in-memory test app) */
    att_env att;          /* what the attachment routes work with (att_api.h) */
};

/* Large bodies (over 64 KiB as sent, or deflated over 4 KiB, which may inflate to 8 MiB)
 * go through app->large: an 8 MiB request costs ~25 MB while it is inflated, decoded and
 * merged, so two at a time bound that at ~50 MB. A request that finds no slot within 2 s
 * is answered 429 busy. Small bodies, a device's usual sync, never wait. */
#define APP_LARGE_DECODES 2
#define APP_LARGE_WAIT_MS 2000
#define APP_LARGE_RAW (64u * 1024)
#define APP_LARGE_DEFLATED 4096u

static int slice_eq(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static int slice_prefix(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len >= n && memcmp(s.ptr, lit, n) == 0;
}

/* The media type before any ';' parameters, compared case-insensitively. */
static int media_type_is(srv_slice s, const char *type)
{
    size_t n = 0, tl = strlen(type);
    while (n < s.len && s.ptr[n] != ';')
        n++;
    while (n && (s.ptr[n - 1] == ' ' || s.ptr[n - 1] == '\t'))
        n--;
    if (!s.ptr || n != tl)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != type[i])
            return 0;
    }
    return 1;
}

static int64_t wall_ms(void)
{
    return (int64_t)hlc_wall_ms(NULL);
}

/* 1 when the file system of the SQLite store has less than min_free_disk_bytes free for
 * an unprivileged writer. PostgreSQL's disk is not ours to see: never low there. */
static int disk_low(srv_app *app)
{
    char dir[SRV_PATH_MAX];
    struct statvfs vfs;
    char *slash;

    if (!app->cfg.min_free_disk_bytes || eng_target_is_pg(app->cfg.db_path))
        return 0;
    snprintf(dir, sizeof(dir), "%s", app->cfg.db_path);
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (statvfs(dir, &vfs) != 0)
        return 0; /* cannot tell: the store's own writes will say */
    return (uint64_t)vfs.f_bavail * vfs.f_frsize < app->cfg.min_free_disk_bytes;
}

/* A MessagePack Error body (PROTOCOL.md 2.6). */
static void sync_error(srv_app *app, srv_response *resp, int status, const char *code,
                       const char *msg, uint32_t min_v)
{
    resp->status = status;
    buf_reset(&resp->body);
    resp->content_encoding = NULL;
    if (proto_encode_error(&resp->body, code, msg, min_v) == GS_OK) {
        resp->content_type = PROTO_CONTENT_TYPE;
    } else {
        buf_reset(&resp->body);
        resp->content_type = NULL;
    }
    if (status == 401)
        atomic_fetch_add(&app->metrics->auth_failures, 1);
}

/* Records the outcome of a failed sync of a known device in its own transaction. */
static void note_failure(srv_app *app, const char *device, int status, const char *code)
{
    char result[STORE_RESULT_MAX + 1];
    gs_err err;

    snprintf(result, sizeof(result), "%d %s", status, code);
    pthread_mutex_lock(&app->lock);
    group_flush(&app->group);
    if (!store_begin(app->st, &err)) {
        if (store_device_synced(app->st, device, wall_ms(), result, 0, &err) ||
            store_commit(app->st, &err)) {
            store_rollback(app->st);
            log_warn(app->lg, "cannot record the sync result of %s: %s", device, err.msg);
        }
    }
    pthread_mutex_unlock(&app->lock);
}

/* Maps a decode failure to its HTTP answer. */
static void decode_error(srv_app *app, srv_response *resp, const char *device, int rc,
                         const gs_err *err)
{
    const char *msg = gs_err_msg(err, rc);
    const char *code;
    int status;

    switch (rc) {
    case GS_E_PROTO_VERSION:
        status = 426;
        code = "upgrade_required";
        break;
    case GS_E_TOO_LARGE:
        status = 413;
        code = "too_large";
        break;
    case GS_E_NOMEM:
        status = 500;
        code = "server";
        break;
    case GS_E_PROTO:
    case GS_E_PROTO_TYPE:
    case GS_E_PROTO_MISSING:
    case GS_E_PROTO_UNKNOWN:
    case GS_E_PROTO_LIMIT:
    case GS_E_PROTO_TRUNCATED:
    case GS_E_PROTO_TRAILING:
    case GS_E_PROTO_DEPTH:
        status = 400;
        code = rc == GS_E_PROTO ? "malformed" : gs_rc_name(rc);
        break;
    default:
        status = 400;
        code = "malformed";
        break;
    }
    sync_error(app, resp, status, code, msg, status == 426 ? PROTO_MIN_VERSION : 0);
    if (device)
        note_failure(app, device, status, code);
}

/* Checks the bearer token of a device: GS_OK with *dev filled, or GS_E_AUTH. A revoked
 * device whose token is right is GS_OK too: the caller decides by dev->revoked_ms and
 * dev->wipe (a wrong token is GS_E_AUTH whatever the device's state, so nobody learns a
 * device's state without its token). */
static int sync_auth(srv_app *app, const srv_request *req, store_device *dev)
{
    const char *id, *secret;
    size_t id_len, secret_len;
    int rc, found, ok;
    gs_err err;

    if (auth_parse_bearer(req->authorization.ptr, req->authorization.len, &id, &id_len, &secret,
                          &secret_len))
        return GS_E_AUTH;
    pthread_mutex_lock(&app->lock);
    rc = store_device_get(app->st, id, id_len, dev, &err);
    pthread_mutex_unlock(&app->lock);
    if (rc && rc != GS_E_NOTFOUND) {
        log_error(app->lg, "device lookup: %s", err.msg);
        return rc;
    }
    found = rc == GS_OK;
    ok = auth_verify(found ? dev->token_hash : NULL, secret, secret_len);
    if (!found || !ok)
        return GS_E_AUTH;
    return GS_OK;
}

/* The 410 answer of a device revoked with a wipe (PROTOCOL.md section 1): code "wiped"
 * (delete everything now; nothing of this request was applied), recorded here as its last
 * result, or "upload_then_wipe" (this request's changes were merged, and the merge recorded
 * the result; send the rest, then wipe). */
static void sync_wipe_answer(srv_app *app, srv_response *resp, const char *device,
                             const char *code)
{
    int now = strcmp(code, "wiped") == 0;

    sync_error(app, resp, 410, code,
               now ? "this device was revoked with a wipe: delete its data and token now"
                   : "this device was revoked with a wipe after upload: these changes were "
                     "merged; send the rest, then delete the data and token",
               0);
    log_info(app->lg, "device %s (revoked): answered 410 %s", device, code);
    if (now)
        note_failure(app, device, 410, code);
}

/* sync_auth for the attachment routes (att_env.device_auth). */
static int att_device_auth(void *ud, const srv_request *req, store_device *dev)
{
    return sync_auth(ud, req, dev);
}

/* Opens DIR/blobs and fills app->att; an in-memory store in the current folder (unit
 * tests) gets no blob folder, and its attachment routes answer 503. */
static int att_open(srv_app *app, gs_err *err)
{
    char root[SRV_PATH_MAX + 8];
    int rc;

    if (strcmp(app->cfg.db_path, ":memory:") == 0 && strcmp(app->cfg.dir, ".") == 0)
        return GS_OK;
    snprintf(root, sizeof(root), "%s/blobs", app->cfg.dir);
    rc = blobs_open(&app->blobs, root, err);
    if (rc)
        return rc;
    app->att.st = app->st;
    app->att.lock = &app->lock;
    app->att.group = &app->group;
    app->att.b = app->blobs;
    app->att.quota_device = app->cfg.attachment_quota_device;
    app->att.quota_grid = app->cfg.attachment_quota_grid;
    app->att.lg = app->lg;
    app->att.device_auth = att_device_auth;
    app->att.auth_ud = app;
    return GS_OK;
}

/* What one sync did, for the metrics and the log note. */
typedef struct sync_out {
    uint32_t n_accepted;  /* changes applied */
    uint32_t n_rejected;  /* changes rejected */
    uint32_t n_duplicate; /* changes answered from stored acks */
    uint32_t n_conflicts; /* conflicts recorded */
    uint32_t n_unlogged;  /* conflicts beyond max_conflicts_per_sync, not recorded */
    uint32_t n_pulled;    /* changes sent back */
    int upload_only;      /* a device revoked with a wipe after upload: its batch was
                             merged, and it is answered 410 upload_then_wipe */
} sync_out;

/* The record states of a response's "fix" (PROTOCOL.md 2.7): one per record whose change
 * this answer rejects, duplicates included (a retried request gets them again), each record
 * once, encoded into enc. They must fit in half the body limit, the acks and the pull page
 * sharing the rest; states that do not fit are left out (and logged): the device then shows
 * its own values for those records until they change on the server. */
static int fixes_read(srv_app *app, const store_device *dev, const proto_sync_req *m,
                      const proto_ack *acks, gs_arena *arena, proto_sync_resp *head,
                      gs_buf *enc, gs_err *err)
{
    uint32_t n = 0, skipped = 0;
    int rc = GS_OK;

    for (uint32_t i = 0; i < m->n_changes && rc == GS_OK; i++) {
        const proto_change *c = &m->changes[i];
        const schema_table *t;
        proto_change state;
        size_t before = enc->len;
        int seen = 0;

        if (acks[i].ok)
            continue;
        t = schema_table_find(c->table.ptr, c->table.len);
        if (!t)
            continue; /* a type this server does not know: there is no state to send */
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = !acks[j].ok && memcmp(m->changes[j].id, c->id, 16) == 0 &&
                   proto_str_eq(m->changes[j].table, t->name);
        if (seen)
            continue;
        rc = pull_record_state(app->st, dev, t->name, c->id, arena, &state, err);
        if (rc)
            break;
        rc = proto_encode_change(enc, &state, PROTO_CH_STATE, head->version);
        if (rc == GS_OK && enc->len > PROTO_MAX_BODY / 2) {
            enc->len = before;
            rc = GS_E_TOO_LARGE;
        }
        if (rc == GS_E_TOO_LARGE) {
            skipped++;
            rc = GS_OK;
            continue;
        }
        if (rc)
            gs_err_set(err, rc, "cannot encode a record state (%s)", gs_strerror(rc));
        else
            n++;
    }
    if (skipped)
        log_warn(app->lg, "sync of %s: %u record state(s) of rejected changes left out of the "
                 "answer (too large)", dev->id, skipped);
    head->n_fixes = n;
    return rc;
}

/* The answer's head and its acks into body, the record states of its "fix" into fixes. */
static int sync_encode_acks(srv_app *app, const store_device *dev, const proto_sync_req *m,
                            const proto_ack *acks, gs_arena *arena, int64_t now,
                            proto_sync_resp *head, gs_buf *body, gs_buf *fixes, gs_err *err)
{
    int rc;

    memset(head, 0, sizeof(*head));
    /* answer in the request's version when it is older than ours (PROTOCOL.md 7.6) */
    head->version = m->version < PROTO_VERSION ? m->version : PROTO_VERSION;
    head->clock_ms = (uint64_t)now;
    rc = hlc_now(&app->clock, &head->now);
    if (rc)
        return gs_err_set(err, rc, "server clock overflow");
    rc = store_epoch_get(app->st, &head->epoch, err); /* "ep", PROTOCOL.md 2.9 */
    if (rc)
        return rc;
    if (head->version >= 2) {
        rc = fixes_read(app, dev, m, acks, arena, head, fixes, err);
        if (rc)
            return rc;
    }
    rc = proto_encode_sync_resp_head(body, head, m->n_changes);
    for (uint32_t i = 0; i < m->n_changes && !rc; i++)
        rc = proto_encode_ack(body, &acks[i], head->version);
    if (rc)
        return gs_err_set(err, rc,
                          "the acknowledgments alone pass the %u-byte body limit: push "
                          "fewer changes per request",
                          PROTO_MAX_BODY);
    return GS_OK;
}

/* The cursor to pull from: a cursor beyond the last version comes from a device that saw a
 * history this store does not hold (it was restored from an older backup, or copied back
 * without `gridsyncd restore`). The answer then gives the
 * last version as "cur", below the one sent, which tells the device to re-send what it
 * holds and pull again from 0 (PROTOCOL.md 2.9); counted and logged, never an error. */
static int sync_cursor_check(srv_app *app, const store_device *dev, const proto_sync_req *m,
                             uint64_t *cursor, gs_err *err)
{
    uint64_t last = 0;
    int rc = store_version_last(app->st, &last, err);

    if (rc)
        return rc;
    if (m->cursor > last) {
        atomic_fetch_add(&app->metrics->resyncs, 1);
        log_warn(app->lg,
                 "sync of %s: its cursor %llu is beyond this store's last version %llu "
                 "(restored from an older backup?): it is told to re-send and pull from 0",
                 dev->id, (unsigned long long)m->cursor, (unsigned long long)last);
        *cursor = last;
    } else if (m->cursor == 0 && dev->last_sync_ms != 0 && last != 0) {
        /* the device pulls its history again: it saw a new epoch, or was set up anew */
        atomic_fetch_add(&app->metrics->resyncs, 1);
        log_info(app->lg, "sync of %s: pulls from 0 again (a new epoch after a restore, or "
                 "a device set up anew)", dev->id);
    }
    return GS_OK;
}

/* A pull page that fits what the acks and fixes leave of the body limit, then the rest of
 * the answer after the acks in body: the page, the tail ("cur", "more", "clk") and fixes. */
static int sync_encode_pull(srv_app *app, const store_device *dev, const proto_sync_req *m,
                            gs_arena *arena, proto_sync_resp *head, const gs_buf *fixes,
                            gs_buf *body, uint32_t *n_pulled, gs_err *err)
{
    pull_page page;
    gs_buf changes;
    uint32_t max_changes;
    uint64_t cursor = m->cursor;
    size_t budget;
    int rc;

    buf_init(&changes, PROTO_MAX_BODY);
    /* the "ch" head and the tail ("cur", "more", "clk", "fix") take under 64 bytes */
    budget = body->len + fixes->len + 96 < PROTO_MAX_BODY
                 ? PROTO_MAX_BODY - body->len - fixes->len - 96
                 : 0;
    max_changes = app->cfg.pull_page_changes ? app->cfg.pull_page_changes : PROTO_MAX_CHANGES;
    if (m->pull_max && m->pull_max < max_changes)
        max_changes = m->pull_max;
    if (max_changes > PROTO_MAX_CHANGES)
        max_changes = PROTO_MAX_CHANGES;
    rc = sync_cursor_check(app, dev, m, &cursor, err);
    if (!rc)
        rc = pull_read(app->st, dev, cursor, max_changes, budget, head->version, arena,
                       &changes, &page, err);
    if (rc)
        goto out;
    rc = proto_encode_sync_resp_mid(body, page.n_changes);
    if (!rc)
        rc = buf_add(body, changes.ptr, changes.len);
    head->cursor = page.cursor;
    head->more = page.more;
    if (!rc)
        rc = proto_encode_sync_resp_tail(body, head);
    if (!rc)
        rc = buf_add(body, fixes->ptr, fixes->len);
    if (rc) {
        gs_err_set(err, rc, "cannot encode the response (%s)", gs_strerror(rc));
        goto out;
    }
    *n_pulled = page.n_changes;
out:
    buf_free(&changes);
    return rc;
}

/* Persists the HLC and the device's last sync with its result (committed by the group). */
static int sync_record(srv_app *app, const store_device *dev, const proto_sync_req *m,
                       const merge_ctx *mc, uint32_t n_pulled, int64_t now, gs_err *err)
{
    char result[STORE_RESULT_MAX + 1];
    int rc;

    snprintf(result, sizeof(result), "ok ch=%u acc=%u rej=%u dup=%u conf=%u pull=%u", m->n_changes,
             mc->n_accepted, mc->n_rejected, mc->n_duplicate, mc->n_conflicts, n_pulled);
    rc = store_hlc_set(app->st, app->clock.last, err);
    if (!rc)
        rc = store_device_synced(app->st, dev->id, now, result, mc->n_rejected, err);
    return rc;
}

/* The merge, pull and encoding of one sync into body, inside the lock and the group's
 * transaction (group_join's savepoint, undone by group_leave on failure). GS_E_AUTH: the
 * device was revoked meanwhile; GS_E_WIPED: revoked meanwhile with a wipe; GS_E_TOO_LARGE:
 * the acks alone pass the body limit; else a server fault. A device revoked with a wipe
 * after upload gets its batch merged and nothing else (no acks, fixes or pull: it may read
 * nothing), so->upload_only set. */
static int sync_locked(srv_app *app, const char *device_id, const proto_sync_req *m, gs_buf *body,
                       sync_out *so, gs_err *err)
{
    store_device *dev = NULL;
    gs_arena arena;
    merge_ctx mc;
    warn_batch wb;
    proto_ack *acks = NULL;
    proto_sync_resp head;
    gs_buf fixes;
    uint32_t n_pulled = 0;
    int rc = GS_OK;
    int64_t now = wall_ms();

    arena_init(&arena, SVAL_ARENA_MAX);
    buf_init(&fixes, PROTO_MAX_BODY);
    dev = arena_alloc(&arena, sizeof(*dev));
    acks = arena_alloc(&arena, (m->n_changes ? m->n_changes : 1) * sizeof(*acks));
    if (!dev || !acks) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    /* read again inside the transaction: a revocation since the token check counts */
    rc = store_device_get(app->st, device_id, strlen(device_id), dev, err);
    if (!rc && dev->revoked_ms && dev->wipe == STORE_WIPE_NONE)
        rc = gs_err_set(err, GS_E_AUTH, "device revoked");
    if (!rc && dev->revoked_ms && dev->wipe != STORE_WIPE_AFTER_UPLOAD)
        rc = gs_err_set(err, GS_E_WIPED, "device revoked with a wipe");
    if (rc)
        goto out;
    merge_init(&mc, app->st, &app->clock, &arena, now);
    mc.max_new_conflicts = (uint32_t)app->cfg.max_conflicts_per_sync;
    warn_init(&wb, &app->cfg.rules, app->st, &app->clock, &arena, now);
    mc.warn = &wb;
    rc = merge_batch(&mc, dev, m, acks, err);
    if (!rc)
        rc = warn_on_sync(&wb, dev, err);
    if (!rc)
        rc = warn_settle(&wb, err); /* so the device pulls a warning its batch raised */
    if (rc)
        goto out;
    if (dev->revoked_ms) { /* STORE_WIPE_AFTER_UPLOAD: merged, and answered 410 */
        char result[STORE_RESULT_MAX + 1];
        snprintf(result, sizeof(result), "410 upload_then_wipe ch=%u acc=%u rej=%u dup=%u",
                 m->n_changes, mc.n_accepted, mc.n_rejected, mc.n_duplicate);
        rc = store_hlc_set(app->st, app->clock.last, err);
        if (!rc)
            rc = store_device_synced(app->st, dev->id, now, result, mc.n_rejected, err);
        so->upload_only = 1;
        goto counts;
    }
    rc = sync_encode_acks(app, dev, m, acks, &arena, now, &head, body, &fixes, err);
    if (rc)
        goto out;
    rc = sync_encode_pull(app, dev, m, &arena, &head, &fixes, body, &n_pulled, err);
    if (rc)
        goto out;
    rc = sync_record(app, dev, m, &mc, n_pulled, now, err);
counts:
    if (rc)
        goto out;
    so->n_accepted = mc.n_accepted;
    so->n_rejected = mc.n_rejected;
    so->n_duplicate = mc.n_duplicate;
    so->n_conflicts = mc.n_conflicts;
    so->n_unlogged = mc.n_unlogged;
    so->n_pulled = n_pulled;
out:
    arena_free(&arena);
    buf_free(&fixes);
    return rc;
}

/* The phases of one sync below each answer the request themselves when they fail (resp
 * holds the error and the device's last result is noted where the device is known) and
 * return non-zero; handle_sync then only frees what it holds. */

/* Method, media type and bearer token: GS_OK with *out a device the caller frees. */
static int sync_authenticate(srv_app *app, const srv_request *req, srv_response *resp,
                             store_device **out)
{
    store_device *dev;
    int rc;

    if (!slice_eq(req->method, "POST")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: POST\r\n");
        sync_error(app, resp, 405, "method", "use POST for /v1/sync", 0);
        return GS_E_INVALID;
    }
    if (!media_type_is(req->content_type, PROTO_CONTENT_TYPE)) {
        sync_error(app, resp, 415, "content_type", "the body must be " PROTO_CONTENT_TYPE, 0);
        return GS_E_INVALID;
    }
    dev = gs_malloc(sizeof(*dev));
    if (!dev) {
        sync_error(app, resp, 500, "server", "out of memory", 0);
        return GS_E_NOMEM;
    }
    rc = sync_auth(app, req, dev);
    if (!rc && dev->revoked_ms && dev->wipe == STORE_WIPE_NONE)
        rc = GS_E_AUTH; /* revoked: can send and read nothing */
    if (rc) {
        if (rc == GS_E_AUTH)
            sync_error(app, resp, 401, "auth",
                       "no valid device token: re-enrol this device with the admin", 0);
        else
            sync_error(app, resp, 500, "server", "server fault: try again later", 0);
        gs_free(dev);
        return rc;
    }
    snprintf(resp->log_note, sizeof(resp->log_note), "dev=%s", dev->id);
    if (dev->revoked_ms && dev->wipe == STORE_WIPE_NOW) { /* refused before the body */
        sync_wipe_answer(app, resp, dev->id, "wiped");
        gs_free(dev);
        return GS_E_WIPED;
    }
    *out = dev;
    return GS_OK;
}

/* The body of an authenticated device: inflated (capped) when deflated, decoded into *out
 * (freed by the caller), and its dev must be the token's device. */
static int sync_decode(srv_app *app, const srv_request *req, srv_response *resp,
                       const store_device *dev, gs_buf *inflated, proto_sync_req **out,
                       gs_err *err)
{
    const void *bytes = req->body;
    size_t len = req->body_len;
    proto_sync_req *m = NULL;
    int rc, enc;

    enc = zbody_content_encoding(req->content_encoding.ptr, req->content_encoding.len);
    if (enc < 0) {
        /* RFC 9110 15.5.16: a content coding the server does not take is 415, and the
         * answer's Accept-Encoding names the one it does (PROTOCOL.md 7.7) */
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Accept-Encoding: deflate\r\n");
        sync_error(app, resp, 415, "content_type", "Content-Encoding must be deflate or absent", 0);
        return GS_E_INVALID;
    }
    if (len > PROTO_MAX_BODY && enc == 0) {
        decode_error(app, resp, dev->id, GS_E_TOO_LARGE, NULL);
        return GS_E_TOO_LARGE;
    }
    if (enc == 1) {
        rc = zbody_inflate(req->body, req->body_len, PROTO_MAX_BODY, inflated, err);
        if (rc) {
            const char *code = rc == GS_E_TOO_LARGE ? "too_large"
                               : rc == GS_E_NOMEM   ? "server"
                                                    : "bad_encoding";
            int status = rc == GS_E_TOO_LARGE ? 413 : rc == GS_E_NOMEM ? 500 : 400;
            sync_error(app, resp, status, code, err->msg, 0);
            note_failure(app, dev->id, status, code);
            return rc;
        }
        bytes = inflated->ptr;
        len = inflated->len;
    }
    rc = proto_decode_sync_req_screened(bytes ? bytes : "", len, &m, err);
    if (rc) {
        decode_error(app, resp, dev->id, rc, err);
        return rc;
    }
    if (m->device.len != strlen(dev->id) || memcmp(m->device.ptr, dev->id, m->device.len)) {
        sync_error(app, resp, 403, "wrong_device", "dev is not the device this token belongs to",
                   0);
        note_failure(app, dev->id, 403, "wrong_device");
        proto_sync_req_free(m);
        return GS_E_AUTH;
    }
    *out = m;
    return GS_OK;
}

/* Merge, pull and encode under the store lock (sync_locked) into body, committed with the
 * syncs that arrived meanwhile (group.h): answered only once durable. */
static int sync_apply(srv_app *app, srv_response *resp, const store_device *dev,
                      const proto_sync_req *m, gs_buf *body, sync_out *so, gs_err *err)
{
    group_member me;
    int rc;

    group_lock(&app->group);
    rc = group_join(&app->group, err);
    if (!rc)
        rc = sync_locked(app, dev->id, m, body, so, err);
    rc = group_leave(&app->group, &me, rc, err);
    pthread_mutex_unlock(&app->lock);
    if (rc == GS_E_AUTH) {
        sync_error(app, resp, 401, "auth", "this device was revoked", 0);
    } else if (rc == GS_E_WIPED) {
        sync_wipe_answer(app, resp, dev->id, "wiped");
    } else if (rc == GS_E_TOO_LARGE) {
        sync_error(app, resp, 413, "too_large", err->msg, 0);
        note_failure(app, dev->id, 413, "too_large");
    } else if (rc) {
        log_error(app->lg, "sync of %s failed, nothing applied: %s", dev->id, err->msg);
        sync_error(app, resp, 500, "server", "server fault, nothing applied: try again later", 0);
        note_failure(app, dev->id, 500, "server");
    }
    return rc;
}

/* The metrics and the log note of a committed sync. */
static void sync_account(srv_app *app, srv_response *resp, const store_device *dev,
                         const proto_sync_req *m, const sync_out *so)
{
    atomic_fetch_add(&app->metrics->syncs, 1);
    atomic_fetch_add(&app->metrics->changes_merged, so->n_accepted);
    atomic_fetch_add(&app->metrics->changes_rejected, so->n_rejected);
    atomic_fetch_add(&app->metrics->changes_duplicate, so->n_duplicate);
    atomic_fetch_add(&app->metrics->conflicts, so->n_conflicts);
    atomic_fetch_add(&app->metrics->conflicts_unlogged, so->n_unlogged);
    if (so->n_unlogged)
        log_warn(app->lg, "device %s hit max_conflicts_per_sync: %u conflicts not recorded "
                 "(their changes were merged by the rules)", dev->id, so->n_unlogged);
    atomic_fetch_add(&app->metrics->changes_pulled, so->n_pulled);
    snprintf(resp->log_note, sizeof(resp->log_note), "dev=%s ch=%u acc=%u rej=%u conf=%u pull=%u%s",
             dev->id, m->n_changes, so->n_accepted, so->n_rejected, so->n_conflicts, so->n_pulled,
             so->n_duplicate ? " dup" : "");
    if (so->n_duplicate) {
        size_t n = strlen(resp->log_note);
        snprintf(resp->log_note + n, sizeof(resp->log_note) - n, "=%u", so->n_duplicate);
    }
}

/* The 200 answer: body deflated when the client accepts it and it is worth it, else as is. */
static int sync_reply(srv_app *app, const srv_request *req, srv_response *resp,
                      const store_device *dev, const gs_buf *body, gs_err *err)
{
    int rc;

    buf_reset(&resp->body);
    if (zbody_accepts_deflate(req->accept_encoding.ptr, req->accept_encoding.len) &&
        body->len > 256) {
        rc = zbody_deflate(body->ptr, body->len, ZBODY_LEVEL_BEST_LINK, &resp->body, err);
        if (!rc)
            resp->content_encoding = "deflate";
    } else {
        rc = GS_E_STATE; /* not compressed: copied below */
    }
    if (rc) {
        buf_reset(&resp->body);
        resp->content_encoding = NULL;
        rc = buf_add(&resp->body, body->ptr, body->len);
    }
    if (rc) {
        /* committed, but the answer does not fit: the device retries and gets the same acks */
        log_error(app->lg, "sync of %s: response of %zu bytes does not fit the body buffer",
                  dev->id, body->len);
        sync_error(app, resp, 500, "server", "response too large for this server's buffer", 0);
        return rc;
    }
    resp->status = 200;
    resp->content_type = PROTO_CONTENT_TYPE;
    return GS_OK;
}

/* POST /v1/sync: authenticate, decode, merge and pull under the lock, account, answer. */
static void handle_sync(srv_app *app, const srv_request *req, srv_response *resp)
{
    store_device *dev = NULL;
    proto_sync_req *m = NULL;
    gs_buf inflated, body;
    sync_out so;
    gs_err err;
    int rc, gated = 0;

    buf_init(&inflated, PROTO_MAX_BODY);
    buf_init(&body, PROTO_MAX_BODY);
    gs_err_clear(&err);
    memset(&so, 0, sizeof(so));
    rc = sync_authenticate(app, req, resp, &dev);
    if (rc)
        goto out;
    if (req->body_len > APP_LARGE_RAW ||
        (req->body_len > APP_LARGE_DEFLATED && req->content_encoding.len)) {
        if (!gate_enter(&app->large, APP_LARGE_WAIT_MS)) {
            snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Retry-After: 5\r\n");
            sync_error(app, resp, 429, "busy", "too many large requests at once; retry later",
                       0);
            goto out;
        }
        gated = 1;
    }
    rc = sync_decode(app, req, resp, dev, &inflated, &m, &err);
    if (rc)
        goto out;
    if (m->n_changes && disk_low(app)) { /* issue 18, item 4: uploads wait, pulls go on */
        atomic_fetch_add(&app->metrics->uploads_disk_low, 1);
        log_warn(app->lg, "sync of %s refused: free disk below min_free_disk_bytes", dev->id);
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Retry-After: 300\r\n");
        sync_error(app, resp, 503, "disk_low",
                   "the server is low on disk space; nothing applied, sync again later", 0);
        goto out;
    }
    if (dev->revoked_ms && m->n_changes == 0) { /* wipe after upload: nothing left to send */
        sync_wipe_answer(app, resp, dev->id, "wiped");
        goto out;
    }
    rc = sync_apply(app, resp, dev, m, &body, &so, &err);
    if (rc)
        goto out;
    sync_account(app, resp, dev, m, &so);
    if (so.upload_only) { /* its last result was recorded with the merge */
        sync_wipe_answer(app, resp, dev->id, "upload_then_wipe");
        goto out;
    }
    rc = sync_reply(app, req, resp, dev, &body, &err);
out:
    proto_sync_req_free(m);
    buf_free(&inflated);
    buf_free(&body);
    gs_free(dev);
    if (gated)
        gate_leave(&app->large);
}

/* GET /v1/schema: the record schema (proto/schema_wire.c) in MessagePack, for a device
 * with a valid token (PROTOCOL.md 10). The document depends on the build alone; it takes
 * no lock beyond the token check. */
static void handle_schema(srv_app *app, const srv_request *req, srv_response *resp)
{
    store_device dev;

    if (!slice_eq(req->method, "GET")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET\r\n");
        sync_error(app, resp, 405, "method", "use GET for " PROTO_SCHEMA_PATH, 0);
        return;
    }
    switch (sync_auth(app, req, &dev)) {
    case GS_OK:
        break;
    case GS_E_AUTH:
        sync_error(app, resp, 401, "auth",
                   "no valid device token: re-enrol this device with the admin", 0);
        return;
    default:
        sync_error(app, resp, 500, "server", "server fault: try again later", 0);
        return;
    }
    snprintf(resp->log_note, sizeof(resp->log_note), "dev=%s", dev.id);
    buf_reset(&resp->body);
    if (proto_encode_schema(&resp->body) != GS_OK) {
        sync_error(app, resp, 500, "server", "cannot encode the schema", 0);
        return;
    }
    resp->status = 200;
    resp->content_type = PROTO_CONTENT_TYPE;
}

void app_process_init(void)
{
    /* Syncs run one at a time under app->lock, so glibc's default of 8 malloc arenas per
     * core only spreads the same allocations over more memory, faulted in afresh and
     * trimmed again by each worker thread: bench_srv_merge with 10 devices went from 0.48
     * to 0.55 of the raw ceiling with two arenas (two runs each). */
    mallopt(M_ARENA_MAX, 2);
    /* Bodies, inflated bodies and decode arenas of megabytes: glibc raises its mmap
     * threshold after the first large free, after which such blocks come from the heap
     * and stay there (1.46 GB of 2.1 GB stayed after 250 large uploads, issue 18). A
     * fixed threshold keeps every block over 256 KiB an mmap, returned when freed. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    store_global_init();
}

static int warning_count_cb(void *ud, const char *rule, int level, int64_t n)
{
    srv_metrics *m = ud;
    rule_id r = rule_find(rule);
    if (r != RULE_COUNT && level >= 0 && level < 3)
        atomic_store(&m->warnings_open[r][level], n);
    return GS_OK;
}

/* The gauge of open warnings, from the watch rows (the store's own count). */
static int count_warnings(srv_app *app, gs_err *err)
{
    int rc;

    for (int r = 0; r < RULE_COUNT; r++)
        for (int l = 0; l < 3; l++)
            atomic_store(&app->metrics->warnings_open[r][l], 0);
    pthread_mutex_lock(&app->lock);
    group_flush(&app->group);
    rc = store_watch_open_counts(app->st, warning_count_cb, app->metrics, err);
    pthread_mutex_unlock(&app->lock);
    return rc;
}

int app_sweep(srv_app *app, int64_t now_ms, uint32_t *opened, uint32_t *cleared, gs_err *err)
{
    uint32_t n = 1000, total_opened = 0, total_cleared = 0;
    int rc = GS_OK;

    while (!rc && n == 1000) {
        gs_arena arena;
        warn_batch wb;

        arena_init(&arena, SVAL_ARENA_MAX);
        pthread_mutex_lock(&app->lock);
        group_flush(&app->group);
        rc = store_begin(app->st, err);
        if (!rc) {
            warn_init(&wb, &app->cfg.rules, app->st, &app->clock, &arena, now_ms);
            rc = warn_sweep(&wb, 1000, &n, err);
            if (!rc)
                rc = store_hlc_set(app->st, app->clock.last, err);
            if (!rc)
                rc = store_commit(app->st, err);
            if (rc)
                store_rollback(app->st);
            else {
                total_opened += wb.n_opened;
                total_cleared += wb.n_cleared;
            }
        }
        pthread_mutex_unlock(&app->lock);
        arena_free(&arena);
    }
    if (!rc)
        rc = count_warnings(app, err);
    if (opened)
        *opened = total_opened;
    if (cleared)
        *cleared = total_cleared;
    return rc;
}

static void *sweeper_main(void *arg)
{
    srv_app *app = arg;
    struct timespec until;

    pthread_mutex_lock(&app->sweep_lock);
    for (int first = 1; !app->sweeper_stop; first = 0) {
        /* the first sweep at once: what fell due while the server was down opens now */
        if (!first) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += app->cfg.rules.sweep_s;
            pthread_cond_timedwait(&app->sweep_wake, &app->sweep_lock, &until);
            if (app->sweeper_stop)
                break;
        }
        pthread_mutex_unlock(&app->sweep_lock);
        {
            uint32_t opened = 0, cleared = 0;
            gs_err err;
            if (app_sweep(app, wall_ms(), &opened, &cleared, &err))
                log_error(app->lg, "warning sweep failed, nothing changed: %s", err.msg);
            else if (opened || cleared)
                log_info(app->lg, "warning sweep: %u opened, %u cleared", opened, cleared);
        }
        pthread_mutex_lock(&app->sweep_lock);
    }
    pthread_mutex_unlock(&app->sweep_lock);
    return NULL;
}

/* A store from before the rules holds records the rules have never seen: one pass over
 * them at start, before any sync (see warn_backfill). */
static int rules_backfill(srv_app *app, gs_err *err)
{
    uint64_t n = 0;
    int needed = 0;
    int rc;

    if (!app->cfg.rules.enabled)
        return GS_OK;
    rc = store_watch_needs_backfill(app->st, &needed, err);
    if (rc || !needed)
        return rc;
    log_info(app->lg, "the warning rules have not seen this store's records yet: reading them");
    rc = warn_backfill(&app->cfg.rules, app->st, &app->clock, wall_ms(), &n, err);
    if (!rc)
        log_info(app->lg, "warning rules: %llu records read; the first sweep opens what is due",
                 (unsigned long long)n);
    return rc;
}

/* Thresholds changed in gridsyncd.conf (or rules turned off or on) since the watch rows
 * were computed: they apply to every subject at once, not only to those that change. */
static int rules_reconfigure(srv_app *app, gs_err *err)
{
    uint64_t stored = 0, n = 0;
    int rc;

    if (!app->cfg.rules.enabled)
        return GS_OK;
    rc = store_rules_sig_get(app->st, &stored, err);
    if (rc || stored == rules_signature(&app->cfg.rules))
        return rc;
    rc = warn_rederive(&app->cfg.rules, app->st, &app->clock, wall_ms(), &n, err);
    if (!rc && stored && n)
        log_info(app->lg, "warning rules: the thresholds changed: %llu subjects re-evaluated",
                 (unsigned long long)n);
    return rc;
}

/* The sweep thread, when rules are on and the store is a file (tests on ":memory:" call
 * app_sweep themselves). */
static int sweeper_start(srv_app *app, gs_err *err)
{
    if (!app->cfg.rules.enabled || strcmp(app->cfg.db_path, ":memory:") == 0)
        return GS_OK;
    if (pthread_mutex_init(&app->sweep_lock, NULL) != 0)
        return gs_err_set(err, GS_E_NOMEM, "cannot create the sweep's lock");
    if (pthread_cond_init(&app->sweep_wake, NULL) != 0) {
        pthread_mutex_destroy(&app->sweep_lock);
        return gs_err_set(err, GS_E_NOMEM, "cannot create the sweep's condition");
    }
    if (pthread_create(&app->sweeper, NULL, sweeper_main, app) != 0) {
        pthread_cond_destroy(&app->sweep_wake);
        pthread_mutex_destroy(&app->sweep_lock);
        return gs_err_set(err, GS_E_NOMEM, "cannot start the warning sweep");
    }
    app->sweeper_on = 1;
    return GS_OK;
}

static void sweeper_stop(srv_app *app)
{
    if (!app->sweeper_on)
        return;
    pthread_mutex_lock(&app->sweep_lock);
    app->sweeper_stop = 1;
    pthread_cond_signal(&app->sweep_wake);
    pthread_mutex_unlock(&app->sweep_lock);
    pthread_join(app->sweeper, NULL);
    pthread_cond_destroy(&app->sweep_wake);
    pthread_mutex_destroy(&app->sweep_lock);
    app->sweeper_on = 0;
}

int app_open(srv_app **out, const srv_config *cfg, srv_metrics *metrics, gs_logger *lg, gs_err *err)
{
    srv_app *app;
    uint64_t last = 0;
    int rc = GS_OK;

    if (!cfg->db_path[0])
        return gs_err_set(err, GS_E_CONFIG, "no database configured");
    app = gs_calloc(1, sizeof(*app));
    if (!app)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    app->cfg = *cfg;
    app->cfg.rules.silent_days = cfg->silent_days; /* one setting for the console and the rule */
    app->metrics = metrics;
    app->lg = lg;
    rc = store_open(&app->st, cfg->db_path, err);
    if (rc)
        goto fail;
    /* checkpoints off the request path (":memory:" stores, in tests, have no WAL) */
    if (strcmp(cfg->db_path, ":memory:") != 0) {
        rc = store_checkpointer_start(app->st, cfg->db_path, err);
        if (rc)
            goto fail;
    }
    rc = store_hlc_get(app->st, &last, err);
    if (rc)
        goto fail;
    hlc_init(&app->clock, last, cfg->max_drift_ms, NULL, NULL);
    gate_init(&app->large, APP_LARGE_DECODES);
    if (pthread_mutex_init(&app->lock, NULL) != 0) {
        rc = gs_err_set(err, GS_E_NOMEM, "cannot create the store lock");
        goto fail;
    }
    if (group_init(&app->group, &app->lock, app->st, &metrics->sync_commits) != GS_OK) {
        pthread_mutex_destroy(&app->lock);
        rc = gs_err_set(err, GS_E_NOMEM, "cannot create the group commit's condition");
        goto fail;
    }
    app->admin.st = app->st;
    app->admin.lock = &app->lock;
    app->admin.group = &app->group;
    app->admin.clock = &app->clock;
    app->admin.cfg = &app->cfg;
    app->admin.metrics = metrics;
    app->admin.lg = lg;
    rc = console_new(&app->console, &app->admin, NULL, err);
    if (rc) {
        group_free(&app->group);
        pthread_mutex_destroy(&app->lock);
        goto fail;
    }
    /* the console's sessions are a second way into the admin API, never into /v1/sync */
    app->admin.session_auth = console_session_auth;
    app->admin.session_ud = app->console;
    rc = att_open(app, err);
    if (!rc)
        rc = rules_backfill(app, err);
    if (!rc)
        rc = rules_reconfigure(app, err);
    if (!rc)
        rc = sweeper_start(app, err);
    if (rc) {
        blobs_close(app->blobs);
        console_free(app->console);
        group_free(&app->group);
        pthread_mutex_destroy(&app->lock);
        goto fail;
    }
    *out = app;
    return GS_OK;
fail:
    store_close(app->st);
    gs_free(app);
    return rc;
}

void app_close(srv_app *app)
{
    if (!app)
        return;
    sweeper_stop(app);
    console_free(app->console);
    pthread_mutex_lock(&app->lock);
    group_flush(&app->group);
    pthread_mutex_unlock(&app->lock);
    group_free(&app->group);
    pthread_mutex_destroy(&app->lock);
    gate_destroy(&app->large);
    blobs_close(app->blobs);
    store_close(app->st);
    gs_free(app);
}

/* /v1/admin/attachments[/gc]: an admin token (as the admin API checks it), then
 * att_api.c. */
static void handle_admin_attachments(srv_app *app, const srv_request *req, srv_response *resp)
{
    char who[GS_LIMIT_NAME + 1];
    int rc = admin_api_auth(&app->admin, req->authorization.ptr, req->authorization.len, who,
                            sizeof(who));

    if (rc) {
        resp->status = rc == GS_E_AUTH ? 401 : 500;
        resp->content_type = "application/json";
        buf_reset(&resp->body);
        buf_adds(&resp->body,
                 rc == GS_E_AUTH
                     ? "{\"error\":\"auth\",\"message\":\"an admin token is required\"}\n"
                     : "{\"error\":\"server\",\"message\":\"cannot check the token\"}\n");
        return;
    }
    snprintf(resp->log_note, sizeof(resp->log_note), "admin=%s", who);
    att_admin_handle(&app->att, req, resp);
}

void app_handle(srv_app *app, const srv_request *req, srv_response *resp)
{
    resp->status = 500;
    resp->content_type = NULL;
    resp->content_encoding = NULL;
    if (slice_eq(req->path, PROTO_SYNC_PATH)) {
        handle_sync(app, req, resp);
        return;
    }
    if (slice_eq(req->path, PROTO_SCHEMA_PATH)) {
        handle_schema(app, req, resp);
        return;
    }
    if (att_api_owns(req->path)) {
        if (!app->blobs)
            sync_error(app, resp, 503, "busy", "attachments are not configured here", 0);
        else
            att_api_handle(&app->att, req, resp);
        return;
    }
    if (att_admin_owns(req->path) && app->blobs) {
        handle_admin_attachments(app, req, resp);
        return;
    }
    if (slice_eq(req->path, "/v1/admin") || slice_prefix(req->path, "/v1/admin/")) {
        admin_api_handle(&app->admin, req, resp);
        return;
    }
    if (slice_eq(req->path, CONSOLE_PREFIX) || slice_prefix(req->path, CONSOLE_PREFIX "/")) {
        console_handle(app->console, req, resp);
        return;
    }
    /* enrolment (enroll.h): no token yet, the code is the credential */
    if (slice_eq(req->path, ENROLL_PATH) || slice_eq(req->path, ENROLL_CA_PATH)) {
        enroll_handle(&app->admin, req, resp);
        return;
    }
    sync_error(app, resp, 404, "not_found", "no such path", 0);
}

int app_head_check(srv_app *app, const srv_request *req, srv_response *resp, size_t *max_body)
{
    char who[GS_LIMIT_NAME + 1];
    int rc;

    resp->status = 500;
    resp->content_type = NULL;
    resp->content_encoding = NULL;
    if (slice_eq(req->path, PROTO_SYNC_PATH)) {
        store_device *dev = NULL;
        if (sync_authenticate(app, req, resp, &dev) != GS_OK)
            return 1;
        gs_free(dev);
        resp->log_note[0] = '\0';
        *max_body = app->cfg.max_body_bytes;
        return 0;
    }
    if (slice_eq(req->path, PROTO_SCHEMA_PATH)) {
        /* a GET has no use for a body: take none beyond a few bytes; the handler judges
         * method and token */
        *max_body = 1024;
        return 0;
    }
    if (att_api_owns(req->path)) {
        if (!app->blobs) {
            sync_error(app, resp, 503, "busy", "attachments are not configured here", 0);
            return 1;
        }
        return att_api_head_check(&app->att, req, resp, max_body);
    }
    if (slice_eq(req->path, "/v1/admin") || slice_prefix(req->path, "/v1/admin/")) {
        rc = app->admin.session_auth
                 ? app->admin.session_auth(app->admin.session_ud, req, who, sizeof(who))
                 : GS_E_NOTFOUND;
        if (rc == GS_E_NOTFOUND)
            rc = admin_api_auth(&app->admin, req->authorization.ptr, req->authorization.len, who,
                                sizeof(who));
        if (rc) {
            /* the admin API's own error shape (admin_api.h) */
            resp->status = rc == GS_E_AUTH ? 401 : 500;
            resp->content_type = "application/json";
            buf_reset(&resp->body);
            buf_adds(&resp->body,
                     rc == GS_E_AUTH
                         ? "{\"error\":\"auth\",\"message\":\"an admin token is required\"}\n"
                         : "{\"error\":\"server\",\"message\":\"cannot check the token\"}\n");
            snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                     "WWW-Authenticate: Bearer realm=\"gridsync admin\"\r\n"
                     ADMIN_API_SECURITY_HEADERS);
            if (rc == GS_E_AUTH)
                atomic_fetch_add(&app->metrics->auth_failures, 1);
            return 1;
        }
        *max_body = ADMIN_BODY_MAX;
        return 0;
    }
    if (slice_eq(req->path, CONSOLE_PREFIX) || slice_prefix(req->path, CONSOLE_PREFIX "/")) {
        *max_body = ADMIN_BODY_MAX; /* the console's forms; the sign-in form is 4 KiB */
        return 0;
    }
    if (slice_eq(req->path, ENROLL_PATH) || slice_eq(req->path, ENROLL_CA_PATH)) {
        *max_body = ENROLL_BODY_MAX;
        return 0;
    }
    sync_error(app, resp, 404, "not_found", "no such path", 0);
    return 1;
}

int app_init_store(const char *db_path, char *token_out, size_t token_cap, gs_err *err)
{
    store *st = NULL;
    char id[GS_LIMIT_NAME + 1], token[AUTH_TOKEN_MAX + 1];
    uint8_t hash[AUTH_HASH_LEN];
    int64_t n = 0;
    int rc;

    rc = store_open(&st, db_path, err);
    if (rc)
        return rc;
    rc = store_admin_count(st, &n, err);
    if (!rc && n > 0)
        rc = gs_err_set(err, GS_E_EXISTS, "%s already has an admin", db_path);
    if (!rc) {
        rc = auth_new_id(AUTH_ADMIN_PREFIX, id, sizeof(id));
        if (!rc)
            rc = auth_new_token(id, token, sizeof(token), hash);
        if (rc)
            gs_err_set(err, rc, "cannot make a token: %s", gs_strerror(rc));
    }
    if (!rc && strlen(token) + 1 > token_cap)
        rc = gs_err_set(err, GS_E_TOO_LARGE, "token buffer too small");
    if (!rc)
        rc = store_begin(st, err);
    if (!rc) {
        /* the first admin is the county's: every role and the registry are its to give */
        store_admin a;
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", id);
        snprintf(a.name, sizeof(a.name), "county");
        snprintf(a.role, sizeof(a.role), "county");
        memcpy(a.token_hash, hash, sizeof(a.token_hash));
        a.created_ms = wall_ms();
        rc = store_admin_put(st, &a, err);
        if (!rc)
            rc = store_commit(st, err);
        if (rc)
            store_rollback(st);
    }
    if (!rc)
        memcpy(token_out, token, strlen(token) + 1);
    memset(token, 0, sizeof(token));
    store_close(st);
    return rc;
}
