/*
 * attachments.h: `gridsync-admin attachments [gc]` (issue 19), over GET
 * /v1/admin/attachments and POST /v1/admin/attachments/gc (docs/ADMIN-API.md).
 */
#ifndef GS_ADMIN_ATTACHMENTS_H
#define GS_ADMIN_ATTACHMENTS_H

#include "admin.h"

/* argv: what follows the word "attachments"; returns the exit code. */
int attachments_cmd(admin *a, int argc, char **argv);

#endif
