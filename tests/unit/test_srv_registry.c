/*
 * test_srv_registry.c: the grid registry and named admins in a real store
 * (server/store_registry.c) and the role checks on them (server/admin_roles.c):
 * - towns and grids: add, duplicate (GS_E_EXISTS), unknown town (GS_E_NOTFOUND), replace
 *   (an import), lists by code, per town, the count;
 * - admins: name unique, towns kept, revocation once, an unknown town refused;
 * - a schema 9 store (before the registry) migrates: its admin becomes a county admin named
 *   by its id, the registry is empty;
 * - scope: county and a viewer without towns reach every grid, a town admin only the
 *   registered grids of its towns (never an unregistered one), a viewer cannot write.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/rc.h"
#include "server/admin_roles.h"
#include "server/store.h"
#include "tests/lib/tdir.h"

typedef struct fixture {
    char dir[TDIR_MAX];
    char path[TDIR_MAX + 16];
    store *st;
} fixture;

static int setup(void **state)
{
    static fixture fx;
    gs_err err;

    memset(&fx, 0, sizeof(fx));
    assert_int_equal(tdir_make(fx.dir, "registry"), 0);
    snprintf(fx.path, sizeof(fx.path), "%s/store.db", fx.dir);
    if (store_open(&fx.st, fx.path, &err) != GS_OK)
        fail_msg("store_open: %s", err.msg);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    store_close(fx->st);
    tdir_remove(fx->dir);
    return 0;
}

static store_grid grid(const char *code, const char *name, const char *village, const char *town)
{
    store_grid g;
    memset(&g, 0, sizeof(g));
    snprintf(g.code, sizeof(g.code), "%s", code);
    snprintf(g.name, sizeof(g.name), "%s", name);
    snprintf(g.village, sizeof(g.village), "%s", village);
    snprintf(g.town, sizeof(g.town), "%s", town);
    g.created_ms = 1000;
    return g;
}

static int join_cb(void *ud, const store_grid *g)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s/%s", n ? "," : "", g->code, g->town);
    return GS_OK;
}

static void registry_fill(store *st)
{
    store_grid g;
    gs_err err;

    assert_int_equal(store_begin(st, &err), GS_OK);
    assert_int_equal(store_town_add(st, "迟营镇", 1, &err), GS_OK);
    assert_int_equal(store_town_add(st, "河西镇", 1, &err), GS_OK);
    g = grid("XH-0412", "东风村3组", "东风村", "迟营镇");
    assert_int_equal(store_grid_put(st, &g, 0, &err), GS_OK);
    g = grid("XH-0413", "东风村4组", "东风村", "迟营镇");
    assert_int_equal(store_grid_put(st, &g, 0, &err), GS_OK);
    g = grid("HX-0101", "西河村1组", "西河村", "河西镇");
    assert_int_equal(store_grid_put(st, &g, 0, &err), GS_OK);
    assert_int_equal(store_commit(st, &err), GS_OK);
}

static void test_registry_towns_and_grids(void **state)
{
    fixture *fx = *state;
    char list[256] = "";
    store_grid g, got;
    int64_t n = -1;
    int has = 0;
    gs_err err;

    assert_int_equal(store_grid_count(fx->st, &n, &err), GS_OK);
    assert_int_equal(n, 0); /* an empty registry: devices may name any grid */
    registry_fill(fx->st);
    assert_int_equal(store_town_add(fx->st, "迟营镇", 2, &err), GS_E_EXISTS);
    g = grid("XH-0412", "x", "y", "迟营镇");
    assert_int_equal(store_grid_put(fx->st, &g, 0, &err), GS_E_EXISTS);
    g = grid("ZZ-1", "x", "y", "无此镇");
    assert_int_equal(store_grid_put(fx->st, &g, 0, &err), GS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "无此镇"));
    assert_int_equal(store_town_has(fx->st, "河西镇", &has, &err), GS_OK);
    assert_int_equal(has, 1);
    assert_int_equal(store_grid_count(fx->st, &n, &err), GS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_grid_list(fx->st, NULL, join_cb, list, &err), GS_OK);
    assert_string_equal(list, "HX-0101/河西镇,XH-0412/迟营镇,XH-0413/迟营镇"); /* by code */
    list[0] = '\0';
    assert_int_equal(store_grid_list(fx->st, "迟营镇", join_cb, list, &err), GS_OK);
    assert_string_equal(list, "XH-0412/迟营镇,XH-0413/迟营镇");
    /* a move (replace): the grid now belongs to the other town */
    g = grid("XH-0413", "东风村4组", "新村", "河西镇");
    assert_int_equal(store_grid_put(fx->st, &g, 1, &err), GS_OK);
    assert_int_equal(store_grid_get(fx->st, "XH-0413", &got, &err), GS_OK);
    assert_string_equal(got.town, "河西镇");
    assert_string_equal(got.village, "新村");
    assert_int_equal(store_grid_get(fx->st, "nope", &got, &err), GS_E_NOTFOUND);
}

static store_admin admin(const char *id, const char *name, const char *role, const char *town)
{
    store_admin a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.name, sizeof(a.name), "%s", name);
    snprintf(a.role, sizeof(a.role), "%s", role);
    if (town)
        snprintf(a.towns[a.n_towns++], sizeof(a.towns[0]), "%s", town);
    memset(a.token_hash, 0x11, sizeof(a.token_hash));
    a.created_ms = 5;
    return a;
}

static void test_registry_admins(void **state)
{
    fixture *fx = *state;
    store_admin a, got;
    gs_err err;

    registry_fill(fx->st);
    a = admin("a-1", "王镇长", "town", "迟营镇");
    assert_int_equal(store_admin_put(fx->st, &a, &err), GS_OK);
    a = admin("a-2", "王镇长", "viewer", NULL);
    assert_int_equal(store_admin_put(fx->st, &a, &err), GS_E_EXISTS); /* the name is taken */
    a = admin("a-3", "某人", "town", "无此镇");
    assert_int_equal(store_admin_put(fx->st, &a, &err), GS_E_NOTFOUND);
    assert_int_equal(store_admin_load(fx->st, "a-1", 3, &got, &err), GS_OK);
    assert_string_equal(got.name, "王镇长");
    assert_string_equal(got.role, "town");
    assert_int_equal(got.n_towns, 1);
    assert_string_equal(got.towns[0], "迟营镇");
    assert_memory_equal(got.token_hash, a.token_hash, STORE_HASH_LEN);
    assert_int_equal(got.revoked_ms, 0);
    assert_int_equal(store_admin_revoke(fx->st, "a-1", 77, &err), GS_OK);
    assert_int_equal(store_admin_revoke(fx->st, "a-1", 99, &err), GS_OK);
    assert_int_equal(store_admin_load(fx->st, "a-1", 3, &got, &err), GS_OK);
    assert_int_equal(got.revoked_ms, 77); /* the first time stays */
    assert_int_equal(store_admin_revoke(fx->st, "a-9", 1, &err), GS_E_NOTFOUND);
    assert_int_equal(store_admin_load(fx->st, "a-9", 3, &got, &err), GS_E_NOTFOUND);
}

static void test_roles_scope(void **state)
{
    static const struct {
        const char *role, *town, *grid;
        int in, can_write;
    } cases[] = {
        {"county", NULL, "XH-0412", 1, 1},  {"county", NULL, "HX-0101", 1, 1},
        {"county", NULL, "未登记", 1, 1},    {"town", "迟营镇", "XH-0412", 1, 1},
        {"town", "迟营镇", "XH-0413", 1, 1}, {"town", "迟营镇", "HX-0101", 0, 1},
        {"town", "迟营镇", "未登记", 0, 1},   {"viewer", NULL, "HX-0101", 1, 0},
        {"viewer", "河西镇", "HX-0101", 1, 0}, {"viewer", "河西镇", "XH-0412", 0, 0},
    };
    fixture *fx = *state;
    admin_role role;
    gs_err err;

    registry_fill(fx->st);
    assert_int_equal(admin_role_parse("town", &role), GS_OK);
    assert_int_equal(role, ROLE_TOWN);
    assert_int_equal(admin_role_parse("root", &role), GS_E_INVALID);
    assert_string_equal(admin_role_name(ROLE_VIEWER), "viewer");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        store_admin a = admin("a-1", "x", cases[i].role, cases[i].town);
        admin_scope sc;
        assert_int_equal(admin_scope_init(&sc, fx->st, &a), GS_OK);
        if (admin_scope_grid(&sc, cases[i].grid, &err) != cases[i].in)
            fail_msg("case %zu: %s/%s on %s: want %d", i, cases[i].role,
                     cases[i].town ? cases[i].town : "-", cases[i].grid, cases[i].in);
        assert_int_equal(admin_scope_grid_ok(&sc, cases[i].grid), cases[i].in);
        assert_int_equal(admin_scope_can_write(&sc), cases[i].can_write);
        assert_int_equal(admin_scope_is_county(&sc), strcmp(cases[i].role, "county") == 0);
        assert_string_equal(admin_scope_town_of(&sc, "HX-0101", &err), "河西镇");
        assert_string_equal(admin_scope_town_of(&sc, "未登记", &err), "");
        admin_scope_free(&sc);
    }
}

static void test_migrates_a_schema_9_store(void **state)
{
    fixture *fx = *state;
    store_admin got;
    int64_t n = -1;
    int ver = 0;
    sqlite3 *db;
    gs_err err;

    store_close(fx->st);
    fx->st = NULL;
    /* take the file back to schema 9 (before the registry), with an admin of that time */
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    if (sqlite3_exec(db,
                     "DROP TABLE attachment_blobs;"
                     "DROP INDEX conflicts_open; ALTER TABLE conflicts DROP COLUMN losers;"
                     "ALTER TABLE conflicts DROP COLUMN updated;"
                     "DROP TABLE admin_towns; DROP TABLE grids; DROP TABLE towns;"
                     "DROP INDEX admins_name; ALTER TABLE admins DROP COLUMN name;"
                     "ALTER TABLE admins DROP COLUMN role; ALTER TABLE admins DROP COLUMN revoked;"
                     "INSERT INTO admins (id, token_hash, created) VALUES ('a-old', zeroblob(32), 3);"
                     "PRAGMA user_version = 9; UPDATE meta SET value = 9 WHERE key = 'schema'",
                     NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("downgrade: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    assert_int_equal(store_open(&fx->st, fx->path, &err), GS_OK);
    assert_int_equal(store_schema_version(fx->st, &ver, &err), GS_OK);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    assert_int_equal(store_admin_load(fx->st, "a-old", 5, &got, &err), GS_OK);
    assert_string_equal(got.name, "a-old");
    assert_string_equal(got.role, "county");
    assert_int_equal(got.n_towns, 0);
    assert_int_equal(got.revoked_ms, 0);
    assert_int_equal(store_grid_count(fx->st, &n, &err), GS_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_towns_and_grids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_admins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_a_schema_9_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
