/*
 * test_client_layout.c: the database file: a fresh file gets every table, WAL and
 * synchronous=FULL, mode 0600; migration from user_version 0 (an empty file, and a file
 * holding an older hand-made record table with data, whose rows survive and gain the new
 * columns); a file from a newer gridsync is refused untouched; a schema change (a column
 * missing) is reconciled; an unchanged file opens without taking the write lock; a file
 * written by gridsync 0.1 (layout 1: field_version rows, a sent flag per outbox row) is
 * upgraded in place with nothing lost (tests/unit/data/device_layout1.db, made by that
 * version's CLI: two synced residents, one edit sent but never answered, one unsent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/db.h"
#include "client/fvers.h"
#include "client/layout.h"
#include "client/outbox.h"
#include "common/uuid.h"
#include "proto/schema.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tsql.h"

typedef struct fixture {
    char dir[TDIR_MAX]; /* a fresh temporary directory */
    char path[128];     /* a database path in it (not created) */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (tdir_make(fx->dir, "layout"))
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/device.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (tdir_remove(fx->dir))
        return -1;
    free(fx);
    return 0;
}

/* Runs sql on a plain SQLite connection (no gridsync). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    char *err = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* PRAGMA table_info row by row: SQLCipher 3.4's SQLite 3.15 (make SQLCIPHER=1) has no
 * pragma_table_info() table. */
static int has_column(sqlite3 *db, const char *table, const char *col)
{
    char sql[160];
    sqlite3_stmt *st;
    int found = 0;

    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", table);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(st, 1), col) == 0)
            found = 1;
    sqlite3_finalize(st);
    return found;
}

static void test_fresh_file(void **state)
{
    fixture *fx = *state;
    static const char *const tables[] = {"meta", "outbox", "record_version", "rejected",
                                         "resident", "visit", "care"};
    gs_db *db;
    struct stat sb;
    char buf[32];

    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    assert_int_equal(tsql_int(db->sql, "PRAGMA user_version"), DB_LAYOUT_VERSION);
    assert_string_equal(tsql_text(db->sql, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    assert_int_equal(tsql_int(db->sql, "PRAGMA synchronous"), 2); /* FULL */
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
                 tables[i]);
        if (tsql_int(db->sql, sql) != 1)
            fail_msg("table %s missing", tables[i]);
    }
    /* one column per schema field */
    for (size_t i = 0; i < schema_n_tables; i++)
        for (size_t k = 0; k < schema_tables[i].n_fields; k++)
            assert_true(has_column(db->sql, schema_tables[i].name,
                                   schema_tables[i].fields[k].name));
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600); /* it will hold the device's token */
    gs_db_close(db);
}

static void test_from_version_0_with_old_data(void **state)
{
    fixture *fx = *state;
    gs_db *db;
    gs_record *r;
    const char *s;
    sqlite3 *raw;

    /* an early file: user_version 0, a resident table with two columns, a stray table */
    raw_exec(fx->path, "CREATE TABLE resident(id BLOB PRIMARY KEY, name TEXT);"
                       "INSERT INTO resident VALUES(x'0193a5f07c1e7b3d9f00000000000001', '老王');"
                       "CREATE TABLE notes_by_hand(x);"
                       "INSERT INTO notes_by_hand VALUES(1);");
    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    assert_int_equal(tsql_int(db->sql, "PRAGMA user_version"), DB_LAYOUT_VERSION);
    assert_true(has_column(db->sql, "resident", "phone"));
    assert_true(has_column(db->sql, "resident", "deleted"));
    assert_int_equal(tsql_int(db->sql, "SELECT count(*) FROM notes_by_hand"), 1);
    assert_int_equal(gs_db_get(db, "0193a5f0-7c1e-7b3d-9f00-000000000001", &r), GS_OK);
    assert_int_equal(gs_record_get_str(r, "name", &s), GS_OK);
    assert_string_equal(s, "老王");
    gs_record_free(r);
    /* and it takes new records */
    assert_int_equal(gs_record_new(db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_str(r, "name", "新人"), GS_OK);
    assert_int_equal(gs_record_set_str(r, "grid", "g1"), GS_OK);
    assert_int_equal(gs_db_add(db, r), GS_OK);
    gs_record_free(r);
    gs_db_close(db);

    /* an empty version-0 file (zero bytes) is a new database */
    assert_int_equal(sqlite3_open(fx->path, &raw), SQLITE_OK);
    sqlite3_close(raw);
    unlink(fx->path);
    raw_exec(fx->path, "PRAGMA user_version = 0");
    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    assert_int_equal(tsql_int(db->sql, "SELECT count(*) FROM outbox"), 0);
    gs_db_close(db);
}

static void test_newer_file_refused_untouched(void **state)
{
    fixture *fx = *state;
    gs_db *db;
    sqlite3 *raw;

    raw_exec(fx->path, "CREATE TABLE future(x); PRAGMA user_version = 99;");
    assert_int_equal(gs_db_open(fx->path, &db), GS_E_STATE);
    assert_non_null(strstr(gs_db_errmsg(db), "newer gridsync"));
    gs_db_close(db);
    assert_int_equal(sqlite3_open(fx->path, &raw), SQLITE_OK);
    assert_int_equal(tsql_int(raw, "PRAGMA user_version"), 99);
    assert_int_equal(tsql_int(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"), 0);
    sqlite3_close(raw);
}

static void test_schema_change_reconciled(void **state)
{
    fixture *fx = *state;
    gs_db *db;

#if SQLITE_VERSION_NUMBER < 3035000
    (void)fx;
    (void)db;
    skip(); /* the file is made with DROP COLUMN (SQLite 3.35); SQLCipher 3.4 has 3.15 */
#endif
    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    gs_db_close(db);
    /* as if the file came from a schema without resident.phone */
    raw_exec(fx->path, "ALTER TABLE resident DROP COLUMN phone;"
                       "UPDATE meta SET v = 'older' WHERE k = 'schema_sig';");
    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    assert_true(has_column(db->sql, "resident", "phone"));
    assert_int_equal(tsql_int(db->sql, "SELECT count(*) FROM meta WHERE k = 'schema_sig' AND "
                                       "v = 'older'"),
                     0);
    gs_db_close(db);
}

static void test_unchanged_file_opens_while_another_writes(void **state)
{
    fixture *fx = *state;
    gs_db *db;
    sqlite3 *writer;

    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    gs_db_close(db);
    assert_int_equal(sqlite3_open(fx->path, &writer), SQLITE_OK);
    assert_int_equal(sqlite3_exec(writer, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    /* no migration to do: open must not wait for the write lock */
    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    gs_db_close(db);
    sqlite3_exec(writer, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(writer);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_from_layout_1_file_of_gridsync_0_1(void **state)
{
    fixture *fx = *state;
    const char *data = getenv("GS_TEST_DATA") ? getenv("GS_TEST_DATA") : "tests/unit/data";
    char src[256], ids[128], r1[40], r2[40], buf[64];
    uint8_t id1[16], id2[16];
    int64_t pending = 0, sent = 0;
    gs_record *rec;
    fvers fv;
    FILE *f;
    gs_db *db;

    snprintf(src, sizeof(src), "%s/device_layout1.db", data);
    copy_file(src, fx->path);
    snprintf(src, sizeof(src), "%s/device_layout1.ids", data);
    f = fopen(src, "r");
    assert_non_null(f);
    assert_non_null(fgets(ids, sizeof(ids), f));
    fclose(f);
    assert_int_equal(strlen(ids) >= 73, 1);
    memcpy(r1, ids, 36);
    r1[36] = '\0';
    memcpy(r2, ids + 37, 36);
    r2[36] = '\0';
    uuid_parse(r1, 36, id1);
    uuid_parse(r2, 36, id2);

    assert_int_equal(gs_db_open(fx->path, &db), GS_OK);
    assert_int_equal(tsql_int(db->sql, "PRAGMA user_version"), DB_LAYOUT_VERSION);
    assert_int_equal(tsql_int(db->sql, "SELECT count(*) FROM sqlite_master WHERE name = "
                                       "'field_version'"),
                     0);
    /* layout 4 (issue 19): the attachment bytes, and the attachments' index on their record */
    assert_int_equal(tsql_int(db->sql, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                       "('attachment_blob', 'attachment', 'attachment_by_record')"),
                     3);
    /* the versions the old file held, one row per record now */
    assert_int_equal(fvers_load(db, id1, &fv), GS_OK);
    assert_int_equal(fv.n, 4); /* name, born, grid, tags */
    assert_int_equal(fvers_ver(&fv, "name", 4), 1);
    assert_int_equal(fvers_ver(&fv, "tags", 4), 1);
    assert_int_equal(fvers_load(db, id2, &fv), GS_OK);
    assert_int_equal(fvers_ver(&fv, "born", 4), 2);
    /* the sent row stays sent (frozen), the unsent one unsent */
    assert_int_equal(outbox_count(db, &pending, &sent), GS_OK);
    assert_int_equal(pending, 2);
    assert_int_equal(sent, 1);
    assert_int_equal(tsql_int(db->sql, "SELECT v FROM meta WHERE k = 'sent_upto'"), 3);
    /* an edit of the sent record makes a new row; one of the unsent record merges */
    assert_int_equal(gs_record_new(db, "resident", &rec), GS_OK);
    assert_int_equal(gs_record_set_id(rec, r1), GS_OK);
    assert_int_equal(gs_record_set_str(rec, "address", "x"), GS_OK);
    assert_int_equal(gs_db_update(db, rec), GS_OK);
    gs_record_free(rec);
    assert_int_equal(gs_record_new(db, "resident", &rec), GS_OK);
    assert_int_equal(gs_record_set_id(rec, r2), GS_OK);
    assert_int_equal(gs_record_set_str(rec, "phone", "1"), GS_OK);
    assert_int_equal(gs_db_update(db, rec), GS_OK);
    gs_record_free(rec);
    assert_int_equal(outbox_count(db, &pending, &sent), GS_OK);
    assert_int_equal(pending, 3);
    /* the old rows still decode (three-element fields): the record shows its edit */
    assert_int_equal(gs_db_get(db, r2, &rec), GS_OK);
    assert_string_equal(tsql_text(db->sql, "SELECT count(*) FROM outbox", buf, sizeof(buf)), "3");
    gs_record_free(rec);
    gs_db_close(db);
}

static void test_reserved_names(void **state)
{
    (void)state;
    assert_true(layout_reserved("outbox"));
    assert_true(layout_reserved("meta"));
    assert_true(layout_reserved("sqlite_sequence"));
    assert_false(layout_reserved("visit"));
    for (size_t i = 0; i < schema_n_tables; i++)
        assert_false(layout_reserved(schema_tables[i].name));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fresh_file),
        T(test_from_version_0_with_old_data),
        T(test_newer_file_refused_untouched),
        T(test_schema_change_reconciled),
        T(test_unchanged_file_opens_while_another_writes),
        T(test_from_layout_1_file_of_gridsync_0_1),
        T(test_reserved_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
