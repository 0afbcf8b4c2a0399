/*
 * admin_roles.c: see admin_roles.h. The registry is small (a county: 3,658 grids) and an
 * admin request is rare, so a request that needs a grid's town reads the whole registry
 * once into a sorted array and answers every later question by binary search, in byte
 * order as the store sorts (COLLATE "C" on PostgreSQL).
 */
#include "admin_roles.h"

#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {"county", "town", "viewer"};

int admin_role_parse(const char *name, admin_role *out)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (name && strcmp(name, role_names[i]) == 0) {
            *out = (admin_role)i;
            return GS_OK;
        }
    return GS_E_INVALID;
}

const char *admin_role_name(admin_role role)
{
    return role >= 0 && role < ROLE_COUNT ? role_names[role] : "?";
}

int admin_scope_init(admin_scope *sc, store *st, const store_admin *a)
{
    memset(sc, 0, sizeof(*sc));
    sc->st = st;
    sc->who = *a;
    if (admin_role_parse(a->role, &sc->role))
        return GS_E_INVALID;
    sc->all = sc->role == ROLE_COUNTY || (sc->role == ROLE_VIEWER && a->n_towns == 0);
    return GS_OK;
}

void admin_scope_free(admin_scope *sc)
{
    gs_free(sc->grids);
    sc->grids = NULL;
    sc->n_grids = 0;
    sc->loaded = 0;
}

int admin_scope_can_write(const admin_scope *sc)
{
    return sc->role != ROLE_VIEWER;
}

int admin_scope_is_county(const admin_scope *sc)
{
    return sc->role == ROLE_COUNTY;
}

int admin_scope_has_town(const admin_scope *sc, const char *town)
{
    if (sc->all)
        return 1;
    for (size_t i = 0; i < sc->who.n_towns; i++)
        if (strcmp(sc->who.towns[i], town) == 0)
            return 1;
    return 0;
}

typedef struct load_ctx {
    admin_scope *sc; /* being filled */
    size_t cap;      /* room in sc->grids */
} load_ctx;

static int load_cb(void *ud, const store_grid *g)
{
    load_ctx *lc = ud;
    admin_scope *sc = lc->sc;

    if (sc->n_grids == lc->cap) {
        size_t cap = lc->cap ? lc->cap * 2 : 64;
        admin_scope_entry *n = gs_realloc(sc->grids, cap * sizeof(*n));
        if (!n)
            return GS_E_NOMEM;
        sc->grids = n;
        lc->cap = cap;
    }
    memcpy(sc->grids[sc->n_grids].code, g->code, sizeof(g->code));
    memcpy(sc->grids[sc->n_grids].town, g->town, sizeof(g->town));
    sc->n_grids++;
    return GS_OK;
}

static int load(admin_scope *sc, gs_err *err)
{
    load_ctx lc = {sc, 0};
    int rc;

    if (sc->loaded)
        return GS_OK;
    rc = store_grid_list(sc->st, NULL, load_cb, &lc, err);
    if (rc == GS_E_NOMEM)
        gs_err_set(err, rc, "registry: out of memory");
    if (rc) {
        admin_scope_free(sc);
        return rc;
    }
    sc->loaded = 1;
    return GS_OK;
}

static int by_code(const void *key, const void *elem)
{
    return strcmp(key, ((const admin_scope_entry *)elem)->code);
}

const char *admin_scope_town_of(admin_scope *sc, const char *grid, gs_err *err)
{
    const admin_scope_entry *g;

    if (load(sc, err) || !sc->n_grids)
        return "";
    g = bsearch(grid, sc->grids, sc->n_grids, sizeof(*sc->grids), by_code);
    return g ? g->town : "";
}

int admin_scope_grid(admin_scope *sc, const char *grid, gs_err *err)
{
    const char *town;
    int rc;

    if (sc->all)
        return 1;
    rc = load(sc, err);
    if (rc)
        return -rc;
    town = admin_scope_town_of(sc, grid, err);
    return town[0] && admin_scope_has_town(sc, town);
}

int admin_scope_grid_ok(void *ud, const char *grid)
{
    gs_err ignored;
    return admin_scope_grid(ud, grid, &ignored) == 1;
}

const char *admin_scope_town_cb(void *ud, const char *grid)
{
    gs_err ignored;
    return admin_scope_town_of(ud, grid, &ignored);
}
