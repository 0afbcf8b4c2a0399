/*
 * registry.h: gridsync-admin's commands for the county's towns and grids and its named
 * admins (issue 20), over /v1/admin/towns, /grids and /admins (docs/ADMIN-API.md):
 *
 *   town add NAME | town list
 *   grid add CODE --name N --village V --town T | grid list [--town T]
 *   grid move CODE [--town T] [--village V]     | grid import FILE.csv
 *   admin add NAME --role county|town|viewer [--town T]... | admin list | admin revoke ID|NAME
 *
 * grid import reads a county office's CSV (columns code,name,village,town; UTF-8 with or
 * without a BOM; a first line naming the columns is a header): every line is checked before
 * anything is sent, and a bad line stops the import with its line number (exit 2); the
 * server then imports every grid in one transaction, or none.
 */
#ifndef GS_ADMIN_REGISTRY_H
#define GS_ADMIN_REGISTRY_H

#include "admin.h"

#define REGISTRY_CSV_MAX (16u * 1024 * 1024) /* bytes of an import file */

int registry_town_cmd(admin *a, int argc, char **argv);
int registry_grid_cmd(admin *a, int argc, char **argv);
int registry_admin_cmd(admin *a, int argc, char **argv);

#endif
