/*
 * pull.h: the pull half of a sync (PROTOCOL.md 2.3, 2.4): the field states a device does
 * not have yet, grouped into changes, one page at a time.
 *
 * A page holds the field states with version > cursor of records whose current grid is one
 * of the device's grids, not written by the device, in version order. Rows of one record
 * and one version form one pulled change (hlc: the greatest of its fields). A page ends at
 * a version boundary, never inside a version, when the next version would pass either
 * max_changes or max_bytes (the encoded size of the changes); `more` then says rows remain
 * and `cursor` is the last version delivered whole. When nothing remains, cursor is the
 * store's last version (never below the request's), so versions the device can never see
 * are not scanned again.
 *
 * In version 2 each pulled field carries its own clock and each change the record's
 * creation clock (ct). pull_record_state reads the whole state of one record for a
 * response's "fix" (PROTOCOL.md 2.7).
 */
#ifndef GS_SERVER_PULL_H
#define GS_SERVER_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"
#include "proto/proto.h"
#include "store.h"

typedef struct pull_page {
    proto_change *changes; /* arena memory */
    uint32_t n_changes;    /* entries in changes */
    uint64_t cursor;       /* the cursor to send the device */
    int more;              /* 1 when more changes wait */
    size_t bytes;          /* encoded size of the changes (proto_encode_change) */
} pull_page;

/* Reads one page for dev (inside the caller's transaction, after its pushes are merged).
 * max_changes >= 1. The first version is always delivered whole even when alone it passes
 * max_changes, so a device always makes progress. When enc is not NULL the page's changes
 * are appended to it, encoded as pulled changes (out->bytes of them), ready to follow a
 * proto_encode_sync_resp_mid; each change is encoded once. */
int pull_read(store *st, const store_device *dev, uint64_t cursor, uint32_t max_changes,
              size_t max_bytes, uint32_t version, gs_arena *a, gs_buf *enc, pull_page *out,
              gs_err *err);

/* The server's state of record id of tbl as dev may see it: every field with its value,
 * version and clock, and the creation clock (out->created; never 0 for a record that
 * exists). A record the store does not hold, or holds in a grid that is not one of dev's,
 * gives no fields and created 0. Values are arena memory. */
int pull_record_state(store *st, const store_device *dev, const char *tbl, const uint8_t id[16],
                      gs_arena *a, proto_change *out, gs_err *err);

#endif
