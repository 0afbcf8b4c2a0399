/*
 * atransfer.h: attachment bytes between the device and gridsyncd (issue 19, PROTOCOL.md
 * section 11), after the records' sync and apart from it: a failure here never undoes or
 * delays a record.
 *
 *   upload   attachment_blob rows with sent < length(data), thumbnails first, then the
 *            smaller files; each 64 KiB chunk PUT at offset `sent`, and `sent` moved to
 *            the server's committed offset after each answer (a cut, a kill -9 of either
 *            side: the next sync resumes there; a 409 asks the server where it stands)
 *   thumbs   thumbnails of the live attachments of the device's grids not on the device,
 *            fetched and hash-checked before they are stored
 *   fetch    one attachment's file on demand (gs_db_attachment_fetch)
 *
 * A byte budget (gs_sync_opts.attachments_budget) caps what one sync moves: a file whose
 * remaining bytes do not fit is deferred whole to a later sync, smaller ones still go.
 */
#ifndef GS_CLIENT_ATRANSFER_H
#define GS_CLIENT_ATRANSFER_H

#include "common/transport.h"
#include "db.h"
#include "gridsync.h"

/* Uploads, then fetches thumbnails, over link; counts into sum (its att_* members).
 * budget: bytes for this sync, 0 no limit. A transport failure is returned (the records
 * are synced already; the next sync resumes); refusals of single files are counted, not
 * returned, and the last one's message is kept in *refusal (cap bytes, "" when none). */
int atransfer_run(gs_db *db, transport *link, const char *device_id, int64_t budget,
                  gs_sync_summary *sum, char *refusal, size_t cap);

#endif
