/*
 * csync.c: gs_sync_run, the device side of the exchange of PROTOCOL.md section 4.
 *
 *   loop:
 *     read up to batch_changes oldest outbox rows, one at a time, encoding as we go
 *     (never the whole outbox in memory), stopping early at batch_bytes
 *     outbox_mark_sent(first..last)          <- before any byte leaves: frozen from now on
 *     POST /v1/sync {v, dev, cur, low, now, ch}
 *     apply_response(acks, pulls, fixes, cur) <- one transaction
 *     the server's clock measured against ours (dclock.h)
 *   until the outbox is empty and the server says no more
 *
 * Nothing lost, nothing doubled: a row leaves the outbox only through an ack; a cut before
 * the answer leaves the rows (frozen) in the outbox, and the next sync sends them again under
 * the same seqs, which the server recognises and acknowledges without applying twice. A
 * sync that makes no progress in a round (nothing acked, nothing pulled) stops rather than
 * loop.
 *
 * Versions (PROTOCOL.md 7.6): a request is always v 2, but its changes are written in the
 * form of the server's version as last seen (meta server_proto). Before the first answer
 * from a server, a change whose fields carry different clocks is not sent: it has no
 * faithful version 1 form, so the batch stops before it (a request with no changes tells
 * the version). A version 1 server gets such a change with the latest clock, as version 1
 * clients always sent it.
 */
#include "csync.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "db.h"
#include "apply.h"
#include "device.h"
#include "outbox.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

/* A sync touches each outbox page once (read, then deleted by its ack), so a big page cache
 * buys nothing here and only raises a handheld's peak memory: the sync runs with this one
 * (KiB) and restores the handle's own afterwards (layout.c sets 16 MiB for batch writes). */
#define CSYNC_CACHE_KIB 512

/* The connection's cache_size setting (negative: KiB), or 0 when it cannot be read. */
static int cache_size_get(gs_db *db)
{
    sqlite3_stmt *st = NULL;
    int v = 0;

    if (sqlite3_prepare_v2(db->sql, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void cache_size_set(gs_db *db, int v)
{
    char sql[48];
    gs_err keep = db->err; /* a cache setting never fails the sync or hides its error */

    snprintf(sql, sizeof(sql), "PRAGMA cache_size=%d", v);
    db_exec(db, sql);
    db->err = keep;
}

/* A response can carry up to PROTO_MAX_BODY after inflation. */
#define RESP_MAX PROTO_MAX_BODY

static void defaults(gs_sync_opts *o)
{
    if (o->batch_changes == 0 || o->batch_changes > PROTO_MAX_CHANGES)
        o->batch_changes = CSYNC_BATCH_CHANGES;
    if (o->batch_bytes == 0 || o->batch_bytes > PROTO_MAX_BODY / 2)
        o->batch_bytes = CSYNC_BATCH_BYTES;
}

/* Room left before the changes for the request's head (its map and the array header),
 * which is encoded last because it announces the count the byte budget decides: the
 * changes are encoded straight into the body, with no second batch-sized buffer. The
 * largest head (64-byte device id, every integer at 9 bytes) is under 160 bytes. */
#define HEAD_ROOM 256

/* Whether the fields of c carry clocks of different edits. */
static int mixed_clocks(const proto_change *c)
{
    for (uint32_t i = 0; i < c->n_fields; i++)
        if (c->fields[i].hlc && c->fields[i].hlc != c->hlc)
            return 1;
    return 0;
}

/* Encodes the request for the oldest pending changes into req; it starts at req->ptr +
 * *off. first and last are the seqs sent (0 when none). server_v: the server's protocol
 * version as last seen (0: unknown). */
static int build_request(gs_db *db, const device_settings *dev, const gs_sync_opts *o,
                         uint32_t server_v, gs_buf *req, size_t *off, uint64_t *first,
                         uint64_t *last, uint32_t *n_out)
{
    uint32_t form = server_v >= 2 ? PROTO_VERSION : 1;
    static const char room[HEAD_ROOM];
    proto_sync_req head;
    gs_buf hb;
    outbox_iter *it = NULL;
    const proto_change *c;
    uint32_t n = 0;
    uint64_t low = 0, cur = 0, now = 0;
    int rc;

    *first = *last = 0;
    *off = 0;
    buf_init(&hb, HEAD_ROOM);
    buf_reset(req);
    rc = buf_add(req, room, sizeof(room));
    if (!rc)
        rc = outbox_iter_open(db, o->batch_changes, &it);
    if (rc)
        goto out;
    while ((rc = outbox_iter_next(it, &c)) == GS_OK && c) {
        size_t before = req->len;
        if (server_v == 0 && mixed_clocks(c))
            break; /* wait for the server's version: see the file comment */
        rc = proto_encode_change(req, c, PROTO_CH_PUSHED, form);
        if (rc == GS_OK && req->len - HEAD_ROOM > o->batch_bytes && n > 0) {
            req->len = before; /* over budget: this one waits for the next request */
            break;
        }
        if (rc) {
            gs_err_set(&db->err, rc, "change seq %llu cannot be encoded: %s",
                       (unsigned long long)c->seq, gs_strerror(rc));
            goto out;
        }
        if (!*first)
            *first = c->seq;
        *last = c->seq;
        n++;
    }
    if (rc)
        goto out;
    outbox_iter_free(it);
    it = NULL;
    rc = outbox_low(db, &low);
    if (!rc)
        rc = outbox_get_cursor(db, &cur);
    if (!rc)
        rc = db_hlc_stamp(db, &now);
    if (rc)
        goto out;
    memset(&head, 0, sizeof(head));
    head.version = PROTO_VERSION;
    head.device = proto_cstr(dev->device_id);
    head.cursor = cur;
    head.low = low;
    head.now = now;
    rc = proto_encode_sync_req_head(&hb, &head, n);
    if (rc == GS_OK) {
        *off = HEAD_ROOM - hb.len;
        memcpy(req->ptr + *off, hb.ptr, hb.len);
    }
    if (rc)
        gs_err_set(&db->err, rc, "cannot build the sync request: %s", gs_strerror(rc));
    *n_out = n;
out:
    buf_free(&hb);
    outbox_iter_free(it);
    return rc;
}

/* Turns a non-200 answer into a gs_rc with the server's own words when it sent some. */
static int http_failure(gs_db *db, long status, const gs_buf *body)
{
    proto_error *e = NULL;
    char what[256] = "";
    int rc;

    if (body->len && proto_decode_error(body->ptr, body->len, &e, NULL) == GS_OK) {
        snprintf(what, sizeof(what), "%.*s: %.*s", (int)e->code.len, e->code.ptr,
                 (int)e->msg.len, e->msg.ptr);
    }
    switch (status) {
    case 401:
        rc = gs_err_set(&db->err, GS_E_AUTH,
                        "the server refused this device's token (revoked or wrong): enrol the "
                        "device again; nothing was lost (%s)",
                        what[0] ? what : "401");
        break;
    case 403:
        rc = gs_err_set(&db->err, GS_E_AUTH, "the server refused this device (%s)",
                        what[0] ? what : "403");
        break;
    case 426:
        rc = gs_err_set(&db->err, GS_E_PROTO_VERSION,
                        "the server needs a newer gridsync: update the app (protocol %u)"
                        " (%s)",
                        e ? e->min_version : 0, what);
        break;
    case 429:
    case 503:
        rc = gs_err_set(&db->err, GS_E_BUSY, "the server is busy or restarting; sync again "
                        "later (%ld)", status);
        break;
    default:
        rc = gs_err_set(&db->err, GS_E_SERVER, "the server answered %ld %s", status,
                        what[0] ? what : "");
        break;
    }
    proto_error_free(e);
    return rc;
}

static void add_link_stats(gs_sync_summary *s, const transport *t)
{
    const transport_stats *ts = transport_get_stats(t);
    s->requests = ts->requests;
    s->bytes_up = ts->bytes_up;
    s->bytes_down = ts->bytes_down;
    s->connects = ts->connects;
}

int csync_run(gs_db *db, const gs_sync_opts *opts_in, gs_sync_summary *sum)
{
    device_settings dev;
    transport_opts topts;
    transport *link = NULL;
    gs_sync_opts o;
    gs_buf req, resp;
    size_t off = 0;
    proto_sync_resp *r = NULL;
    int rc, rounds = 0, old_cache;
    char result[300];

    memset(sum, 0, sizeof(*sum));
    memset(&dev, 0, sizeof(dev));
    memset(&o, 0, sizeof(o));
    if (opts_in)
        o = *opts_in;
    defaults(&o);
    buf_init(&req, PROTO_MAX_BODY);
    buf_init(&resp, RESP_MAX);
    gs_err_clear(&db->err);
    old_cache = cache_size_get(db);
    if (old_cache != 0)
        cache_size_set(db, -(int)CSYNC_CACHE_KIB);

    rc = device_load(db, &dev);
    if (rc)
        goto out;
    if (!dev.device_id || !dev.server_url || !dev.token || !dev.ca_pem) {
        rc = gs_err_set(&db->err, GS_E_CONFIG,
                        "this device is not enrolled: run gridsync init first");
        goto out;
    }
    memset(&topts, 0, sizeof(topts));
    topts.base_url = dev.server_url;
    topts.ca_pem = dev.ca_pem;
    topts.ca_pem_len = dev.ca_pem_len;
    topts.token = dev.token;
    topts.connect_timeout_ms = o.connect_timeout_ms;
    topts.total_timeout_ms = o.request_timeout_ms;
    topts.compress = !o.no_compress;
    rc = transport_new(&link, &topts, &db->err);
    if (rc)
        goto out;

    for (;;) {
        uint64_t first, last, send_raw, send_mono;
        uint32_t n = 0;
        int64_t server_v = 0;
        long status = 0;
        apply_stats st;
        uint32_t r_pulled;
        int more;

        rc = db_meta_get_int(db, DB_META_SERVER_PROTO, 0, &server_v);
        if (!rc)
            rc = build_request(db, &dev, &o, server_v > 0 && server_v < 1000 ? (uint32_t)server_v : 0,
                               &req, &off, &first, &last, &n);
        if (rc)
            goto out;
        if (n > 0) {
            rc = outbox_mark_sent(db, first, last);
            if (rc)
                goto out;
        }
        send_raw = dclock_raw(&db->dc);
        send_mono = dclock_mono(&db->dc);
        rc = transport_post(link, PROTO_SYNC_PATH, PROTO_CONTENT_TYPE, req.ptr + off,
                            req.len - off, &status, &resp, &db->err);
        add_link_stats(sum, link);
        if (rc)
            goto out;
        if (status != 200) {
            rc = http_failure(db, status, &resp);
            goto out;
        }
        rc = proto_decode_sync_resp(resp.ptr, resp.len, &r, &db->err);
        if (rc) {
            gs_err_prefix(&db->err, "the server's answer is malformed: ");
            goto out;
        }
        if (r->n_acks != n) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "the server acknowledged %u of %u changes",
                            r->n_acks, n);
            goto out;
        }
        memset(&st, 0, sizeof(st));
        /* measured before the answer is applied, so the clock it merges is corrected */
        if (r->clock_ms)
            rc = db_clock_learn(db, r->clock_ms, send_raw, send_mono, dclock_raw(&db->dc),
                                dclock_mono(&db->dc));
        if (!rc)
            rc = apply_response(db, r, &st);
        if (!rc)
            rc = db_hlc_rebase(db, r->now);
        if (rc)
            goto out;
        sum->pushed += n;
        sum->accepted += st.acked;
        sum->rejected += st.rejected;
        sum->pulled += r->n_changes;
        sum->kept_local += st.kept_local;
        sum->lost += st.lost_taken;
        more = r->more;
        r_pulled = r->n_changes;
        proto_sync_resp_free(r);
        r = NULL;
        rounds++;
        if (o.progress)
            o.progress(o.progress_ud, sum);
        if (!more && n == 0 && server_v == 0) {
            int64_t pending = 0;
            rc = outbox_count(db, &pending, NULL);
            if (rc)
                goto out;
            if (pending)
                continue; /* that was the version probe: now the changes can go */
            break;
        }
        if (!more && n == 0)
            break; /* nothing was sent and nothing more waits: done */
        if (more && n == 0 && r_pulled == 0) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "the server says more waits but sent none");
            goto out;
        }
        if (st.acked + st.rejected + st.unknown_acks == 0 && !more && n > 0) {
            rc = gs_err_set(&db->err, GS_E_PROTO,
                            "the server settled none of %u changes; stopping", n);
            goto out;
        }
        if (!more) {
            int64_t pending = 0, sent = 0;
            rc = outbox_count(db, &pending, &sent);
            if (rc)
                goto out;
            if (pending == 0)
                break;
        }
    }
out:
    if (link)
        add_link_stats(sum, link);
    if (rc)
        snprintf(result, sizeof(result), "failed: %s", gs_err_msg(&db->err, rc));
    else if (sum->rejected)
        snprintf(result, sizeof(result), "ok, %llu rejected",
                 (unsigned long long)sum->rejected);
    else
        snprintf(result, sizeof(result), "ok");
    {
        gs_err keep = db->err; /* recording the result must not hide the sync's own error */
        outbox_set_sync_result(db, (int64_t)db_wall_ms(db), result);
        db->err = keep;
    }
    if (!rc && sum->rejected)
        rc = gs_err_set(&db->err, GS_E_REJECTED,
                        "%llu change(s) were rejected by the server: see gridsync status",
                        (unsigned long long)sum->rejected);
    if (old_cache != 0)
        cache_size_set(db, old_cache);
    proto_sync_resp_free(r);
    transport_free(link);
    device_settings_free(&dev);
    buf_free(&req);
    buf_free(&resp);
    (void)rounds;
    return rc;
}

int gs_sync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *summary)
{
    gs_sync_summary local;

    if (!db)
        return GS_E_INVALID;
    return csync_run(db, opts, summary ? summary : &local);
}
