/*
 * dashboard.h: gridsync-admin's commands for a town admin's morning (issue 15):
 *   dashboard [--grid G] [--days N]   the town's figures (概览), per grid
 *   warnings [--grid G] [--all]       the warnings not cleared, the most pressing first
 *   warning ack ID [--note TEXT]      acknowledge one as the admin
 * Tables in Chinese, with the schema's labels; --json prints the API's objects
 * (docs/ADMIN-API.md "Dashboard", "Warnings").
 */
#ifndef GS_ADMIN_DASHBOARD_H
#define GS_ADMIN_DASHBOARD_H

#include "admin.h"

#define DASHBOARD_DAYS_MAX 731 /* the API's longest range */

int dashboard_cmd(admin *a, int argc, char **argv);
int dashboard_warnings_cmd(admin *a, int argc, char **argv);
int dashboard_ack_cmd(admin *a, int argc, char **argv);

/* "50.0%" of a JSON ratio, "-" for null. */
void dashboard_percent(json_t *ratio, char *out, size_t cap);

#endif
