/*
 * test_value_agree.c: the client and the server call the same edits "the same value".
 *
 * One table of edits (a field, the value it holds, the value written next), each run on
 * both sides for real:
 *   - client: a record holding the first value is stored (libgridsync, a SQLite file), its
 *     outbox row frozen as if sent, then gs_db_update writes the second value; the edit is
 *     a change when it adds an outbox row (gs_db_update writes nothing when no value
 *     changes);
 *   - server: device A creates the record with the first value, device B, which never saw
 *     it, pushes the second value (server/merge.c, a SQLite store): concurrent edits, a
 *     conflict row is written when the values differ, none when they are the same.
 * Both must agree with the case's expectation, so the two sides cannot drift apart again
 * (before issue 13 the client called 1 and 1.0 equal and the server did not). This binary
 * links the server internals and the client library, as no program does.
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
#include "client/outbox.h"
#include "client/record.h"
#include "common/hlc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/store.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tvalue.h"

static const uint64_t T0 = UINT64_C(1795000000000); /* 2026-11-18, ms */

static const uint8_t R1[16] = {0x01, 0x9a, 0xc5, 0xe0, 0xa0, 0x00, 0x7a, 0x1b,
                               0x8c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83};
static const uint8_t R2[16] = {0x01, 0x9a, 0xc5, 0xe0, 0xa0, 0x00, 0x7a, 0x1b,
                               0x8c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x84};
static proto_str TAGS_AB[] = {{"elderly", 7}, {"lives_alone", 11}};
static proto_str TAGS_BA[] = {{"lives_alone", 11}, {"elderly", 7}};

typedef struct agree_case {
    const char *table; /* "resident" or "visit" */
    const char *field; /* the field edited */
    proto_value held;  /* its value before the edit */
    proto_value next;  /* the value the edit writes */
    int same;          /* 1: no change on the client, no conflict on the server */
} agree_case;

static const agree_case cases[] = {
    {"resident", "name", TV_STR("王秀英"), TV_STR("王秀英"), 1},
    {"resident", "name", TV_STR("王秀英"), TV_STR("王秀"), 0},
    {"resident", "phone", TV_NIL, TV_NIL, 1},
    {"resident", "phone", TV_NIL, TV_STR("13800000000"), 0},
    {"resident", "phone", TV_STR("13800000000"), TV_NIL, 0},
    {"resident", "born", TV_INT(1941), TV_INT(1941), 1},
    {"resident", "born", TV_INT(1941), TV_INT(1942), 0},
    {"resident", "tags", TV_TAGS(TAGS_AB, 2), TV_TAGS(TAGS_BA, 2),
     1}, /* a set: order is no change */
    {"resident", "tags", TV_TAGS(TAGS_AB, 2), TV_TAGS(TAGS_AB, 1), 0},
    {"visit", "lat", TV_REAL(29.5), TV_REAL(29.5), 1},
    {"visit", "lat", TV_REAL(29.5), TV_REAL(29.25), 0},
    {"visit", "lat", TV_REAL(30.0), TV_INT(30), 1}, /* an int for a real field is that real */
    {"visit", "lat", TV_INT(30), TV_REAL(30.0), 1},
    {"visit", "lat", TV_INT(30), TV_INT(31), 0},
    {"visit", "lat", TV_REAL(0.0), TV_REAL(-0.0), 1}, /* reals compare as numbers */
    {"visit", "follow_up", TV_BOOL(1), TV_BOOL(1), 1},
    {"visit", "follow_up", TV_BOOL(1), TV_BOOL(0), 0},
    {"visit", "visited_at", TV_INT(1795000000000), TV_INT(1795000000000), 1},
    {"visit", "visited_at", TV_INT(1795000000000), TV_INT(1795000000001), 0},
    {"visit", "kind", TV_STR("routine"), TV_STR("routine"), 1},
    {"visit", "kind", TV_STR("routine"), TV_STR("dispute"), 0},
    {"visit", "resident", TV_REF(R1), TV_REF(R1), 1},
    {"visit", "resident", TV_REF(R1), TV_REF(R2), 0},
};

/* ---- client ----------------------------------------------------------------------------- */

static uint64_t client_clock(void *ud)
{
    (void)ud;
    return T0 + 5000;
}

/* A fresh device database with residents R1 and R2. */
static gs_db *client_open(const char *path)
{
    const char *grids[] = {"g1"};
    gs_device_config cfg = tdevice_config(grids, 1, NULL);
    const uint8_t *ids[2] = {R1, R2};
    gs_db *db;

    assert_int_equal(gs_db_open(path, &db), GS_OK);
    db_set_clock(db, client_clock, NULL);
    assert_int_equal(gs_db_init_device(db, &cfg), GS_OK);
    for (int i = 0; i < 2; i++) {
        gs_record *r;
        assert_int_equal(gs_record_new(db, "resident", &r), GS_OK);
        record_set_id(r, ids[i]);
        assert_int_equal(gs_record_set_str(r, "name", "居民"), GS_OK);
        assert_int_equal(gs_db_add(db, r), GS_OK);
        gs_record_free(r);
    }
    return db;
}

/* 1 if the client records the edit k as a change. */
static int client_changes(gs_db *db, const agree_case *k, int n)
{
    const schema_table *t = schema_table_find(k->table, strlen(k->table));
    int i = record_field_index(t, k->field, strlen(k->field));
    uint8_t id[16];
    int64_t before, after, sent;
    gs_record *r, *u;

    assert_true(i >= 0);
    assert_int_equal(uuid_v7(id, T0 + (uint64_t)n), GS_OK);
    assert_int_equal(gs_record_new(db, k->table, &r), GS_OK);
    record_set_id(r, id);
    if (strcmp(k->table, "resident") == 0 && strcmp(k->field, "name") != 0)
        assert_int_equal(gs_record_set_str(r, "name", "居民"), GS_OK);
    if (strcmp(k->table, "visit") == 0) {
        proto_value res = TV_REF(R1);
        if (strcmp(k->field, "resident") != 0)
            assert_int_equal(record_put(r, (size_t)record_field_index(t, "resident", 8), &res, 1),
                             GS_OK);
        if (strcmp(k->field, "kind") != 0)
            assert_int_equal(gs_record_set_str(r, "kind", "routine"), GS_OK);
    }
    assert_int_equal(record_put(r, (size_t)i, &k->held, 1), GS_OK);
    if (gs_db_add(db, r) != GS_OK)
        fail_msg("case %d: client add: %s", n, gs_db_errmsg(db));
    gs_record_free(r);
    /* freeze the row, as a sync does, so that any later write is a row of its own */
    assert_int_equal(outbox_mark_sent(db, 1, INT64_MAX), GS_OK);
    assert_int_equal(outbox_count(db, &before, &sent), GS_OK);

    assert_int_equal(gs_record_new(db, k->table, &u), GS_OK);
    record_set_id(u, id);
    assert_int_equal(record_put(u, (size_t)i, &k->next, 1), GS_OK);
    if (gs_db_update(db, u) != GS_OK)
        fail_msg("case %d: client update: %s", n, gs_db_errmsg(db));
    gs_record_free(u);
    assert_int_equal(outbox_count(db, &after, &sent), GS_OK);
    return after > before;
}

/* ---- server ----------------------------------------------------------------------------- */

typedef struct server {
    store *st;       /* the store */
    uint64_t now_ms; /* the server's wall clock */
    hlc clock;       /* the server HLC */
    gs_arena arena;  /* acks and values */
    store_device a;  /* d-a, creates */
    store_device b;  /* d-b, edits without having seen A's values */
    uint64_t seq[2]; /* next seq of each */
} server;

static uint64_t server_now(void *ud)
{
    return ((server *)ud)->now_ms;
}

static void mkdev(store_device *d, const char *id)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->grids[0], sizeof(d->grids[0]), "g1");
    d->n_grids = 1;
}

/* Pushes one change of dev; returns the batch's conflict count. */
static uint32_t server_push(server *s, store_device *dev, const char *tbl, const uint8_t id[16],
                            proto_field *f, uint32_t n)
{
    proto_change c;
    proto_sync_req req;
    proto_ack ack;
    merge_ctx m;
    gs_err err;

    memset(&c, 0, sizeof(c));
    c.seq = s->seq[dev == &s->a ? 0 : 1]++;
    c.table = proto_cstr(tbl);
    memcpy(c.id, id, 16);
    c.hlc = hlc_pack(s->now_ms - 1000 + c.seq, 0);
    c.fields = f;
    c.n_fields = n;
    memset(&req, 0, sizeof(req));
    req.version = 2;
    req.device = proto_cstr(dev->id);
    req.low = c.seq;
    req.changes = &c;
    req.n_changes = 1;
    merge_init(&m, s->st, &s->clock, &s->arena, (int64_t)s->now_ms);
    assert_int_equal(store_begin(s->st, &err), GS_OK);
    if (merge_batch(&m, dev, &req, &ack, &err) != GS_OK)
        fail_msg("merge of %s's change: %s", dev->id, err.msg);
    assert_int_equal(store_commit(s->st, &err), GS_OK);
    if (!ack.ok)
        fail_msg("%s change of %s refused: %.*s", tbl, dev->id, (int)ack.msg.len, ack.msg.ptr);
    return m.n_conflicts;
}

static void server_open(server *s, const char *path)
{
    proto_value name = TV_STR("居民"), grid = TV_STR("g1");
    proto_field f[2] = {tv_field("name", name, 0), tv_field("grid", grid, 0)};
    gs_err err;

    memset(s, 0, sizeof(*s));
    assert_int_equal(store_open(&s->st, path, &err), GS_OK);
    s->now_ms = T0 + 1000000;
    hlc_init(&s->clock, 0, 300000, server_now, s);
    arena_init(&s->arena, SVAL_ARENA_MAX);
    mkdev(&s->a, "d-a");
    mkdev(&s->b, "d-b");
    s->seq[0] = s->seq[1] = 1;
    assert_int_equal(store_begin(s->st, &err), GS_OK);
    assert_int_equal(store_device_add(s->st, &s->a, &err), GS_OK);
    assert_int_equal(store_device_add(s->st, &s->b, &err), GS_OK);
    assert_int_equal(store_commit(s->st, &err), GS_OK);
    /* read back: a device's number in records comes from the store */
    assert_int_equal(store_device_get(s->st, "d-a", 3, &s->a, &err), GS_OK);
    assert_int_equal(store_device_get(s->st, "d-b", 3, &s->b, &err), GS_OK);
    server_push(s, &s->a, "resident", R1, f, 2);
    server_push(s, &s->a, "resident", R2, f, 2);
}

/* 1 if the server records a conflict when B writes k->next over A's k->held. */
static int server_conflicts(server *s, const agree_case *k, int n)
{
    proto_value name = TV_STR("居民"), grid = TV_STR("g1"), kind = TV_STR("routine"),
                worker = TV_STR("w");
    proto_value at = TV_INT(1795000000000), res = TV_REF(R1);
    proto_field f[6];
    uint32_t nf = 0;
    uint8_t id[16];

    assert_int_equal(uuid_v7(id, T0 + (uint64_t)n), GS_OK);
    f[nf++] = tv_field(k->field, k->held, 0);
    f[nf++] = tv_field("grid", grid, 0);
    if (strcmp(k->table, "resident") == 0) {
        if (strcmp(k->field, "name") != 0)
            f[nf++] = tv_field("name", name, 0);
    } else {
        if (strcmp(k->field, "resident") != 0)
            f[nf++] = tv_field("resident", res, 0);
        if (strcmp(k->field, "kind") != 0)
            f[nf++] = tv_field("kind", kind, 0);
        if (strcmp(k->field, "visited_at") != 0)
            f[nf++] = tv_field("visited_at", at, 0);
        f[nf++] = tv_field("worker", worker, 0);
    }
    assert_int_equal(server_push(s, &s->a, k->table, id, f, nf), 0);
    f[0] = tv_field(k->field, k->next, 0); /* base 0: B never saw A's value */
    return server_push(s, &s->b, k->table, id, f, 1) > 0;
}

/* ---- the test --------------------------------------------------------------------------- */

static void test_client_change_iff_server_conflict(void **state)
{
    char dir[TDIR_MAX], path[160];
    server s;
    gs_db *db;
    int bad = 0;
    (void)state;

    assert_int_equal(tdir_make(dir, "agree"), 0);
    snprintf(path, sizeof(path), "%s/device.db", dir);
    db = client_open(path);
    snprintf(path, sizeof(path), "%s/server.db", dir);
    server_open(&s, path);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const agree_case *k = &cases[i];
        int change = client_changes(db, k, (int)i);
        int conflict = server_conflicts(&s, k, (int)i);
        if (change == k->same || conflict == k->same) {
            print_error("case %zu (%s.%s): expected %s; the client %s, the server %s\n", i,
                        k->table, k->field, k->same ? "the same value" : "another value",
                        change ? "recorded a change" : "recorded no change",
                        conflict ? "a conflict" : "no conflict");
            bad++;
        }
    }
    gs_db_close(db);
    store_close(s.st);
    arena_free(&s.arena);
    assert_int_equal(tdir_remove(dir), 0);
    if (bad)
        fail_msg("%d of %zu edits classified differently", bad, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_change_iff_server_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
