/*
 * test_client_sync.c: the sync loop (client/csync.c) against a scripted server in-process:
 * the loop's own rules, which a real server never breaks and so end-to-end tests cannot
 * reach. Each case scripts what the "server" answers (an HTTP status, a response built
 * from the decoded request, or a malformed one) and checks the result code, the outbox
 * afterwards (nothing lost: a failed sync keeps every change) and the requests made.
 *
 *   - every HTTP status maps to its documented result code, the outbox kept;
 *   - an answer with the wrong number of acks, an undecodable answer, `more` with nothing
 *     sent or pulled, `more` with a cursor that did not move: GS_E_PROTO, stopping;
 *   - a transport failure is GS_E_NETWORK with everything kept;
 *   - a clean exchange removes the acknowledged changes and stops when nothing is left;
 *   - 410 wiped deletes the device's files (GS_E_WIPED); 410 upload_then_wipe sends every
 *     batch first; any other 410 deletes nothing;
 *   - before the server's version is known, a change whose fields carry different clocks
 *     waits for a first answer (an empty request); to a version 1 server it goes with the
 *     latest clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/csync.h"
#include "client/db.h"
#include "client/outbox.h"
#include "common/hlc.h"
#include "proto/proto.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"

enum script {
    S_OK,            /* ack every change ok, no more */
    S_STATUS,        /* answer fake->status with an Error body */
    S_FEW_ACKS,      /* one ack fewer than changes */
    S_GARBAGE,       /* 200 with bytes that are not MessagePack */
    S_MORE_EMPTY,    /* more, but nothing pulled (and nothing was sent) */
    S_MORE_STUCK,    /* more, one pulled change, the cursor as sent */
    S_NET_FAIL,      /* the transport fails */
    S_WIPE,          /* 410 with err fake->code */
    S_UPLOAD_WIPE,   /* 410 upload_then_wipe to a request with changes, else 410 wiped */
};

typedef struct fake {
    enum script script;  /* what to answer */
    long status;         /* S_STATUS: the status */
    uint32_t version;    /* the server's protocol version */
    int requests;        /* requests seen */
    uint32_t n_sent[8];  /* changes per request */
    uint64_t hlc_sent[8]; /* hlc of the first change per request */
    uint64_t next_ver;   /* server versions handed out */
    uint64_t epoch;      /* "ep" (0: 7) */
    uint64_t cur_sent[8]; /* cursor per request */
    const char *code;    /* S_WIPE: the Error's err */
} fake;

static uint8_t PULLED_ID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int fake_post(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                     gs_err *err)
{
    fake *f = ud;
    proto_sync_req *q = NULL;
    proto_sync_resp r;
    proto_ack acks[16];
    proto_field pf;
    proto_change ch;
    int rc;

    buf_reset(resp);
    if (f->script == S_NET_FAIL)
        return gs_err_set(err, GS_E_NETWORK, "could not connect (scripted)");
    if (proto_decode_sync_req(body, len, &q, err) != GS_OK)
        fail_msg("the client sent a request its own decoder refuses: %s", err->msg);
    if (f->requests < 8) {
        f->n_sent[f->requests] = q->n_changes;
        f->hlc_sent[f->requests] = q->n_changes ? q->changes[0].hlc : 0;
        f->cur_sent[f->requests] = q->cursor;
    }
    f->requests++;
    assert_true(q->n_changes <= 16);
    memset(&r, 0, sizeof(r));
    r.version = f->version;
    r.epoch = f->epoch ? f->epoch : 7;
    r.now = q->now;
    r.clock_ms = f->version >= 2 ? hlc_physical(q->now) : 0;
    r.cursor = q->cursor;
    for (uint32_t i = 0; i < q->n_changes; i++) {
        memset(&acks[i], 0, sizeof(acks[i]));
        acks[i].seq = q->changes[i].seq;
        acks[i].ok = 1;
        acks[i].version = ++f->next_ver;
        r.cursor = f->next_ver;
    }
    r.acks = acks;
    r.n_acks = q->n_changes;
    *status = 200;
    switch (f->script) {
    case S_STATUS:
        *status = f->status;
        rc = proto_encode_error(resp, "busy", "scripted", f->status == 426 ? 3 : 0);
        break;
    case S_WIPE:
        *status = 410;
        rc = proto_encode_error(resp, f->code, "scripted", 0);
        break;
    case S_UPLOAD_WIPE:
        *status = 410;
        rc = proto_encode_error(resp, q->n_changes ? "upload_then_wipe" : "wiped", "scripted",
                                0);
        break;
    case S_FEW_ACKS:
        r.n_acks = q->n_changes ? q->n_changes - 1 : 0;
        rc = proto_encode_sync_resp(resp, &r);
        break;
    case S_GARBAGE:
        rc = buf_add(resp, "\xc1\xc1garbage", 9);
        break;
    case S_MORE_EMPTY:
        r.more = 1;
        rc = proto_encode_sync_resp(resp, &r);
        break;
    case S_MORE_STUCK:
        memset(&pf, 0, sizeof(pf));
        pf.name = proto_cstr("name");
        pf.value.type = PV_STR;
        pf.value.u.s = proto_cstr("外来");
        pf.ver = q->cursor;
        memset(&ch, 0, sizeof(ch));
        ch.table = proto_cstr("resident");
        memcpy(ch.id, PULLED_ID, 16);
        ch.hlc = q->now;
        ch.fields = &pf;
        ch.n_fields = 1;
        r.changes = &ch;
        r.n_changes = 1;
        r.more = 1;
        r.cursor = q->cursor;
        rc = proto_encode_sync_resp(resp, &r);
        break;
    default:
        rc = proto_encode_sync_resp(resp, &r);
        break;
    }
    proto_sync_req_free(q);
    assert_int_equal(rc, GS_OK);
    return GS_OK;
}

typedef struct fixture {
    char dir[TDIR_MAX]; /* temporary folder */
    char path[TDEVICE_PATH_MAX]; /* the device database */
    gs_db *db;          /* open, enrolled */
    fake f;             /* the scripted server */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    const char *grids[] = {"g1"};
    gs_device_config cfg = tdevice_config(grids, 1, NULL);

    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "sync") ||
        gs_db_init_device(fx->db, &cfg) != GS_OK)
        return -1;
    fx->f.version = PROTO_VERSION;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int rc = tdevice_db_close(fx->db, fx->dir);
    free(fx);
    return rc;
}

static int run(fixture *fx)
{
    gs_sync_summary sum;
    return csync_run_with(fx->db, NULL, &sum, fake_post, &fx->f);
}

/* Whether path + suffix exists. */
static int exists(const char *path, const char *suffix)
{
    char p[TDEVICE_PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return access(p, F_OK) == 0;
}

/* 410 wiped: nothing more is sent, the files go (the marker last), GS_E_WIPED, and the
 * handle is left holding nothing: a later call fails instead of reading a file. */
static void test_wiped_deletes_the_files(void **state)
{
    fixture *fx = *state;
    int64_t n = -1;

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    tdevice_add_resident(fx->db, "乙", 0, NULL);
    assert_true(exists(fx->path, ""));
    assert_true(exists(fx->path, "-wal"));
    fx->f.script = S_WIPE;
    fx->f.code = "wiped";
    assert_int_equal(run(fx), GS_E_WIPED);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "wipe"));
    assert_int_equal(fx->f.requests, 1);
    for (size_t i = 0; i < 5; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm", "-journal", "-wipe"};
        if (exists(fx->path, sfx[i]))
            fail_msg("%s%s is still there", fx->path, sfx[i]);
    }
    assert_int_not_equal(gs_db_pending(fx->db, &n), GS_OK);
    assert_int_not_equal(run(fx), GS_OK); /* the handle holds nothing: every call fails */
    assert_false(exists(fx->path, ""));
}

/* 410 upload_then_wipe: batch after batch goes up (one change each here) until the outbox
 * is empty, then the device wipes itself without another request. */
static void test_upload_then_wipe_sends_everything_first(void **state)
{
    fixture *fx = *state;
    gs_sync_opts o;
    gs_sync_summary sum;

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    tdevice_add_resident(fx->db, "乙", 0, NULL);
    tdevice_add_resident(fx->db, "丙", 0, NULL);
    memset(&o, 0, sizeof(o));
    o.batch_changes = 1;
    fx->f.script = S_UPLOAD_WIPE;
    assert_int_equal(csync_run_with(fx->db, &o, &sum, fake_post, &fx->f), GS_E_WIPED);
    assert_int_equal(fx->f.requests, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx->f.n_sent[i], 1);
    assert_int_equal(sum.pushed, 3);
    assert_false(exists(fx->path, ""));
    assert_false(exists(fx->path, "-wal"));
    assert_false(exists(fx->path, "-wipe"));
}

/* A 410 without one of the two codes, or upload_then_wipe to a request that sent nothing,
 * is a server error: nothing is deleted, the outbox is kept. */
static void test_other_410_deletes_nothing(void **state)
{
    fixture *fx = *state;
    static const char *const codes[] = {"gone", "WIPED", "wiped_later"};

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    fx->f.script = S_WIPE;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        fx->f.code = codes[i];
        assert_int_equal(run(fx), GS_E_SERVER);
        assert_int_equal(tdevice_pending(fx->db), 1);
    }
    fx->f.script = S_OK;
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(tdevice_pending(fx->db), 0);
    fx->f.script = S_WIPE;
    fx->f.code = "upload_then_wipe";
    assert_int_equal(run(fx), GS_E_SERVER); /* nothing was sent: nothing was merged */
    assert_true(exists(fx->path, ""));
    assert_false(exists(fx->path, "-wipe"));
}

static void test_clean_exchange_settles_and_stops(void **state)
{
    fixture *fx = *state;
    tdevice_add_resident(fx->db, "甲", 0, NULL);
    tdevice_add_resident(fx->db, "乙", 0, NULL);
    fx->f.script = S_OK;
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(tdevice_pending(fx->db), 0);
    assert_int_equal(fx->f.requests, 1);
    assert_int_equal(fx->f.n_sent[0], 2);
    /* nothing to do: one request, no changes */
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(fx->f.requests, 2);
    assert_int_equal(fx->f.n_sent[1], 0);
}

/* A new epoch (the server was restored): every record is queued again with base 0, and the
 * pull starts over from 0; the next sync sends them, and a second one finds nothing. */
static void test_new_epoch_requeues_and_pulls_from_zero(void **state)
{
    fixture *fx = *state;
    int base = 0;

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    tdevice_add_resident(fx->db, "乙", 0, NULL);
    fx->f.script = S_OK;
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(fx->f.requests, 1);
    assert_int_equal(tdevice_pending(fx->db), 0);
    fx->f.epoch = 8;
    fx->f.next_ver = 0; /* the restored server's history is shorter */
    assert_int_equal(run(fx), GS_OK);
    /* request 2 learns the epoch, 3 sends both records again from cursor 0 */
    assert_true(fx->f.requests >= 3);
    assert_int_equal(fx->f.cur_sent[2], 0);
    assert_int_equal(fx->f.n_sent[2], 2);
    assert_int_equal(tdevice_pending(fx->db), 0);
    base = fx->f.requests;
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(fx->f.requests, base + 1);
    assert_int_equal(fx->f.n_sent[base], 0);
}

static void test_every_status_maps_and_keeps_the_outbox(void **state)
{
    fixture *fx = *state;
    static const struct {
        long status;
        int rc;
    } cases[] = {
        {401, GS_E_AUTH},   {403, GS_E_AUTH},   {426, GS_E_PROTO_VERSION}, {429, GS_E_BUSY},
        {503, GS_E_BUSY},   {500, GS_E_SERVER}, {413, GS_E_SERVER},        {400, GS_E_SERVER},
        {404, GS_E_SERVER}, {302, GS_E_SERVER},
    };

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    fx->f.script = S_STATUS;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        fx->f.status = cases[i].status;
        rc = run(fx);
        if (rc != cases[i].rc)
            fail_msg("status %ld: %s, want %s (%s)", cases[i].status, gs_strerror(rc),
                     gs_strerror(cases[i].rc), gs_db_errmsg(fx->db));
        assert_int_equal(tdevice_pending(fx->db), 1);
    }
    /* the change is still sent under the same seq once the server is back */
    fx->f.script = S_OK;
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(tdevice_pending(fx->db), 0);
}

static void test_broken_answers_stop_with_everything_kept(void **state)
{
    fixture *fx = *state;
    static const enum script bad[] = {S_FEW_ACKS, S_GARBAGE, S_NET_FAIL};
    static const int want[] = {GS_E_PROTO, GS_E_PROTO, GS_E_NETWORK};

    tdevice_add_resident(fx->db, "甲", 0, NULL);
    tdevice_add_resident(fx->db, "乙", 0, NULL);
    for (size_t i = 0; i < 3; i++) {
        int rc;
        fx->f.script = bad[i];
        rc = run(fx);
        if (rc != want[i])
            fail_msg("case %zu: %s (%s)", i, gs_strerror(rc), gs_db_errmsg(fx->db));
        assert_int_equal(tdevice_pending(fx->db), 2);
    }
}

static void test_more_without_progress_stops(void **state)
{
    fixture *fx = *state;
    int rc;

    fx->f.script = S_MORE_EMPTY;
    rc = run(fx);
    assert_int_equal(rc, GS_E_PROTO);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "more waits but sent none"));
    assert_int_equal(fx->f.requests, 1);
    fx->f.script = S_MORE_STUCK;
    fx->f.requests = 0;
    rc = run(fx);
    assert_int_equal(rc, GS_E_PROTO);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "cursor did not move"));
    assert_int_equal(fx->f.requests, 1); /* it stopped instead of asking forever */
}

static void test_mixed_clocks_wait_for_the_server_version(void **state)
{
    fixture *fx = *state;
    char id[40];
    gs_record *r;

    tdevice_add_resident(fx->db, "甲", 0, id);
    usleep(3000);
    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, id), GS_OK);
    assert_int_equal(gs_record_set_str(r, "phone", "1"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, r), GS_OK); /* merged: two clocks in one row */
    gs_record_free(r);
    fx->f.script = S_OK;
    fx->f.version = 1; /* an old server */
    assert_int_equal(run(fx), GS_OK);
    assert_int_equal(fx->f.requests, 2);
    assert_int_equal(fx->f.n_sent[0], 0); /* the probe */
    assert_int_equal(fx->f.n_sent[1], 1);
    /* version 1 has one clock per change: the latest edit's, not the first's */
    assert_true(fx->f.hlc_sent[1] > hlc_pack(0, 0));
    {
        gs_record *got;
        assert_int_equal(gs_db_get(fx->db, id, &got), GS_OK);
        assert_int_equal(fx->f.hlc_sent[1], gs_record_updated(got));
        assert_true(gs_record_created(got) < gs_record_updated(got));
        gs_record_free(got);
    }
    assert_int_equal(tdevice_pending(fx->db), 0);
}

/* A device that never synced, whose first change carries two clocks, first sends an empty
 * version probe; a wipe-after-upload server answers it 410 wiped (it cannot tell a probe
 * from "nothing left"), so the change goes once more, as version 3, and is merged before
 * the wipe. A plain wipe answers that one wiped too. */
static void test_wipe_after_a_version_probe_sends_the_changes(void **state)
{
    fixture *fx = *state;
    char id[40];
    gs_record *r;

    tdevice_add_resident(fx->db, "甲", 0, id);
    usleep(3000);
    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, id), GS_OK);
    assert_int_equal(gs_record_set_str(r, "phone", "1"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, r), GS_OK); /* merged: two clocks in one row */
    gs_record_free(r);
    fx->f.script = S_UPLOAD_WIPE;
    assert_int_equal(run(fx), GS_E_WIPED);
    assert_int_equal(fx->f.requests, 2);
    assert_int_equal(fx->f.n_sent[0], 0); /* the probe */
    assert_int_equal(fx->f.n_sent[1], 1); /* then the change, merged */
    assert_false(exists(fx->path, ""));
}

static void test_wipe_after_a_version_probe_plain_wipe(void **state)
{
    fixture *fx = *state;
    char id[40];
    gs_record *r;

    tdevice_add_resident(fx->db, "甲", 0, id);
    usleep(3000);
    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, id), GS_OK);
    assert_int_equal(gs_record_set_str(r, "phone", "1"), GS_OK);
    assert_int_equal(gs_db_update(fx->db, r), GS_OK);
    gs_record_free(r);
    fx->f.script = S_WIPE;
    fx->f.code = "wiped";
    assert_int_equal(run(fx), GS_E_WIPED);
    assert_int_equal(fx->f.requests, 2); /* the probe, the change once, never more */
    assert_false(exists(fx->path, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_exchange_settles_and_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wiped_deletes_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_then_wipe_sends_everything_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_410_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe_after_a_version_probe_sends_the_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wipe_after_a_version_probe_plain_wipe, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_new_epoch_requeues_and_pulls_from_zero, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_status_maps_and_keeps_the_outbox, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_answers_stop_with_everything_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_more_without_progress_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_clocks_wait_for_the_server_version, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
