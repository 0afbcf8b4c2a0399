/*
 * test_srv_merge.c: the server merge (server/merge.c) and pull (server/pull.c) against a
 * real SQLite store in a temporary folder, with hand-built changes and a scripted clock.
 *
 * The field rules of PROTOCOL.md section 5 are one table (merge_cases): each case creates
 * a care request as device A, then pushes the listed steps and checks the final values,
 * the conflict rows and the acks' lost lists. The rest (validation, clock guard, scope,
 * duplicates, grid moves, admin resolutions, pull pages) are tests of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/pull.h"
#include "server/store.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tvalue.h"

static const uint64_t T0 = UINT64_C(1795000000000); /* 2026-11-18, ms */
static const uint64_t DRIFT = 300000;               /* 5 minutes */

typedef struct fake_clock {
    uint64_t ms; /* what the wall clock says */
} fake_clock;

static uint64_t fake_now(void *ud)
{
    return ((fake_clock *)ud)->ms;
}

/* One test's world: a store, a clock, three devices. */
typedef struct fx {
    char dir[TDIR_MAX]; /* temporary folder */
    char path[128];     /* the store file */
    store *st;          /* the store */
    fake_clock fc;      /* the server's wall clock */
    hlc clock;          /* the server HLC */
    gs_arena arena;     /* acks and values of the whole test */
    store_device a;     /* d-a, grids g1 */
    store_device b;     /* d-b, grids g1 */
    store_device c;     /* d-c, grids g2 */
    merge_ctx last;     /* counters of the last batch */
    uint64_t seq[3];    /* next seq per device */
} fx;

static void mkdev(store_device *d, const char *id, const char *grid)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->name, sizeof(d->name), "worker %s", id);
    snprintf(d->grids[0], sizeof(d->grids[0]), "%s", grid);
    d->n_grids = 1;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err;

    assert_int_equal(tdir_make(f->dir, "merge"), 0);
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    f->fc.ms = T0 + 1000000;
    hlc_init(&f->clock, 0, DRIFT, fake_now, &f->fc);
    arena_init(&f->arena, SVAL_ARENA_MAX);
    mkdev(&f->a, "d-a", "g1");
    mkdev(&f->b, "d-b", "g1");
    mkdev(&f->c, "d-c", "g2");
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &f->a, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &f->b, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &f->c, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    /* read back: a device's number in records comes from the store */
    assert_int_equal(store_device_get(f->st, "d-a", 3, &f->a, &err), GS_OK);
    assert_int_equal(store_device_get(f->st, "d-b", 3, &f->b, &err), GS_OK);
    assert_int_equal(store_device_get(f->st, "d-c", 3, &f->c, &err), GS_OK);
    f->seq[0] = f->seq[1] = f->seq[2] = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    arena_free(&f->arena);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

static uint64_t at(int64_t ms)
{
    return hlc_pack((uint64_t)((int64_t)T0 + ms), 0);
}

static int dev_index(fx *f, const store_device *d)
{
    return d == &f->a ? 0 : d == &f->b ? 1 : 2;
}

/* Pushes changes as one batch in one transaction; returns merge_batch's code. */
static int push_batch(fx *f, const store_device *d, proto_change *ch, uint32_t n, proto_ack *acks)
{
    proto_sync_req req;
    merge_ctx m;
    gs_err err;
    int rc;

    memset(&req, 0, sizeof(req));
    req.version = 1;
    req.device = proto_cstr(d->id);
    req.low = 1;
    req.changes = ch;
    req.n_changes = n;
    merge_init(&m, f->st, &f->clock, &f->arena, (int64_t)f->fc.ms);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    rc = merge_batch(&m, d, &req, acks, &err);
    if (rc) {
        store_rollback(f->st);
        return rc;
    }
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    f->last = m;
    return GS_OK;
}

/* Pushes one change with the device's next seq; the merge must not fail. */
static proto_ack push(fx *f, const store_device *d, const char *tbl, const uint8_t id[16],
                      uint64_t ts, proto_field *fields, uint32_t n)
{
    proto_change c;
    proto_ack ack;

    memset(&c, 0, sizeof(c));
    c.seq = f->seq[dev_index(f, d)]++;
    c.table = proto_cstr(tbl);
    memcpy(c.id, id, 16);
    c.hlc = ts;
    c.fields = fields;
    c.n_fields = n;
    assert_int_equal(push_batch(f, d, &c, 1, &ack), GS_OK);
    return ack;
}

static void new_id(uint8_t id[16])
{
    assert_int_equal(uuid_v7(id, T0), GS_OK);
}

/* A resident of grid g1 created by A. */
static uint64_t make_resident(fx *f, uint8_t id[16], const char *grid)
{
    proto_field fs[2] = {tv_field("name", tv_str("王秀英"), 0), tv_field("grid", tv_str(grid), 0)};
    proto_ack ack;
    new_id(id);
    ack = push(f, grid[1] == '1' ? &f->a : &f->c, "resident", id, at(1), fs, 2);
    assert_true(ack.ok);
    return ack.version;
}

/* A care request of grid g1 for resident rid, created by A; returns its version. */
static uint64_t make_care(fx *f, uint8_t id[16], const uint8_t rid[16])
{
    proto_field fs[6] = {
        tv_field("resident", tv_ref(rid), 0),    tv_field("grid", tv_str("g1"), 0),
        tv_field("category", tv_str("meal"), 0), tv_field("priority", tv_str("normal"), 0),
        tv_field("status", tv_str("open"), 0),   tv_field("requested_at", tv_int((int64_t)T0), 0)};
    proto_ack ack;
    new_id(id);
    ack = push(f, &f->a, "care", id, at(2), fs, 6);
    if (!ack.ok)
        fail_msg("care create rejected: %.*s", (int)ack.msg.len, ack.msg.ptr);
    return ack.version;
}

static store_field get_field(fx *f, const char *tbl, const uint8_t id[16], const char *name)
{
    store_field sf;
    gs_err err;
    int rc = store_field_get(f->st, tbl, id, name, &f->arena, &sf, &err);
    if (rc)
        fail_msg("field %s.%s: %s", tbl, name, err.msg);
    return sf;
}

typedef struct conf_list {
    store_conflict c[16]; /* conflicts read */
    int n;                /* entries in c */
} conf_list;

static int conf_cb(void *ud, const store_conflict *c)
{
    conf_list *cl = ud;
    if (cl->n < 16)
        cl->c[cl->n] = *c;
    cl->n++;
    return GS_OK;
}

static conf_list conflicts(fx *f)
{
    conf_list cl;
    gs_err err;
    memset(&cl, 0, sizeof(cl));
    assert_int_equal(store_conflict_list(f->st, 0, NULL, 100, &f->arena, conf_cb, &cl, &err),
                     GS_OK);
    return cl;
}

static int value_is(const proto_value *v, const char *want)
{
    if (strcmp(want, "true") == 0)
        return v->type == PV_BOOL && v->u.b;
    if (strcmp(want, "false") == 0)
        return v->type == PV_BOOL && !v->u.b;
    return v->type == PV_STR && v->u.s.len == strlen(want) &&
           memcmp(v->u.s.ptr, want, v->u.s.len) == 0;
}

/* ------------------------------------------------------------------------------------ */
/* the field rules, as a table                                                          */

typedef struct step {
    char dev;          /* 'A' or 'B' */
    const char *field; /* care field pushed */
    const char *value; /* its value: text/enum, or "true"/"false" for deleted */
    int64_t ms;        /* HLC: T0 + ms */
    int base;          /* 0: the creation's version; k: the version step k got */
} step;

typedef struct expect {
    const char *field; /* care field */
    const char *value; /* its final value */
} expect;

typedef struct merge_case {
    const char *name;         /* the rule */
    step steps[3];            /* pushed in order */
    int n_steps;              /* entries in steps */
    expect want[2];           /* final values */
    int n_want;               /* entries in want */
    int conflicts;            /* conflict rows expected */
    char winner;              /* device of the conflict's winner ('A', 'B', 0: none) */
    const char *policy_field; /* the conflict's field */
    int lost_step;            /* step whose ack must carry `lost` (0: none may) */
} merge_case;

static const merge_case merge_cases[] = {
    {"fast-forward: B edits what it saw",
     {{'B', "notes", "b", 10, 0}},
     1,
     {{"notes", "b"}},
     1,
     0,
     0,
     NULL,
     0},
    {"different fields both survive, no conflict",
     {{'A', "assignee", "li", 10, 0}, {'B', "notes", "b", 20, 0}},
     2,
     {{"assignee", "li"}, {"notes", "b"}},
     2,
     0,
     0,
     NULL,
     0},
    {"same field concurrent: later HLC wins, conflict recorded",
     {{'A', "notes", "a", 10, 0}, {'B', "notes", "b", 20, 0}},
     2,
     {{"notes", "b"}},
     1,
     1,
     'B',
     "notes",
     0},
    {"same field concurrent, later edit arrives first: it still wins, loser told",
     {{'B', "notes", "b", 20, 0}, {'A', "notes", "a", 10, 0}},
     2,
     {{"notes", "b"}},
     1,
     1,
     'B',
     "notes",
     2},
    {"HLC tie: the greater device id wins (d-b > d-a)",
     {{'A', "notes", "a", 10, 0}, {'B', "notes", "b", 10, 0}},
     2,
     {{"notes", "b"}},
     1,
     1,
     'B',
     "notes",
     0},
    {"HLC tie, other arrival order: still d-b",
     {{'B', "notes", "b", 10, 0}, {'A', "notes", "a", 10, 0}},
     2,
     {{"notes", "b"}},
     1,
     1,
     'B',
     "notes",
     2},
    {"one device's repeated offline edits never conflict with themselves",
     {{'A', "notes", "x", 10, 0}, {'A', "notes", "y", 20, 0}, {'A', "notes", "z", 30, 0}},
     3,
     {{"notes", "z"}},
     1,
     0,
     0,
     NULL,
     0},
    {"equal values: no conflict, the second device takes the server's version",
     {{'A', "notes", "same", 10, 0}, {'B', "notes", "same", 20, 0}},
     2,
     {{"notes", "same"}},
     1,
     0,
     0,
     NULL,
     2},
    {"status: done is not undone by an older in_progress",
     {{'A', "status", "done", 20, 0}, {'B', "status", "in_progress", 10, 0}},
     2,
     {{"status", "done"}},
     1,
     1,
     'A',
     "status",
     2},
    {"status: done arriving after an older in_progress wins",
     {{'B', "status", "in_progress", 10, 0}, {'A', "status", "done", 20, 0}},
     2,
     {{"status", "done"}},
     1,
     1,
     'A',
     "status",
     0},
    {"status: terminal beats a concurrent non-terminal even when that one is newer",
     {{'A', "status", "done", 10, 0}, {'B', "status", "in_progress", 20, 0}},
     2,
     {{"status", "done"}},
     1,
     1,
     'A',
     "status",
     2},
    {"status: an explicit newer reopen wins",
     {{'A', "status", "done", 10, 0}, {'B', "status", "open", 20, 0}},
     2,
     {{"status", "open"}},
     1,
     1,
     'B',
     "status",
     0},
    {"status: an explicit newer reopen wins in either arrival order",
     {{'B', "status", "open", 20, 0}, {'A', "status", "cancelled", 10, 0}},
     2,
     {{"status", "open"}},
     1,
     1,
     'B',
     "status",
     2},
    {"status: an older reopen loses to done",
     {{'A', "status", "done", 20, 0}, {'B', "status", "open", 10, 0}},
     2,
     {{"status", "done"}},
     1,
     1,
     'A',
     "status",
     2},
    {"status: terminal against terminal is LWW",
     {{'A', "status", "done", 10, 0}, {'B', "status", "cancelled", 20, 0}},
     2,
     {{"status", "cancelled"}},
     1,
     1,
     'B',
     "status",
     0},
    {"status: sequential edits are no conflict (B saw done, reopens)",
     {{'A', "status", "done", 10, 0}, {'B', "status", "open", 20, 1}},
     2,
     {{"status", "open"}},
     1,
     0,
     0,
     NULL,
     0},
    {"delete then a concurrent update: the record stays deleted, the update lies beneath",
     {{'A', "deleted", "true", 10, 0}, {'B', "notes", "n", 20, 0}},
     2,
     {{"deleted", "true"}, {"notes", "n"}},
     2,
     1,
     'A',
     "deleted",
     2},
    {"update then a concurrent delete: the delete wins, conflict recorded",
     {{'B', "notes", "n", 20, 0}, {'A', "deleted", "true", 10, 0}},
     2,
     {{"deleted", "true"}, {"notes", "n"}},
     2,
     1,
     'A',
     "deleted",
     0},
    {"an undelete concurrent with a delete loses",
     {{'A', "deleted", "true", 10, 0}, {'B', "deleted", "false", 20, 0}},
     2,
     {{"deleted", "true"}},
     1,
     1,
     'A',
     "deleted",
     2},
    {"an undelete by one who saw the delete restores",
     {{'A', "deleted", "true", 10, 0}, {'B', "deleted", "false", 20, 1}},
     2,
     {{"deleted", "false"}},
     1,
     0,
     0,
     NULL,
     0},
};

static void run_case(fx *f, const merge_case *mc)
{
    uint8_t rid[16], cid[16];
    uint64_t created, versions[4] = {0};
    proto_ack acks[4];
    conf_list cl;

    make_resident(f, rid, "g1");
    created = make_care(f, cid, rid);
    versions[0] = created;
    for (int i = 0; i < mc->n_steps; i++) {
        const step *s = &mc->steps[i];
        proto_value v = strcmp(s->field, "deleted") == 0 ? tv_bool(strcmp(s->value, "true") == 0)
                                                         : tv_str(s->value);
        proto_field pf = tv_field(s->field, v, versions[s->base]);
        acks[i] = push(f, s->dev == 'A' ? &f->a : &f->b, "care", cid, at(s->ms), &pf, 1);
        if (!acks[i].ok)
            fail_msg("%s: step %d rejected: %.*s", mc->name, i + 1, (int)acks[i].msg.len,
                     acks[i].msg.ptr);
        versions[i + 1] = acks[i].version;
        if (i > 0 && versions[i + 1] <= versions[i])
            fail_msg("%s: versions must rise (%llu after %llu)", mc->name,
                     (unsigned long long)versions[i + 1], (unsigned long long)versions[i]);
    }
    for (int i = 0; i < mc->n_want; i++) {
        store_field sf = get_field(f, "care", cid, mc->want[i].field);
        if (!value_is(&sf.value, mc->want[i].value))
            fail_msg("%s: %s is not %s (type %d)", mc->name, mc->want[i].field, mc->want[i].value,
                     sf.value.type);
    }
    cl = conflicts(f);
    if (cl.n != mc->conflicts)
        fail_msg("%s: %d conflicts, want %d", mc->name, cl.n, mc->conflicts);
    if (mc->conflicts) {
        const store_conflict *c = &cl.c[0];
        const char *wdev = mc->winner == 'A' ? "d-a" : "d-b";
        const char *odev = mc->winner == 'A' ? "d-b" : "d-a";
        if (strcmp(c->field, mc->policy_field) || strcmp(c->winner.device, wdev) ||
            strcmp(c->other.device, odev))
            fail_msg("%s: conflict on %s won by %s against %s; want %s won by %s", mc->name,
                     c->field, c->winner.device, c->other.device, mc->policy_field, wdev);
        if (c->resolved || memcmp(c->rid, cid, 16) || strcmp(c->grid, "g1") ||
            strcmp(c->tbl, "care"))
            fail_msg("%s: conflict row does not describe the record", mc->name);
        if (c->winner.hlc == c->other.hlc && strcmp(c->winner.device, c->other.device) < 0)
            fail_msg("%s: tie not broken by device id", mc->name);
    }
    for (int i = 0; i < mc->n_steps; i++) {
        int want_lost = mc->lost_step == i + 1;
        if (want_lost != (acks[i].n_lost > 0))
            fail_msg("%s: step %d ack has %u lost fields, want %s", mc->name, i + 1, acks[i].n_lost,
                     want_lost ? "some" : "none");
        if (want_lost) {
            /* the loser learns the server's value and its version */
            const char *lf = mc->policy_field ? mc->policy_field : mc->steps[i].field;
            store_field sf = get_field(f, "care", cid, lf);
            if (!proto_str_eq(acks[i].lost[0].name, lf) ||
                !proto_value_eq(&acks[i].lost[0].value, &sf.value) ||
                acks[i].lost[0].ver != sf.version)
                fail_msg("%s: lost does not carry the server's value and version", mc->name);
        }
    }
}

static void test_merge_rules_table(void **state)
{
    for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
        teardown(state);
        setup(state);
        run_case(*state, &merge_cases[i]);
    }
}

/* ------------------------------------------------------------------------------------ */
/* validation, clock guard, scope                                                       */

static void expect_reject(const proto_ack *ack, const char *code, const char *msg_part)
{
    if (ack->ok)
        fail_msg("accepted, want rejected %s", code);
    if (!proto_str_eq(ack->err, code))
        fail_msg("rejected %.*s (%.*s), want %s", (int)ack->err.len, ack->err.ptr,
                 (int)ack->msg.len, ack->msg.ptr, code);
    if (msg_part) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%.*s", (int)ack->msg.len, ack->msg.ptr);
        if (!strstr(msg, msg_part))
            fail_msg("message '%s' does not mention '%s'", msg, msg_part);
    }
}

static void test_rejections(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16], ghost[16], nid[16];
    proto_field pf;
    proto_ack ack;

    make_resident(f, rid, "g1");
    make_care(f, cid, rid);
    new_id(ghost);
    new_id(nid);
    /* invalid: bad enum value */
    pf = tv_field("status", tv_str("finished"), 0);
    ack = push(f, &f->a, "care", cid, at(5), &pf, 1);
    expect_reject(&ack, "invalid", "care.status");
    /* invalid: a new record without its required fields */
    pf = tv_field("name", tv_str("Li"), 0);
    ack = push(f, &f->a, "resident", nid, at(5), &pf, 1);
    expect_reject(&ack, "invalid", "required");
    /* invalid: unknown table */
    ack = push(f, &f->a, "complaint", nid, at(5), &pf, 1);
    expect_reject(&ack, "invalid", "complaint");
    /* immutable */
    pf = tv_field("resident", tv_ref(ghost), 0);
    ack = push(f, &f->a, "care", cid, at(5), &pf, 1);
    expect_reject(&ack, "immutable", "care.resident");
    /* the same immutable value again is no change and is accepted */
    pf = tv_field("resident", tv_ref(rid), 0);
    ack = push(f, &f->a, "care", cid, at(6), &pf, 1);
    assert_true(ack.ok);
    /* not_found: a visit of a resident the server does not know */
    {
        proto_field vf[5] = {tv_field("resident", tv_ref(ghost), 0),
                             tv_field("grid", tv_str("g1"), 0), tv_field("worker", tv_str("w"), 0),
                             tv_field("visited_at", tv_int((int64_t)T0), 0),
                             tv_field("kind", tv_str("routine"), 0)};
        uint8_t vid[16];
        new_id(vid);
        ack = push(f, &f->a, "visit", vid, at(5), vf, 5);
        expect_reject(&ack, "not_found", "resident");
    }
    /* nothing rejected left a trace */
    {
        store_record rec;
        gs_err err;
        assert_int_equal(store_record_get(f->st, "resident", nid, &rec, &err), GS_E_NOTFOUND);
        store_field sf = get_field(f, "care", cid, "status");
        assert_true(value_is(&sf.value, "open"));
    }
}

/* A reference to a record created earlier in the same batch is fine; to one whose creation
 * was rejected, not. */
static void test_reference_created_in_same_batch(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16], v1[16], v2[16];
    proto_field res1[2] = {tv_field("name", tv_str("one"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field res2[2] = {tv_field("name", tv_str("two"), 0), tv_field("grid", tv_str("g2"), 0)};
    proto_field vis1[5] = {tv_field("resident", tv_ref(r1), 0), tv_field("grid", tv_str("g1"), 0),
                           tv_field("worker", tv_str("w"), 0),
                           tv_field("visited_at", tv_int((int64_t)T0), 0),
                           tv_field("kind", tv_str("elderly_checkin"), 0)};
    proto_field vis2[5] = {tv_field("resident", tv_ref(r2), 0), tv_field("grid", tv_str("g1"), 0),
                           tv_field("worker", tv_str("w"), 0),
                           tv_field("visited_at", tv_int((int64_t)T0), 0),
                           tv_field("kind", tv_str("routine"), 0)};
    proto_change ch[4];
    proto_ack acks[4];

    new_id(r1);
    new_id(r2);
    new_id(v1);
    new_id(v2);
    memset(ch, 0, sizeof(ch));
    ch[0] = (proto_change){.seq = 1, .table = proto_cstr("resident"), .hlc = at(10), .fields = res1, .n_fields = 2};
    ch[1] = (proto_change){.seq = 2, .table = proto_cstr("visit"), .hlc = at(11), .fields = vis1, .n_fields = 5};
    ch[2] = (proto_change){.seq = 3, .table = proto_cstr("resident"), .hlc = at(12), .fields = res2, .n_fields = 2};
    ch[3] = (proto_change){.seq = 4, .table = proto_cstr("visit"), .hlc = at(13), .fields = vis2, .n_fields = 5};
    memcpy(ch[0].id, r1, 16);
    memcpy(ch[1].id, v1, 16);
    memcpy(ch[2].id, r2, 16);
    memcpy(ch[3].id, v2, 16);
    vis1[0] = tv_field("resident", tv_ref(r1), 0);
    vis2[0] = tv_field("resident", tv_ref(r2), 0);
    assert_int_equal(push_batch(f, &f->a, ch, 4, acks), GS_OK);
    assert_true(acks[0].ok);
    assert_true(acks[1].ok);
    expect_reject(&acks[2], "out_of_scope", NULL);
    expect_reject(&acks[3], "not_found", "resident");
}

static void test_clock_ahead_rejected_with_hours(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    proto_field fs[2] = {tv_field("name", tv_str("Zhao"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_ack ack;
    uint64_t before = f->clock.last;

    new_id(rid);
    /* the wall clock is T0 + 1000 s; this handheld thinks it is 3 hours later */
    ack = push(f, &f->a, "resident", rid, hlc_pack(f->fc.ms + 3 * 3600 * 1000, 0), fs, 2);
    expect_reject(&ack, "clock_ahead", "is 3 h 0 min 0 s ahead");
    assert_int_equal(f->clock.last, before); /* the server clock was not dragged along */
    /* within the drift is fine */
    ack = push(f, &f->a, "resident", rid, hlc_pack(f->fc.ms + 60 * 1000, 0), fs, 2);
    assert_true(ack.ok);
    assert_true(f->clock.last > hlc_pack(f->fc.ms + 60 * 1000, 0)); /* hlc_recv advanced it */
}

/* Issue 12, bug 1: a change whose fields carry different clocks (A edited resolution, then
 * notes, before syncing) is decided field by field, each by its own edit's clock: B's later
 * resolution wins over A's older one although A's change also carries a newer edit. */
static void test_field_clocks_decide_not_change_clock(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16];
    uint64_t v0;
    proto_field fb[1], fa[2];
    proto_ack ack;
    store_record rec;
    store_field sf;
    conf_list cl;
    gs_err err;

    make_resident(f, rid, "g1");
    v0 = make_care(f, cid, rid);
    fb[0] = tv_field("resolution", tv_str("from-b-LATER"), v0);
    fb[0].hlc = at(20);
    ack = push(f, &f->b, "care", cid, at(20), fb, 1);
    assert_true(ack.ok);
    /* A's coalesced row: first edit @10 (resolution), then @30 (notes) */
    fa[0] = tv_field("resolution", tv_str("from-a-FIRST"), v0);
    fa[0].hlc = at(10);
    fa[1] = tv_field("notes", tv_str("x"), v0);
    fa[1].hlc = at(30);
    ack = push(f, &f->a, "care", cid, at(10), fa, 2);
    assert_true(ack.ok);
    assert_int_equal(ack.n_lost, 1);
    assert_true(proto_str_eq(ack.lost[0].name, "resolution"));
    assert_true(value_is(&ack.lost[0].value, "from-b-LATER"));
    assert_int_equal(ack.lost[0].hlc, at(20)); /* the device learns the winner's clock */
    sf = get_field(f, "care", cid, "resolution");
    assert_true(value_is(&sf.value, "from-b-LATER"));
    sf = get_field(f, "care", cid, "notes");
    assert_true(value_is(&sf.value, "x"));
    assert_int_equal(sf.hlc, at(30));
    cl = conflicts(f);
    assert_int_equal(cl.n, 1);
    assert_string_equal(cl.c[0].winner.device, "d-b");
    assert_int_equal(cl.c[0].winner.hlc, at(20));
    assert_string_equal(cl.c[0].other.device, "d-a");
    assert_int_equal(cl.c[0].other.hlc, at(10)); /* logged with its own clock, not @30 */
    /* created: the creating change's clock; updated: the newest value's */
    assert_int_equal(store_record_get(f->st, "care", cid, &rec, &err), GS_OK);
    assert_int_equal(rec.created_hlc, at(2));
    assert_int_equal(rec.updated_hlc, at(30));
}

/* The clock guard checks every field's clock, not only the change's. */
static void test_clock_guard_checks_field_clocks(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    proto_field fs[2] = {tv_field("name", tv_str("Zhao"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_ack ack;

    new_id(rid);
    fs[0].hlc = hlc_pack(f->fc.ms + 3 * 24 * 3600 * 1000ull + 5000, 0);
    ack = push(f, &f->a, "resident", rid, hlc_pack(f->fc.ms, 0), fs, 2);
    expect_reject(&ack, "clock_ahead", "is 3 days 0 h 0 min 5 s ahead");
}

/* Issue 18, item 7: a care request or visit of grid g1 naming a resident of grid g2 is
 * refused, with the very answer a resident the server does not have gets (apart from the
 * id), so a device learns nothing about ids of other grids; no message names g2. */
static void test_ref_other_grid_refused_like_unknown(void **state)
{
    fx *f = *state;
    uint8_t foreign[16], ghost[16], id[16];
    const uint8_t *targets[2];
    char msgs[2][2][600];
    store_record rec;
    gs_err err;

    make_resident(f, foreign, "g2");
    new_id(ghost);
    targets[0] = foreign;
    targets[1] = ghost;
    for (int i = 0; i < 2; i++) {
        char text[UUID_TEXT_LEN + 1], *p;
        proto_field cf[6] = {
            tv_field("resident", tv_ref(targets[i]), 0), tv_field("grid", tv_str("g1"), 0),
            tv_field("category", tv_str("meal"), 0),     tv_field("priority", tv_str("normal"), 0),
            tv_field("status", tv_str("open"), 0),
            tv_field("requested_at", tv_int((int64_t)T0), 0)};
        proto_field vf[5] = {tv_field("resident", tv_ref(targets[i]), 0),
                             tv_field("grid", tv_str("g1"), 0), tv_field("worker", tv_str("w"), 0),
                             tv_field("visited_at", tv_int((int64_t)T0), 0),
                             tv_field("kind", tv_str("routine"), 0)};
        proto_ack ack;

        uuid_format(targets[i], text);
        new_id(id);
        ack = push(f, &f->a, "care", id, at(5), cf, 6);
        expect_reject(&ack, "not_found", "care.resident");
        assert_int_equal(store_record_get(f->st, "care", id, &rec, &err), GS_E_NOTFOUND);
        snprintf(msgs[i][0], sizeof(msgs[i][0]), "%.*s", (int)ack.msg.len, ack.msg.ptr);
        new_id(id);
        ack = push(f, &f->a, "visit", id, at(5), vf, 5);
        expect_reject(&ack, "not_found", "visit.resident");
        assert_int_equal(store_record_get(f->st, "visit", id, &rec, &err), GS_E_NOTFOUND);
        snprintf(msgs[i][1], sizeof(msgs[i][1]), "%.*s", (int)ack.msg.len, ack.msg.ptr);
        for (int k = 0; k < 2; k++) {
            assert_null(strstr(msgs[i][k], "g2"));
            p = strstr(msgs[i][k], text); /* blank the id: the rest must be the same */
            assert_non_null(p);
            memset(p, 'x', UUID_TEXT_LEN);
        }
    }
    assert_string_equal(msgs[0][0], msgs[1][0]);
    assert_string_equal(msgs[0][1], msgs[1][1]);
}

/* Issue 18, item 8: ids are unique across all types. A visit or care request created with
 * the id of a resident is refused id_taken and stores nothing; the resident is untouched. */
static void test_id_of_another_type_refused(void **state)
{
    fx *f = *state;
    uint8_t rid[16], own[16];
    store_record rec;
    gs_err err;
    proto_field vf[5];
    proto_ack ack;

    make_resident(f, rid, "g1");
    make_resident(f, own, "g1");
    vf[0] = tv_field("resident", tv_ref(own), 0);
    vf[1] = tv_field("grid", tv_str("g1"), 0);
    vf[2] = tv_field("worker", tv_str("w"), 0);
    vf[3] = tv_field("visited_at", tv_int((int64_t)T0), 0);
    vf[4] = tv_field("kind", tv_str("routine"), 0);
    ack = push(f, &f->a, "visit", rid, at(5), vf, 5);
    expect_reject(&ack, "id_taken", "resident");
    assert_int_equal(store_record_get(f->st, "visit", rid, &rec, &err), GS_E_NOTFOUND);
    ack = push(f, &f->b, "visit", rid, at(6), vf, 5); /* another device, same answer */
    expect_reject(&ack, "id_taken", "resident");
    assert_int_equal(store_record_get(f->st, "resident", rid, &rec, &err), GS_OK);
    {   /* the control: a fresh id is accepted */
        uint8_t vid[16];
        new_id(vid);
        ack = push(f, &f->a, "visit", vid, at(7), vf, 5);
        assert_true(ack.ok);
    }
}

static void test_out_of_scope_mid_batch_leaves_rest(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16], r3[16], rc2[16];
    proto_field f1[2] = {tv_field("name", tv_str("one"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field f2[2] = {tv_field("name", tv_str("two"), 0), tv_field("grid", tv_str("g2"), 0)};
    proto_field f3[2] = {tv_field("name", tv_str("three"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field f4[1] = {tv_field("name", tv_str("renamed"), 0)};
    proto_change ch[4];
    proto_ack acks[4];
    store_record rec;
    gs_err err;

    make_resident(f, rc2, "g2"); /* a resident of g2, by device C */
    new_id(r1);
    new_id(r2);
    new_id(r3);
    memset(ch, 0, sizeof(ch));
    ch[0] = (proto_change){.seq = 1, .table = proto_cstr("resident"), .hlc = at(10), .fields = f1, .n_fields = 2};
    ch[1] = (proto_change){.seq = 2, .table = proto_cstr("resident"), .hlc = at(11), .fields = f2, .n_fields = 2};
    ch[2] = (proto_change){.seq = 3, .table = proto_cstr("resident"), .hlc = at(12), .fields = f3, .n_fields = 2};
    ch[3] = (proto_change){.seq = 4, .table = proto_cstr("resident"), .hlc = at(13), .fields = f4, .n_fields = 1};
    memcpy(ch[0].id, r1, 16);
    memcpy(ch[1].id, r2, 16);
    memcpy(ch[2].id, r3, 16);
    memcpy(ch[3].id, rc2, 16); /* an existing record of another grid */
    assert_int_equal(push_batch(f, &f->a, ch, 4, acks), GS_OK);
    assert_true(acks[0].ok);
    expect_reject(&acks[1], "out_of_scope", "g2");
    assert_true(acks[2].ok);
    /* issue 18, item 7: the record's grid, which the device does not hold, is not named */
    expect_reject(&acks[3], "out_of_scope", "this device's grids");
    {
        char m3[600];
        snprintf(m3, sizeof(m3), "%.*s", (int)acks[3].msg.len, acks[3].msg.ptr);
        assert_null(strstr(m3, "g2"));
    }
    assert_int_equal(f->last.n_accepted, 2);
    assert_int_equal(f->last.n_rejected, 2);
    assert_int_equal(store_record_get(f->st, "resident", r1, &rec, &err), GS_OK);
    assert_int_equal(store_record_get(f->st, "resident", r2, &rec, &err), GS_E_NOTFOUND);
    assert_int_equal(store_record_get(f->st, "resident", r3, &rec, &err), GS_OK);
    {
        store_field sf = get_field(f, "resident", rc2, "name");
        assert_true(value_is(&sf.value, "王秀英"));
    }
    assert_true(acks[2].version > acks[0].version);
}

static void test_duplicate_batch_same_acks_no_change(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16];
    proto_field f1[2] = {tv_field("name", tv_str("one"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field f2[2] = {tv_field("name", tv_str("two"), 0), tv_field("grid", tv_str("g9"), 0)};
    proto_change ch[2];
    proto_ack a1[2], a2[2];
    uint64_t last1, last2;
    gs_err err;

    new_id(r1);
    new_id(r2);
    memset(ch, 0, sizeof(ch));
    ch[0] = (proto_change){.seq = 7, .table = proto_cstr("resident"), .hlc = at(10), .fields = f1, .n_fields = 2};
    ch[1] = (proto_change){.seq = 8, .table = proto_cstr("resident"), .hlc = at(11), .fields = f2, .n_fields = 2};
    memcpy(ch[0].id, r1, 16);
    memcpy(ch[1].id, r2, 16);
    assert_int_equal(push_batch(f, &f->a, ch, 2, a1), GS_OK);
    assert_int_equal(store_version_last(f->st, &last1, &err), GS_OK);
    assert_int_equal(push_batch(f, &f->a, ch, 2, a2), GS_OK);
    assert_int_equal(store_version_last(f->st, &last2, &err), GS_OK);
    assert_int_equal(last1, last2); /* nothing applied again */
    assert_int_equal(f->last.n_duplicate, 2);
    assert_int_equal(f->last.n_accepted, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(a1[i].seq, a2[i].seq);
        assert_int_equal(a1[i].ok, a2[i].ok);
        assert_int_equal(a1[i].version, a2[i].version);
        assert_int_equal(a1[i].n_lost, a2[i].n_lost);
        assert_int_equal(a1[i].err.len, a2[i].err.len);
        assert_int_equal(a1[i].msg.len, a2[i].msg.len);
        assert_memory_equal(a1[i].msg.ptr ? a1[i].msg.ptr : "", a2[i].msg.ptr ? a2[i].msg.ptr : "",
                            a1[i].msg.len);
    }
    assert_false(a2[1].ok); /* the rejection is remembered too */
}

/* The batch-level shortcuts (no ack lookup above the device's highest stored seq, found
 * references remembered) must not change an answer: a seq repeated inside one batch is a
 * duplicate, a retry that adds a new change applies only that one, and a reference that
 * was missing is looked up again once the batch has created it. */
static void test_batch_shortcuts_keep_answers(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16], v1[16], v2[16], v3[16];
    proto_field res1[2] = {tv_field("name", tv_str("one"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field res2[2] = {tv_field("name", tv_str("two"), 0), tv_field("grid", tv_str("g1"), 0)};
    proto_field vis[5] = {tv_field("resident", tv_ref(r1), 0), tv_field("grid", tv_str("g1"), 0),
                          tv_field("worker", tv_str("w"), 0),
                          tv_field("visited_at", tv_int((int64_t)T0), 0),
                          tv_field("kind", tv_str("routine"), 0)};
    proto_change ch[5];
    proto_ack acks[5];
    uint64_t last1, last2;
    gs_err err;

    new_id(r1);
    new_id(r2);
    new_id(v1);
    new_id(v2);
    new_id(v3);
    vis[0] = tv_field("resident", tv_ref(r1), 0);
    memset(ch, 0, sizeof(ch));
    /* a visit of r1 before r1 exists, r1, a visit of r1, the same seq again, r2 */
    ch[0] = (proto_change){.seq = 1, .table = proto_cstr("visit"), .hlc = at(10), .fields = vis, .n_fields = 5};
    ch[1] = (proto_change){.seq = 2, .table = proto_cstr("resident"), .hlc = at(11), .fields = res1, .n_fields = 2};
    ch[2] = (proto_change){.seq = 3, .table = proto_cstr("visit"), .hlc = at(12), .fields = vis, .n_fields = 5};
    ch[3] = (proto_change){.seq = 2, .table = proto_cstr("resident"), .hlc = at(13), .fields = res2, .n_fields = 2};
    ch[4] = (proto_change){.seq = 4, .table = proto_cstr("resident"), .hlc = at(14), .fields = res2, .n_fields = 2};
    memcpy(ch[0].id, v1, 16);
    memcpy(ch[1].id, r1, 16);
    memcpy(ch[2].id, v2, 16);
    memcpy(ch[3].id, r2, 16);
    memcpy(ch[4].id, r2, 16);
    assert_int_equal(push_batch(f, &f->a, ch, 5, acks), GS_OK);
    expect_reject(&acks[0], "not_found", "resident");
    assert_true(acks[1].ok);
    assert_true(acks[2].ok);
    assert_true(acks[3].ok); /* seq 2 again: seq 2's ack, nothing applied */
    assert_int_equal(acks[3].version, acks[1].version);
    assert_true(acks[4].ok);
    assert_int_equal(f->last.n_duplicate, 1);
    assert_int_equal(f->last.n_accepted, 3);
    assert_int_equal(f->last.n_rejected, 1);

    /* the retry brings seqs 1..4 again and a new 5: only 5 is applied */
    assert_int_equal(store_version_last(f->st, &last1, &err), GS_OK);
    ch[3] = (proto_change){.seq = 5, .table = proto_cstr("visit"), .hlc = at(15), .fields = vis, .n_fields = 5};
    memcpy(ch[3].id, v3, 16);
    assert_int_equal(push_batch(f, &f->a, ch, 5, acks), GS_OK);
    assert_int_equal(store_version_last(f->st, &last2, &err), GS_OK);
    assert_int_equal(last2, last1 + 1);
    assert_int_equal(f->last.n_duplicate, 4);
    assert_int_equal(f->last.n_accepted, 1);
    expect_reject(&acks[0], "not_found", "resident"); /* the stored answer, not a new one */
    assert_true(acks[3].ok);
    assert_int_equal(acks[3].version, last2);
}

static void test_ack_with_lost_survives_the_store(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16];
    uint64_t created;
    proto_field pa = tv_field("notes", tv_str("a"), 0), pb;
    proto_ack ack, again;
    proto_change c;

    make_resident(f, rid, "g1");
    created = make_care(f, cid, rid);
    pa.ver = created;
    ack = push(f, &f->b, "care", cid, at(20), &pa, 1);
    pb = tv_field("notes", tv_str("b"), created);
    ack = push(f, &f->a, "care", cid, at(10), &pb, 1); /* loses to B's later edit */
    assert_true(ack.ok);
    assert_int_equal(ack.n_lost, 1);
    memset(&c, 0, sizeof(c));
    c.seq = f->seq[0] - 1;
    c.table = proto_cstr("care");
    memcpy(c.id, cid, 16);
    c.hlc = at(10);
    c.fields = &pb;
    c.n_fields = 1;
    assert_int_equal(push_batch(f, &f->a, &c, 1, &again), GS_OK);
    assert_int_equal(again.n_lost, 1);
    assert_true(proto_str_eq(again.lost[0].name, "notes"));
    assert_true(proto_value_eq(&again.lost[0].value, &ack.lost[0].value));
    assert_int_equal(again.lost[0].ver, ack.lost[0].ver);
}

/* ------------------------------------------------------------------------------------ */
/* pull                                                                                 */

static pull_page pull(fx *f, const store_device *d, uint64_t cursor, uint32_t max, size_t max_bytes)
{
    pull_page p;
    gs_err err;
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    if (pull_read(f->st, d, cursor, max, max_bytes, PROTO_VERSION, &f->arena, NULL, &p, &err))
        fail_msg("pull: %s", err.msg);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    return p;
}

static void test_pull_scope_writer_and_pages(void **state)
{
    fx *f = *state;
    uint8_t ids[10][16], other[16];
    pull_page p;
    uint64_t cursor = 0, seen_last = 0;
    int total = 0, pages = 0;

    for (int i = 0; i < 10; i++)
        make_resident(f, ids[i], "g1"); /* by A */
    make_resident(f, other, "g2");      /* by C: B must never see it */
    /* A wrote everything of g1: A pulls nothing, and its cursor jumps to the end */
    p = pull(f, &f->a, 0, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 0);
    assert_false(p.more);
    assert_int_equal(p.cursor, 11);
    /* B pulls the 10 residents of g1, 3 at a time, in version order, whole */
    do {
        p = pull(f, &f->b, cursor, 3, PROTO_MAX_BODY);
        pages++;
        assert_true(p.n_changes <= 3);
        for (uint32_t i = 0; i < p.n_changes; i++) {
            const proto_change *c = &p.changes[i];
            assert_true(proto_str_eq(c->table, "resident"));
            assert_int_equal(c->n_fields, 2); /* grid and name, never split */
            assert_true(c->fields[0].ver > seen_last);
            seen_last = c->fields[0].ver;
            assert_memory_not_equal(c->id, other, 16);
            assert_int_equal(c->hlc, at(1));
            total++;
        }
        assert_true(p.cursor >= cursor);
        cursor = p.cursor;
    } while (p.more);
    assert_int_equal(total, 10);
    assert_int_equal(pages, 4);
    assert_int_equal(cursor, 11);
    /* C sees only its own grid, and that only when someone else wrote it */
    p = pull(f, &f->c, 0, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 0);
    /* a byte limit ends a page early, at a change boundary */
    p = pull(f, &f->b, 0, 100, 100);
    assert_true(p.n_changes >= 1 && p.n_changes < 10);
    assert_true(p.more);
    assert_true(p.bytes <= 100 || p.n_changes == 1);
    assert_int_equal(p.cursor, p.changes[p.n_changes - 1].fields[0].ver);
}

static void test_grid_move_restamps_whole_record(void **state)
{
    fx *f = *state;
    uint8_t rid[16];
    uint64_t created, cursor_c;
    proto_field pf;
    proto_ack ack;
    pull_page p;
    int names = 0, grids = 0;

    /* A serves both grids and moves a resident from g1 to g2 */
    snprintf(f->a.grids[1], sizeof(f->a.grids[1]), "g2");
    f->a.n_grids = 2;
    created = make_resident(f, rid, "g1");
    /* C (g2 only) syncs before the move: nothing for it, its cursor passes the creation */
    p = pull(f, &f->c, 0, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 0);
    cursor_c = p.cursor;
    assert_int_equal(cursor_c, created);
    pf = tv_field("grid", tv_str("g2"), created);
    ack = push(f, &f->a, "resident", rid, at(30), &pf, 1);
    assert_true(ack.ok);
    /* C now pulls the whole record, the name included, though only the grid changed */
    p = pull(f, &f->c, cursor_c, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 1);
    for (uint32_t k = 0; k < p.changes[0].n_fields; k++) {
        const proto_field *pfl = &p.changes[0].fields[k];
        assert_int_equal(pfl->ver, ack.version);
        names += proto_str_eq(pfl->name, "name");
        grids += proto_str_eq(pfl->name, "grid") && value_is(&pfl->value, "g2");
    }
    assert_int_equal(names, 1);
    assert_int_equal(grids, 1);
    /* B (g1 only) pulls the departure alone: the grid set to g2, so it drops its copy */
    p = pull(f, &f->b, 0, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 1);
    assert_memory_equal(p.changes[0].id, rid, 16);
    assert_true(proto_str_eq(p.changes[0].table, "resident"));
    assert_int_equal(p.changes[0].n_fields, 1);
    assert_true(proto_str_eq(p.changes[0].fields[0].name, "grid"));
    assert_true(value_is(&p.changes[0].fields[0].value, "g2"));
    assert_int_equal(p.changes[0].fields[0].ver, ack.version);
    assert_int_equal(p.cursor, ack.version);
    /* back to g1: C pulls its departure, B the whole record again after it */
    cursor_c = p.cursor;
    pf = tv_field("grid", tv_str("g1"), ack.version);
    ack = push(f, &f->a, "resident", rid, at(40), &pf, 1);
    assert_true(ack.ok);
    p = pull(f, &f->c, ack.version - 1, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 1);
    assert_int_equal(p.changes[0].n_fields, 1);
    assert_true(value_is(&p.changes[0].fields[0].value, "g1"));
    p = pull(f, &f->b, 0, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 2); /* the old departure, then the record at its new version */
    assert_int_equal(p.changes[0].n_fields, 1);
    assert_true(p.changes[1].n_fields >= 2);
    assert_int_equal(p.changes[1].fields[0].ver, ack.version);
    p = pull(f, &f->b, cursor_c, 100, PROTO_MAX_BODY);
    assert_int_equal(p.n_changes, 1);
    assert_true(p.changes[0].n_fields >= 2);
}

/* ------------------------------------------------------------------------------------ */
/* admin resolution                                                                     */

static void test_admin_resolution_flows_to_pull(void **state)
{
    fx *f = *state;
    uint8_t rid[16], cid[16];
    uint64_t created, version = 0, cursor_b;
    proto_field pa, pb;
    proto_ack ack;
    merge_ctx m;
    pull_page p;
    conf_list cl;
    gs_err err;
    proto_value chosen = tv_str("admin says");
    int found = 0;

    make_resident(f, rid, "g1");
    created = make_care(f, cid, rid);
    p = pull(f, &f->b, 0, 1000, PROTO_MAX_BODY);
    cursor_b = p.cursor;
    pa = tv_field("notes", tv_str("a"), created);
    pb = tv_field("notes", tv_str("b"), created);
    push(f, &f->a, "care", cid, at(10), &pa, 1);
    ack = push(f, &f->b, "care", cid, at(20), &pb, 1);
    cl = conflicts(f);
    assert_int_equal(cl.n, 1);
    merge_init(&m, f->st, &f->clock, &f->arena, (int64_t)f->fc.ms);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(merge_admin_set(&m, "care", cid, "notes", &chosen, &version, &err), GS_OK);
    assert_int_equal(store_conflict_resolve(f->st, cl.c[0].id, 5, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_true(version > ack.version);
    /* both devices pull the admin's value with its version */
    for (int d = 0; d < 2; d++) {
        p = pull(f, d ? &f->b : &f->a, d ? cursor_b : ack.version, 1000, PROTO_MAX_BODY);
        for (uint32_t i = 0; i < p.n_changes; i++)
            for (uint32_t k = 0; k < p.changes[i].n_fields; k++)
                if (proto_str_eq(p.changes[i].fields[k].name, "notes")) {
                    assert_true(proto_value_eq(&p.changes[i].fields[k].value, &chosen));
                    assert_int_equal(p.changes[i].fields[k].ver, version);
                    found++;
                }
    }
    assert_int_equal(found, 2);
    assert_string_equal(get_field(f, "care", cid, "notes").device, MERGE_ADMIN_DEVICE);
    /* an admin value is checked against the schema */
    {
        proto_value bad = tv_str("finished");
        assert_int_equal(store_begin(f->st, &err), GS_OK);
        assert_int_equal(merge_admin_set(&m, "care", cid, "status", &bad, &version, &err),
                         GS_E_INVALID);
        store_rollback(f->st);
    }
}

/* Whether field name of the record holds the text want. */
static int field_is(fx *f, const char *tbl, const uint8_t id[16], const char *name,
                    const char *want)
{
    store_field sf = get_field(f, tbl, id, name);
    return value_is(&sf.value, want);
}

/* A warning is the server's: it creates one (pseudo-device "server") and devices of the grid
 * pull it; a device may set state to acknowledged with a note (and ack_by, ack_at), nothing
 * else: not create one, not change its level or title, not set it cleared, not delete it.
 * Each of those is rejected read_only and the rest of the batch lands. */
static void test_warning_written_by_server_acknowledged_by_device(void **state)
{
    fx *f = *state;
    uint8_t wid[16], own[16], rid[16], fresh[16];
    proto_field wf[8] = {
        tv_field("rule", tv_str("unvisited_vulnerable"), 0), tv_field("grid", tv_str("g1"), 0),
        tv_field("subject_type", tv_str("resident"), 0), tv_field("subject", tv_str("r-1"), 0),
        tv_field("level", tv_str("attention"), 0),
        tv_field("title", tv_str("独居老人王秀英已8天未走访"), 0),
        tv_field("since", tv_int((int64_t)T0), 0), tv_field("state", tv_str("open"), 0)};
    proto_field ack_f[3], bad_level, bad_clear, bad_delete, rename, create[8];
    proto_change ch[6];
    proto_ack acks[6];
    uint64_t version = 0;
    merge_ctx m;
    pull_page p;
    gs_err err;
    int pulled = 0;

    make_resident(f, rid, "g1");
    new_id(wid);
    merge_init(&m, f->st, &f->clock, &f->arena, (int64_t)f->fc.ms);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(merge_server_put(&m, "warning", wid, wf, 8, &version, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_string_equal(get_field(f, "warning", wid, "level").device, STORE_SERVER_DEVICE);
    /* B, of g1, pulls it; C, of g2, does not */
    p = pull(f, &f->b, 0, 1000, PROTO_MAX_BODY);
    for (uint32_t i = 0; i < p.n_changes; i++)
        pulled += memcmp(p.changes[i].id, wid, 16) == 0;
    assert_int_equal(pulled, 1);
    p = pull(f, &f->c, 0, 1000, PROTO_MAX_BODY);
    for (uint32_t i = 0; i < p.n_changes; i++)
        assert_memory_not_equal(p.changes[i].id, wid, 16);

    /* one batch: an acknowledgement, four forbidden changes, and an ordinary edit */
    ack_f[0] = tv_field("state", tv_str("acknowledged"), version);
    ack_f[1] = tv_field("note", tv_str("已电话联系，明天上门"), 0);
    ack_f[2] = tv_field("ack_by", tv_str("张三"), 0);
    bad_level = tv_field("level", tv_str("notice"), version);
    bad_clear = tv_field("state", tv_str("cleared"), version);
    bad_delete = tv_field("deleted", tv_bool(1), version);
    rename = tv_field("name", tv_str("王秀英（改）"), 0);
    memcpy(create, wf, sizeof(create));
    new_id(fresh);
    new_id(own);
    memset(ch, 0, sizeof(ch));
    ch[0] = (proto_change){.seq = 1, .table = proto_cstr("warning"), .hlc = at(20), .fields = ack_f, .n_fields = 3};
    ch[1] = (proto_change){.seq = 2, .table = proto_cstr("warning"), .hlc = at(21), .fields = &bad_level, .n_fields = 1};
    ch[2] = (proto_change){.seq = 3, .table = proto_cstr("warning"), .hlc = at(22), .fields = &bad_clear, .n_fields = 1};
    ch[3] = (proto_change){.seq = 4, .table = proto_cstr("warning"), .hlc = at(23), .fields = &bad_delete, .n_fields = 1};
    ch[4] = (proto_change){.seq = 5, .table = proto_cstr("warning"), .hlc = at(24), .fields = create, .n_fields = 8};
    ch[5] = (proto_change){.seq = 6, .table = proto_cstr("resident"), .hlc = at(25), .fields = &rename, .n_fields = 1};
    for (int i = 0; i < 4; i++)
        memcpy(ch[i].id, wid, 16);
    memcpy(ch[4].id, fresh, 16);
    memcpy(ch[5].id, rid, 16);
    f->seq[1] = 7;
    assert_int_equal(push_batch(f, &f->b, ch, 6, acks), GS_OK);
    assert_true(acks[0].ok);
    expect_reject(&acks[1], "read_only", "warning.level");
    expect_reject(&acks[2], "read_only", "cleared");
    expect_reject(&acks[3], "read_only", "warning.deleted");
    expect_reject(&acks[4], "read_only", "server only");
    assert_true(acks[5].ok);
    assert_true(field_is(f, "warning", wid, "state", "acknowledged"));
    assert_true(field_is(f, "warning", wid, "level", "attention"));
    assert_true(field_is(f, "resident", rid, "name", "王秀英（改）"));
    {
        store_record rec;
        assert_int_equal(store_record_get(f->st, "warning", fresh, &rec, &err), GS_E_NOTFOUND);
        assert_int_equal(store_record_get(f->st, "warning", wid, &rec, &err), GS_OK);
        assert_false(rec.deleted);
    }
    /* the server clears it later: cleared sticks, and A pulls the cleared warning */
    {
        proto_field cl[2] = {tv_field("state", tv_str("cleared"), 0),
                             tv_field("cleared_at", tv_int((int64_t)T0 + 5000), 0)};
        merge_init(&m, f->st, &f->clock, &f->arena, (int64_t)f->fc.ms);
        assert_int_equal(store_begin(f->st, &err), GS_OK);
        assert_int_equal(merge_server_put(&m, "warning", wid, cl, 2, NULL, &err), GS_OK);
        assert_int_equal(store_commit(f->st, &err), GS_OK);
        assert_true(field_is(f, "warning", wid, "state", "cleared"));
        assert_true(field_is(f, "warning", wid, "note", "已电话联系，明天上门"));
    }
    /* a device that has seen it cleared cannot acknowledge it again */
    {
        store_field st = get_field(f, "warning", wid, "state");
        proto_field again = tv_field("state", tv_str("acknowledged"), st.version);
        proto_ack ack = push(f, &f->b, "warning", wid, at(40), &again, 1);
        expect_reject(&ack, "read_only", "warning.state is cleared");
        assert_true(field_is(f, "warning", wid, "state", "cleared"));
    }
}

/* ------------------------------------------------------------------------------------ */
/* casework: disputes, mediation sessions, errands (schema.c's declared status paths)    */

/* A dispute of grid g1 with party rid, created by A with status reported. */
static uint64_t make_dispute(fx *f, uint8_t id[16], const uint8_t rid[16])
{
    proto_field fs[6] = {
        tv_field("party", tv_ref(rid), 0),           tv_field("grid", tv_str("g1"), 0),
        tv_field("category", tv_str("homestead"), 0), tv_field("summary", tv_str("宅基地边界"), 0),
        tv_field("reported_at", tv_int((int64_t)T0), 0), tv_field("status", tv_str("reported"), 0)};
    proto_ack ack;
    new_id(id);
    ack = push(f, &f->a, "dispute", id, at(2), fs, 6);
    if (!ack.ok)
        fail_msg("dispute create rejected: %.*s", (int)ack.msg.len, ack.msg.ptr);
    return ack.version;
}

static int status_is(fx *f, const char *tbl, const uint8_t id[16], const char *want)
{
    store_field sf = get_field(f, tbl, id, "status");
    return value_is(&sf.value, want);
}

static proto_ack set_status(fx *f, const store_device *d, const char *tbl, const uint8_t id[16],
                            const char *status, int64_t ms, uint64_t base)
{
    proto_field pf = tv_field("status", tv_str(status), base);
    return push(f, d, tbl, id, at(ms), &pf, 1);
}

/* Bad input of the issue: a party out of scope, a mediation of an unknown dispute, a
 * transition the path forbids; each rejected with its code, nothing written. An admin's
 * conflict resolution, though, may set what the path would refuse. */
static void test_dispute_rejections(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16], did[16], bad[16], ghost[16], mid[16];
    proto_ack ack;
    uint64_t v0;
    store_record rec;
    gs_err err;

    make_resident(f, r1, "g1");
    make_resident(f, r2, "g2");
    v0 = make_dispute(f, did, r1);
    {   /* the other party lives in g2, which A does not hold */
        proto_field fs[7] = {
            tv_field("party", tv_ref(r1), 0),           tv_field("other_party", tv_ref(r2), 0),
            tv_field("grid", tv_str("g1"), 0),          tv_field("category", tv_str("neighbour"), 0),
            tv_field("summary", tv_str("噪音"), 0),      tv_field("reported_at", tv_int((int64_t)T0), 0),
            tv_field("status", tv_str("reported"), 0)};
        new_id(bad);
        ack = push(f, &f->a, "dispute", bad, at(3), fs, 7);
        expect_reject(&ack, "not_found", "dispute.other_party"); /* issue 18, item 7 */
        assert_int_equal(store_record_get(f->st, "dispute", bad, &rec, &err), GS_E_NOTFOUND);
    }
    {   /* a mediation session of a dispute the server does not have */
        proto_field fs[4];
        new_id(ghost);
        new_id(mid);
        fs[0] = tv_field("dispute", tv_ref(ghost), 0);
        fs[1] = tv_field("grid", tv_str("g1"), 0);
        fs[2] = tv_field("held_at", tv_int((int64_t)T0), 0);
        fs[3] = tv_field("worker", tv_str("w"), 0);
        ack = push(f, &f->a, "mediation", mid, at(3), fs, 4);
        expect_reject(&ack, "not_found", "mediation.dispute");
    }
    {   /* an errand for a resident of another grid */
        proto_field fs[5] = {tv_field("resident", tv_ref(r2), 0), tv_field("grid", tv_str("g1"), 0),
                             tv_field("matter", tv_str("medical_claim"), 0),
                             tv_field("status", tv_str("requested"), 0),
                             tv_field("requested_at", tv_int((int64_t)T0), 0)};
        new_id(bad);
        ack = push(f, &f->a, "errand", bad, at(3), fs, 5);
        expect_reject(&ack, "not_found", "errand.resident"); /* issue 18, item 7 */
    }
    /* resolved, then mediating by one who saw resolved: not on the path */
    ack = set_status(f, &f->a, "dispute", did, "resolved", 4, v0);
    assert_true(ack.ok);
    ack = set_status(f, &f->b, "dispute", did, "mediating", 5, ack.version);
    expect_reject(&ack, "transition", "dispute.status: resolved may become reported");
    assert_true(status_is(f, "dispute", did, "resolved"));
    /* an admin's conflict resolution may keep the side the path would refuse */
    {
        merge_ctx m;
        gs_err e2;
        uint64_t ver = 0;
        proto_value v = tv_str("mediating");
        merge_init(&m, f->st, &f->clock, &f->arena, (int64_t)f->fc.ms);
        assert_int_equal(store_begin(f->st, &e2), GS_OK);
        if (merge_admin_set(&m, "dispute", did, "status", &v, &ver, &e2) != GS_OK)
            fail_msg("admin resolution refused: %s", e2.msg);
        assert_int_equal(store_commit(f->st, &e2), GS_OK);
        assert_true(status_is(f, "dispute", did, "mediating"));
    }
}

/* The case: three mediation sessions; A closes the dispute as resolved while B, who
 * never saw it closed, sets it to mediating with a later clock. The path is not checked
 * (the edits are concurrent), the status policy keeps resolved and logs the conflict. An
 * explicit reopen by one who saw resolved is a transition and passes. */
static void test_dispute_resolved_beats_concurrent_mediating(void **state)
{
    fx *f = *state;
    uint8_t r1[16], did[16], mid[16];
    proto_ack ack;
    uint64_t v0, v_closed;
    conf_list cl;

    make_resident(f, r1, "g1");
    v0 = make_dispute(f, did, r1);
    for (int i = 0; i < 3; i++) {
        proto_field fs[5] = {tv_field("dispute", tv_ref(did), 0), tv_field("grid", tv_str("g1"), 0),
                             tv_field("held_at", tv_int((int64_t)T0 + i * 86400000), 0),
                             tv_field("worker", tv_str("李调解"), 0),
                             tv_field("agreed", tv_str("双方各退一步"), 0)};
        new_id(mid);
        ack = push(f, &f->a, "mediation", mid, at(3 + i), fs, 5);
        if (!ack.ok)
            fail_msg("mediation %d rejected: %.*s", i, (int)ack.msg.len, ack.msg.ptr);
    }
    ack = set_status(f, &f->a, "dispute", did, "mediating", 10, v0);
    assert_true(ack.ok);
    ack = set_status(f, &f->a, "dispute", did, "resolved", 20, ack.version);
    assert_true(ack.ok);
    v_closed = ack.version;
    ack = set_status(f, &f->b, "dispute", did, "mediating", 30, v0);
    assert_true(ack.ok);
    assert_int_equal(ack.n_lost, 1);
    assert_true(value_is(&ack.lost[0].value, "resolved"));
    assert_true(status_is(f, "dispute", did, "resolved"));
    cl = conflicts(f);
    assert_int_equal(cl.n, 1);
    assert_string_equal(cl.c[0].tbl, "dispute");
    assert_string_equal(cl.c[0].field, "status");
    assert_int_equal(cl.c[0].policy, SP_STATUS);
    assert_string_equal(cl.c[0].winner.device, "d-a");
    /* B takes resolved, then reopens it explicitly, then mediates again */
    ack = set_status(f, &f->b, "dispute", did, "reported", 40, v_closed);
    assert_true(ack.ok);
    ack = set_status(f, &f->b, "dispute", did, "mediating", 41, ack.version);
    assert_true(ack.ok);
    assert_true(status_is(f, "dispute", did, "mediating"));
    assert_int_equal(conflicts(f).n, 1);
}

/* An errand's path: requested, materials_collected, submitted, done, delivered; a step
 * skipped or a final state left but to requested is refused. */
static void test_errand_path(void **state)
{
    fx *f = *state;
    uint8_t r1[16], eid[16];
    proto_ack ack;
    static const char *const path[] = {"materials_collected", "submitted", "done", "delivered"};
    proto_field fs[5];

    make_resident(f, r1, "g1");
    fs[0] = tv_field("resident", tv_ref(r1), 0);
    fs[1] = tv_field("grid", tv_str("g1"), 0);
    fs[2] = tv_field("matter", tv_str("social_security_card"), 0);
    fs[3] = tv_field("status", tv_str("requested"), 0);
    fs[4] = tv_field("requested_at", tv_int((int64_t)T0), 0);
    new_id(eid);
    ack = push(f, &f->a, "errand", eid, at(2), fs, 5);
    assert_true(ack.ok);
    ack = set_status(f, &f->a, "errand", eid, "submitted", 3, ack.version);
    expect_reject(&ack, "transition", "errand.status: requested may become materials_collected, cancelled, not submitted");
    for (int i = 0; i < 4; i++) {
        store_field sf = get_field(f, "errand", eid, "status");
        ack = set_status(f, &f->b, "errand", eid, path[i], 4 + i, sf.version);
        if (!ack.ok)
            fail_msg("%s rejected: %.*s", path[i], (int)ack.msg.len, ack.msg.ptr);
    }
    ack = set_status(f, &f->a, "errand", eid, "cancelled", 10, ack.version);
    expect_reject(&ack, "transition", "delivered may become requested");
    assert_true(status_is(f, "errand", eid, "delivered"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_rules_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_created_in_same_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_ahead_rejected_with_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_clocks_decide_not_change_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_guard_checks_field_clocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_scope_mid_batch_leaves_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_other_grid_refused_like_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_of_another_type_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_batch_same_acks_no_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_shortcuts_keep_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_with_lost_survives_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_scope_writer_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grid_move_restamps_whole_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_resolution_flows_to_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warning_written_by_server_acknowledged_by_device,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispute_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispute_resolved_beats_concurrent_mediating, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errand_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
