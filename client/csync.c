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
 * Versions (PROTOCOL.md 7.6): a request is always v 3 (PROTO_VERSION), but its changes are
 * written in the form of the server's version as last seen (meta server_proto). Before the first answer
 * from a server, a change whose fields carry different clocks is not sent: it has no
 * faithful version 1 form, so the batch stops before it (a request with no changes tells
 * the version). A version 1 server gets such a change with the latest clock, as version 1
 * clients always sent it.
 *
 * Restore safety (PROTOCOL.md 2.9): an answer with another epoch than the one kept, or a
 * cursor below the one sent, starts the history over (check_history, resync.h).
 *
 * Remote wipe (PROTOCOL.md section 1, 410): `upload_then_wipe` says the batch was merged
 * (no acks come): its rows leave the outbox and the next batch goes, until none is left;
 * then, or at once on `wiped`, wipe.h deletes the device's files and the sync ends with
 * GS_E_WIPED. Any other 410 is a server error like any unknown status: nothing is deleted.
 * A version probe (empty, see above) answered `wiped` is followed by one request with the
 * changes, as version 3: the server cannot tell a probe from "nothing left to send".
 */
#include "csync.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/transport.h"
#include "db.h"
#include "apply.h"
#include "atransfer.h"
#include "device.h"
#include "outbox.h"
#include "resync.h"
#include "wipe.h"

#include <stdio.h>
#include <string.h>

/* A sync touches each outbox page once (read, then deleted by its ack), so a big page cache
 * buys nothing here and only raises a handheld's peak memory: the sync runs with
 * CSYNC_CACHE_KIB (csync.h) and restores the handle's own afterwards (db.c opens with
 * 2 MiB for batch writes). */

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
/* The request stays in its one allocation unless a single change is over 200 KiB. */
_Static_assert(CSYNC_BATCH_BYTES + HEAD_ROOM + 200u * 1024u <= CSYNC_REQ_ALLOC,
               "a request at the byte cap must fit the request buffer's allocation");

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
    if (form >= 2)
        outbox_iter_raw(it); /* stored rows are version 2's "f" maps: sent as they are */
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
    head.pull_max = CSYNC_PULL_MAX;
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

/* One sync: what its phases share. */
typedef struct csync {
    gs_db *db;                /* the device */
    gs_sync_opts o;           /* the options, defaults filled in */
    gs_sync_summary *sum;     /* the caller's summary, kept up to date */
    device_settings dev;      /* enrolment, loaded by sync_begin */
    transport *link;          /* the HTTPS link (NULL when a test posts) */
    csync_post_fn *post;      /* how a request goes: transport_post, or a test's */
    void *post_ud;            /* passed to post */
    gs_buf req, resp;         /* the request being built, the answer */
    int old_cache;            /* the handle's cache_size, restored by sync_end */
    int wiped;                /* the files are gone (wipe.h): sync_end touches no table */
    int wipe_probed;          /* a version probe got 410 wiped: the changes went once */
    char refusal[200];        /* the server's words for the last attachment it refused */
} csync;

/* What one exchange did, for deciding whether another follows. */
typedef struct round_out {
    uint32_t sent;          /* changes pushed */
    uint32_t pulled;        /* changes received */
    uint32_t settled;       /* acks that settled an outbox row (ok, rejected, or known) */
    int more;               /* the server says more waits */
    uint32_t server_v;      /* the server's version before this round (0: unknown) */
    uint64_t cursor_sent;   /* the cursor the request carried */
    uint64_t cursor_got;    /* the cursor the answer gave */
    int upload_more;        /* 410 upload_then_wipe and rows left: send the next batch */
    int resynced;           /* the server was restored: everything queued again, pull
                               from 0 (resync.h) */
} round_out;

static void add_link_stats(csync *cs)
{
    const transport_stats *ts;

    if (!cs->link)
        return;
    ts = transport_get_stats(cs->link);
    cs->sum->requests = ts->requests;
    cs->sum->bytes_up = ts->bytes_up;
    cs->sum->bytes_down = ts->bytes_down;
    cs->sum->connects = ts->connects;
}

static int link_post(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                     gs_err *err)
{
    return transport_post(ud, PROTO_SYNC_PATH, PROTO_CONTENT_TYPE, body, len, status, resp, err);
}

/* Options, the handle's cache, the enrolment and (unless a test posts) the link. */
static int sync_begin(csync *cs, gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum,
                      csync_post_fn *post, void *post_ud)
{
    transport_opts topts;
    int rc;

    memset(cs, 0, sizeof(*cs));
    cs->db = db;
    cs->sum = sum;
    memset(sum, 0, sizeof(*sum));
    if (opts)
        cs->o = *opts;
    defaults(&cs->o);
    buf_init(&cs->req, PROTO_MAX_BODY);
    buf_init(&cs->resp, RESP_MAX);
    gs_err_clear(&db->err);
    cs->old_cache = cache_size_get(db);
    if (cs->old_cache != 0)
        cache_size_set(db, -(int)CSYNC_CACHE_KIB);
    rc = device_load(db, &cs->dev);
    if (rc)
        return rc;
    if (!cs->dev.device_id || !cs->dev.server_url || !cs->dev.token || !cs->dev.ca_pem)
        return gs_err_set(&db->err, GS_E_CONFIG,
                          "this device is not enrolled: run gridsync init first");
    if (post) {
        cs->post = post;
        cs->post_ud = post_ud;
        return GS_OK;
    }
    memset(&topts, 0, sizeof(topts));
    topts.base_url = cs->dev.server_url;
    topts.ca_pem = cs->dev.ca_pem;
    topts.ca_pem_len = cs->dev.ca_pem_len;
    topts.token = cs->dev.token;
    topts.connect_timeout_ms = cs->o.connect_timeout_ms;
    topts.total_timeout_ms = cs->o.request_timeout_ms;
    topts.compress = !cs->o.no_compress;
    rc = transport_new(&cs->link, &topts, &db->err);
    if (rc == GS_OK) {
        cs->post = link_post;
        cs->post_ud = cs->link;
    }
    return rc;
}

/* The answer, checked: 200, decodable, one ack per change sent. */
static int read_answer(csync *cs, long status, uint32_t n, proto_sync_resp **out)
{
    gs_db *db = cs->db;
    proto_sync_resp *r = NULL;
    int rc;

    if (status != 200)
        return http_failure(db, status, &cs->resp);
    rc = proto_decode_sync_resp(cs->resp.ptr, cs->resp.len, &r, &db->err);
    if (rc) {
        gs_err_prefix(&db->err, "the server's answer is malformed: ");
        return rc;
    }
    if (r->n_acks != n) {
        rc = gs_err_set(&db->err, GS_E_PROTO, "the server acknowledged %u of %u changes",
                        r->n_acks, n);
        proto_sync_resp_free(r);
        return rc;
    }
    *out = r;
    return GS_OK;
}

/* Whether the server still holds the history this device knew (PROTOCOL.md 2.9): the
 * same epoch, and a cursor not below the one sent (a server never moves a cursor back).
 * When it does not, everything is queued again (resync.h) before the answer is applied,
 * and the answer's page is dropped: the pull starts over from 0 and brings it again. */
static int check_history(csync *cs, round_out *ro, proto_sync_resp *r)
{
    gs_db *db = cs->db;
    int64_t known = 0;
    uint64_t queued = 0;
    int rc = db_meta_get_int(db, DB_META_SERVER_EPOCH, 0, &known);

    if (rc)
        return rc;
    if ((r->epoch && known && (uint64_t)known != r->epoch) || r->cursor < ro->cursor_sent) {
        rc = resync_start(db, r->epoch, &queued);
        if (rc)
            return rc;
        r->n_changes = 0;
        r->cursor = 0;
        r->more = 0;
        ro->resynced = 1;
        cs->sum->requeued += queued;
        return GS_OK;
    }
    if (r->epoch && !known) /* the first answer of a server that names its epoch */
        rc = db_meta_set_int(db, DB_META_SERVER_EPOCH, (int64_t)r->epoch);
    return rc;
}

/* A 410 answer (PROTOCOL.md section 1): GS_OK with ro->upload_more when the batch up to
 * last was merged and rows are left; GS_E_WIPED when the device is wiped (cs->wiped); an
 * unknown 410 is a server error and deletes nothing. */
static int wipe_answer(csync *cs, round_out *ro, uint64_t last)
{
    gs_db *db = cs->db;
    proto_error *e = NULL;
    int64_t pending = 0;
    int rc, upload = 0, now = 0;

    if (cs->resp.len && proto_decode_error(cs->resp.ptr, cs->resp.len, &e, NULL) == GS_OK) {
        now = proto_str_eq(e->code, "wiped");
        upload = proto_str_eq(e->code, "upload_then_wipe") && ro->sent > 0;
    }
    proto_error_free(e);
    if (!now && !upload)
        return http_failure(db, 410, &cs->resp);
    if (now && ro->sent == 0 && ro->server_v == 0 && !cs->wipe_probed) {
        /* the answer to a version probe (the file comment): a server that wipes speaks
         * version 3, so the changes that waited for the probe go once, in case the admin
         * allowed the upload (a server that refuses it answers wiped again) */
        rc = outbox_count(db, &pending, NULL);
        if (!rc && pending > 0)
            rc = db_meta_set_int(db, DB_META_SERVER_PROTO, PROTO_VERSION);
        if (rc)
            return rc;
        if (pending > 0) {
            cs->wipe_probed = 1;
            ro->upload_more = 1;
            return GS_OK;
        }
    }
    if (upload) {
        cs->sum->pushed += ro->sent;
        rc = outbox_drop_upto(db, last);
        if (!rc)
            rc = outbox_count(db, &pending, NULL);
        if (rc)
            return rc;
        if (pending > 0) {
            ro->upload_more = 1;
            return GS_OK;
        }
    }
    cs->wiped = 1;
    return wipe_device(db);
}

/* One exchange: the oldest pending changes up, the answer applied. */
static int sync_round(csync *cs, round_out *ro)
{
    gs_db *db = cs->db;
    uint64_t first, last, send_raw, send_mono;
    proto_sync_resp *r = NULL;
    apply_stats st;
    int64_t server_v = 0;
    size_t off = 0;
    long status = 0;
    int rc;

    memset(ro, 0, sizeof(*ro));
    rc = db_meta_get_int(db, DB_META_SERVER_PROTO, 0, &server_v);
    if (rc)
        return rc;
    ro->server_v = server_v > 0 && server_v < 1000 ? (uint32_t)server_v : 0;
    rc = outbox_get_cursor(db, &ro->cursor_sent);
    if (rc)
        return rc;
    rc = build_request(db, &cs->dev, &cs->o, ro->server_v, &cs->req, &off, &first, &last,
                       &ro->sent);
    if (rc == GS_OK && ro->sent > 0)
        rc = outbox_mark_sent(db, first, last);
    if (rc)
        return rc;
    send_raw = dclock_raw(&db->dc);
    send_mono = dclock_mono(&db->dc);
    rc = cs->post(cs->post_ud, cs->req.ptr + off, cs->req.len - off, &status, &cs->resp,
                  &db->err);
    add_link_stats(cs);
    if (rc == GS_OK && status == 410)
        return wipe_answer(cs, ro, last);
    if (rc == GS_OK)
        rc = read_answer(cs, status, ro->sent, &r);
    if (rc)
        return rc;
    memset(&st, 0, sizeof(st));
    /* measured before the answer is applied, so the clock it merges is corrected */
    if (r->clock_ms)
        rc = db_clock_learn(db, r->clock_ms, send_raw, send_mono, dclock_raw(&db->dc),
                            dclock_mono(&db->dc));
    if (rc == GS_OK)
        rc = check_history(cs, ro, r);
    if (rc == GS_OK)
        rc = apply_response(db, r, &st);
    if (rc == GS_OK)
        rc = db_hlc_rebase(db, r->now);
    if (rc == GS_OK) {
        cs->sum->pushed += ro->sent;
        cs->sum->accepted += st.acked;
        cs->sum->rejected += st.rejected;
        cs->sum->pulled += r->n_changes;
        cs->sum->kept_local += st.kept_local;
        cs->sum->lost += st.lost_taken;
        ro->pulled = r->n_changes;
        ro->settled = st.acked + st.rejected + st.unknown_acks;
        ro->more = r->more;
        ro->cursor_got = r->cursor;
    }
    proto_sync_resp_free(r);
    return rc;
}

/* After a round: *go 1 for another, 0 when the sync is complete; an error when the
 * exchange makes no progress. */
static int sync_continues(csync *cs, const round_out *ro, int *go)
{
    gs_db *db = cs->db;
    int64_t pending = 0;
    int rc;

    *go = 0;
    if (ro->upload_more) { /* a wipe waits for the rest of the outbox to go up */
        *go = 1;
        return GS_OK;
    }
    if (ro->resynced) { /* the pull starts over, and the queued records wait */
        *go = 1;
        return GS_OK;
    }
    if (!ro->more && ro->sent == 0 && ro->server_v != 0)
        return GS_OK; /* nothing was sent and nothing more waits: done */
    if (ro->more && ro->sent == 0 && ro->pulled == 0)
        return gs_err_set(&db->err, GS_E_PROTO, "the server says more waits but sent none");
    /* more waits, so this page ended at a version above the cursor: else it would loop */
    if (ro->more && ro->cursor_got <= ro->cursor_sent)
        return gs_err_set(&db->err, GS_E_PROTO, "the server says more waits but its cursor "
                          "did not move (%llu): stopping", (unsigned long long)ro->cursor_got);
    if (ro->settled == 0 && !ro->more && ro->sent > 0)
        return gs_err_set(&db->err, GS_E_PROTO,
                          "the server settled none of %u changes; stopping", ro->sent);
    if (ro->more) {
        *go = 1;
        return GS_OK;
    }
    /* changes left, or (after the version probe of the file comment) still to send */
    rc = outbox_count(db, &pending, NULL);
    if (rc == GS_OK)
        *go = pending > 0;
    return rc;
}

/* Records the outcome for gridsync status, turns rejections into GS_E_REJECTED, restores
 * the handle and frees the sync's memory. */
static int sync_end(csync *cs, int rc)
{
    gs_db *db = cs->db;
    char result[300];
    gs_err keep;

    add_link_stats(cs);
    if (cs->wiped)
        goto out; /* nothing to record in: the files are gone */
    if (rc)
        snprintf(result, sizeof(result), "failed: %s", gs_err_msg(&db->err, rc));
    else if (cs->sum->rejected)
        snprintf(result, sizeof(result), "ok, %llu rejected",
                 (unsigned long long)cs->sum->rejected);
    else if (cs->sum->att_refused)
        snprintf(result, sizeof(result), "ok, %llu attachment(s) refused: %.200s",
                 (unsigned long long)cs->sum->att_refused, cs->refusal);
    else
        snprintf(result, sizeof(result), "ok");
    keep = db->err; /* recording the result must not hide the sync's own error */
    outbox_set_sync_result(db, (int64_t)db_wall_ms(db), result);
    db->err = keep;
    if (!rc && cs->sum->rejected)
        rc = gs_err_set(&db->err, GS_E_REJECTED,
                        "%llu change(s) were rejected by the server: see gridsync status",
                        (unsigned long long)cs->sum->rejected);
    if (cs->old_cache != 0)
        cache_size_set(db, cs->old_cache);
out:
    transport_free(cs->link);
    device_settings_free(&cs->dev);
    buf_free(&cs->req);
    buf_free(&cs->resp);
    return rc;
}

int csync_run_with(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum, csync_post_fn *post,
                   void *post_ud)
{
    csync cs;
    round_out ro;
    int go = 1, rc = sync_begin(&cs, db, opts, sum, post, post_ud);

    while (rc == GS_OK && go) {
        rc = sync_round(&cs, &ro);
        if (rc == GS_OK && cs.o.progress)
            cs.o.progress(cs.o.progress_ud, sum);
        if (rc == GS_OK)
            rc = sync_continues(&cs, &ro, &go);
    }
    /* the records are synced: attachment bytes now, in requests of their own */
    if (rc == GS_OK && cs.link && cs.o.attachments_budget != GS_SYNC_NO_ATTACHMENTS) {
        rc = atransfer_run(db, cs.link, cs.dev.device_id, cs.o.attachments_budget, sum,
                           cs.refusal, sizeof(cs.refusal));
        if (rc == GS_OK && cs.o.progress)
            cs.o.progress(cs.o.progress_ud, sum);
    }
    return sync_end(&cs, rc);
}

int csync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum)
{
    return csync_run_with(db, opts, sum, NULL, NULL);
}

int gs_sync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *summary)
{
    gs_sync_summary local;

    if (!db)
        return GS_E_INVALID;
    return csync_run(db, opts, summary ? summary : &local);
}
