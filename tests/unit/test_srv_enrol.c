/*
 * test_srv_enrol.c: the enrolment codes of the server store (server/store_enrol.c): a code
 * is found by its hash only, is used at most once, cannot be used once expired or revoked,
 * cannot be revoked once used, and lists newest first; the table survives a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store.h"
#include "tests/lib/tdir.h"

static const int64_t T0 = INT64_C(1795000000000);
static const int64_t HOUR = 3600000;

typedef struct fx {
    char dir[TDIR_MAX]; /* temporary folder */
    char path[128];     /* the store file */
    store *st;          /* the store */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err;
    assert_int_equal(tdir_make(f->dir, "enrol"), 0);
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

/* An enrolment "e-N" whose code hash is N repeated, made at T0, for 24 hours. */
static store_enrolment make(int n)
{
    store_enrolment e;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "e-%d", n);
    memset(e.code_hash, n, sizeof(e.code_hash));
    snprintf(e.name, sizeof(e.name), "王芳 %d", n);
    snprintf(e.grids[0], sizeof(e.grids[0]), "东风村3组");
    snprintf(e.grids[1], sizeof(e.grids[1]), "g2");
    e.n_grids = 2;
    e.created_ms = T0 + n;
    e.expires_ms = T0 + 24 * HOUR;
    snprintf(e.created_by, sizeof(e.created_by), "a-1");
    return e;
}

static void add(store *st, int n)
{
    store_enrolment e = make(n);
    gs_err err;
    assert_int_equal(store_begin(st, &err), GS_OK);
    assert_int_equal(store_enrol_add(st, &e, &err), GS_OK);
    assert_int_equal(store_commit(st, &err), GS_OK);
}

static void test_found_by_hash_with_its_fields(void **state)
{
    fx *f = *state;
    store_enrolment e = make(7), got;
    uint8_t other[STORE_HASH_LEN];
    gs_err err;

    add(f->st, 7);
    assert_int_equal(store_enrol_by_hash(f->st, e.code_hash, &got, &err), GS_OK);
    assert_string_equal(got.id, "e-7");
    assert_string_equal(got.name, e.name);
    assert_int_equal(got.n_grids, 2);
    assert_string_equal(got.grids[0], "东风村3组");
    assert_string_equal(got.grids[1], "g2");
    assert_int_equal(got.expires_ms, e.expires_ms);
    assert_string_equal(got.created_by, "a-1");
    assert_int_equal(got.used_ms, 0);
    assert_int_equal(store_enrol_state_at(&got, T0), STORE_ENROL_OPEN);
    memset(other, 8, sizeof(other));
    assert_int_equal(store_enrol_by_hash(f->st, other, &got, &err), GS_E_NOTFOUND);
    /* the same code hash twice is refused */
    e = make(7);
    snprintf(e.id, sizeof(e.id), "e-77");
    assert_int_equal(store_enrol_add(f->st, &e, &err), GS_E_EXISTS);
}

static void test_used_once(void **state)
{
    fx *f = *state;
    store_enrolment got;
    gs_err err;

    add(f->st, 1);
    assert_int_equal(store_enrol_use(f->st, "e-1", T0 + HOUR, "d-aa", &err), GS_OK);
    assert_int_equal(store_enrol_use(f->st, "e-1", T0 + HOUR, "d-bb", &err), GS_E_STATE);
    assert_non_null(strstr(err.msg, "used"));
    assert_int_equal(store_enrol_get(f->st, "e-1", &got, &err), GS_OK);
    assert_string_equal(got.device, "d-aa");
    assert_int_equal(got.used_ms, T0 + HOUR);
    assert_int_equal(store_enrol_state_at(&got, T0 + HOUR), STORE_ENROL_USED);
    /* used: cannot be revoked (the device is) */
    assert_int_equal(store_enrol_revoke(f->st, "e-1", T0 + 2 * HOUR, &err), GS_E_STATE);
    assert_int_equal(store_enrol_use(f->st, "e-9", T0, "d-cc", &err), GS_E_NOTFOUND);
}

static void test_expired_cannot_be_used(void **state)
{
    fx *f = *state;
    store_enrolment got;
    gs_err err;

    add(f->st, 2);
    assert_int_equal(store_enrol_use(f->st, "e-2", T0 + 24 * HOUR, "d-aa", &err), GS_E_STATE);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(store_enrol_get(f->st, "e-2", &got, &err), GS_OK);
    assert_int_equal(got.used_ms, 0);
    assert_int_equal(store_enrol_state_at(&got, T0 + 24 * HOUR - 1), STORE_ENROL_OPEN);
    assert_int_equal(store_enrol_state_at(&got, T0 + 24 * HOUR), STORE_ENROL_EXPIRED);
    /* one millisecond before, it still works */
    assert_int_equal(store_enrol_use(f->st, "e-2", T0 + 24 * HOUR - 1, "d-aa", &err), GS_OK);
}

static void test_revoked_cannot_be_used(void **state)
{
    fx *f = *state;
    store_enrolment got;
    gs_err err;

    add(f->st, 3);
    assert_int_equal(store_enrol_revoke(f->st, "e-3", T0 + 5, &err), GS_OK);
    assert_int_equal(store_enrol_revoke(f->st, "e-3", T0 + 9, &err), GS_OK);
    assert_int_equal(store_enrol_get(f->st, "e-3", &got, &err), GS_OK);
    assert_int_equal(got.revoked_ms, T0 + 5); /* the first time stays */
    assert_int_equal(store_enrol_state_at(&got, T0 + 10), STORE_ENROL_REVOKED);
    assert_int_equal(store_enrol_use(f->st, "e-3", T0 + 10, "d-aa", &err), GS_E_STATE);
    assert_non_null(strstr(err.msg, "revoked"));
    assert_int_equal(store_enrol_revoke(f->st, "e-404", T0, &err), GS_E_NOTFOUND);
}

typedef struct ids {
    char got[8][GS_LIMIT_NAME + 1]; /* ids in list order */
    int n;                          /* entries */
} ids;

static int list_cb(void *ud, const store_enrolment *e)
{
    ids *x = ud;
    if (x->n < 8)
        snprintf(x->got[x->n++], sizeof(x->got[0]), "%s", e->id);
    return GS_OK;
}

static void test_list_newest_first_and_reopen(void **state)
{
    fx *f = *state;
    ids x;
    gs_err err;

    add(f->st, 4);
    add(f->st, 6);
    add(f->st, 5);
    store_close(f->st);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    memset(&x, 0, sizeof(x));
    assert_int_equal(store_enrol_list(f->st, list_cb, &x, &err), GS_OK);
    assert_int_equal(x.n, 3);
    assert_string_equal(x.got[0], "e-6");
    assert_string_equal(x.got[1], "e-5");
    assert_string_equal(x.got[2], "e-4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found_by_hash_with_its_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_cannot_be_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_cannot_be_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_newest_first_and_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
