/*
 * admin_records.h: GET /v1/admin/records, the records of one type page by page with their
 * fields as JSON: what `gridsync-admin export` reads (docs/ADMIN-API.md "Records").
 *
 * A page is in order of creation: by id, a UUIDv7 whose first 48 bits are the ms at which
 * the device created the record (PROTOCOL.md, schema.h), and from/to select on that time.
 * The id is the records' key, so the pages are read through the index every record has
 * already (an index on created_hlc, the clock of the creating change, cost 6% of a
 * merge's instructions); the two times are the same instant on a device whose clock is
 * right, and created_ms in the answer is the latter. An id never changes, so a record is on
 * exactly one page of a listing however it is edited meanwhile. Deleted records are not
 * listed.
 */
#ifndef GS_SERVER_ADMIN_RECORDS_H
#define GS_SERVER_ADMIN_RECORDS_H

#include <stdint.h>

#include <jansson.h>

#include "common/arena.h"
#include "common/rc.h"
#include "proto/schema.h"
#include "store.h"

#define ADMIN_RECORDS_DEFAULT 1000u /* records per page when no limit is given */
#define ADMIN_RECORDS_MAX 5000u     /* most records one page returns */
/* The latest time a query may name: what 48 bits of an id hold, and an HLC below 2^63 as
 * the store keeps clocks (year 6429). */
#define ADMIN_RECORDS_TIME_MAX ((INT64_C(1) << 47) - 1)

typedef struct admin_records_query {
    const schema_table *t; /* the record type */
    int64_t from_ms;       /* created at or after (ms since 1970) */
    int64_t to_ms;         /* and at or before */
    const uint8_t *after;  /* the last record of the previous page, or NULL */
    uint32_t limit;        /* 1..ADMIN_RECORDS_MAX */
    const char *grid;      /* only the records of this grid, or NULL */
    /* the admin's scope: records of a grid it refuses are left out (NULL: all); a page
     * still ends after limit records read, so it may list fewer, and next_after goes on */
    int (*grid_ok)(void *ud, const char *grid);
    void *grid_ud;         /* passed to grid_ok */
} admin_records_query;

/* {"type","from_ms","to_ms","records":[...],"next_after"} in *out (values read into a).
 * GS_E_NOTFOUND when after is not a record of the type. */
int admin_records_page(store *st, const admin_records_query *q, gs_arena *a, json_t **out,
                       gs_err *err);

#endif
