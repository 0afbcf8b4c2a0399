/*
 * admin_registry.h: the admin API's towns, grids and admins (issue 20, docs/ADMIN-API.md
 * "Towns and grids", "Admins and roles"):
 *
 *   GET  /v1/admin/towns                   -> {"towns":[{"name","grids","created"}]}
 *   POST /v1/admin/towns                   {"name"} -> 201 the town           (county)
 *   GET  /v1/admin/grids?town=T            -> {"grids":[...]} by town, then code
 *   POST /v1/admin/grids                   {"code","name","village","town"} -> 201 (county)
 *   POST /v1/admin/grids/move              {"code","town","village"?} -> the grid (county)
 *   POST /v1/admin/grids/import            {"grids":[{code,name,village,town}...]} (county)
 *   GET  /v1/admin/admins                  -> {"admins":[...]}                (county)
 *   POST /v1/admin/admins                  {"name","role","towns"} -> 201 with "token" once
 *   POST /v1/admin/admins/{id}/revoke      -> the admin                       (county)
 *
 * Each function answers with a gs_rc the caller maps to the HTTP status: GS_OK 200 (201
 * for a creation), GS_E_INVALID 400, GS_E_READ_ONLY 403 (not the admin's role),
 * GS_E_NOTFOUND 404, GS_E_EXISTS and GS_E_STATE 409, anything else 500; err holds the
 * message. Writes are one store transaction each: an import is all or nothing.
 */
#ifndef GS_SERVER_ADMIN_REGISTRY_H
#define GS_SERVER_ADMIN_REGISTRY_H

#include <stdint.h>

#include <jansson.h>

#include "common/rc.h"
#include "admin_roles.h"
#include "store.h"

#define ADMIN_IMPORT_MAX 20000u /* grids one import may hold */

int admin_reg_towns(admin_scope *sc, json_t **out, gs_err *err);
int admin_reg_town_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                       gs_err *err);
/* town: only its grids (NULL: all the admin reaches). */
int admin_reg_grids(admin_scope *sc, const char *town, json_t **out, gs_err *err);
int admin_reg_grid_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                       gs_err *err);
int admin_reg_grid_move(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                        gs_err *err);
int admin_reg_grid_import(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                          gs_err *err);
int admin_reg_admins(admin_scope *sc, json_t **out, gs_err *err);
int admin_reg_admin_add(admin_scope *sc, const json_t *body, int64_t now_ms, json_t **out,
                        gs_err *err);
int admin_reg_admin_revoke(admin_scope *sc, const char *id, int64_t now_ms, json_t **out,
                           gs_err *err);

/* An admin as the API shows it (never its token hash). */
json_t *admin_reg_admin_json(const store_admin *a, int *bad);

/* 1 when every grid of the n is registered, or when the registry is empty (devices may then
 * name any grid, as before the registry); else 0 with the first unregistered one in
 * *missing. A negative gs_rc when the store fails. */
int admin_reg_grids_known(store *st, const char *const *grids, size_t n, const char **missing,
                          gs_err *err);

#endif
