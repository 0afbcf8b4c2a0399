/*
 * admin_registry.c: see admin_registry.h. Arguments are checked before any store use;
 * every write runs in its own transaction and rolls back whole on any failure.
 *
 * The county owns the registry and the admins: every write here, and the list of admins,
 * needs a county admin (GS_E_READ_ONLY, a 403, for the others: it reveals nothing about any
 * town). Reads of towns and grids are filtered by the admin's scope.
 */
#include "admin_registry.h"

#include "common/alloc.h"
#include "common/utf8.h"
#include "auth.h"
#include "jout.h"

#include <stdio.h>
#include <string.h>

/* s is 1..max bytes of UTF-8 without control characters. */
static int clean(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max || !utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return 0;
    return 1;
}

/* body[key] as clean text of at most max bytes into out (cap > max); required or not.
 * 1 found, 0 absent (allowed), or GS_E_INVALID with the message in err. */
static int text_member(const json_t *body, const char *key, size_t max, int required, char *out,
                       size_t cap, const char *where, gs_err *err)
{
    const json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v)) {
        if (required)
            return -gs_err_set(err, GS_E_INVALID, "%s%s is required", where, key);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !clean(json_string_value(v), max))
        return -gs_err_set(err, GS_E_INVALID,
                           "%s%s must be text of 1 to %zu bytes without control characters",
                           where, key, max);
    snprintf(out, cap, "%s", json_string_value(v));
    return 1;
}

/* body is an object whose members are among keys. */
static int only_keys(const json_t *body, const char *const *keys, size_t n, gs_err *err)
{
    const char *k;
    json_t *v;

    if (!json_is_object(body))
        return gs_err_set(err, GS_E_INVALID, "the body must be a JSON object");
    json_object_foreach((json_t *)body, k, v)
    {
        size_t i = 0;
        (void)v;
        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        if (i == n)
            return gs_err_set(err, GS_E_INVALID, "unknown member '%.64s'", k);
    }
    return GS_OK;
}

static int county_only(const admin_scope *sc, gs_err *err)
{
    if (admin_scope_is_county(sc))
        return GS_OK;
    return gs_err_set(err, GS_E_READ_ONLY,
                      "only a county admin may change the registry or the admins");
}

static int finish(int bad, json_t *o, json_t **out, gs_err *err)
{
    if (bad || !o) {
        json_decref(o);
        return gs_err_set(err, GS_E_NOMEM, "out of memory building the answer");
    }
    *out = o;
    return GS_OK;
}

/* ---- towns ---------------------------------------------------------------------------- */

typedef struct list_ctx {
    admin_scope *sc; /* the admin */
    json_t *list;    /* being filled */
    int bad;         /* a JSON allocation failed */
} list_ctx;

static int town_cb(void *ud, const char *town, int64_t created_ms, int64_t n_grids)
{
    list_ctx *lc = ud;
    json_t *o;

    if (!admin_scope_has_town(lc->sc, town))
        return GS_OK;
    o = json_object();
    jout_set(&lc->bad, o, "name", jout_str(town));
    jout_set(&lc->bad, o, "grids", json_integer(n_grids));
    jout_set(&lc->bad, o, "created_ms", json_integer(created_ms));
    jout_set(&lc->bad, o, "created", jout_iso(created_ms));
    jout_append(&lc->bad, lc->list, o);
    return GS_OK;
}

int admin_reg_towns(admin_scope *sc, json_t **out, gs_err *err)
{
    list_ctx lc = {sc, json_array(), 0};
    json_t *o;
    int rc = store_town_list(sc->st, town_cb, &lc, err);

    if (rc) {
        json_decref(lc.list);
        return rc;
    }
    o = json_object();
    jout_set(&lc.bad, o, "towns", lc.list);
    return finish(lc.bad, o, out, err);
}

int admin_reg_town_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                       gs_err *err)
{
    static const char *const keys[] = {"name"};
    char town[STORE_REG_TEXT_MAX + 1];
    int bad = 0, rc = county_only(sc, err);
    json_t *o;

    if (!rc)
        rc = only_keys(body, keys, 1, err);
    if (!rc && text_member(body, "name", STORE_REG_TEXT_MAX, 1, town, sizeof(town), "", err) < 0)
        rc = GS_E_INVALID;
    if (!rc)
        rc = store_begin(sc->st, err);
    if (rc)
        return rc;
    rc = store_town_add(sc->st, town, now_ms, err);
    if (!rc)
        rc = store_commit(sc->st, err);
    if (rc) {
        store_rollback(sc->st);
        return rc;
    }
    o = json_object();
    jout_set(&bad, o, "name", jout_str(town));
    jout_set(&bad, o, "grids", json_integer(0));
    jout_set(&bad, o, "created_ms", json_integer(now_ms));
    jout_set(&bad, o, "created", jout_iso(now_ms));
    return finish(bad, o, out, err);
}

/* ---- grids ---------------------------------------------------------------------------- */

static json_t *grid_json(const store_grid *g, int *bad)
{
    json_t *o = json_object();

    jout_set(bad, o, "code", jout_str(g->code));
    jout_set(bad, o, "name", jout_str(g->name));
    jout_set(bad, o, "village", jout_str(g->village));
    jout_set(bad, o, "town", jout_str(g->town));
    jout_set(bad, o, "created_ms", json_integer(g->created_ms));
    jout_set(bad, o, "created", jout_iso(g->created_ms));
    return o;
}

typedef struct grids_ctx {
    admin_scope *sc;   /* the admin */
    store_grid *grids; /* copied, to sort by town then code */
    size_t n, cap;     /* entries, room */
} grids_ctx;

static int grid_cb(void *ud, const store_grid *g)
{
    grids_ctx *gc = ud;

    if (!admin_scope_has_town(gc->sc, g->town))
        return GS_OK;
    if (gc->n == gc->cap) {
        size_t cap = gc->cap ? gc->cap * 2 : 64;
        store_grid *n = gs_realloc(gc->grids, cap * sizeof(*n));
        if (!n)
            return GS_E_NOMEM;
        gc->grids = n;
        gc->cap = cap;
    }
    gc->grids[gc->n++] = *g;
    return GS_OK;
}

static int by_town_code(const void *pa, const void *pb)
{
    const store_grid *a = pa, *b = pb;
    int c = strcmp(a->town, b->town);
    return c ? c : strcmp(a->code, b->code);
}

int admin_reg_grids(admin_scope *sc, const char *town, json_t **out, gs_err *err)
{
    grids_ctx gc = {sc, NULL, 0, 0};
    json_t *o, *list;
    int bad = 0, rc;

    if (town && !admin_scope_has_town(sc, town))
        return gs_err_set(err, GS_E_NOTFOUND, "no town %s", town);
    rc = store_grid_list(sc->st, town, grid_cb, &gc, err);
    if (rc == GS_E_NOMEM)
        gs_err_set(err, rc, "grids: out of memory");
    if (rc) {
        gs_free(gc.grids);
        return rc;
    }
    if (gc.n)
        qsort(gc.grids, gc.n, sizeof(*gc.grids), by_town_code);
    list = json_array();
    for (size_t i = 0; i < gc.n; i++)
        jout_append(&bad, list, grid_json(&gc.grids[i], &bad));
    gs_free(gc.grids);
    o = json_object();
    jout_set(&bad, o, "grids", list);
    return finish(bad, o, out, err);
}

/* One grid of a body (or of an import's entry) into g; where prefixes messages. */
static int grid_args(const json_t *j, store_grid *g, const char *where, gs_err *err)
{
    static const char *const keys[] = {"code", "name", "village", "town"};
    int rc = only_keys(j, keys, 4, err);

    if (rc) {
        gs_err_prefix(err, "%s", where);
        return rc;
    }
    memset(g, 0, sizeof(*g));
    if (text_member(j, "code", GS_LIMIT_NAME, 1, g->code, sizeof(g->code), where, err) < 0 ||
        text_member(j, "name", STORE_REG_TEXT_MAX, 1, g->name, sizeof(g->name), where, err) < 0 ||
        text_member(j, "village", STORE_REG_TEXT_MAX, 1, g->village, sizeof(g->village), where,
                    err) < 0 ||
        text_member(j, "town", STORE_REG_TEXT_MAX, 1, g->town, sizeof(g->town), where, err) < 0)
        return GS_E_INVALID;
    return GS_OK;
}

int admin_reg_grid_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                       gs_err *err)
{
    store_grid g;
    int bad = 0, rc = county_only(sc, err);

    if (!rc)
        rc = grid_args(body, &g, "", err);
    if (!rc)
        rc = store_begin(sc->st, err);
    if (rc)
        return rc;
    g.created_ms = now_ms;
    rc = store_grid_put(sc->st, &g, 0, err);
    if (!rc)
        rc = store_commit(sc->st, err);
    if (rc) {
        store_rollback(sc->st);
        return rc;
    }
    return finish(bad, grid_json(&g, &bad), out, err);
}

int admin_reg_grid_move(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                        gs_err *err)
{
    static const char *const keys[] = {"code", "town", "village"};
    char code[GS_LIMIT_NAME + 1], town[STORE_REG_TEXT_MAX + 1], village[STORE_REG_TEXT_MAX + 1];
    int bad = 0, has_town = 0, has_village = 0, rc = county_only(sc, err);
    store_grid g;

    (void)now_ms;
    if (!rc)
        rc = only_keys(body, keys, 3, err);
    if (!rc && (text_member(body, "code", GS_LIMIT_NAME, 1, code, sizeof(code), "", err) < 0 ||
                (has_town = text_member(body, "town", STORE_REG_TEXT_MAX, 0, town, sizeof(town),
                                        "", err)) < 0 ||
                (has_village = text_member(body, "village", STORE_REG_TEXT_MAX, 0, village,
                                           sizeof(village), "", err)) < 0))
        rc = GS_E_INVALID;
    if (!rc && !has_town && !has_village)
        rc = gs_err_set(err, GS_E_INVALID, "give the grid's new town, village or both");
    if (!rc)
        rc = store_begin(sc->st, err);
    if (rc)
        return rc;
    rc = store_grid_get(sc->st, code, &g, err);
    if (!rc) {
        if (has_town)
            snprintf(g.town, sizeof(g.town), "%s", town);
        if (has_village)
            snprintf(g.village, sizeof(g.village), "%s", village);
        rc = store_grid_put(sc->st, &g, 1, err);
    }
    if (!rc)
        rc = store_commit(sc->st, err);
    if (rc) {
        store_rollback(sc->st);
        return rc;
    }
    return finish(bad, grid_json(&g, &bad), out, err);
}

int admin_reg_grid_import(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                          gs_err *err)
{
    static const char *const keys[] = {"grids"};
    const json_t *list = json_object_get(body, "grids"), *j;
    int64_t added = 0, updated = 0, towns_added = 0;
    store_grid *g = gs_malloc(sizeof(*g)), *old = gs_malloc(sizeof(*old));
    char where[48];
    size_t i;
    int bad = 0, rc = county_only(sc, err);
    json_t *o;

    if (!g || !old)
        rc = gs_err_set(err, GS_E_NOMEM, "import: out of memory");
    if (!rc)
        rc = only_keys(body, keys, 1, err);
    if (!rc && (!json_is_array(list) || json_array_size(list) == 0 ||
                json_array_size(list) > ADMIN_IMPORT_MAX))
        rc = gs_err_set(err, GS_E_INVALID, "grids must be an array of 1 to %u grids",
                        ADMIN_IMPORT_MAX);
    json_array_foreach(list, i, j) /* every entry is checked before anything is written */
    {
        snprintf(where, sizeof(where), "grids[%zu]: ", i);
        if (!rc)
            rc = grid_args(j, g, where, err);
    }
    if (!rc)
        rc = store_begin(sc->st, err);
    json_array_foreach(list, i, j)
    {
        int has_town = 0, was;
        if (rc)
            break;
        snprintf(where, sizeof(where), "grids[%zu]: ", i);
        grid_args(j, g, where, err);
        g->created_ms = now_ms;
        rc = store_town_has(sc->st, g->town, &has_town, err);
        if (!rc && !has_town) {
            rc = store_town_add(sc->st, g->town, now_ms, err);
            towns_added += !rc;
        }
        if (rc)
            break;
        was = store_grid_get(sc->st, g->code, old, err);
        if (was && was != GS_E_NOTFOUND) {
            rc = was;
            break;
        }
        if (was == GS_OK)
            g->created_ms = old->created_ms;
        rc = store_grid_put(sc->st, g, 1, err);
        if (!rc && was == GS_OK)
            updated++;
        else if (!rc)
            added++;
    }
    if (!rc)
        rc = store_commit(sc->st, err);
    gs_free(g);
    gs_free(old);
    if (rc) {
        store_rollback(sc->st);
        return rc;
    }
    o = json_object();
    jout_set(&bad, o, "grids", json_integer(added + updated));
    jout_set(&bad, o, "added", json_integer(added));
    jout_set(&bad, o, "updated", json_integer(updated));
    jout_set(&bad, o, "towns_added", json_integer(towns_added));
    return finish(bad, o, out, err);
}

int admin_reg_grids_known(store *st, const char *const *grids, size_t n, const char **missing,
                          gs_err *err)
{
    store_grid g;
    int64_t count = 0;
    int rc = store_grid_count(st, &count, err);

    if (rc)
        return -rc;
    for (size_t i = 0; count > 0 && i < n; i++) {
        rc = store_grid_get(st, grids[i], &g, err);
        if (rc == GS_E_NOTFOUND) {
            *missing = grids[i];
            return 0;
        }
        if (rc)
            return -rc;
    }
    return 1;
}

/* ---- admins --------------------------------------------------------------------------- */

json_t *admin_reg_admin_json(const store_admin *a, int *bad)
{
    json_t *o = json_object(), *towns = json_array();

    for (size_t i = 0; i < a->n_towns; i++)
        jout_append(bad, towns, jout_str(a->towns[i]));
    jout_set(bad, o, "id", jout_str(a->id));
    jout_set(bad, o, "name", jout_str(a->name));
    jout_set(bad, o, "role", jout_str(a->role));
    jout_set(bad, o, "towns", towns);
    jout_set(bad, o, "created_ms", json_integer(a->created_ms));
    jout_set(bad, o, "created", jout_iso(a->created_ms));
    jout_set(bad, o, "revoked", json_boolean(a->revoked_ms != 0));
    jout_set(bad, o, "revoked_ms", json_integer(a->revoked_ms));
    return o;
}

static int admin_cb(void *ud, const store_admin *a)
{
    list_ctx *lc = ud;
    jout_append(&lc->bad, lc->list, admin_reg_admin_json(a, &lc->bad));
    return GS_OK;
}

int admin_reg_admins(admin_scope *sc, json_t **out, gs_err *err)
{
    list_ctx lc = {sc, NULL, 0};
    json_t *o;
    int rc = county_only(sc, err);

    if (rc)
        return rc;
    lc.list = json_array();
    rc = store_admin_list(sc->st, admin_cb, &lc, err);
    if (rc) {
        json_decref(lc.list);
        return rc;
    }
    o = json_object();
    jout_set(&lc.bad, o, "admins", lc.list);
    return finish(lc.bad, o, out, err);
}

/* The body of POST /admins into a (without id and token). */
static int admin_args(const json_t *body, store_admin *a, gs_err *err)
{
    static const char *const keys[] = {"name", "role", "towns"};
    const json_t *towns = json_object_get(body, "towns"), *t;
    admin_role role;
    size_t i;
    int rc = only_keys(body, keys, 3, err);

    if (rc)
        return rc;
    memset(a, 0, sizeof(*a));
    if (text_member(body, "name", GS_LIMIT_NAME, 1, a->name, sizeof(a->name), "", err) < 0 ||
        text_member(body, "role", sizeof(a->role) - 1, 1, a->role, sizeof(a->role), "", err) < 0)
        return GS_E_INVALID;
    if (admin_role_parse(a->role, &role))
        return gs_err_set(err, GS_E_INVALID, "role must be county, town or viewer");
    if (towns && !json_is_null(towns) &&
        (!json_is_array(towns) || json_array_size(towns) > STORE_ADMIN_TOWNS))
        return gs_err_set(err, GS_E_INVALID, "towns must be an array of at most %d towns",
                          STORE_ADMIN_TOWNS);
    json_array_foreach(towns, i, t)
    {
        if (!json_is_string(t) || !clean(json_string_value(t), STORE_REG_TEXT_MAX))
            return gs_err_set(err, GS_E_INVALID, "towns[%zu]: a town is text of 1 to %d bytes",
                              i, STORE_REG_TEXT_MAX);
        snprintf(a->towns[a->n_towns++], sizeof(a->towns[0]), "%s", json_string_value(t));
    }
    if (role == ROLE_TOWN && a->n_towns == 0)
        return gs_err_set(err, GS_E_INVALID, "a town admin needs at least one town");
    if (role == ROLE_COUNTY && a->n_towns > 0)
        return gs_err_set(err, GS_E_INVALID, "a county admin has every town: give no towns");
    return GS_OK;
}

int admin_reg_admin_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                        gs_err *err)
{
    char token[AUTH_TOKEN_MAX + 1];
    store_admin *a = gs_malloc(sizeof(*a));
    int bad = 0, rc = county_only(sc, err);
    json_t *o = NULL;

    if (!a)
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (!rc)
        rc = admin_args(body, a, err);
    if (!rc) {
        a->created_ms = now_ms;
        rc = auth_new_id(AUTH_ADMIN_PREFIX, a->id, sizeof(a->id));
        if (!rc)
            rc = auth_new_token(a->id, token, sizeof(token), a->token_hash);
        if (rc)
            gs_err_set(err, rc, "cannot make a token: %s", gs_strerror(rc));
    }
    if (!rc)
        rc = store_begin(sc->st, err);
    if (!rc) {
        rc = store_admin_put(sc->st, a, err);
        if (!rc)
            rc = store_commit(sc->st, err);
        if (rc)
            store_rollback(sc->st);
    }
    if (!rc) {
        o = admin_reg_admin_json(a, &bad);
        jout_set(&bad, o, "token", json_string(token));
        rc = finish(bad, o, out, err);
    }
    memset(token, 0, sizeof(token));
    gs_free(a);
    return rc;
}

typedef struct county_count {
    const char *except; /* the admin being revoked */
    int64_t n;          /* other active county admins */
} county_count;

static int count_cb(void *ud, const store_admin *a)
{
    county_count *cc = ud;
    cc->n += !a->revoked_ms && strcmp(a->role, "county") == 0 && strcmp(a->id, cc->except) != 0;
    return GS_OK;
}

int admin_reg_admin_revoke(admin_scope *sc, const char *id, int64_t now_ms, json_t **out,
                           gs_err *err)
{
    store_admin *a = gs_malloc(sizeof(*a));
    county_count cc = {id, 0};
    int bad = 0, rc = county_only(sc, err);

    if (!a)
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (!rc)
        rc = store_begin(sc->st, err);
    if (!rc)
        rc = store_admin_load(sc->st, id, strlen(id), a, err);
    if (rc == GS_E_NOTFOUND)
        gs_err_set(err, rc, "no admin %s", id);
    /* the county must keep a way in: its last active county admin stays */
    if (!rc && strcmp(a->role, "county") == 0 && !a->revoked_ms)
        rc = store_admin_list(sc->st, count_cb, &cc, err);
    if (!rc && strcmp(a->role, "county") == 0 && !a->revoked_ms && cc.n == 0)
        rc = gs_err_set(err, GS_E_STATE,
                        "%s is the last active county admin: add another county admin first",
                        a->name);
    if (!rc)
        rc = store_admin_revoke(sc->st, id, now_ms, err);
    if (!rc)
        rc = store_admin_load(sc->st, id, strlen(id), a, err);
    if (!rc)
        rc = store_commit(sc->st, err);
    if (rc)
        store_rollback(sc->st);
    else
        rc = finish(bad, admin_reg_admin_json(a, &bad), out, err);
    gs_free(a);
    return rc;
}
