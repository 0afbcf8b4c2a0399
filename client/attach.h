/*
 * attach.h: attachments on the device (issue 19), behind gs_db_attach, gs_db_attachments and
 * gs_db_attachment_get (gridsync.h), and what the delete path needs from them.
 *
 * Invariants: an attachment record (schema table "attachment") and the blobs it names
 * (attachment_blob rows keyed by SHA-256 hex) are written in one transaction; a blob row is
 * removed only when no live attachment names it; the same bytes attached twice are stored
 * once.
 */
#ifndef GS_CLIENT_ATTACH_H
#define GS_CLIENT_ATTACH_H

#include "db.h"
#include "proto/schema.h"

#define ATTACH_TABLE "attachment"

#define ATTACH_KIND_FULL 1
#define ATTACH_KIND_THUMB 2
#define ATTACH_KIND_ORIGINAL 3

/* Inside gs_db_delete's transaction, after record id (of table t) was marked deleted:
 * deletes its live attachments (each a change of its own) and the bytes no live attachment
 * needs any more. Nothing for an attachment itself but the bytes. */
int attach_on_delete(gs_db *db, const schema_table *t, const char *id_text);

#endif
