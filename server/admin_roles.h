/*
 * admin_roles.h: what an admin may see and do (issue 20, docs/ADMIN-API.md "Admins and
 * roles"): the role of a named admin and the scope of grids it reaches.
 *
 *   role     reads                              writes
 *   county   everything                         everything, the registry and the admins
 *   town     the grids of its towns             in those grids (devices, resolutions, acks)
 *   viewer   everything, or its towns' grids    nothing (403)
 *
 * Invariants:
 *  - a grid is in a limited scope only when the registry puts it in one of the admin's
 *    towns: an unregistered grid is the county's alone;
 *  - what is outside the scope does not exist for the admin: the API answers 404 for it,
 *    never 403, so its existence is not revealed; lists leave it out;
 *  - the registry (grid code -> town) is read once per request, on first need.
 */
#ifndef GS_SERVER_ADMIN_ROLES_H
#define GS_SERVER_ADMIN_ROLES_H

#include <stddef.h>

#include "common/rc.h"
#include "store.h"

typedef enum admin_role { ROLE_COUNTY, ROLE_TOWN, ROLE_VIEWER, ROLE_COUNT } admin_role;

/* The role called name ("county", "town", "viewer"): GS_OK, or GS_E_INVALID. */
int admin_role_parse(const char *name, admin_role *out);
const char *admin_role_name(admin_role role);

/* One registered grid's town, as the scope keeps it. */
typedef struct admin_scope_entry {
    char code[GS_LIMIT_NAME + 1];      /* the grid */
    char town[STORE_REG_TEXT_MAX + 1]; /* its town */
} admin_scope_entry;

/* The signed-in admin and what it reaches. */
typedef struct admin_scope {
    store_admin who;          /* the admin as stored */
    admin_role role;          /* its role */
    int all;                  /* 1: every grid (county, or a viewer without towns) */
    store *st;                /* the registry is read from it (under the caller's lock) */
    admin_scope_entry *grids;  /* the whole registry by code, once read; NULL before */
    size_t n_grids;           /* entries in grids */
    int loaded;               /* grids has been read */
} admin_scope;

/* The scope of admin a (copied). GS_E_INVALID for a role the store should not hold. */
int admin_scope_init(admin_scope *sc, store *st, const store_admin *a);
void admin_scope_free(admin_scope *sc);

/* 1 when the admin may write (not a viewer). */
int admin_scope_can_write(const admin_scope *sc);
/* 1 when the admin is a county admin (the registry and the admins are theirs). */
int admin_scope_is_county(const admin_scope *sc);
/* 1 when the town is the admin's (always for a whole-county scope). */
int admin_scope_has_town(const admin_scope *sc, const char *town);
/* 1 when grid is in the scope, 0 when not, or a negative gs_rc when the registry cannot be
 * read (err says why). */
int admin_scope_grid(admin_scope *sc, const char *grid, gs_err *err);
/* The town the registry gives grid, "" for an unregistered grid (or a store failure, then
 * also in err). */
const char *admin_scope_town_of(admin_scope *sc, const char *grid, gs_err *err);
/* For the filters of dash.c, admin_records.c and admin_warnings.c: 1 when grid is in the
 * scope ud (an admin_scope); a registry that cannot be read hides the grid. */
int admin_scope_grid_ok(void *ud, const char *grid);
/* For dash.c's grouping: the town of grid in the scope ud, "" when unregistered. */
const char *admin_scope_town_cb(void *ud, const char *grid);

#endif
