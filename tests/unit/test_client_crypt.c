/*
 * test_client_crypt.c: encryption at rest (client/dbkey.c, gs_db_open_key, common/sqldb.c's
 * key probe). Built both ways: in the plain build (make test) it checks that a key is
 * refused with GS_E_KEY and plain files work as before; in the SQLCipher build
 * (make test-sqlcipher) that
 *   - no resident name, phone, note or attachment byte pattern is in the database or its
 *     WAL, read raw while the handle is open (the WAL then holds the latest pages);
 *   - a wrong key, no key and a key for a plain file are GS_E_KEY and leave the file
 *     byte for byte as it was;
 *   - rekey round trip: the old key is refused after it, the new one reads every record
 *     and attachment; a plain file is encrypted by a rekey; an open list or batch refuses.
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

#include "client/gridsync.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"

#define NAME "张秀兰"
#define PHONE "13912345678"
#define NOTE "血压偏高需要复查"
#define ATT_MARK "ATTACHMENT-SECRET-MARK"
#define KEY1 "first key"
#define KEY2 "\x01\x02second\x00key"

typedef struct fixture {
    char dir[TDIR_MAX];   /* the test's folder */
    char path[TDEVICE_PATH_MAX]; /* device.db in it */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || tdir_make(fx->dir, "crypt"))
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/device.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int rc = tdir_remove(fx->dir);
    free(fx);
    return rc ? -1 : 0;
}

static gs_db *open_ok(const char *path, const char *key, size_t len)
{
    gs_db *db = NULL;
    int rc = gs_db_open_key(path, key, len, &db);
    if (rc != GS_OK)
        fail_msg("gs_db_open_key: %s (%d)", gs_db_errmsg(db), rc);
    return db;
}

/* Reads a whole file (NULL when absent) into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* How many of the files PATH, PATH-wal, PATH-shm, PATH-journal contain needle. */
static int found_in_files(const char *path, const char *needle)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[TDEVICE_PATH_MAX + 16];
    int hits = 0;

    for (size_t i = 0; i < 4; i++) {
        size_t n, k = strlen(needle);
        unsigned char *b;
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        b = slurp(p, &n);
        for (size_t j = 0; b && n >= k && j <= n - k; j++)
            if (memcmp(b + j, needle, k) == 0) {
                hits++;
                break;
            }
        free(b);
    }
    return hits;
}

/* A resident with a phone and tags, a visit with a note, a PDF attachment. */
static void add_data(gs_db *db, char rid[TDEVICE_ID_MAX])
{
    static const char *const grids[] = {"西华-东关-01"};
    static const char pdf[] = "%PDF-1.4\n1 0 obj (" ATT_MARK ") endobj\n%%EOF\n";
    gs_record *r;

    tdevice_init(db, grids, 1, NULL);
    assert_int_equal(gs_record_new(db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_str(r, "name", NAME), GS_OK);
    assert_int_equal(gs_record_set_str(r, "phone", PHONE), GS_OK);
    assert_int_equal(gs_record_set_text(r, "tags", "elderly,lives_alone"), GS_OK);
    assert_int_equal(gs_db_add(db, r), GS_OK);
    snprintf(rid, TDEVICE_ID_MAX, "%s", gs_record_id(r));
    gs_record_free(r);
    assert_int_equal(gs_record_new(db, "visit", &r), GS_OK);
    assert_int_equal(gs_record_set_ref(r, "resident", rid), GS_OK);
    assert_int_equal(gs_record_set_str(r, "kind", "elderly_checkin"), GS_OK);
    assert_int_equal(gs_record_set_str(r, "notes", NOTE), GS_OK);
    if (gs_db_add(db, r) != GS_OK)
        fail_msg("visit: %s", gs_db_errmsg(db));
    gs_record_free(r);
    if (gs_db_attach(db, rid, pdf, sizeof(pdf) - 1, "门牌", NULL, NULL) != GS_OK)
        fail_msg("attach: %s", gs_db_errmsg(db));
}

/* Every resident carrying tag, counted through gs_list (the tag filter, without JSON1). */
static int count_tagged(gs_db *db, const char *tag)
{
    gs_list *l;
    gs_record *r;
    int n = 0;

    assert_int_equal(gs_list_new(db, "resident", &l), GS_OK);
    assert_int_equal(gs_list_where(l, "tags", tag), GS_OK);
    while (gs_list_next(l, &r) == GS_OK && r) {
        n++;
        gs_record_free(r);
    }
    gs_list_free(l);
    return n;
}

static void expect_data(gs_db *db, const char *rid)
{
    gs_record *r;
    const char *s = NULL;

    assert_int_equal(gs_db_get(db, rid, &r), GS_OK);
    assert_int_equal(gs_record_get_str(r, "phone", &s), GS_OK);
    assert_string_equal(s, PHONE);
    gs_record_free(r);
    assert_int_equal(count_tagged(db, "elderly"), 1);
    assert_int_equal(count_tagged(db, "lives_alone"), 1);
    assert_int_equal(count_tagged(db, "disabled"), 0);
}

static void test_plain_build_refuses_a_key(void **state)
{
    fixture *fx = *state;
    gs_db *db = NULL;
    char rid[TDEVICE_ID_MAX];

    if (gs_db_can_encrypt())
        skip(); /* the SQLCipher build: the tests below */
    assert_int_equal(gs_db_open_key(fx->path, KEY1, strlen(KEY1), &db), GS_E_KEY);
    assert_non_null(strstr(gs_db_errmsg(db), "SQLCIPHER=1"));
    gs_db_close(db);
    db = open_ok(fx->path, NULL, 0);
    add_data(db, rid);
    expect_data(db, rid);
    assert_int_equal(gs_db_rekey(db, KEY1, strlen(KEY1)), GS_E_KEY);
    gs_db_close(db);
}

static void test_nothing_readable_in_the_files(void **state)
{
    fixture *fx = *state;
    char rid[TDEVICE_ID_MAX];
    gs_db *db;

    if (!gs_db_can_encrypt())
        skip(); /* plain build: make test-sqlcipher runs this */
    db = open_ok(fx->path, KEY1, strlen(KEY1));
    add_data(db, rid);
    /* the handle is still open: the latest pages are in the WAL */
    assert_int_equal(found_in_files(fx->path, NAME), 0);
    assert_int_equal(found_in_files(fx->path, PHONE), 0);
    assert_int_equal(found_in_files(fx->path, NOTE), 0);
    assert_int_equal(found_in_files(fx->path, ATT_MARK), 0);
    assert_int_equal(found_in_files(fx->path, "dev-1.secret"), 0); /* the token */
    assert_int_equal(found_in_files(fx->path, "CREATE TABLE"), 0); /* the schema too */
    expect_data(db, rid);
    gs_db_close(db);
    assert_int_equal(found_in_files(fx->path, NAME), 0);
    assert_int_equal(found_in_files(fx->path, PHONE), 0);
    /* the check can fail: the same data in a plain file is found */
    {
        char plain[TDEVICE_PATH_MAX + 8];
        snprintf(plain, sizeof(plain), "%s.plain", fx->path);
        db = open_ok(plain, NULL, 0);
        add_data(db, rid);
        assert_int_equal(found_in_files(plain, PHONE), 1);
        assert_int_equal(found_in_files(plain, ATT_MARK), 1);
        gs_db_close(db);
    }
}

static void test_wrong_or_missing_key_refused_file_untouched(void **state)
{
    fixture *fx = *state;
    char rid[TDEVICE_ID_MAX], plain[TDEVICE_PATH_MAX + 8];
    unsigned char *before, *after;
    size_t nb, na;
    gs_db *db;

    if (!gs_db_can_encrypt())
        skip();
    db = open_ok(fx->path, KEY1, strlen(KEY1));
    add_data(db, rid);
    gs_db_close(db);
    before = slurp(fx->path, &nb);
    assert_non_null(before);
    assert_int_equal(gs_db_open_key(fx->path, "first kex", 9, &db), GS_E_KEY);
    assert_non_null(strstr(gs_db_errmsg(db), "key does not open"));
    gs_db_close(db);
    assert_int_equal(gs_db_open(fx->path, &db), GS_E_KEY);
    assert_non_null(strstr(gs_db_errmsg(db), "GRIDSYNC_KEY_FILE"));
    gs_db_close(db);
    after = slurp(fx->path, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    assert_int_equal(access(fx->path, F_OK), 0);
    free(before);
    free(after);
    /* a key for a plain file is refused too: never a file half one, half the other */
    snprintf(plain, sizeof(plain), "%s.plain", fx->path);
    db = open_ok(plain, NULL, 0);
    gs_db_close(db);
    assert_int_equal(gs_db_open_key(plain, KEY1, strlen(KEY1), &db), GS_E_KEY);
    gs_db_close(db);
    db = open_ok(plain, NULL, 0);
    gs_db_close(db);
    /* bad lengths */
    assert_int_equal(gs_db_open_key(fx->path, KEY1, GS_DB_KEY_MAX + 1, &db), GS_E_INVALID);
    gs_db_close(db);
    /* and the right key still works */
    db = open_ok(fx->path, KEY1, strlen(KEY1));
    expect_data(db, rid);
    gs_db_close(db);
}

static void test_rekey_round_trip(void **state)
{
    fixture *fx = *state;
    char rid[TDEVICE_ID_MAX], tmp[TDEVICE_PATH_MAX + 8];
    void *data = NULL;
    size_t len = 0;
    int64_t files = -1, bytes = -1;
    gs_list *l;
    gs_db *db, *other;

    if (!gs_db_can_encrypt())
        skip();
    db = open_ok(fx->path, KEY1, strlen(KEY1));
    add_data(db, rid);
    /* refused while a list is open, or a batch, or another connection has the file */
    assert_int_equal(gs_list_new(db, "resident", &l), GS_OK);
    {
        gs_record *r;
        assert_int_equal(gs_list_next(l, &r), GS_OK);
        gs_record_free(r);
    }
    assert_int_equal(gs_db_rekey(db, KEY2, sizeof(KEY2) - 1), GS_E_STATE);
    gs_list_free(l);
    expect_data(db, rid); /* the handle is still on the old key */
    assert_int_equal(gs_db_begin(db), GS_OK);
    assert_int_equal(gs_db_rekey(db, KEY2, sizeof(KEY2) - 1), GS_E_STATE);
    assert_int_equal(gs_db_rollback(db), GS_OK);
    other = open_ok(fx->path, KEY1, strlen(KEY1));
    assert_int_equal(gs_db_rekey(db, KEY2, sizeof(KEY2) - 1), GS_E_BUSY);
    gs_db_close(other);
    expect_data(db, rid);
    snprintf(tmp, sizeof(tmp), "%s.rekey", fx->path);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(gs_db_rekey(db, NULL, 0), GS_E_INVALID);

    /* a key with a NUL byte in it: keys are bytes */
    if (gs_db_rekey(db, KEY2, sizeof(KEY2) - 1) != GS_OK)
        fail_msg("rekey: %s", gs_db_errmsg(db));
    assert_int_equal(access(tmp, F_OK), -1);
    expect_data(db, rid); /* the same handle goes on, on the new key */
    assert_int_equal(tdevice_pending(db), 3);
    gs_db_close(db);

    assert_int_equal(gs_db_open_key(fx->path, KEY1, strlen(KEY1), &db), GS_E_KEY);
    gs_db_close(db);
    assert_int_equal(gs_db_open_key(fx->path, KEY2, 2, &db), GS_E_KEY); /* up to the NUL */
    gs_db_close(db);
    db = open_ok(fx->path, KEY2, sizeof(KEY2) - 1);
    expect_data(db, rid);
    assert_int_equal(gs_db_attachments_pending(db, &files, &bytes), GS_OK);
    assert_true(files >= 1);
    assert_int_equal(found_in_files(fx->path, PHONE), 0);
    gs_db_close(db);
    (void)data;
    (void)len;
}

static void test_rekey_encrypts_a_plain_file(void **state)
{
    fixture *fx = *state;
    char rid[TDEVICE_ID_MAX];
    gs_db *db;

    if (!gs_db_can_encrypt())
        skip();
    db = open_ok(fx->path, NULL, 0);
    add_data(db, rid);
    gs_db_close(db);
    assert_int_equal(found_in_files(fx->path, PHONE), 1);
    db = open_ok(fx->path, NULL, 0);
    if (gs_db_rekey(db, KEY1, strlen(KEY1)) != GS_OK)
        fail_msg("rekey: %s", gs_db_errmsg(db));
    gs_db_close(db);
    assert_int_equal(found_in_files(fx->path, PHONE), 0);
    assert_int_equal(found_in_files(fx->path, NAME), 0);
    assert_int_equal(gs_db_open(fx->path, &db), GS_E_KEY);
    gs_db_close(db);
    db = open_ok(fx->path, KEY1, strlen(KEY1));
    expect_data(db, rid);
    gs_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_build_refuses_a_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_readable_in_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_or_missing_key_refused_file_untouched, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rekey_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_encrypts_a_plain_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
