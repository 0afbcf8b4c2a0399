/*
 * export.h: `gridsync-admin export`, the county's monthly report (issue 15):
 *
 *   export --from DATE --to DATE --out FILE.xlsx
 *       one sheet per record type (居民, 走访, 养老服务需求, 预警) with the records created
 *       in the range, and first a summary sheet (汇总) with the dashboard's figures for it;
 *   export --from DATE --to DATE --out FILE.csv [--type T]
 *       the records of one type (default visit) as one CSV, UTF-8 with a BOM so that Excel
 *       opens it as UTF-8.
 * --grid G (either form) limits the records and the summary to one grid.
 * DATE is ISO 8601 (docs/CLIENT.md): a date alone is Beijing time, and --to's date takes
 * in that whole day. Any other extension is refused (exit 2) before the server is asked.
 * Headers are the schema's Chinese labels; values are what a person reads: enum and tag
 * labels, 是/否, times in Beijing time, a reference as the name of what it names.
 * The records come from GET /v1/admin/records page by page, so memory stays flat; the file
 * is written beside FILE and renamed into place once complete (a failed export leaves no
 * half file).
 */
#ifndef GS_ADMIN_EXPORT_H
#define GS_ADMIN_EXPORT_H

#include "admin.h"

#define EXPORT_PAGE                                                                                \
    1000 /* records per request: 1,000 visits with 4,000-byte notes stay                           \
            well under the answer's cap */

int export_cmd(admin *a, int argc, char **argv);

#endif
