/*
 * store_registry.c: the grid registry (towns, grids) and the named admins with their roles
 * (issue 20; store.h "the grid registry and named admins"), on either engine.
 *
 * These are admin operations, a few a minute at most: each statement is prepared for its
 * call and finalized after it, so this file keeps no slots in the store handle.
 *
 * Invariants:
 *  - a grid's town and an admin's towns are registered towns (foreign keys; checked here
 *    first so the caller gets GS_E_NOTFOUND with the town's name rather than a constraint
 *    error);
 *  - an admin's name is unique (index admins_name): the audit names admins by it.
 */
#include "store_db.h"

#include "common/alloc.h"

/* The admins' columns, as read_admin reads them. */
#define ADMIN_COLS "id, name, role, token_hash, created, revoked"

/* A statement for this call; finalize it with eng_finalize. */
static int once(store *s, const char *sql, eng_stmt **out, gs_err *err)
{
    return eng_prepare(s->e, sql, out, err);
}

/* Runs st (no rows) and finalizes it. */
static int run_once(store *s, eng_stmt *st, gs_err *err)
{
    int rc = step(s, st, NULL, err);
    eng_finalize(st);
    return rc;
}

/* ---- towns ---------------------------------------------------------------------------- */

int store_town_add(store *s, const char *town, int64_t now_ms, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = once(s, "INSERT INTO towns (name, created) VALUES (?1, ?2)", &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, town);
    eng_bind_i64(st, 2, now_ms);
    rc = run_once(s, st, err);
    if (rc == GS_E_EXISTS)
        gs_err_set(err, rc, "town %s is registered already", town);
    return rc;
}

int store_town_has(store *s, const char *town, int *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = once(s, "SELECT 1 FROM towns WHERE name = ?1", &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, town);
    rc = step(s, st, &row, err);
    eng_finalize(st);
    if (!rc)
        *out = row;
    return rc;
}

int store_town_list(store *s, store_town_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = once(s,
                           "SELECT t.name, t.created, "
                           "  (SELECT count(*) FROM grids g WHERE g.town = t.name) "
                           "FROM towns t ORDER BY t.name LIMIT 100000",
                           &st, err);

    while (!rc && !(rc = step(s, st, &row, err)) && row)
        rc = cb(ud, eng_col_text(st, 0), eng_col_i64(st, 1), eng_col_i64(st, 2));
    eng_finalize(st);
    return rc;
}

/* ---- grids ---------------------------------------------------------------------------- */

static int town_must_exist(store *s, const char *town, gs_err *err)
{
    int has = 0, rc = store_town_has(s, town, &has, err);

    if (!rc && !has)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no town %s: register it first (town add)", town);
    return rc;
}

int store_grid_put(store *s, const store_grid *g, int replace, gs_err *err)
{
    static const char add[] =
        "INSERT INTO grids (code, name, village, town, created) VALUES (?1, ?2, ?3, ?4, ?5)";
    static const char put[] =
        "INSERT INTO grids (code, name, village, town, created) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, village = excluded.village, "
        "town = excluded.town";
    eng_stmt *st = NULL;
    int rc = town_must_exist(s, g->town, err);

    if (!rc)
        rc = once(s, replace ? put : add, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, g->code);
    bind_text(st, 2, g->name);
    bind_text(st, 3, g->village);
    bind_text(st, 4, g->town);
    eng_bind_i64(st, 5, g->created_ms);
    rc = run_once(s, st, err);
    if (rc == GS_E_EXISTS)
        gs_err_set(err, rc, "grid %s is registered already", g->code);
    return rc;
}

static void read_grid(eng_stmt *st, store_grid *g)
{
    col_text(st, 0, g->code, sizeof(g->code));
    col_text(st, 1, g->name, sizeof(g->name));
    col_text(st, 2, g->village, sizeof(g->village));
    col_text(st, 3, g->town, sizeof(g->town));
    g->created_ms = eng_col_i64(st, 4);
}

int store_grid_get(store *s, const char *code, store_grid *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = once(s,
                           "SELECT code, name, village, town, created FROM grids WHERE code = ?1",
                           &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, code);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no grid %s", code);
    if (!rc)
        read_grid(st, out);
    eng_finalize(st);
    return rc;
}

int store_grid_count(store *s, int64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = once(s, "SELECT count(*) FROM grids", &st, err);

    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    if (!rc)
        *out = row ? eng_col_i64(st, 0) : 0;
    eng_finalize(st);
    return rc;
}

int store_grid_list(store *s, const char *town, store_grid_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    store_grid *g = gs_malloc(sizeof(*g));
    int row = 0, rc;

    if (!g)
        return gs_err_set(err, GS_E_NOMEM, "store: out of memory");
    rc = once(s,
              town ? "SELECT code, name, village, town, created FROM grids WHERE town = ?1 "
                     "ORDER BY code LIMIT 100000"
                   : "SELECT code, name, village, town, created FROM grids ORDER BY code "
                     "LIMIT 100000",
              &st, err);
    if (!rc && town)
        bind_text(st, 1, town);
    while (!rc && !(rc = step(s, st, &row, err)) && row) {
        read_grid(st, g);
        rc = cb(ud, g);
    }
    eng_finalize(st);
    gs_free(g);
    return rc;
}
_Static_assert(STORE_GRIDS_MAX == 100000, "the LIMIT of the lists above");

/* ---- admins --------------------------------------------------------------------------- */

int store_admin_put(store *s, const store_admin *a, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = GS_OK;

    for (size_t i = 0; !rc && i < a->n_towns; i++)
        rc = town_must_exist(s, a->towns[i], err);
    if (!rc)
        rc = once(s,
                  "INSERT INTO admins (id, token_hash, created, name, role, revoked) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                  &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, a->id);
    eng_bind_blob(st, 2, a->token_hash, STORE_HASH_LEN);
    eng_bind_i64(st, 3, a->created_ms);
    bind_text(st, 4, a->name);
    bind_text(st, 5, a->role);
    rc = run_once(s, st, err);
    if (rc == GS_E_EXISTS)
        return gs_err_set(err, rc, "an admin named %s exists already", a->name);
    for (size_t i = 0; !rc && i < a->n_towns; i++) {
        rc = once(s, "INSERT INTO admin_towns (admin, town) VALUES (?1, ?2)", &st, err);
        if (rc)
            break;
        bind_text(st, 1, a->id);
        bind_text(st, 2, a->towns[i]);
        rc = run_once(s, st, err);
        if (rc == GS_E_EXISTS)
            rc = GS_OK; /* a town given twice */
    }
    return rc;
}

/* The row's columns (ADMIN_COLS) into out, then its towns. */
static int read_admin(store *s, eng_stmt *row_st, store_admin *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc;

    memset(out, 0, sizeof(*out));
    col_text(row_st, 0, out->id, sizeof(out->id));
    col_text(row_st, 1, out->name, sizeof(out->name));
    col_text(row_st, 2, out->role, sizeof(out->role));
    if (eng_col_bytes(row_st, 3) == STORE_HASH_LEN)
        memcpy(out->token_hash, eng_col_blob(row_st, 3), STORE_HASH_LEN);
    out->created_ms = eng_col_i64(row_st, 4);
    out->revoked_ms = eng_col_i64(row_st, 5);
    rc = once(s, "SELECT town FROM admin_towns WHERE admin = ?1 ORDER BY town LIMIT 16", &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, out->id);
    while (!(rc = step(s, st, &row, err)) && row && out->n_towns < STORE_ADMIN_TOWNS) {
        col_text(st, 0, out->towns[out->n_towns], sizeof(out->towns[0]));
        out->n_towns++;
    }
    eng_finalize(st);
    return rc;
}
_Static_assert(STORE_ADMIN_TOWNS == 16, "the LIMIT of read_admin");

int store_admin_load(store *s, const char *id, size_t id_len, store_admin *out, gs_err *err)
{
    eng_stmt *st = NULL;
    store_admin *a = gs_malloc(sizeof(*a));
    int row = 0, rc;

    if (!a)
        return gs_err_set(err, GS_E_NOMEM, "store: out of memory");
    rc = once(s, "SELECT " ADMIN_COLS " FROM admins WHERE id = ?1", &st, err);
    if (!rc) {
        eng_bind_textn(st, 1, id, id_len);
        rc = step(s, st, &row, err);
    }
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no such admin");
    /* the towns are read with the row's statement still open: fine on both engines
     * (PostgreSQL has the whole result already) */
    if (!rc)
        rc = read_admin(s, st, a, err);
    eng_finalize(st);
    if (!rc)
        memcpy(out, a, sizeof(*a));
    gs_free(a);
    return rc;
}

int store_admin_revoke(store *s, const char *id, int64_t now_ms, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = once(s,
                  "UPDATE admins SET revoked = CASE WHEN revoked = 0 THEN ?2 ELSE revoked END "
                  "WHERE id = ?1",
                  &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    rc = step(s, st, NULL, err);
    if (!rc && eng_changes(s->e) == 0)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no admin %s", id);
    eng_finalize(st);
    return rc;
}

int store_admin_list(store *s, store_admin_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    store_admin *a = gs_malloc(sizeof(*a));
    int row = 0, rc;

    if (!a)
        return gs_err_set(err, GS_E_NOMEM, "store: out of memory");
    rc = once(s, "SELECT " ADMIN_COLS " FROM admins ORDER BY name LIMIT 100000", &st, err);
    while (!rc && !(rc = step(s, st, &row, err)) && row) {
        rc = read_admin(s, st, a, err);
        if (!rc)
            rc = cb(ud, a);
    }
    eng_finalize(st);
    gs_free(a);
    return rc;
}
