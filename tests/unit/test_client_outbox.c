/*
 * test_client_outbox.c: the change log behind every write and the sync-side calls that
 * issue 5 builds on, driven with hand-made acks and pulled changes (no network):
 * one row per record edit, compaction into unsent rows only, bases (0, a field's version,
 * the greatest version for a delete), bounded iteration in seq order, acks (versions,
 * `lost` values taken without being captured, newer local edits kept), rejections kept
 * aside, pulls (new records, stale versions, fields with pending local edits, unknown
 * tables and fields), PROTOCOL.md step 3 as one all-or-nothing transaction, the HLC under
 * a clock that steps back, two handles never handing out the same seq, and batches: a
 * failure after writing poisons the batch, a failed import inside one leaves it intact;
 * and outbox blobs written by earlier versions read unchanged.
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

#include "client/db.h"
#include "client/fvers.h"
#include "client/apply.h"
#include "client/fieldpack.h"
#include "client/outbox.h"
#include "common/uuid.h"
#include "proto/value.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tsql.h"
#include "tests/lib/tvalue.h"

typedef struct fixture {
    char dir[TDIR_MAX]; /* a fresh temporary directory */
    char path[TDEVICE_PATH_MAX]; /* the database in it */
    gs_db *db;          /* open, initialised */
    uint64_t now_ms;    /* the wall clock the handle sees */
} fixture;

static uint64_t fake_clock(void *ud)
{
    return ((fixture *)ud)->now_ms;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    const char *grids[] = {"g1"};
    gs_device_config cfg = tdevice_config(grids, 1, NULL);

    fx->now_ms = UINT64_C(1795743000000);
    if (tdevice_db_open(fx->dir, fx->path, &fx->db, "outbox"))
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

/* ---- helpers ---- */

static uint64_t version_of(gs_db *db, const char *id_text, const char *field)
{
    uint8_t id[16];
    fvers fv;
    assert_int_equal(uuid_parse(id_text, 36, id), GS_OK);
    assert_int_equal(fvers_load(db, id, &fv), GS_OK);
    return fvers_ver(&fv, field, strlen(field));
}

/* A resident born in 1950; the clock moves on 10 ms, so each edit has its own time. */
static void add_resident(fixture *fx, const char *name, char id[TDEVICE_ID_MAX])
{
    tdevice_add_resident(fx->db, name, 1950, id);
    fx->now_ms += 10;
}

static void update_text(fixture *fx, const char *id, const char *field, const char *value)
{
    gs_record *r;
    assert_int_equal(gs_record_new(fx->db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_id(r, id), GS_OK);
    assert_int_equal(gs_record_set_text(r, field, value), GS_OK);
    if (gs_db_update(fx->db, r) != GS_OK)
        fail_msg("%s", gs_db_errmsg(fx->db));
    gs_record_free(r);
    fx->now_ms += 10;
}

static const char *text_of(fixture *fx, const char *id, const char *field, char *buf, size_t cap)
{
    gs_record *r;
    const char *s;
    if (gs_db_get(fx->db, id, &r) != GS_OK)
        fail_msg("get %s: %s", id, gs_db_errmsg(fx->db));
    s = gs_record_text(r, field);
    snprintf(buf, cap, "%s", s ? s : "(none)");
    gs_record_free(r);
    return buf;
}

/* A snapshot of one outbox row for assertions. */
typedef struct snap_field {
    char name[32];   /* field name */
    char value[128]; /* value as text ("true"/"false", numbers, strings) */
    uint64_t base;   /* base version */
    uint64_t hlc;    /* clock of the edit that gave the value */
} snap_field;

typedef struct snap {
    uint64_t seq;          /* seq */
    char table[16];        /* table */
    char id[40];           /* record id text */
    uint64_t hlc;          /* hlc */
    snap_field f[16];      /* fields */
    uint32_t n;            /* entries in f */
} snap;

static int snapshot(gs_db *db, uint32_t max, snap *out)
{
    outbox_iter *it;
    const proto_change *c;
    int n = 0;

    assert_int_equal(outbox_iter_open(db, max, &it), GS_OK);
    while (outbox_iter_next(it, &c) == GS_OK && c) {
        snap *s = &out[n++];
        memset(s, 0, sizeof(*s));
        s->seq = c->seq;
        snprintf(s->table, sizeof(s->table), "%.*s", (int)c->table.len, c->table.ptr);
        uuid_format(c->id, s->id);
        s->hlc = c->hlc;
        s->n = c->n_fields;
        for (uint32_t i = 0; i < c->n_fields && i < 16; i++) {
            const proto_value *v = &c->fields[i].value;
            snprintf(s->f[i].name, sizeof(s->f[i].name), "%.*s", (int)c->fields[i].name.len,
                     c->fields[i].name.ptr);
            s->f[i].base = c->fields[i].ver;
            s->f[i].hlc = c->fields[i].hlc;
            if (v->type == PV_STR)
                snprintf(s->f[i].value, sizeof(s->f[i].value), "%.*s", (int)v->u.s.len,
                         v->u.s.ptr);
            else if (v->type == PV_INT)
                snprintf(s->f[i].value, sizeof(s->f[i].value), "%lld", (long long)v->u.i);
            else if (v->type == PV_BOOL)
                snprintf(s->f[i].value, sizeof(s->f[i].value), "%s", v->u.b ? "true" : "false");
            else if (v->type == PV_NIL)
                snprintf(s->f[i].value, sizeof(s->f[i].value), "nil");
            else
                snprintf(s->f[i].value, sizeof(s->f[i].value), "type%d", (int)v->type);
        }
    }
    outbox_iter_free(it);
    return n;
}

static const snap_field *field(const snap *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->f[i].name, name) == 0)
            return &s->f[i];
    return NULL;
}

static proto_ack ok_ack(uint64_t seq, uint64_t ver, proto_field *lost, uint32_t n_lost)
{
    proto_ack a;
    memset(&a, 0, sizeof(a));
    a.seq = seq;
    a.ok = 1;
    a.version = ver;
    a.lost = lost;
    a.n_lost = n_lost;
    return a;
}

/* ---- tests ---- */

static void test_add_captures_one_row(void **state)
{
    fixture *fx = *state;
    snap s[4];
    char id[40];
    gs_record *r;

    add_resident(fx, "王秀英", id);
    assert_int_equal(snapshot(fx->db, 10, s), 1);
    assert_int_equal(s[0].seq, 1);
    assert_string_equal(s[0].table, "resident");
    assert_string_equal(s[0].id, id);
    assert_int_equal(s[0].n, 3); /* name, born, grid: nil fields are not sent */
    assert_string_equal(field(&s[0], "name")->value, "王秀英");
    assert_string_equal(field(&s[0], "grid")->value, "g1");
    assert_int_equal(field(&s[0], "name")->base, 0);
    assert_null(field(&s[0], "phone"));
    assert_int_equal(gs_db_get(fx->db, id, &r), GS_OK);
    assert_int_equal(s[0].hlc, gs_record_created(r));
    gs_record_free(r);
}

static uint64_t record_updated_of(fixture *fx, const char *id, uint64_t *created)
{
    gs_record *r;
    uint64_t u;
    assert_int_equal(gs_db_get(fx->db, id, &r), GS_OK);
    u = gs_record_updated(r);
    if (created)
        *created = gs_record_created(r);
    gs_record_free(r);
    return u;
}

static void test_compaction_only_into_unsent_rows(void **state)
{
    fixture *fx = *state;
    snap s[4];
    char id[40];
    uint64_t created, after_first, after_name;

    add_resident(fx, "甲", id);
    after_first = record_updated_of(fx, id, &created);
    update_text(fx, id, "name", "乙");
    update_text(fx, id, "name", "丙");
    after_name = record_updated_of(fx, id, NULL);
    update_text(fx, id, "phone", "13800000000");
    assert_int_equal(snapshot(fx->db, 10, s), 1); /* four edits merged into the new row */
    assert_string_equal(field(&s[0], "name")->value, "丙");
    assert_string_equal(field(&s[0], "phone")->value, "13800000000");
    /* merging rows never merges clocks: each field keeps its own edit's, and the row keeps
       its first edit's (the creation) */
    assert_int_equal(s[0].hlc, created);
    assert_int_equal(field(&s[0], "born")->hlc, after_first);
    assert_int_equal(field(&s[0], "grid")->hlc, after_first);
    assert_int_equal(field(&s[0], "name")->hlc, after_name);
    assert_true(after_name > after_first);
    assert_int_equal(field(&s[0], "phone")->hlc, record_updated_of(fx, id, NULL));
    assert_true(field(&s[0], "phone")->hlc > after_name);

    /* once sent, a row is frozen: later edits make a new row with a new seq */
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    update_text(fx, id, "name", "丁");
    update_text(fx, id, "address", "东风村");
    update_text(fx, id, "name", "戊");
    assert_int_equal(snapshot(fx->db, 10, s), 2);
    assert_int_equal(s[0].seq, 1);
    assert_string_equal(field(&s[0], "name")->value, "丙");
    assert_null(field(&s[0], "address"));
    assert_int_equal(s[1].seq, 2);
    assert_int_equal(s[1].n, 2);
    assert_string_equal(field(&s[1], "name")->value, "戊");
    assert_string_equal(field(&s[1], "address")->value, "东风村");
    assert_true(s[1].hlc > s[0].hlc);
}

static void test_bases_come_from_versions(void **state)
{
    fixture *fx = *state;
    snap s[4];
    char id[40];
    proto_ack a;

    add_resident(fx, "甲", id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    a = ok_ack(1, 10, NULL, 0);
    assert_int_equal(apply_ack(fx->db, &a, NULL), GS_OK);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(version_of(fx->db, id, "name"), 10);
    assert_int_equal(version_of(fx->db, id, "grid"), 10);
    assert_int_equal(version_of(fx->db, id, "phone"), 0);

    update_text(fx, id, "name", "乙");    /* base: the version seen, 10 */
    update_text(fx, id, "phone", "110"); /* never had a version: 0 */
    update_text(fx, id, "name", "丙");    /* merged: the base stays 10 */
    assert_int_equal(gs_db_delete(fx->db, id), GS_OK);
    assert_int_equal(snapshot(fx->db, 10, s), 1);
    assert_int_equal(s[0].seq, 2);
    assert_int_equal(field(&s[0], "name")->base, 10);
    assert_string_equal(field(&s[0], "name")->value, "丙");
    assert_int_equal(field(&s[0], "phone")->base, 0);
    /* a delete carries the greatest version of any field of the record */
    assert_string_equal(field(&s[0], "deleted")->value, "true");
    assert_int_equal(field(&s[0], "deleted")->base, 10);
}

static void test_ack_lost_value_taken_not_captured(void **state)
{
    fixture *fx = *state;
    char id[40], buf[64];
    proto_field lost = tv_field("name", tv_str("服务器上的名字"), 4);
    proto_ack a;
    apply_stats st;

    add_resident(fx, "本机的名字", id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    a = ok_ack(1, 5, &lost, 1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_ack(fx->db, &a, &st), GS_OK);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.lost_taken, 1);
    assert_string_equal(text_of(fx, id, "name", buf, sizeof(buf)), "服务器上的名字");
    assert_int_equal(version_of(fx->db, id, "name"), 4);
    assert_int_equal(version_of(fx->db, id, "born"), 5);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0); /* not captured */
}

static void test_ack_lost_keeps_newer_local_edit(void **state)
{
    fixture *fx = *state;
    char id[40], buf[64];
    proto_field lost = tv_field("name", tv_str("Z"), 7);
    proto_ack a;
    snap s[4];

    add_resident(fx, "A", id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    update_text(fx, id, "name", "B"); /* seq 2, not sent */
    a = ok_ack(1, 6, &lost, 1);
    assert_int_equal(apply_ack(fx->db, &a, NULL), GS_OK);
    /* the newer local edit still has to be pushed: the record keeps it */
    assert_string_equal(text_of(fx, id, "name", buf, sizeof(buf)), "B");
    assert_int_equal(version_of(fx->db, id, "name"), 7);
    assert_int_equal(snapshot(fx->db, 10, s), 1);
    assert_int_equal(s[0].seq, 2);
    assert_string_equal(field(&s[0], "name")->value, "B");
    assert_int_equal(field(&s[0], "name")->base, 0); /* bases never change once set */
}

typedef struct rej_seen {
    int n;              /* rejected changes listed */
    char code[32];      /* the last one's code */
    char message[128];  /* and message */
    uint64_t seq;       /* and seq */
} rej_seen;

static int on_rejected(void *ud, const gs_rejected_info *info)
{
    rej_seen *r = ud;
    r->n++;
    r->seq = info->seq;
    snprintf(r->code, sizeof(r->code), "%s", info->code);
    snprintf(r->message, sizeof(r->message), "%s", info->message);
    return 0;
}

static void test_rejection_kept_aside(void **state)
{
    fixture *fx = *state;
    char id[40];
    proto_ack a;
    apply_stats st;
    rej_seen seen;
    gs_status status;

    add_resident(fx, "甲", id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    memset(&a, 0, sizeof(a));
    a.seq = 1;
    a.ok = 0;
    a.err = proto_cstr("out_of_scope");
    a.msg = proto_cstr("grid g1 is not one of this device's grids");
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_ack(fx->db, &a, &st), GS_OK);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(gs_db_rejected(fx->db, on_rejected, &seen), GS_OK);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.seq, 1);
    assert_string_equal(seen.code, "out_of_scope");
    assert_string_equal(seen.message, "grid g1 is not one of this device's grids");
    assert_int_equal(gs_db_status(fx->db, &status), GS_OK);
    assert_int_equal(status.rejected, 1);
    assert_int_equal(status.pending, 0);

    /* an ack for a seq that is not there (a retried response) changes nothing */
    a = ok_ack(99, 50, NULL, 0);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_ack(fx->db, &a, &st), GS_OK);
    assert_int_equal(st.unknown_acks, 1);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM record_version"), 0);
}

static proto_change pulled(const char *table, const uint8_t id[16], proto_field *f, uint32_t n)
{
    proto_change c;
    memset(&c, 0, sizeof(c));
    c.table = proto_cstr(table);
    memcpy(c.id, id, 16);
    c.hlc = hlc_pack(UINT64_C(1795743000000), 3);
    c.fields = f;
    c.n_fields = n;
    return c;
}

/* Issue 12, bug 2: a rejected change does not shadow the server. The record state that
 * comes with the rejection replaces the refused values (whatever version the device holds),
 * clears what the server does not have, brings a refused delete back, and drops a record
 * only this device had; the rejected changes stay listed, and retry / drop handle them. */
static void test_fix_replaces_refused_values(void **state)
{
    fixture *fx = *state;
    char r1[40], r2[40], text[64];
    uint8_t id1[16], id2[16];
    proto_ack acks[3];
    proto_change fixes[2];
    proto_field st1[3];
    proto_sync_resp resp;
    apply_stats st;
    uint64_t new_seq = 0;
    gs_record *rec;
    int64_t rows;

    add_resident(fx, "甲", r1);                  /* seq 1: accepted below */
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    acks[0] = ok_ack(1, 10, NULL, 0);
    assert_int_equal(apply_ack(fx->db, &acks[0], NULL), GS_OK);
    update_text(fx, r1, "phone", "13900000000"); /* seq 2: refused */
    add_resident(fx, "只在这里", r2);             /* seq 3: refused, the server never had it */
    assert_int_equal(outbox_mark_sent(fx->db, 2, 3), GS_OK);
    uuid_parse(r1, 36, id1);
    uuid_parse(r2, 36, id2);

    memset(acks, 0, sizeof(acks));
    for (int k = 0; k < 2; k++) {
        acks[k].seq = (uint64_t)k + 2;
        acks[k].err = proto_cstr("clock_ahead");
        acks[k].msg = proto_cstr("device clock is 3 days 0 h 0 min 2 s ahead of the server");
    }
    /* the server's r1: name changed by someone else since, no phone */
    st1[0] = tv_field("name", tv_str("甲改"), 12);
    st1[0].hlc = hlc_pack(fx->now_ms - 5, 0);
    st1[1] = tv_field("grid", tv_str("g1"), 10);
    st1[1].hlc = hlc_pack(fx->now_ms - 30, 0);
    memset(&st1[2], 0, sizeof(st1[2]));
    st1[2].name = proto_cstr("born");
    st1[2].value.type = PV_INT;
    st1[2].value.u.i = 1950;
    st1[2].ver = 10;
    st1[2].hlc = hlc_pack(fx->now_ms - 30, 0);
    memset(fixes, 0, sizeof(fixes));
    fixes[0].table = proto_cstr("resident");
    memcpy(fixes[0].id, id1, 16);
    fixes[0].created = hlc_pack(fx->now_ms - 30, 0);
    fixes[0].fields = st1;
    fixes[0].n_fields = 3;
    fixes[1].table = proto_cstr("resident");
    memcpy(fixes[1].id, id2, 16);
    memset(&resp, 0, sizeof(resp));
    resp.version = 2;
    resp.acks = acks;
    resp.n_acks = 2;
    resp.fixes = fixes;
    resp.n_fixes = 2;
    resp.cursor = 12;
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_response(fx->db, &resp, &st), GS_OK);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.fixed, 1);
    assert_int_equal(st.fix_dropped, 1);
    assert_string_equal(text_of(fx, r1, "phone", text, sizeof(text)), "(none)");
    assert_string_equal(text_of(fx, r1, "name", text, sizeof(text)), "甲改");
    assert_int_equal(version_of(fx->db, r1, "name"), 12);
    assert_int_equal(version_of(fx->db, r1, "phone"), 0);
    assert_int_equal(gs_db_get(fx->db, r1, &rec), GS_OK);
    assert_int_equal(gs_record_created(rec), fixes[0].created);
    assert_int_equal(gs_record_updated(rec), st1[0].hlc); /* its newest value's clock */
    gs_record_free(rec);
    assert_int_equal(gs_db_get(fx->db, r2, &rec), GS_E_NOTFOUND);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM rejected"), 2);

    /* retry the phone: a new change made now; retry the lost resident: created again */
    assert_int_equal(gs_db_retry(fx->db, 2, &new_seq), GS_OK);
    assert_true(new_seq > 3);
    assert_string_equal(text_of(fx, r1, "phone", text, sizeof(text)), "13900000000");
    assert_int_equal(gs_db_retry(fx->db, 3, &new_seq), GS_OK);
    assert_int_equal(gs_db_get(fx->db, r2, &rec), GS_OK);
    gs_record_free(rec);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM rejected"), 0);
    rows = tsql_int(fx->db->sql, "SELECT count(*) FROM outbox WHERE sent = 0");
    assert_int_equal(rows, 2);
    assert_int_equal(gs_db_retry(fx->db, 2, &new_seq), GS_E_NOTFOUND);
    assert_int_equal(gs_db_drop(fx->db, 2), GS_E_NOTFOUND);
}

/* A refused delete comes back as the server's live record (drop gives the delete up); a
 * field carried by a pending edit keeps the local edit through a record state. */
static void test_fix_undoes_refused_delete_keeps_pending(void **state)
{
    fixture *fx = *state;
    char r1[40], r2[40], text[64];
    proto_ack acks[2];
    proto_change fix[2];
    proto_field s1[2], s2[3];
    proto_sync_resp resp;
    gs_record *rec;

    add_resident(fx, "乙", r1);
    add_resident(fx, "丙", r2);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 2), GS_OK);
    acks[0] = ok_ack(1, 10, NULL, 0);
    acks[1] = ok_ack(2, 11, NULL, 0);
    assert_int_equal(apply_ack(fx->db, &acks[0], NULL), GS_OK);
    assert_int_equal(apply_ack(fx->db, &acks[1], NULL), GS_OK);
    assert_int_equal(gs_db_delete(fx->db, r1), GS_OK);    /* seq 3 */
    update_text(fx, r2, "phone", "1");                     /* seq 4 */
    assert_int_equal(outbox_mark_sent(fx->db, 3, 4), GS_OK);
    update_text(fx, r2, "address", "pending");             /* seq 5, not sent */

    memset(acks, 0, sizeof(acks));
    for (int k = 0; k < 2; k++) {
        acks[k].seq = (uint64_t)k + 3;
        acks[k].err = proto_cstr("clock_ahead");
        acks[k].msg = proto_cstr("ahead");
    }
    s1[0] = tv_field("name", tv_str("乙"), 10);
    s1[1] = tv_field("grid", tv_str("g1"), 10);
    s2[0] = tv_field("name", tv_str("丙"), 11);
    s2[1] = tv_field("grid", tv_str("g1"), 11);
    s2[2] = tv_field("address", tv_str("server-addr"), 13);
    for (int k = 0; k < 3; k++) {
        if (k < 2)
            s1[k].hlc = hlc_pack(fx->now_ms - 100, 0);
        s2[k].hlc = hlc_pack(fx->now_ms - 100, (uint32_t)k);
    }
    memset(fix, 0, sizeof(fix));
    fix[0].table = fix[1].table = proto_cstr("resident");
    uuid_parse(r1, 36, fix[0].id);
    uuid_parse(r2, 36, fix[1].id);
    fix[0].created = fix[1].created = hlc_pack(fx->now_ms - 100, 0);
    fix[0].fields = s1;
    fix[0].n_fields = 2;
    fix[1].fields = s2;
    fix[1].n_fields = 3;
    memset(&resp, 0, sizeof(resp));
    resp.version = 2;
    resp.acks = acks;
    resp.n_acks = 2;
    resp.fixes = fix;
    resp.n_fixes = 2;
    assert_int_equal(apply_response(fx->db, &resp, NULL), GS_OK);
    /* the refused delete: live again */
    assert_int_equal(gs_db_get(fx->db, r1, &rec), GS_OK);
    gs_record_free(rec);
    /* the refused phone is gone; the pending address stays */
    assert_string_equal(text_of(fx, r2, "phone", text, sizeof(text)), "(none)");
    assert_string_equal(text_of(fx, r2, "address", text, sizeof(text)), "pending");
    assert_int_equal(version_of(fx->db, r2, "address"), 0);
    assert_int_equal(gs_db_drop(fx->db, 3), GS_OK);
    assert_int_equal(gs_db_get(fx->db, r1, &rec), GS_OK); /* dropping changes nothing else */
    gs_record_free(rec);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM rejected"), 1);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 1);
}

/* The clock correction of dclock.h: a measured offset moves the clock of new edits, and is
 * set aside when the wall clock is stepped or the device reboots. */
typedef struct two_clocks {
    uint64_t wall, mono;
} two_clocks;

static uint64_t tc_wall(void *ud)
{
    return ((two_clocks *)ud)->wall;
}

static uint64_t tc_mono(void *ud)
{
    return ((two_clocks *)ud)->mono;
}

static void test_clock_offset_learned_and_voided(void **state)
{
    fixture *fx = *state;
    two_clocks tc = {UINT64_C(1795743000000), 5000000};
    const uint64_t behind = 2 * 3600 * 1000;
    gs_db *db2;

    db_set_clock(fx->db, tc_wall, &tc);
    db_set_mono_clock(fx->db, tc_mono, &tc);
    /* the server says 2 h later than this device; 200 ms round trip */
    assert_int_equal(db_clock_learn(fx->db, tc.wall + behind + 100, tc.wall, tc.mono, tc.wall + 200,
                                    tc.mono + 200),
                     GS_OK);
    tc.wall += 1000;
    tc.mono += 1000;
    assert_int_equal(db_wall_ms(fx->db), tc.wall + behind);
    /* kept across handles (the next CLI call) */
    assert_int_equal(gs_db_open(fx->path, &db2), GS_OK);
    db_set_clock(db2, tc_wall, &tc);
    db_set_mono_clock(db2, tc_mono, &tc);
    assert_int_equal(db_wall_ms(db2), tc.wall + behind);
    /* the worker sets the date: the wall clock jumps 2 h, the monotonic one does not */
    tc.wall += behind;
    assert_int_equal(db_wall_ms(db2), tc.wall);
    gs_db_close(db2);
    /* a reboot: the monotonic clock starts again */
    tc.wall -= behind;
    tc.mono = 1000;
    assert_int_equal(db_wall_ms(fx->db), tc.wall);
    /* not usable: a 2-minute round trip, or an offset of round-trip noise */
    tc.mono = 6000000;
    assert_int_equal(db_clock_learn(fx->db, tc.wall + behind, tc.wall, tc.mono, tc.wall + 120000,
                                    tc.mono + 120000),
                     GS_OK);
    assert_int_equal(db_wall_ms(fx->db), tc.wall);
    assert_int_equal(db_clock_learn(fx->db, tc.wall + 900, tc.wall, tc.mono, tc.wall, tc.mono),
                     GS_OK);
    assert_int_equal(db_wall_ms(fx->db), tc.wall);
    /* a device ahead: the offset is negative */
    assert_int_equal(db_clock_learn(fx->db, tc.wall - 3 * 86400000ull, tc.wall, tc.mono, tc.wall,
                                    tc.mono),
                     GS_OK);
    assert_int_equal(db_wall_ms(fx->db), tc.wall - 3 * 86400000ull);
}

static void test_pull_creates_and_orders_by_version(void **state)
{
    fixture *fx = *state;
    uint8_t id[16];
    char idt[40], buf[64];
    proto_field f[3];
    proto_change c;
    apply_stats st;

    assert_int_equal(uuid_v7(id, 1795743000000), GS_OK);
    uuid_format(id, idt);
    f[0] = tv_field("name", tv_str("刘老汉"), 3);
    f[1] = tv_field("grid", tv_str("g1"), 3);
    memset(&f[2], 0, sizeof(f[2]));
    f[2].name = proto_cstr("born");
    f[2].value.type = PV_INT;
    f[2].value.u.i = 1938;
    f[2].ver = 3;
    c = pulled("resident", id, f, 3);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.pulled_fields, 3);
    assert_string_equal(text_of(fx, idt, "name", buf, sizeof(buf)), "刘老汉");
    assert_string_equal(text_of(fx, idt, "born", buf, sizeof(buf)), "1938");
    assert_int_equal(version_of(fx->db, idt, "name"), 3);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0); /* never captured */

    /* an older or equal version changes nothing; a newer one applies */
    f[0] = tv_field("name", tv_str("旧名字"), 2);
    c = pulled("resident", id, f, 1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.stale, 1);
    assert_string_equal(text_of(fx, idt, "name", buf, sizeof(buf)), "刘老汉");
    f[0] = tv_field("name", tv_str("刘大爷"), 9);
    assert_int_equal(apply_pull(fx->db, &c, NULL), GS_OK);
    assert_string_equal(text_of(fx, idt, "name", buf, sizeof(buf)), "刘大爷");
    assert_int_equal(version_of(fx->db, idt, "name"), 9);

    /* a pulled tombstone */
    memset(&f[0], 0, sizeof(f[0]));
    f[0].name = proto_cstr("deleted");
    f[0].value.type = PV_BOOL;
    f[0].value.u.b = 1;
    f[0].ver = 10;
    c = pulled("resident", id, f, 1);
    assert_int_equal(apply_pull(fx->db, &c, NULL), GS_OK);
    {
        gs_record *r;
        assert_int_equal(gs_db_get(fx->db, idt, &r), GS_E_NOTFOUND);
    }
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0);
}

/* Issue 18, item 8: ids are unique across all types on the device. A pulled visit whose id is
 * a local resident is not applied (the resident and its versions untouched); an old database
 * holding one id in two tables answers neither by id, so `gridsync delete ID` cannot delete
 * the record of the other type. */
static void test_pull_id_of_another_type_refused(void **state)
{
    fixture *fx = *state;
    char id[40], buf[64], sql[200];
    uint8_t raw[16];
    proto_field f[5];
    proto_change c;
    apply_stats st;
    gs_record *r;

    add_resident(fx, "甲", id);
    assert_int_equal(uuid_parse(id, 36, raw), GS_OK);
    f[0] = tv_field("resident", tv_ref(raw), 4);
    f[1] = tv_field("grid", tv_str("g1"), 4);
    f[2] = tv_field("worker", tv_str("w"), 4);
    f[3] = tv_field("visited_at", tv_int(1795743000000), 4);
    f[4] = tv_field("kind", tv_str("routine"), 4);
    c = pulled("visit", raw, f, 5);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.pulled_fields, 0);
    assert_int_equal(st.skipped, 5);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM visit"), 0);
    assert_string_equal(text_of(fx, id, "name", buf, sizeof(buf)), "甲");
    assert_int_equal(version_of(fx->db, id, "grid"), 0);

    /* a database from before: the same id in visit too (written behind the library's back) */
    snprintf(sql, sizeof(sql),
             "INSERT INTO visit(id, created, updated, deleted) SELECT id, created, updated, 0 "
             "FROM resident WHERE name = '甲'");
    assert_int_equal(sqlite3_exec(fx->db->sql, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(gs_db_delete(fx->db, id), GS_OK);
    assert_int_equal(gs_db_get(fx->db, id, &r), GS_E_EXISTS);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM resident WHERE deleted = 0"), 1);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM visit WHERE deleted = 0"), 1);
}

static void test_pull_never_overwrites_pending_edit(void **state)
{
    fixture *fx = *state;
    char id[40], buf[64];
    uint8_t raw[16];
    proto_field f[2];
    proto_change c;
    apply_stats st;
    proto_ack a;

    add_resident(fx, "甲", id);
    assert_int_equal(uuid_parse(id, 36, raw), GS_OK);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    a = ok_ack(1, 3, NULL, 0);
    assert_int_equal(apply_ack(fx->db, &a, NULL), GS_OK);
    update_text(fx, id, "name", "本机改的");
    f[0] = tv_field("name", tv_str("别处改的"), 5);
    f[1] = tv_field("phone", tv_str("120"), 5);
    c = pulled("resident", raw, f, 2);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.kept_local, 1);
    assert_int_equal(st.pulled_fields, 1);
    assert_string_equal(text_of(fx, id, "name", buf, sizeof(buf)), "本机改的");
    assert_string_equal(text_of(fx, id, "phone", buf, sizeof(buf)), "120");
    assert_int_equal(version_of(fx->db, id, "name"), 3);

    /* still blocked once the edit is sent and not yet acknowledged */
    assert_int_equal(outbox_mark_sent(fx->db, 2, 2), GS_OK);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.kept_local, 1);
    assert_string_equal(text_of(fx, id, "name", buf, sizeof(buf)), "本机改的");
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 1);
}

static void test_pull_skips_what_it_does_not_know(void **state)
{
    fixture *fx = *state;
    uint8_t id[16];
    proto_field f[3];
    proto_change c;
    apply_stats st;

    assert_int_equal(uuid_v7(id, 1795743000000), GS_OK);
    f[0] = tv_field("case_no", tv_str("M-1"), 2);
    c = pulled("mediation", id, f, 1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.skipped, 1);
    f[0] = tv_field("colour", tv_str("red"), 2);
    f[1] = tv_field("kind", tv_str("walk"), 2); /* not a resident field either */
    f[2] = tv_field("name", tv_str(""), 2);
    f[2].value.type = PV_INT; /* a name that is not text */
    c = pulled("resident", id, f, 3);
    memset(&st, 0, sizeof(st));
    assert_int_equal(apply_pull(fx->db, &c, &st), GS_OK);
    assert_int_equal(st.skipped, 3);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM resident"), 0);
}

static void test_apply_response_all_or_nothing(void **state)
{
    fixture *fx = *state;
    char a_id[40], b_id[40], buf[64];
    proto_ack acks[2];
    proto_field bad_lost, f[2];
    proto_change ch;
    proto_sync_resp resp;
    uint8_t nid[16];
    uint64_t cur = 99;
    gs_status status;

    add_resident(fx, "甲", a_id);
    add_resident(fx, "乙", b_id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 2), GS_OK);
    bad_lost = tv_field("name", tv_str(""), 9);
    bad_lost.value.type = PV_INT; /* the server sent an int for a text field */
    acks[0] = ok_ack(1, 8, NULL, 0);
    acks[1] = ok_ack(2, 9, &bad_lost, 1);
    memset(&resp, 0, sizeof(resp));
    resp.acks = acks;
    resp.n_acks = 2;
    resp.cursor = 42;
    resp.now = hlc_pack(fx->now_ms, 0);
    assert_int_equal(apply_response(fx->db, &resp, NULL), GS_E_PROTO);
    /* the first ack undone */
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 2);
    assert_int_equal(outbox_get_cursor(fx->db, &cur), GS_OK);
    assert_int_equal(cur, 0);
    assert_int_equal(version_of(fx->db, a_id, "name"), 0);

    /* a good response: acks, a pulled record, the cursor, together */
    acks[1] = ok_ack(2, 9, NULL, 0);
    assert_int_equal(uuid_v7(nid, fx->now_ms), GS_OK);
    f[0] = tv_field("name", tv_str("新来的"), 11);
    f[1] = tv_field("grid", tv_str("g1"), 11);
    ch = pulled("resident", nid, f, 2);
    resp.changes = &ch;
    resp.n_changes = 1;
    /* a server clock ahead of ours (within the guard) pulls our HLC forward */
    resp.now = hlc_pack(fx->now_ms + 60000, 5);
    assert_int_equal(apply_response(fx->db, &resp, NULL), GS_OK);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(outbox_get_cursor(fx->db, &cur), GS_OK);
    assert_int_equal(cur, 42);
    assert_int_equal(version_of(fx->db, b_id, "name"), 9);
    {
        char nidt[40];
        uuid_format(nid, nidt);
        assert_string_equal(text_of(fx, nidt, "name", buf, sizeof(buf)), "新来的");
    }
    assert_int_equal(gs_db_status(fx->db, &status), GS_OK);
    assert_int_equal(status.cursor, 42);
    assert_true((uint64_t)tsql_int(fx->db->sql, "SELECT v FROM meta WHERE k = 'hlc_last'") >
                hlc_pack(fx->now_ms + 60000, 5));
    assert_int_equal(outbox_set_sync_result(fx->db, 1795743000000, "ok"), GS_OK);
    assert_int_equal(gs_db_status(fx->db, &status), GS_OK);
    assert_string_equal(status.last_sync_result, "ok");
    assert_int_equal(status.last_sync_ms, 1795743000000);
}

static void test_iteration_bounded_and_low(void **state)
{
    fixture *fx = *state;
    snap s[8];
    char id[40];
    uint64_t low;
    outbox_iter *it;
    const proto_change *c;

    assert_int_equal(outbox_low(fx->db, &low), GS_OK);
    assert_int_equal(low, 1); /* empty: every seq below next_seq is settled */
    for (int i = 0; i < 7; i++)
        add_resident(fx, "某人", id);
    assert_int_equal(snapshot(fx->db, 5, s), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s[i].seq, (uint64_t)i + 1);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 5), GS_OK);
    for (uint64_t q = 1; q <= 3; q++) {
        proto_ack a = ok_ack(q, 20 + q, NULL, 0);
        assert_int_equal(apply_ack(fx->db, &a, NULL), GS_OK);
    }
    assert_int_equal(outbox_low(fx->db, &low), GS_OK);
    assert_int_equal(low, 4);
    /* an iterator with a limit of 0 yields nothing */
    assert_int_equal(outbox_iter_open(fx->db, 0, &it), GS_OK);
    assert_int_equal(outbox_iter_next(it, &c), GS_OK);
    assert_null(c);
    outbox_iter_free(it);
    outbox_iter_free(NULL);
}

static void test_hlc_monotonic_when_clock_steps_back(void **state)
{
    fixture *fx = *state;
    char a[40], b[40], c[40];
    gs_record *ra, *rb, *rc;

    add_resident(fx, "一", a);
    fx->now_ms -= 3600 * 1000; /* the handheld's clock is set back an hour */
    add_resident(fx, "二", b);
    gs_db_close(fx->db); /* and the app restarts */
    assert_int_equal(gs_db_open(fx->path, &fx->db), GS_OK);
    db_set_clock(fx->db, fake_clock, fx);
    add_resident(fx, "三", c);
    assert_int_equal(gs_db_get(fx->db, a, &ra), GS_OK);
    assert_int_equal(gs_db_get(fx->db, b, &rb), GS_OK);
    assert_int_equal(gs_db_get(fx->db, c, &rc), GS_OK);
    assert_true(gs_record_created(rb) > gs_record_created(ra));
    assert_true(gs_record_created(rc) > gs_record_created(rb));
    {
        /* a send stamp is above every record's, and persisted: the next one is higher */
        uint64_t s1, s2;
        assert_int_equal(db_hlc_stamp(fx->db, &s1), GS_OK);
        assert_true(s1 > gs_record_created(rc));
        gs_db_close(fx->db);
        assert_int_equal(gs_db_open(fx->path, &fx->db), GS_OK);
        db_set_clock(fx->db, fake_clock, fx);
        assert_int_equal(db_hlc_stamp(fx->db, &s2), GS_OK);
        assert_true(s2 > s1);
        /* a peer's clock beyond the drift guard is refused, the clock unchanged */
        assert_int_equal(db_hlc_observe(fx->db, hlc_pack(fx->now_ms + 3600 * 1000, 0)),
                         GS_E_CLOCK);
        assert_non_null(strstr(gs_db_errmsg(fx->db), "date and time"));
        assert_int_equal(db_hlc_observe(fx->db, hlc_pack(fx->now_ms + 1000, 0)), GS_OK);
        assert_int_equal(db_hlc_stamp(fx->db, &s1), GS_OK);
        assert_true(s1 > hlc_pack(fx->now_ms + 1000, 0));
    }
    gs_record_free(ra);
    gs_record_free(rb);
    gs_record_free(rc);
}

/* A handheld whose clock was set three days ahead, then set right: its HLC steps back only
 * when the server's clock agrees with its wall clock, never on its wall clock alone. */
static void test_hlc_rebase_only_when_server_agrees(void **state)
{
    fixture *fx = *state;
    const uint64_t day = 24u * 3600u * 1000u;
    uint64_t real = fx->now_ms, s;

    fx->now_ms = real + 3 * day; /* clock set ahead: edits stamped 3 days ahead */
    assert_int_equal(db_hlc_stamp(fx->db, &s), GS_OK);
    fx->now_ms = real; /* set right again */
    /* the server is also 3 days ahead (it agrees with the HLC): no rebase */
    assert_int_equal(db_hlc_rebase(fx->db, hlc_pack(real + 3 * day, 0)), GS_OK);
    assert_int_equal(db_hlc_stamp(fx->db, &s), GS_OK);
    assert_true(hlc_physical(s) >= real + 3 * day);
    /* a dead battery reset the wall clock to the past: wall and server disagree, no rebase */
    fx->now_ms = real - 365 * day;
    assert_int_equal(db_hlc_rebase(fx->db, hlc_pack(real, 0)), GS_OK);
    assert_int_equal(db_hlc_stamp(fx->db, &s), GS_OK);
    assert_true(hlc_physical(s) >= real + 3 * day);
    /* server and wall clock agree, the HLC is days ahead of both: it steps back */
    fx->now_ms = real;
    assert_int_equal(db_hlc_rebase(fx->db, hlc_pack(real + 10, 3)), GS_OK);
    assert_int_equal(db_hlc_stamp(fx->db, &s), GS_OK);
    assert_true(s > hlc_pack(real + 10, 3));
    assert_true(hlc_physical(s) < real + 1000);
    /* and that holds across a restart (it was persisted) */
    gs_db_close(fx->db);
    assert_int_equal(gs_db_open(fx->path, &fx->db), GS_OK);
    db_set_clock(fx->db, fake_clock, fx);
    assert_int_equal(db_hlc_stamp(fx->db, &s), GS_OK);
    assert_true(hlc_physical(s) < real + 1000);
}

static void test_two_handles_never_share_a_seq(void **state)
{
    fixture *fx = *state;
    gs_db *other;
    char id[40];

    assert_int_equal(gs_db_open(fx->path, &other), GS_OK);
    for (int i = 0; i < 10; i++) {
        gs_record *r;
        add_resident(fx, "本", id);
        assert_int_equal(gs_record_new(other, "resident", &r), GS_OK);
        assert_int_equal(gs_record_set_str(r, "name", "另"), GS_OK);
        assert_int_equal(gs_db_add(other, r), GS_OK);
        gs_record_free(r);
    }
    gs_db_close(other);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(DISTINCT seq) FROM outbox"), 20);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT max(seq) FROM outbox"), 20);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT v FROM meta WHERE k = 'next_seq'"), 21);
}

static void test_seq_never_reused_after_acks(void **state)
{
    fixture *fx = *state;
    char id[40];
    snap s[2];
    proto_ack a;

    add_resident(fx, "甲", id);
    assert_int_equal(outbox_mark_sent(fx->db, 1, 1), GS_OK);
    a = ok_ack(1, 1, NULL, 0);
    assert_int_equal(apply_ack(fx->db, &a, NULL), GS_OK);
    add_resident(fx, "乙", id); /* the outbox is empty, but seq 1 is spent */
    assert_int_equal(snapshot(fx->db, 2, s), 1);
    assert_int_equal(s[0].seq, 2);
}

static void test_batch_poisoned_by_failure_after_writing(void **state)
{
    fixture *fx = *state;
    char id[40];

    assert_int_equal(gs_db_begin(fx->db), GS_OK);
    add_resident(fx, "批量里的", id);
    /* an inner level that changed rows and then failed cannot be undone alone */
    assert_int_equal(db_tx_begin(fx->db), GS_OK);
    assert_int_equal(db_exec(fx->db, "UPDATE resident SET phone = '1'"), GS_OK);
    db_tx_rollback(fx->db);
    assert_int_equal(gs_db_commit(fx->db), GS_E_STATE);
    assert_non_null(strstr(gs_db_errmsg(fx->db), "rolled back"));
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM resident"), 0);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 0);
    /* the handle is usable afterwards */
    add_resident(fx, "之后的", id);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 1);
}

static void test_failed_import_inside_batch_leaves_batch(void **state)
{
    fixture *fx = *state;
    char id[40], path[160];
    gs_import_stats st;
    FILE *f;

    snprintf(path, sizeof(path), "%s/in.jsonl", fx->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"type\":\"resident\",\"name\":\"好\"}\n{\"type\":\"resident\",\"born\":1}\n", f);
    fclose(f);
    assert_int_equal(gs_db_begin(fx->db), GS_OK);
    add_resident(fx, "批量里的", id);
    assert_int_equal(gs_db_import(fx->db, path, NULL, NULL, &st), GS_E_INVALID);
    assert_int_equal(st.bad, 1);
    assert_int_equal(gs_db_commit(fx->db), GS_OK);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM resident"), 1);
    assert_int_equal(tsql_int(fx->db->sql, "SELECT count(*) FROM outbox"), 1);
}

/* The fields of the golden blobs below. */
static void golden_fields(proto_field f[6], proto_str tags[2], const char id[16])
{
    memset(f, 0, 6 * sizeof(*f));
    tags[0] = proto_cstr("elderly");
    tags[1] = proto_cstr("lives_alone");
    f[0].name = proto_cstr("name"), f[0].value.type = PV_STR;
    f[0].value.u.s = proto_cstr("王秀英"), f[0].ver = 0, f[0].hlc = UINT64_C(0x019ac29c14000000);
    f[1].name = proto_cstr("born"), f[1].value.type = PV_INT, f[1].value.u.i = 1941;
    f[1].ver = 12, f[1].hlc = 5;
    f[2].name = proto_cstr("lat"), f[2].value.type = PV_REAL, f[2].value.u.r = 29.5;
    f[2].ver = 300, f[2].hlc = 70000;
    f[3].name = proto_cstr("resident"), f[3].value.type = PV_BIN;
    f[3].value.u.s.ptr = id, f[3].value.u.s.len = 16, f[3].ver = 1, f[3].hlc = 1;
    f[4].name = proto_cstr("tags"), f[4].value.type = PV_STRLIST;
    f[4].value.u.list.items = tags, f[4].value.u.list.n = 2, f[4].ver = 2, f[4].hlc = 2;
    f[5].name = proto_cstr("follow_up"), f[5].value.type = PV_BOOL, f[5].value.u.b = 1;
    f[5].ver = 3, f[5].hlc = 3;
}

/* Outbox and rejected rows written by earlier versions stay readable: a blob of the
 * array-of-entries form (written by the encoder this code had before proto/value.c, copied
 * here) decodes to the fields it was written from; rows from before per-field clocks
 * (three-element entries) take the row's clock; damaged blobs are GS_E_DB, not a crash.
 * New rows are the wire's "f" map (test_fieldpack_rows_are_wire_bytes). */
static void test_fieldpack_reads_blobs_of_earlier_versions(void **state)
{
    static const char golden[] =
        "\x96\x94\xa4\x6e\x61\x6d\x65\xa9\xe7\x8e\x8b\xe7\xa7\x80\xe8\x8b\xb1\x00\xcf\x01"
        "\x9a\xc2\x9c\x14\x00\x00\x00\x94\xa4\x62\x6f\x72\x6e\xcd\x07\x95\x0c\x05\x94\xa3"
        "\x6c\x61\x74\xcb\x40\x3d\x80\x00\x00\x00\x00\x00\xcd\x01\x2c\xce\x00\x01\x11\x70"
        "\x94\xa8\x72\x65\x73\x69\x64\x65\x6e\x74\xc4\x10\x01\x9a\xc5\xe1\xc2\x10\x7c\x3d"
        "\xa0\x4f\x50\x61\x72\x83\x94\xa5\x01\x01\x94\xa4\x74\x61\x67\x73\x92\xa7\x65\x6c"
        "\x64\x65\x72\x6c\x79\xab\x6c\x69\x76\x65\x73\x5f\x61\x6c\x6f\x6e\x65\x02\x02\x94"
        "\xa9\x66\x6f\x6c\x6c\x6f\x77\x5f\x75\x70\xc3\x03\x03";
    /* [["name", "x", 7]]: a row written before per-field clocks */
    static const char three[] = "\x91\x93\xa4name\xa1x\x07";
    static const char *const damaged[] = {
        "\x91\x93\xa4name\xa1x",               /* cut short */
        "\x91\x93\xa4name\xc1\x07",            /* 0xc1 is not MessagePack */
        "\x91\x92\xa4name\xa1x",               /* two elements */
        "\x91\x93\xa4name\xa1x\xff",           /* a negative base */
        "\x91\x93\xa4name\xc4\x02zz\x07",      /* a bin that is not an id */
        "\x91\x93\xa4name\x91\x91\x91\x91\x91\x91\xc0\x07", /* nested too deep */
        "\x91\x93\xa4name\xa1x\x07\x00",       /* a byte after the blob */
    };
    static const char id[16] = "\x01\x9a\xc5\xe1\xc2\x10\x7c\x3d\xa0\x4f\x50\x61\x72\x83\x94\xa5";
    proto_field f[6];
    proto_str tags[2];
    fieldset fs;
    gs_buf b;
    (void)state;

    golden_fields(f, tags, id);
    buf_init(&b, FIELDPACK_MAX);
    assert_false(fieldpack_is_wire(golden, sizeof(golden) - 1));
    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, golden, sizeof(golden) - 1, 99), GS_OK);
    assert_int_equal(fs.n, 6);
    for (uint32_t i = 0; i < 6; i++) {
        if (!proto_str_eq(fs.fields[i].name, f[i].name.ptr) ||
            !proto_value_eq(&fs.fields[i].value, &f[i].value) || fs.fields[i].ver != f[i].ver ||
            fs.fields[i].hlc != f[i].hlc)
            fail_msg("field %u (%s) did not read back as written", i, f[i].name.ptr);
    }
    assert_int_equal(fieldset_find(&fs, "lat", 3), 2);
    assert_int_equal(fieldpack_decode(&fs, three, sizeof(three) - 1, 99), GS_OK);
    assert_int_equal(fs.n, 1);
    assert_true(proto_str_eq(fs.fields[0].value.u.s, "x"));
    assert_int_equal(fs.fields[0].ver, 7);
    assert_int_equal(fs.fields[0].hlc, 99);
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        size_t len = strlen(damaged[i]);
        if (i == sizeof(damaged) / sizeof(damaged[0]) - 1)
            len++; /* the trailing 0x00 */
        if (fieldpack_decode(&fs, damaged[i], len, 99) != GS_E_DB)
            fail_msg("damaged blob %zu was not refused as GS_E_DB", i);
        assert_int_equal(fs.n, 0);
    }
    fieldset_free(&fs);
    buf_free(&b);
}

/* A row is stored as the "f" map a version 2 request carries for a change of the row's
 * clock, so a change encoded from the stored bytes (f_raw) is byte for byte the one
 * encoded from the decoded fields; the bytes decode back to the fields, a field whose
 * clock is the row's taking it from the row. */
static void test_fieldpack_rows_are_wire_bytes(void **state)
{
    static const char id[16] = "\x01\x9a\xc5\xe1\xc2\x10\x7c\x3d\xa0\x4f\x50\x61\x72\x83\x94\xa5";
    const uint64_t row_hlc = 3; /* the follow_up field's: written without its own clock */
    proto_field f[6];
    proto_str tags[2];
    proto_change c;
    fieldset fs;
    gs_buf blob, slow, fast;
    (void)state;

    golden_fields(f, tags, id);
    buf_init(&blob, FIELDPACK_MAX);
    buf_init(&slow, 1 << 20);
    buf_init(&fast, 1 << 20);
    assert_int_equal(fieldpack_encode(&blob, f, 6, row_hlc), GS_OK);
    assert_true(fieldpack_is_wire(blob.ptr, blob.len));
    memset(&c, 0, sizeof(c));
    c.seq = 9, c.table = proto_cstr("visit"), c.hlc = row_hlc;
    memcpy(c.id, id, 16);
    c.fields = f, c.n_fields = 6;
    assert_int_equal(proto_encode_change(&slow, &c, PROTO_CH_PUSHED, 2), GS_OK);
    c.fields = NULL, c.n_fields = 0;
    c.f_raw = blob.ptr, c.f_raw_len = blob.len;
    assert_int_equal(proto_encode_change(&fast, &c, PROTO_CH_PUSHED, 2), GS_OK);
    assert_int_equal(fast.len, slow.len);
    assert_memory_equal(fast.ptr, slow.ptr, slow.len);
    /* stored bytes are version 2's form: a version 1 request needs the fields */
    buf_reset(&fast);
    assert_int_equal(proto_encode_change(&fast, &c, PROTO_CH_PUSHED, 1), GS_E_INVALID);
    assert_int_equal(fast.len, 0);
    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, blob.ptr, blob.len, row_hlc), GS_OK);
    assert_int_equal(fs.n, 6);
    for (uint32_t i = 0; i < 6; i++) {
        if (!proto_str_eq(fs.fields[i].name, f[i].name.ptr) ||
            !proto_value_eq(&fs.fields[i].value, &f[i].value) || fs.fields[i].ver != f[i].ver ||
            fs.fields[i].hlc != f[i].hlc)
            fail_msg("field %u (%s) did not read back as written", i, f[i].name.ptr);
    }
    /* damaged wire-form rows are refused like damaged old ones */
    assert_int_equal(fieldpack_decode(&fs, blob.ptr, blob.len - 1, row_hlc), GS_E_DB);
    assert_int_equal(fieldpack_decode(&fs, "\x81\xa4name\x91\xc0", 8, row_hlc), GS_E_DB);
    fieldset_free(&fs);
    buf_free(&blob);
    buf_free(&slow);
    buf_free(&fast);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

    const struct CMUnitTest tests[] = {
        T(test_add_captures_one_row),
        T(test_pull_id_of_another_type_refused),
        T(test_compaction_only_into_unsent_rows),
        T(test_bases_come_from_versions),
        T(test_ack_lost_value_taken_not_captured),
        T(test_ack_lost_keeps_newer_local_edit),
        T(test_rejection_kept_aside),
        T(test_fix_replaces_refused_values),
        T(test_fix_undoes_refused_delete_keeps_pending),
        T(test_clock_offset_learned_and_voided),
        T(test_pull_creates_and_orders_by_version),
        T(test_pull_never_overwrites_pending_edit),
        T(test_pull_skips_what_it_does_not_know),
        T(test_apply_response_all_or_nothing),
        T(test_iteration_bounded_and_low),
        T(test_hlc_monotonic_when_clock_steps_back),
        T(test_hlc_rebase_only_when_server_agrees),
        T(test_two_handles_never_share_a_seq),
        T(test_seq_never_reused_after_acks),
        T(test_batch_poisoned_by_failure_after_writing),
        T(test_failed_import_inside_batch_leaves_batch),
        cmocka_unit_test(test_fieldpack_reads_blobs_of_earlier_versions),
        cmocka_unit_test(test_fieldpack_rows_are_wire_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
