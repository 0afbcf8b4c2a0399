/*
 * test_srv_store.c: the server store (server/store.c) and stored values (server/sval.c):
 * migrations and their refusal of a newer store, WAL, value/ack round trips, devices,
 * conflicts and audit rows, and atomicity: a batch whose N-th statement or N-th allocation
 * fails leaves the database byte-for-byte as it was, for every N.
 *
 * The test reads the database with its own sqlite3 connection to compare whole dumps;
 * that is the test looking at the file, not SQL in the server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/hlc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/store.h"
#include "server/sval.h"
#include "proto/value.h"
#include "tests/lib/tdir.h"

static const uint64_t T0 = UINT64_C(1795000000000);

typedef struct fx {
    char dir[TDIR_MAX]; /* temporary folder */
    char path[128];     /* the store file */
    store *st;          /* the store */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err;
    assert_int_equal(tdir_make(f->dir, "store"), 0);
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* Every row of every table, as text, in a stable order. */
static char *dump(const char *path)
{
    static const char *const tables[] = {"meta",      "devices",    "device_grids", "admins",
                                         "records",   "pulls",      "changes",      "acks",
                                         "ack_ranges", "conflicts", "audit",        "moves"};
    sqlite3 *db;
    char *out = calloc(1, 1);
    size_t len = 0;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        char sql[128];
        sqlite3_stmt *st;
        snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1, 2", tables[t]);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                /* blobs in hex: they hold NUL bytes that would end the string early */
                int blob = sqlite3_column_type(st, c) == SQLITE_BLOB;
                const unsigned char *p =
                    blob ? sqlite3_column_blob(st, c) : sqlite3_column_text(st, c);
                size_t n = (size_t)sqlite3_column_bytes(st, c);
                out = realloc(out, len + 2 * n + 3);
                for (size_t i = 0; i < n; i++) {
                    if (blob) {
                        snprintf(out + len, 3, "%02x", p[i]);
                        len += 2;
                    } else {
                        out[len++] = (char)p[i];
                    }
                }
                out[len++] = '|';
                out[len] = '\0';
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

static void test_migrations_create_reopen_and_refuse_newer(void **state)
{
    fx *f = *state;
    int ver = 0;
    uint64_t hlc_v = 0, v = 0;
    gs_err err;
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(store_schema_version(f->st, &ver, &err), GS_OK);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    assert_int_equal(store_hlc_get(f->st, &hlc_v, &err), GS_OK);
    assert_int_equal(hlc_v, 0);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_hlc_set(f->st, 12345, &err), GS_OK);
    assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 1);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    store_close(f->st);
    /* reopening runs no migration again and keeps the data */
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    assert_int_equal(store_hlc_get(f->st, &hlc_v, &err), GS_OK);
    assert_int_equal(hlc_v, 12345);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 1);
    /* WAL, durable commits */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    /* a store from a newer gridsyncd is refused, not guessed at */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    gs_err_clear(&err);
    /* GS_E_STATE, as a device database from a newer gridsync is (common/sqldb.c) */
    assert_int_equal(store_open(&f->st, f->path, &err), GS_E_STATE);
    assert_non_null(strstr(err.msg, "newer gridsyncd"));
    assert_null(f->st);
    /* a half-made file (user_version 0 with nothing in it) is migrated from scratch */
    {
        char p2[160];
        store *s2;
        snprintf(p2, sizeof(p2), "%s/empty.db", f->dir);
        assert_int_equal(sqlite3_open(p2, &db), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(&s2, p2, &err), GS_OK);
        assert_int_equal(store_schema_version(s2, &ver, &err), GS_OK);
        assert_int_equal(ver, STORE_SCHEMA_VERSION);
        store_close(s2);
    }
    assert_int_equal(store_open(&f->st, f->path, &err) == GS_OK, 0); /* still refused */
}

/* The version counter is kept in memory inside a transaction: store_version_last sees it,
 * a commit persists it once, a rollback or a failed commit leaves meta as it was. */
static void test_version_counter_in_transactions(void **state)
{
    fx *f = *state;
    uint64_t v = 0;
    gs_err err;

    assert_int_equal(store_begin(f->st, &err), GS_OK);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
        assert_int_equal(v, (uint64_t)i);
    }
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 5);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 5);

    /* rolled back: the versions handed out are given again */
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
    assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 7);
    store_rollback(f->st);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 5);

    /* the write-back fails: the commit fails and a rollback leaves meta at 5 */
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 6);
    store_inject_fault(f->st, 1);
    assert_int_not_equal(store_commit(f->st, &err), GS_OK);
    store_inject_fault(f->st, -1);
    store_rollback(f->st);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 5);

    /* outside a transaction each call persists at once */
    assert_int_equal(store_version_next(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 6);
    store_close(f->st);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_int_equal(v, 6);
}

static const char *data_dir(void)
{
    const char *d = getenv("GS_TEST_DATA");
    return d && *d ? d : "tests/unit/data";
}

static void copy_fixture(const char *name, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s/%s' '%s' && rm -f '%s-wal' '%s-shm'", data_dir(), name, to,
             to, to);
    assert_int_equal(system(cmd), 0);
}

/* What a schema 2 store held, read with SQL from its field_state rows before the upgrade. */
typedef struct old_field {
    char tbl[16];
    uint8_t rid[16];
    char field[32];
    unsigned char value[256];
    int value_len;
    uint64_t version, hlc;
    char device[32];
} old_field;

static int read_old_fields(const char *path, old_field *out, int cap)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = 0;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT tbl, rid, field, value, version, hlc, device "
                                            "FROM field_state ORDER BY tbl, rid, field",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
        old_field *o = &out[n++];
        snprintf(o->tbl, sizeof(o->tbl), "%s", sqlite3_column_text(st, 0));
        memcpy(o->rid, sqlite3_column_blob(st, 1), 16);
        snprintf(o->field, sizeof(o->field), "%s", sqlite3_column_text(st, 2));
        o->value_len = sqlite3_column_bytes(st, 3);
        assert_true(o->value_len <= (int)sizeof(o->value));
        memcpy(o->value, sqlite3_column_blob(st, 3), (size_t)o->value_len);
        o->version = (uint64_t)sqlite3_column_int64(st, 4);
        o->hlc = (uint64_t)sqlite3_column_int64(st, 5);
        snprintf(o->device, sizeof(o->device), "%s", sqlite3_column_text(st, 6));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

typedef struct pulled {
    uint64_t version[64];
    char field[64][32];
    int n;
} pulled;

static int on_pull(void *ud, const store_pull_row *r)
{
    pulled *p = ud;
    if (p->n < 64) {
        p->version[p->n] = r->version;
        snprintf(p->field[p->n], sizeof(p->field[0]), "%s", r->field);
        p->n++;
    }
    return 0;
}

/* A store written by gridsyncd 0.1 (schema 2: a field_state row per field;
 * tests/unit/data/make_fixtures.sh) is upgraded on open with nothing lost: every field keeps
 * its value, version, clock and writer, and a device pulls from it what it pulled before. */
static void test_migrates_a_schema_2_store(void **state)
{
    fx *f = *state;
    old_field old[64];
    pulled before, after;
    store_device b;
    gs_arena a;
    store_rec *r = calloc(1, sizeof(*r));
    int n, ver = 0;
    gs_err err;
    sqlite3 *db;
    sqlite3_stmt *st;

    store_close(f->st);
    f->st = NULL;
    copy_fixture("store_schema2.db", f->path);
    n = read_old_fields(f->path, old, 64);
    assert_true(n >= 15);
    /* what device b (grid gA) pulled from cursor 0 in schema 2 */
    memset(&before, 0, sizeof(before));
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT version, field FROM field_state WHERE grid = "
                                            "'gA' AND device <> (SELECT id FROM devices WHERE "
                                            "name = 'b') UNION ALL SELECT version, field FROM "
                                            "moves WHERE from_grid = 'gA' ORDER BY 1, 2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && before.n < 64) {
        before.version[before.n] = (uint64_t)sqlite3_column_int64(st, 0);
        snprintf(before.field[before.n++], 32, "%s", sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(before.n > 5);

    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    assert_int_equal(store_schema_version(f->st, &ver, &err), GS_OK);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    arena_init(&a, SVAL_ARENA_MAX);
    for (int i = 0; i < n; i++) {
        store_field sf;
        gs_buf enc;
        if (store_field_get(f->st, old[i].tbl, old[i].rid, old[i].field, &a, &sf, &err))
            fail_msg("%s.%s lost in the upgrade: %s", old[i].tbl, old[i].field, err.msg);
        assert_int_equal(sf.version, old[i].version);
        assert_int_equal(sf.hlc, old[i].hlc);
        assert_string_equal(sf.device, old[i].device);
        buf_init(&enc, 4096);
        assert_int_equal(proto_value_encode(&enc, &sf.value), GS_OK);
        assert_int_equal((int)enc.len, old[i].value_len);
        assert_memory_equal(enc.ptr, old[i].value, enc.len);
        buf_free(&enc);
    }
    /* the same pull */
    {
        char name_b[8] = "";
        sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL);
        sqlite3_prepare_v2(db, "SELECT id FROM devices WHERE name = 'b'", -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(store_device_get(f->st, (const char *)sqlite3_column_text(st, 0),
                                          (size_t)sqlite3_column_bytes(st, 0), &b, &err),
                         GS_OK);
        sqlite3_finalize(st);
        sqlite3_close(db);
        (void)name_b;
    }
    memset(&after, 0, sizeof(after));
    assert_int_equal(store_pull_scan(f->st, &b, 0, &a, on_pull, &after, &err), GS_OK);
    assert_int_equal(after.n, before.n);
    for (int i = 0; i < before.n; i++) {
        /* within one version the order of fields is the store's own */
        int found = 0;
        for (int k = 0; k < after.n && !found; k++)
            found = after.version[k] == before.version[i] &&
                    strcmp(after.field[k], before.field[i]) == 0;
        if (!found)
            fail_msg("pull row %d (v%llu %s) missing after the upgrade", i,
                     (unsigned long long)before.version[i], before.field[i]);
        if (i)
            assert_true(after.version[i] >= after.version[i - 1]);
    }
    /* the old tables are gone, the change log kept its rows */
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sqlite_schema WHERE "
                                            "name = 'field_state'), (SELECT count(*) FROM changes)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    assert_true(sqlite3_column_int(st, 1) >= 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    arena_free(&a);
    free(r);
}

/* A schema 1 store (no moves table: the 0.1 fixture without it) goes through both steps. */
static void test_migrates_a_schema_1_store(void **state)
{
    fx *f = *state;
    uint64_t v = 0;
    int ver = 0;
    gs_err err;
    sqlite3 *db;
    store_record rec;

    store_close(f->st);
    f->st = NULL;
    copy_fixture("store_schema2.db", f->path);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE moves; PRAGMA user_version = 1; "
                                  "UPDATE meta SET value = 1 WHERE key = 'schema'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    assert_int_equal(store_schema_version(f->st, &ver, &err), GS_OK);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    assert_int_equal(store_version_last(f->st, &v, &err), GS_OK);
    assert_true(v >= 6);
    (void)rec;
}

static void test_values_round_trip(void **state)
{
    proto_str tags[3] = {proto_cstr("elderly"), proto_cstr("lives_alone"), proto_cstr("")};
    uint8_t id[16];
    proto_value in[12];
    gs_arena a;
    gs_buf b;
    (void)state;

    assert_int_equal(uuid_v7(id, T0), GS_OK);
    memset(in, 0, sizeof(in));
    in[0].type = PV_NIL;
    in[1].type = PV_BOOL, in[1].u.b = 1;
    in[2].type = PV_BOOL, in[2].u.b = 0;
    in[3].type = PV_INT, in[3].u.i = INT64_MIN;
    in[4].type = PV_INT, in[4].u.i = INT64_MAX;
    in[5].type = PV_INT, in[5].u.i = -33;
    in[6].type = PV_REAL, in[6].u.r = -0.1;
    in[7].type = PV_STR, in[7].u.s = proto_cstr("王秀英, 独居 — 3rd floor");
    in[8].type = PV_STR, in[8].u.s = proto_cstr("");
    in[9].type = PV_BIN, in[9].u.s.ptr = (const char *)id, in[9].u.s.len = 16;
    in[10].type = PV_STRLIST, in[10].u.list.items = tags, in[10].u.list.n = 3;
    in[11].type = PV_STRLIST, in[11].u.list.items = NULL, in[11].u.list.n = 0;
    arena_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        proto_value out, copy;
        buf_reset(&b);
        assert_int_equal(proto_value_encode(&b, &in[i]), GS_OK);
        assert_int_equal(sval_decode(&a, b.ptr, b.len, &out), GS_OK);
        if (!proto_value_eq(&in[i], &out))
            fail_msg("value %zu (type %d) changed on the way through the store", i, in[i].type);
        assert_int_equal(proto_value_copy(&a, &out, &copy), GS_OK);
        assert_true(proto_value_eq(&in[i], &copy));
        /* a damaged blob is an error, never a crash or a wrong value */
        if (b.len > 1)
            assert_int_equal(sval_decode(&a, b.ptr, b.len - 1, &out), GS_E_DB);
        b.ptr[b.len] = 0;
        assert_int_equal(sval_decode(&a, b.ptr, b.len + 1, &out), GS_E_DB);
    }
    buf_free(&b);
    arena_free(&a);
}

/* Stores written by earlier versions stay readable: the value, ack and change-log bytes of
 * the encoder sval.c had before proto/value.c (blobs it wrote, copied here) are what is
 * written now, and read back the same; acks from before per-field clocks (lost entries of
 * three elements) read with hlc 0; damaged blobs are GS_E_DB. */
static void test_stored_blobs_of_earlier_versions(void **state)
{
    static const char id[16] = "\x01\x9a\xc5\xe1\xc2\x10\x7c\x3d\xa0\x4f\x50\x61\x72\x83\x94\xa5";
    static const char ack_ok[] = "\x95\xc3\x79\xa0\xa0\x92\x94\xa4name\xa9\xe7\x8e\x8b\xe7\xa7\x80"
                                 "\xe8\x8b\xb1\x00\xcf\x01\x9a\xc2\x9c\x14\x00\x00\x00\x94\xa4"
                                 "born\xcd\x07\x95\x0c\x05";
    static const char ack_rej[] = "\x95\xc2\x00\xa7invalid\xba"
                                  "resident.name: is required\x90";
    static const char ack_three[] = "\x95\xc3\x79\xa0\xa0\x91\x93\xa4"
                                    "born\xcd\x07\x95\x0c";
    static const char fields[] = "\x83\xa4name\x92\xa9\xe7\x8e\x8b\xe7\xa7\x80\xe8\x8b\xb1\x00\xa4"
                                 "born\x92\xcd\x07\x95\x0c\xa3lat\x92\xcb\x40\x3d\x80\x00\x00\x00"
                                 "\x00\x00\xcd\x01\x2c";
    static const struct {
        const char *bytes;
        size_t len;
    } values[] = {
        {"\xa9\xe7\x8e\x8b\xe7\xa7\x80\xe8\x8b\xb1", 10},
        {"\xcd\x07\x95", 3},
        {"\xcb\x40\x3d\x80\x00\x00\x00\x00\x00", 9},
        {"\xc4\x10\x01\x9a\xc5\xe1\xc2\x10\x7c\x3d\xa0\x4f\x50\x61\x72\x83\x94\xa5", 18},
        {"\x92\xa7" "elderly\xab" "lives_alone", 21},
        {"\xc3", 1},
        {"\xc0", 1},
        {"\xd1\xff\x38", 3},
    };
    proto_str tags[2] = {proto_cstr("elderly"), proto_cstr("lives_alone")};
    proto_value want[8];
    proto_field lost[2];
    proto_ack ack, got;
    gs_arena a;
    gs_buf b;
    (void)state;

    memset(want, 0, sizeof(want));
    want[0].type = PV_STR, want[0].u.s = proto_cstr("王秀英");
    want[1].type = PV_INT, want[1].u.i = 1941;
    want[2].type = PV_REAL, want[2].u.r = 29.5;
    want[3].type = PV_BIN, want[3].u.s.ptr = id, want[3].u.s.len = 16;
    want[4].type = PV_STRLIST, want[4].u.list.items = tags, want[4].u.list.n = 2;
    want[5].type = PV_BOOL, want[5].u.b = 1;
    want[6].type = PV_NIL;
    want[7].type = PV_INT, want[7].u.i = -200;
    arena_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < 8; i++) {
        proto_value out;
        buf_reset(&b);
        assert_int_equal(proto_value_encode(&b, &want[i]), GS_OK);
        if (b.len != values[i].len || memcmp(b.ptr, values[i].bytes, b.len) != 0)
            fail_msg("value %zu is not written as before", i);
        assert_int_equal(sval_decode(&a, values[i].bytes, values[i].len, &out), GS_OK);
        assert_true(proto_value_eq(&out, &want[i]));
    }

    memset(lost, 0, sizeof(lost));
    lost[0].name = proto_cstr("name"), lost[0].value = want[0];
    lost[0].hlc = UINT64_C(0x019ac29c14000000);
    lost[1].name = proto_cstr("born"), lost[1].value = want[1], lost[1].ver = 12;
    lost[1].hlc = 5;
    memset(&ack, 0, sizeof(ack));
    ack.seq = 4, ack.ok = 1, ack.version = 121, ack.lost = lost, ack.n_lost = 2;
    buf_reset(&b);
    assert_int_equal(sval_ack_encode(&b, &ack), GS_OK);
    assert_int_equal(b.len, sizeof(ack_ok) - 1);
    assert_memory_equal(b.ptr, ack_ok, b.len);
    memset(&got, 0, sizeof(got));
    got.seq = 4;
    assert_int_equal(sval_ack_decode(&a, ack_ok, sizeof(ack_ok) - 1, &got), GS_OK);
    assert_int_equal(got.seq, 4);
    assert_true(got.ok);
    assert_int_equal(got.version, 121);
    assert_int_equal(got.n_lost, 2);
    assert_true(proto_value_eq(&got.lost[1].value, &want[1]));
    assert_int_equal(got.lost[1].ver, 12);
    assert_int_equal(got.lost[1].hlc, 5);
    assert_int_equal(got.lost[0].hlc, UINT64_C(0x019ac29c14000000));
    assert_int_equal(sval_ack_decode(&a, ack_three, sizeof(ack_three) - 1, &got), GS_OK);
    assert_int_equal(got.n_lost, 1);
    assert_int_equal(got.lost[0].ver, 12);
    assert_int_equal(got.lost[0].hlc, 0);

    memset(&ack, 0, sizeof(ack));
    ack.seq = 5, ack.err = proto_cstr("invalid");
    ack.msg = proto_cstr("resident.name: is required");
    buf_reset(&b);
    assert_int_equal(sval_ack_encode(&b, &ack), GS_OK);
    assert_int_equal(b.len, sizeof(ack_rej) - 1);
    assert_memory_equal(b.ptr, ack_rej, b.len);
    assert_int_equal(sval_ack_decode(&a, ack_rej, sizeof(ack_rej) - 1, &got), GS_OK);
    assert_false(got.ok);
    assert_true(proto_str_eq(got.msg, "resident.name: is required"));
    assert_int_equal(got.n_lost, 0);
    /* damaged acks */
    assert_int_equal(sval_ack_decode(&a, ack_ok, sizeof(ack_ok) - 2, &got), GS_E_DB);
    assert_int_equal(sval_ack_decode(&a, "\x94\xc3\x79\xa0\xa0", 5, &got), GS_E_DB);
    assert_int_equal(sval_ack_decode(&a, "\x95\x01\x79\xa0\xa0\x90", 6, &got), GS_E_DB);
    assert_int_equal(sval_ack_decode(&a, "\x95\xc3\x79\xa0\xa0\x91\x92\xa1x\x01", 10, &got),
                     GS_E_DB);

    buf_reset(&b);
    {
        proto_field ch[3];
        memset(ch, 0, sizeof(ch));
        ch[0].name = proto_cstr("name"), ch[0].value = want[0];
        ch[1].name = proto_cstr("born"), ch[1].value = want[1], ch[1].ver = 12;
        ch[2].name = proto_cstr("lat"), ch[2].value = want[2], ch[2].ver = 300;
        assert_int_equal(sval_fields_encode(&b, ch, 3), GS_OK);
    }
    assert_int_equal(b.len, sizeof(fields) - 1);
    assert_memory_equal(b.ptr, fields, b.len);
    buf_free(&b);
    arena_free(&a);
}

static void test_devices_admins_conflicts_audit(void **state)
{
    fx *f = *state;
    store_device d, got;
    store_conflict c, c2;
    store_audit au, au2;
    gs_arena a;
    uint8_t hash[STORE_HASH_LEN], h2[STORE_HASH_LEN];
    int64_t id = 0, n = 0;
    gs_err err;

    arena_init(&a, 1 << 20);
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "d-1");
    snprintf(d.name, sizeof(d.name), "李 worker");
    snprintf(d.grids[0], sizeof(d.grids[0]), "城关-1");
    snprintf(d.grids[1], sizeof(d.grids[1]), "城关-2");
    d.n_grids = 2;
    memset(d.token_hash, 7, sizeof(d.token_hash));
    d.created_ms = 1000;
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &d, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &d, &err), GS_E_EXISTS);
    store_rollback(f->st);
    assert_int_equal(store_device_get(f->st, "d-1", 3, &got, &err), GS_E_NOTFOUND);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, &d, &err), GS_OK);
    assert_int_equal(store_device_synced(f->st, "d-1", 5000, "ok ch=1", 2, &err), GS_OK);
    assert_int_equal(store_device_synced(f->st, "d-1", 6000, "ok ch=2", 1, &err), GS_OK);
    assert_int_equal(store_device_revoke(f->st, "d-1", 7000, STORE_WIPE_NONE, &err), GS_OK);
    assert_int_equal(store_device_revoke(f->st, "d-1", 8000, STORE_WIPE_NONE, &err), GS_OK);
    assert_int_equal(store_device_revoke(f->st, "d-x", 8000, STORE_WIPE_NOW, &err), GS_E_NOTFOUND);
    memset(hash, 9, sizeof(hash));
    assert_int_equal(store_admin_add(f->st, "a-1", hash, 1, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_device_get(f->st, "d-1", 3, &got, &err), GS_OK);
    assert_string_equal(got.name, "李 worker");
    assert_int_equal(got.n_grids, 2);
    assert_string_equal(got.grids[0], "城关-1");
    assert_memory_equal(got.token_hash, d.token_hash, STORE_HASH_LEN);
    assert_int_equal(got.last_sync_ms, 6000);
    assert_string_equal(got.last_result, "ok ch=2");
    assert_int_equal(got.rejects, 3);
    assert_int_equal(got.revoked_ms, 7000); /* the first revocation time stays */
    assert_int_equal(got.wipe, STORE_WIPE_NONE);
    /* a wipe asked for later is recorded; a plain revoke after it does not take it back;
     * the latest wipe order counts; the revocation time never moves */
    {
        static const struct {
            int ask, want;
        } steps[] = {{STORE_WIPE_AFTER_UPLOAD, STORE_WIPE_AFTER_UPLOAD},
                     {STORE_WIPE_NONE, STORE_WIPE_AFTER_UPLOAD},
                     {STORE_WIPE_NOW, STORE_WIPE_NOW},
                     {STORE_WIPE_NONE, STORE_WIPE_NOW}};
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            assert_int_equal(store_begin(f->st, &err), GS_OK);
            assert_int_equal(store_device_revoke(f->st, "d-1", 9000 + (int64_t)i, steps[i].ask,
                                                 &err),
                             GS_OK);
            assert_int_equal(store_commit(f->st, &err), GS_OK);
            assert_int_equal(store_device_get(f->st, "d-1", 3, &got, &err), GS_OK);
            assert_int_equal(got.wipe, steps[i].want);
            assert_int_equal(got.revoked_ms, 7000);
        }
        assert_int_equal(store_device_revoke(f->st, "d-1", 1, 3, &err), GS_E_INVALID);
    }
    assert_int_equal(store_admin_get(f->st, "a-1", 3, h2, &err), GS_OK);
    assert_memory_equal(hash, h2, sizeof(hash));
    assert_int_equal(store_admin_get(f->st, "d-1", 3, h2, &err), GS_E_NOTFOUND);
    assert_int_equal(store_admin_count(f->st, &n, &err), GS_OK);
    assert_int_equal(n, 1);

    memset(&c, 0, sizeof(c));
    snprintf(c.tbl, sizeof(c.tbl), "care");
    assert_int_equal(uuid_v7(c.rid, T0), GS_OK);
    snprintf(c.grid, sizeof(c.grid), "城关-1");
    snprintf(c.field, sizeof(c.field), "status");
    c.policy = SP_STATUS;
    c.winner.value.type = PV_STR;
    c.winner.value.u.s = proto_cstr("done");
    c.winner.hlc = 77;
    c.winner.version = 5;
    snprintf(c.winner.device, sizeof(c.winner.device), "d-1");
    c.other.value.type = PV_STR;
    c.other.value.u.s = proto_cstr("in_progress");
    c.other.hlc = 66;
    c.other.version = 6;
    snprintf(c.other.device, sizeof(c.other.device), "d-2");
    c.created_ms = 99;
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_conflict_add(f->st, &c, &id, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_conflict_get(f->st, id, &a, &c2, &err), GS_OK);
    assert_string_equal(c2.field, "status");
    assert_int_equal(c2.policy, SP_STATUS);
    assert_true(proto_value_eq(&c2.winner.value, &c.winner.value));
    assert_true(proto_value_eq(&c2.other.value, &c.other.value));
    assert_string_equal(c2.other.device, "d-2");
    assert_int_equal(c2.winner.hlc, 77);
    assert_false(c2.resolved);
    assert_int_equal(store_conflict_get(f->st, id + 1, &a, &c2, &err), GS_E_NOTFOUND);
    assert_int_equal(c2.losers, 1);
    {
        /* issue 18, item 5: a second loser of (record, field) updates the open conflict;
           with may_open 0 another field is not recorded */
        int64_t id2 = 0;
        int opened = 7;
        c.other.hlc = 68;
        c.created_ms = 101;
        assert_int_equal(store_begin(f->st, &err), GS_OK);
        assert_int_equal(store_conflict_note(f->st, &c, 1, &opened, &id2, &err), GS_OK);
        assert_int_equal(opened, 0);
        assert_int_equal(id2, id);
        snprintf(c.field, sizeof(c.field), "note");
        assert_int_equal(store_conflict_note(f->st, &c, 0, &opened, NULL, &err), GS_OK);
        assert_int_equal(opened, -1);
        snprintf(c.field, sizeof(c.field), "status");
        assert_int_equal(store_commit(f->st, &err), GS_OK);
        assert_int_equal(store_conflict_get(f->st, id, &a, &c2, &err), GS_OK);
        assert_int_equal(c2.losers, 2);
        assert_int_equal(c2.other.hlc, 68);
        assert_int_equal(c2.updated_ms, 101);
        assert_int_equal(store_conflict_get(f->st, id + 1, &a, &c2, &err), GS_E_NOTFOUND);
    }
    memset(&au, 0, sizeof(au));
    au.conflict = id;
    snprintf(au.admin, sizeof(au.admin), "a-1");
    au.at_ms = 123;
    au.old_value = c.winner.value;
    au.new_value = c.other.value;
    au.version = 9;
    au.note = "家属确认";
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_conflict_resolve(f->st, id, 124, &err), GS_OK);
    assert_int_equal(store_audit_add(f->st, &au, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_conflict_get(f->st, id, &a, &c2, &err), GS_OK);
    assert_true(c2.resolved);
    assert_int_equal(c2.resolved_ms, 124);
    assert_int_equal(store_audit_get(f->st, id, &a, &au2, &err), GS_OK);
    assert_string_equal(au2.admin, "a-1");
    assert_string_equal(au2.note, "家属确认");
    assert_true(proto_value_eq(&au2.new_value, &c.other.value));
    assert_int_equal(au2.version, 9);
    arena_free(&a);
}

/* A batch of 3 new residents and an update; fault-injected runs must leave no trace. */
typedef struct batch {
    proto_field f[3][2]; /* fields of the creations */
    proto_field upd;     /* the update */
    proto_change ch[4];  /* the changes */
    proto_sync_req req;  /* the request */
    store_device dev;    /* the pushing device */
} batch;

static void make_batch(batch *b, const uint8_t existing[16])
{
    memset(b, 0, sizeof(*b));
    snprintf(b->dev.id, sizeof(b->dev.id), "d-1");
    snprintf(b->dev.grids[0], sizeof(b->dev.grids[0]), "g1");
    b->dev.n_grids = 1;
    for (int i = 0; i < 3; i++) {
        b->f[i][0].name = proto_cstr("name");
        b->f[i][0].value.type = PV_STR;
        b->f[i][0].value.u.s = proto_cstr("Zhang");
        b->f[i][1].name = proto_cstr("grid");
        b->f[i][1].value.type = PV_STR;
        b->f[i][1].value.u.s = proto_cstr("g1");
        b->ch[i].seq = (uint64_t)i + 10;
        b->ch[i].table = proto_cstr("resident");
        assert_int_equal(uuid_v7(b->ch[i].id, T0), GS_OK);
        b->ch[i].hlc = hlc_pack(T0 + 5, 0);
        b->ch[i].fields = b->f[i];
        b->ch[i].n_fields = 2;
    }
    b->upd.name = proto_cstr("name");
    b->upd.value.type = PV_STR;
    b->upd.value.u.s = proto_cstr("Zhang Wei");
    b->upd.ver = 0; /* concurrent with the existing value: LWW, a conflict row */
    b->ch[3].seq = 13;
    b->ch[3].table = proto_cstr("resident");
    memcpy(b->ch[3].id, existing, 16);
    b->ch[3].hlc = hlc_pack(T0 + 6, 0);
    b->ch[3].fields = &b->upd;
    b->ch[3].n_fields = 1;
    b->req.version = 1;
    b->req.device = proto_cstr("d-1");
    b->req.low = 1;
    b->req.changes = b->ch;
    b->req.n_changes = 4;
}

static uint64_t clock_at(void *ud)
{
    (void)ud;
    return T0 + 1000;
}

static int run_batch(fx *f, batch *b, hlc *clock, gs_arena *a, gs_err *err)
{
    proto_ack acks[4];
    merge_ctx m;
    int rc;

    merge_init(&m, f->st, clock, a, 1);
    rc = store_begin(f->st, err);
    if (rc)
        return rc;
    rc = merge_batch(&m, &b->dev, &b->req, acks, err);
    if (!rc)
        rc = store_commit(f->st, err);
    if (rc)
        store_rollback(f->st);
    return rc;
}

/* Adds device d to the store and reads it back (a device's number comes from the store). */
static void enrol(fx *f, store_device *d)
{
    gs_err err;
    snprintf(d->name, sizeof(d->name), "worker %s", d->id);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_device_add(f->st, d, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_int_equal(store_device_get(f->st, d->id, strlen(d->id), d, &err), GS_OK);
    assert_true(d->num > 0);
}

static void seed(fx *f, uint8_t existing[16], hlc *clock)
{
    proto_field pf[2];
    proto_change c;
    proto_sync_req req;
    proto_ack ack;
    store_device other;
    merge_ctx m;
    gs_arena a;
    gs_err err;

    memset(&other, 0, sizeof(other));
    snprintf(other.id, sizeof(other.id), "d-2");
    snprintf(other.grids[0], sizeof(other.grids[0]), "g1");
    other.n_grids = 1;
    enrol(f, &other);
    memset(pf, 0, sizeof(pf));
    pf[0].name = proto_cstr("name");
    pf[0].value.type = PV_STR;
    pf[0].value.u.s = proto_cstr("Old");
    pf[1].name = proto_cstr("grid");
    pf[1].value.type = PV_STR;
    pf[1].value.u.s = proto_cstr("g1");
    memset(&c, 0, sizeof(c));
    c.seq = 1;
    c.table = proto_cstr("resident");
    assert_int_equal(uuid_v7(existing, T0), GS_OK);
    memcpy(c.id, existing, 16);
    c.hlc = hlc_pack(T0 + 1, 0);
    c.fields = pf;
    c.n_fields = 2;
    memset(&req, 0, sizeof(req));
    req.device = proto_cstr("d-2");
    req.low = 1;
    req.changes = &c;
    req.n_changes = 1;
    arena_init(&a, 1 << 20);
    merge_init(&m, f->st, clock, &a, 1);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(merge_batch(&m, &other, &req, &ack, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    assert_true(ack.ok);
    arena_free(&a);
}

static void test_failing_batch_leaves_no_trace(void **state)
{
    fx *f = *state;
    uint8_t existing[16];
    hlc clock;
    batch b;
    char *before, *after;
    int failures = 0, n;

    hlc_init(&clock, 0, 300000, clock_at, NULL);
    seed(f, existing, &clock);
    make_batch(&b, existing);
    enrol(f, &b.dev);
    before = dump(f->path);
    /* fail statement 1, 2, 3, ... until the batch gets through */
    for (n = 1; n < 1000; n++) {
        gs_arena a;
        gs_err err;
        int rc;
        arena_init(&a, 1 << 20);
        store_inject_fault(f->st, n);
        rc = run_batch(f, &b, &clock, &a, &err);
        store_inject_fault(f->st, -1);
        arena_free(&a);
        if (rc == GS_OK)
            break;
        assert_int_equal(rc, GS_E_DB);
        failures++;
        after = dump(f->path);
        if (strcmp(before, after) != 0)
            fail_msg("a batch failing at statement %d left a trace:\n--- before\n%s--- after\n%s",
                     n, before, after);
        free(after);
    }
    assert_true(failures > 20); /* every statement of the batch was failed once */
    after = dump(f->path);
    assert_string_not_equal(before, after);               /* and the clean run did apply it */
    assert_non_null(strstr(after, "5a68616e6720576569")); /* "Zhang Wei" */
    free(after);
    free(before);
}

static void test_allocation_failure_leaves_no_trace(void **state)
{
    fx *f = *state;
    uint8_t existing[16];
    hlc clock;
    batch b;
    char *before, *after;
    int n, failures = 0;

    hlc_init(&clock, 0, 300000, clock_at, NULL);
    seed(f, existing, &clock);
    make_batch(&b, existing);
    enrol(f, &b.dev);
    before = dump(f->path);
    for (n = 0; n < 2000; n++) {
        gs_arena a;
        gs_err err;
        int rc;
        arena_init(&a, 1 << 20);
        gs_alloc_fail_after(n);
        rc = run_batch(f, &b, &clock, &a, &err);
        gs_alloc_fail_after(-1);
        arena_free(&a);
        if (rc == GS_OK)
            break;
        assert_int_equal(rc, GS_E_NOMEM);
        failures++;
        after = dump(f->path);
        if (strcmp(before, after) != 0)
            fail_msg("a batch failing at allocation %d left a trace", n);
        free(after);
    }
    assert_true(failures > 5);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_create_reopen_and_refuse_newer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_version_counter_in_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_a_schema_1_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_a_schema_2_store, setup, teardown),
        cmocka_unit_test(test_values_round_trip),
        cmocka_unit_test(test_stored_blobs_of_earlier_versions),
        cmocka_unit_test_setup_teardown(test_devices_admins_conflicts_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_batch_leaves_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failure_leaves_no_trace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
