/*
 * test_client_warning.c: warnings (预警, issue 15 section 3) on the handheld, offline. The
 * warnings arrive as a pull does: a scripted server in-process (csync_run_with, as in
 * test_client_sync.c) answers the device's sync with changes of table "warning", encoded
 * and decoded by the real codec and written by the real apply path. No rule engine: the
 * test plays the server's part. Checked:
 *   - the list is open first (open, then acknowledged), then urgent, attention, notice,
 *     then the oldest condition first; cleared ones only with GS_WARNINGS_ALL, last;
 *     deleted ones never; gs_list_where and gs_list_limit narrow it;
 *   - gs_db_warnings_open counts open and acknowledged, not cleared or deleted;
 *   - gs_db_warning_ack writes one outbox change holding exactly state, note, ack_by and
 *     ack_at (the device-editable fields), which is what goes up at the next sync;
 *   - creating, deleting and every forbidden update of a warning are GS_E_READ_ONLY with
 *     the field named and nothing in the outbox; an update of the note alone is allowed;
 *   - a cleared warning cannot be acknowledged (GS_E_STATE), an unknown id is
 *     GS_E_NOTFOUND, a bad one GS_E_INVALID; the server's clearing after an
 *     acknowledgement ends the warning;
 *   - an allocation failure at any point of an acknowledgement writes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/csync.h"
#include "client/db.h"
#include "client/outbox.h"
#include "common/hlc.h"
#include "common/uuid.h"
#include "proto/proto.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tsql.h"
#include "tests/lib/tvalue.h"

/* From the library's allocation wrapper (common/alloc.h): a test hook, not public API. */
void gs_alloc_fail_after(long n);

#define NOW_MS INT64_C(1795743000000) /* 2026-11-27 the device's wall clock */
#define DAY_MS INT64_C(86400000)
#define MAX_QUEUED 16
#define MAX_FIELDS 16
#define WORKER "张三"

/* A change of one record, copied out of a request or the outbox for assertions. */
typedef struct snap {
    char table[16];              /* its table */
    char id[40];                 /* the record id, text */
    uint32_t n;                  /* fields */
    char name[MAX_FIELDS][24];   /* their names */
    char value[MAX_FIELDS][128]; /* their values as text: strings, integers, nil */
} snap;

/* A change the scripted server sends at the next sync. */
typedef struct queued {
    uint8_t id[16];            /* the warning */
    proto_field f[MAX_FIELDS]; /* its fields (values point at literals) */
    uint32_t n;                /* entries in f */
    int creates;               /* a new record: send its creation clock */
} queued;

typedef struct fake {
    queued q[MAX_QUEUED]; /* changes for the next answer */
    uint32_t n_q;         /* entries in q */
    uint64_t next_ver;    /* server versions handed out */
    int requests;         /* requests seen */
    uint32_t n_pushed;    /* changes pushed in all */
    snap pushed;          /* the last change pushed */
} fake;

typedef struct fixture {
    char dir[TDIR_MAX];          /* temporary folder */
    char path[TDEVICE_PATH_MAX]; /* the device database */
    gs_db *db;                   /* open, enrolled in g1 as worker 张三 */
    uint64_t now_ms;             /* the wall clock the handle sees */
    fake f;                      /* the scripted server */
    char id[8][40];              /* ids of the warnings made by a test, text */
} fixture;

static void snap_change(const proto_change *c, snap *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->table, sizeof(s->table), "%.*s", (int)c->table.len, c->table.ptr);
    uuid_format(c->id, s->id);
    for (uint32_t i = 0; i < c->n_fields && s->n < MAX_FIELDS; i++, s->n++) {
        const proto_value *v = &c->fields[i].value;
        snprintf(s->name[s->n], sizeof(s->name[0]), "%.*s", (int)c->fields[i].name.len,
                 c->fields[i].name.ptr);
        if (v->type == PV_STR)
            snprintf(s->value[s->n], sizeof(s->value[0]), "%.*s", (int)v->u.s.len, v->u.s.ptr);
        else if (v->type == PV_INT)
            snprintf(s->value[s->n], sizeof(s->value[0]), "%lld", (long long)v->u.i);
        else if (v->type == PV_NIL)
            snprintf(s->value[s->n], sizeof(s->value[0]), "nil");
        else
            snprintf(s->value[s->n], sizeof(s->value[0]), "type %d", (int)v->type);
    }
}

/* The value of field name in s, or NULL when s does not carry it. */
static const char *snap_value(const snap *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return s->value[i];
    return NULL;
}

static int fake_post(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                     gs_err *err)
{
    fake *f = ud;
    proto_sync_req *q = NULL;
    proto_sync_resp r;
    proto_ack acks[16];
    proto_change ch[MAX_QUEUED];
    int rc;

    buf_reset(resp);
    if (proto_decode_sync_req(body, len, &q, err) != GS_OK)
        fail_msg("the client sent a request its own decoder refuses: %s", err->msg);
    f->requests++;
    assert_true(q->n_changes <= 16);
    memset(&r, 0, sizeof(r));
    r.version = PROTO_VERSION;
    r.epoch = 1; /* one store throughout (PROTOCOL.md 2.9) */
    r.now = q->now;
    r.clock_ms = hlc_physical(q->now);
    for (uint32_t i = 0; i < q->n_changes; i++) {
        snap_change(&q->changes[i], &f->pushed);
        f->n_pushed++;
        memset(&acks[i], 0, sizeof(acks[i]));
        acks[i].seq = q->changes[i].seq;
        acks[i].ok = 1;
        acks[i].version = ++f->next_ver;
    }
    r.acks = acks;
    r.n_acks = q->n_changes;
    for (uint32_t i = 0; i < f->n_q; i++) {
        queued *w = &f->q[i];
        uint64_t ver = ++f->next_ver;
        for (uint32_t k = 0; k < w->n; k++)
            w->f[k].ver = ver;
        memset(&ch[i], 0, sizeof(ch[i]));
        ch[i].table = proto_cstr("warning");
        memcpy(ch[i].id, w->id, 16);
        ch[i].hlc = hlc_pack(hlc_physical(q->now) - 1000, 0);
        ch[i].created = w->creates ? ch[i].hlc : 0;
        ch[i].fields = w->f;
        ch[i].n_fields = w->n;
    }
    r.changes = ch;
    r.n_changes = f->n_q;
    r.cursor = f->next_ver;
    *status = 200;
    rc = proto_encode_sync_resp(resp, &r);
    proto_sync_req_free(q);
    f->n_q = 0;
    assert_int_equal(rc, GS_OK);
    return GS_OK;
}

static uint64_t fake_clock(void *ud)
{
    return ((fixture *)ud)->now_ms;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    const char *grids[] = {"g1"};
    gs_device_config cfg = tdevice_config(grids, 1, WORKER);

    fx->now_ms = (uint64_t)NOW_MS;
    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "warning"))
        return -1;
    db_set_clock(fx->db, fake_clock, fx);
    if (gs_db_init_device(fx->db, &cfg) != GS_OK)
        return -1;
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

/* One sync with the scripted server; fails the test unless it succeeds. */
static void sync_now(fixture *fx)
{
    gs_sync_summary sum;
    int rc = csync_run_with(fx->db, NULL, &sum, fake_post, &fx->f);
    if (rc != GS_OK)
        fail_msg("sync: %s (%s)", gs_strerror(rc), gs_db_errmsg(fx->db));
}

static queued *queue(fixture *fx, const uint8_t id[16], int creates)
{
    queued *w;
    assert_true(fx->f.n_q < MAX_QUEUED);
    w = &fx->f.q[fx->f.n_q++];
    memset(w, 0, sizeof(*w));
    memcpy(w->id, id, 16);
    w->creates = creates;
    return w;
}

static void put(queued *w, const char *name, proto_value v)
{
    assert_true(w->n < MAX_FIELDS);
    w->f[w->n++] = tv_field(name, v, 0);
}

/* Has the server raise warning number k of the test (its id into fx->id[k]) for a resident
 * of g1, as its rules will: every required field, state as given (open, acknowledged or
 * cleared, with cleared_at then). Delivered by the next sync_now. */
static void raise_warning(fixture *fx, int k, const char *level, const char *state,
                          int64_t since_ms, const char *title)
{
    uint8_t id[16];
    queued *w;

    assert_int_equal(uuid_v7(id, (uint64_t)NOW_MS - 60000 + (uint64_t)k), GS_OK);
    uuid_format(id, fx->id[k]);
    w = queue(fx, id, 1);
    put(w, "rule", tv_str("unvisited_vulnerable"));
    put(w, "grid", tv_str("g1"));
    put(w, "subject_type", tv_str("resident"));
    put(w, "subject", tv_str("0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d"));
    put(w, "level", tv_str(level));
    put(w, "title", tv_str(title));
    put(w, "since", tv_int(since_ms));
    put(w, "state", tv_str(state));
    if (strcmp(state, "cleared") == 0)
        put(w, "cleared_at", tv_int(NOW_MS - 1000));
}

/* Has the server clear warning k (its condition ended) at the next sync. */
static void clear_warning(fixture *fx, int k)
{
    uint8_t id[16];
    queued *w;

    assert_int_equal(uuid_parse(fx->id[k], 36, id), GS_OK);
    w = queue(fx, id, 0);
    put(w, "state", tv_str("cleared"));
    put(w, "cleared_at", tv_int((int64_t)fx->now_ms - 500));
}

/* Has the server delete warning k (a tombstone) at the next sync. */
static void delete_warning(fixture *fx, int k)
{
    uint8_t id[16];
    queued *w;

    assert_int_equal(uuid_parse(fx->id[k], 36, id), GS_OK);
    w = queue(fx, id, 0);
    put(w, "deleted", tv_bool(1));
}

static int64_t open_count(fixture *fx)
{
    int64_t n = -1;
    int rc = gs_db_warnings_open(fx->db, &n);
    if (rc)
        fail_msg("gs_db_warnings_open: %s (%s)", gs_strerror(rc), gs_db_errmsg(fx->db));
    return n;
}

/* The titles of the listed warnings, in list order, joined with "|". */
static const char *titles(gs_list *l, char *buf, size_t cap)
{
    gs_record *r = NULL;
    size_t used = 0;

    buf[0] = '\0';
    while (gs_list_next(l, &r) == GS_OK && r) {
        const char *t = NULL;
        assert_int_equal(gs_record_get_str(r, "title", &t), GS_OK);
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "|" : "", t);
        assert_true(used < cap);
        gs_record_free(r);
    }
    gs_list_free(l);
    return buf;
}

static const char *list_titles(fixture *fx, int flags, char *buf, size_t cap)
{
    gs_list *l = NULL;
    int rc = gs_db_warnings_list(fx->db, flags, &l);
    if (rc)
        fail_msg("gs_db_warnings_list: %s (%s)", gs_strerror(rc), gs_db_errmsg(fx->db));
    return titles(l, buf, cap);
}

/* The outbox's rows, oldest first, into out (at most max); their number. */
static int outbox_snaps(fixture *fx, snap *out, int max)
{
    outbox_iter *it;
    const proto_change *c;
    int n = 0;

    assert_int_equal(outbox_iter_open(fx->db, (uint32_t)max, &it), GS_OK);
    while (outbox_iter_next(it, &c) == GS_OK && c) {
        assert_true(n < max);
        snap_change(c, &out[n++]);
    }
    outbox_iter_free(it);
    return n;
}

/* The text of field of record id, into buf; "" when it has no value. */
static const char *field_of(fixture *fx, const char *id, const char *field, char *buf, size_t cap)
{
    gs_record *r = NULL;
    const char *t;

    assert_int_equal(gs_db_get(fx->db, id, &r), GS_OK);
    t = gs_record_text(r, field);
    snprintf(buf, cap, "%s", t ? t : "");
    gs_record_free(r);
    return buf;
}

/* Six warnings, pulled in an order that is none of the orders they must be listed in. */
static void raise_six(fixture *fx)
{
    raise_warning(fx, 0, "notice", "open", NOW_MS - 2 * DAY_MS, "notice-open-2d");
    raise_warning(fx, 1, "urgent", "cleared", NOW_MS - 9 * DAY_MS, "urgent-cleared");
    raise_warning(fx, 2, "urgent", "open", NOW_MS - 1 * DAY_MS, "urgent-open-1d");
    raise_warning(fx, 3, "attention", "acknowledged", NOW_MS - 5 * DAY_MS, "attention-ack");
    raise_warning(fx, 4, "urgent", "open", NOW_MS - 3 * DAY_MS, "urgent-open-3d");
    raise_warning(fx, 5, "attention", "open", NOW_MS - 8 * DAY_MS, "attention-open-8d");
    sync_now(fx);
}

static void test_list_is_open_first_then_level_then_oldest(void **state)
{
    fixture *fx = *state;
    char buf[512];
    gs_list *l = NULL;

    assert_string_equal(list_titles(fx, 0, buf, sizeof(buf)), "");
    assert_int_equal(open_count(fx), 0);
    raise_six(fx);
    assert_int_equal(tdevice_pending(fx->db), 0); /* pulled, never captured */
    assert_string_equal(list_titles(fx, 0, buf, sizeof(buf)),
                        "urgent-open-3d|urgent-open-1d|attention-open-8d|notice-open-2d|"
                        "attention-ack");
    assert_string_equal(list_titles(fx, GS_WARNINGS_ALL, buf, sizeof(buf)),
                        "urgent-open-3d|urgent-open-1d|attention-open-8d|notice-open-2d|"
                        "attention-ack|urgent-cleared");
    assert_int_equal(open_count(fx), 5); /* acknowledged is still open */

    /* narrowed like any list */
    assert_int_equal(gs_db_warnings_list(fx->db, 0, &l), GS_OK);
    assert_int_equal(gs_list_where(l, "level", "urgent"), GS_OK);
    assert_string_equal(titles(l, buf, sizeof(buf)), "urgent-open-3d|urgent-open-1d");
    assert_int_equal(gs_db_warnings_list(fx->db, GS_WARNINGS_ALL, &l), GS_OK);
    assert_int_equal(gs_list_limit(l, 2), GS_OK);
    assert_string_equal(titles(l, buf, sizeof(buf)), "urgent-open-3d|urgent-open-1d");
    assert_int_equal(gs_db_warnings_list(fx->db, 4, &l), GS_E_INVALID); /* unknown flag */

    /* the server clears one and deletes another: neither is open any more */
    clear_warning(fx, 4);
    delete_warning(fx, 0);
    sync_now(fx);
    assert_int_equal(open_count(fx), 3);
    assert_string_equal(list_titles(fx, 0, buf, sizeof(buf)),
                        "urgent-open-1d|attention-open-8d|attention-ack");
    /* cleared ones by level then since too; the deleted one never */
    assert_string_equal(list_titles(fx, GS_WARNINGS_ALL, buf, sizeof(buf)),
                        "urgent-open-1d|attention-open-8d|attention-ack|urgent-cleared|"
                        "urgent-open-3d");
    assert_int_equal(tdevice_pending(fx->db), 0);
}

static void test_ack_is_one_change_of_the_device_fields(void **state)
{
    fixture *fx = *state;
    char buf[512], want_at[32];
    snap rows[4];
    gs_status st;
    int n;

    raise_six(fx);
    fx->now_ms += 5000;
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[4], "已电话联系，明天上门"), GS_OK);
    assert_string_equal(gs_db_errmsg(fx->db), "");

    /* exactly one change, exactly the four device-editable fields */
    n = outbox_snaps(fx, rows, 4);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].table, "warning");
    assert_string_equal(rows[0].id, fx->id[4]);
    snprintf(want_at, sizeof(want_at), "%lld", (long long)fx->now_ms);
    if (rows[0].n != 4)
        fail_msg("the acknowledgement carries %u fields, want 4 (first: %s)", rows[0].n,
                 rows[0].name[0]);
    assert_string_equal(snap_value(&rows[0], "state"), "acknowledged");
    assert_string_equal(snap_value(&rows[0], "note"), "已电话联系，明天上门");
    assert_string_equal(snap_value(&rows[0], "ack_by"), WORKER);
    assert_string_equal(snap_value(&rows[0], "ack_at"), want_at);

    /* the record shows it; still open; it moves behind the unacknowledged ones */
    assert_string_equal(field_of(fx, fx->id[4], "state", buf, sizeof(buf)), "acknowledged");
    assert_string_equal(field_of(fx, fx->id[4], "title", buf, sizeof(buf)), "urgent-open-3d");
    assert_int_equal(open_count(fx), 5);
    assert_int_equal(gs_db_status(fx->db, &st), GS_OK);
    assert_int_equal(st.pending, 1);
    assert_string_equal(list_titles(fx, 0, buf, sizeof(buf)),
                        "urgent-open-1d|attention-open-8d|notice-open-2d|urgent-open-3d|"
                        "attention-ack");

    /* what goes up is that change, and the server's acknowledgement settles it */
    sync_now(fx);
    assert_int_equal(fx->f.n_pushed, 1);
    assert_int_equal(fx->f.pushed.n, 4);
    assert_string_equal(fx->f.pushed.id, fx->id[4]);
    assert_string_equal(snap_value(&fx->f.pushed, "state"), "acknowledged");
    assert_string_equal(snap_value(&fx->f.pushed, "ack_by"), WORKER);
    assert_int_equal(tdevice_pending(fx->db), 0);

    /* without a note: the note stays, three fields go */
    fx->now_ms += 5000;
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[2], NULL), GS_OK);
    n = outbox_snaps(fx, rows, 4);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].n, 3);
    assert_null(snap_value(&rows[0], "note"));
    assert_string_equal(snap_value(&rows[0], "state"), "acknowledged");
    /* again, with a note: merged into the same unsent change */
    fx->now_ms += 5000;
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[2], "复核"), GS_OK);
    n = outbox_snaps(fx, rows, 4);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].n, 4);
    assert_string_equal(snap_value(&rows[0], "note"), "复核");
    snprintf(want_at, sizeof(want_at), "%lld", (long long)fx->now_ms);
    assert_string_equal(snap_value(&rows[0], "ack_at"), want_at);
    /* the note alone may also be changed by an update */
    {
        gs_record *r = NULL;
        assert_int_equal(gs_record_new(fx->db, "warning", &r), GS_OK);
        assert_int_equal(gs_record_set_id(r, fx->id[5]), GS_OK);
        assert_int_equal(gs_record_set_str(r, "note", "已报社区"), GS_OK);
        assert_int_equal(gs_db_update(fx->db, r), GS_OK);
        gs_record_free(r);
    }
    assert_int_equal(tdevice_pending(fx->db), 2);
}

/* A forbidden write of an existing warning: field = value on update, or a delete. */
typedef struct refusal {
    const char *field;   /* NULL: gs_db_delete */
    const char *value;   /* as text (gs_record_set_text) */
    const char *message; /* a part of the message */
} refusal;

static void test_forbidden_writes_are_read_only_and_write_nothing(void **state)
{
    static const refusal cases[] = {
        {"level", "notice", "warning.level is set by the server only"},
        {"title", "改过的标题", "warning.title is set by the server only"},
        {"since", "2026-11-01", "warning.since is set by the server only"},
        {"cleared_at", "2026-11-27", "warning.cleared_at is set by the server only"},
        {"rule", "care_overdue", "warning.rule is set by the server only"}, /* not "invalid" */
        {"grid", "g1x", NULL}, /* not one of the device's grids: refused before (invalid) */
        {"state", "cleared", "warning.state: a device may not set 'cleared'"},
        {"state", "open", "warning.state: a device may not set 'open'"},
        {NULL, NULL, "cannot be deleted on a device: warning.deleted is set by the server only"},
    };
    fixture *fx = *state;
    char buf[512];

    raise_six(fx);
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[2], NULL), GS_OK);
    sync_now(fx); /* acknowledged, settled: "open" would now be a change */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const refusal *c = &cases[i];
        int rc;

        if (c->field) {
            gs_record *r = NULL;
            assert_int_equal(gs_record_new(fx->db, "warning", &r), GS_OK);
            assert_int_equal(gs_record_set_id(r, fx->id[2]), GS_OK);
            assert_int_equal(gs_record_set_text(r, c->field, c->value), GS_OK);
            rc = gs_db_update(fx->db, r);
            gs_record_free(r);
        } else {
            rc = gs_db_delete(fx->db, fx->id[2]);
        }
        if (!c->message) {
            assert_int_equal(rc, GS_E_INVALID);
        } else if (rc != GS_E_READ_ONLY || !strstr(gs_db_errmsg(fx->db), c->message)) {
            fail_msg("case %zu (%s): %s '%s', want read_only '%s'", i,
                     c->field ? c->field : "delete", gs_strerror(rc), gs_db_errmsg(fx->db),
                     c->message);
        }
        assert_int_equal(tdevice_pending(fx->db), 0);
    }
    assert_string_equal(field_of(fx, fx->id[2], "level", buf, sizeof(buf)), "urgent");
    assert_string_equal(field_of(fx, fx->id[2], "state", buf, sizeof(buf)), "acknowledged");

    /* a new warning: refused before any check of its fields, with or without an id */
    for (int with_id = 0; with_id < 2; with_id++) {
        gs_record *r = NULL;
        assert_int_equal(gs_record_new(fx->db, "warning", &r), GS_OK);
        if (with_id)
            assert_int_equal(gs_record_set_id(r, "0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d"), GS_OK);
        assert_int_equal(gs_record_set_str(r, "note", "自己建的"), GS_OK);
        assert_int_equal(gs_db_add(fx->db, r), GS_E_READ_ONLY);
        assert_string_equal(gs_db_errmsg(fx->db), "warning records are written by the server only");
        if (!with_id)
            assert_string_equal(gs_record_id(r), ""); /* no id was given to it */
        gs_record_free(r);
    }
    /* nor by import: the line is bad, nothing written */
    {
        char path[TDIR_MAX + 32];
        FILE *f;
        gs_import_stats ist;
        snprintf(path, sizeof(path), "%s/w.jsonl", fx->dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("{\"type\":\"warning\",\"rule\":\"care_overdue\",\"subject_type\":\"care\","
              "\"subject\":\"x\",\"level\":\"notice\",\"title\":\"t\","
              "\"since\":\"2026-11-01\"}\n",
              f);
        fclose(f);
        assert_int_equal(gs_db_import(fx->db, path, NULL, NULL, &ist), GS_E_INVALID);
        assert_int_equal(ist.bad, 1);
        assert_int_equal(ist.added, 0);
    }
    assert_int_equal(tdevice_pending(fx->db), 0);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM warning"), 6);
}

static void test_cleared_unknown_and_bad_ids_cannot_be_acked(void **state)
{
    fixture *fx = *state;
    char resident[TDEVICE_ID_MAX];
    int rc;

    raise_six(fx);
    rc = gs_db_warning_ack(fx->db, fx->id[1], "来晚了");
    assert_int_equal(rc, GS_E_STATE);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "cleared"));
    assert_non_null(strstr(gs_db_errmsg(fx->db), fx->id[1]));
    assert_int_equal(gs_db_warning_ack(fx->db, "0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d", NULL),
                     GS_E_NOTFOUND);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "no warning"));
    tdevice_add_resident(fx->db, "王秀英", 0, resident);
    assert_int_equal(gs_db_warning_ack(fx->db, resident, NULL), GS_E_NOTFOUND);
    assert_int_equal(gs_db_warning_ack(fx->db, "W-17", NULL), GS_E_INVALID);
    assert_int_equal(gs_db_warning_ack(fx->db, NULL, NULL), GS_E_INVALID);
    assert_int_equal(tdevice_pending(fx->db), 1); /* the resident only */

    /* deleted by the server: not found */
    delete_warning(fx, 0);
    sync_now(fx);
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[0], NULL), GS_E_NOTFOUND);

    /* acknowledged, then the server clears it: over, and no second acknowledgement */
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[5], NULL), GS_OK);
    sync_now(fx);
    assert_int_equal(open_count(fx), 4); /* 0 is gone, 1 was cleared; 5 is acknowledged */
    clear_warning(fx, 5);
    sync_now(fx);
    assert_int_equal(open_count(fx), 3);
    assert_int_equal(gs_db_warning_ack(fx->db, fx->id[5], NULL), GS_E_STATE);
    assert_int_equal(tdevice_pending(fx->db), 0);
}

static void test_ack_under_allocation_failure_writes_nothing(void **state)
{
    fixture *fx = *state;
    int rc = GS_E_NOMEM, n;

    raise_six(fx);
    for (n = 0; n < 1000; n++) {
        gs_alloc_fail_after(n);
        rc = gs_db_warning_ack(fx->db, fx->id[2], "已上门");
        gs_alloc_fail_after(-1);
        if (rc == GS_OK)
            break;
        if (rc != GS_E_NOMEM)
            fail_msg("allocation %d: %s (%s), expected GS_E_NOMEM", n, gs_strerror(rc),
                     gs_db_errmsg(fx->db));
        assert_int_equal(tdevice_pending(fx->db), 0);
    }
    assert_int_equal(rc, GS_OK);
    assert_true(n > 2);
    assert_int_equal(tdevice_pending(fx->db), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_is_open_first_then_level_then_oldest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ack_is_one_change_of_the_device_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_writes_are_read_only_and_write_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleared_unknown_and_bad_ids_cannot_be_acked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ack_under_allocation_failure_writes_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
