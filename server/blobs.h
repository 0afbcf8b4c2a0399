/*
 * blobs.h: gridsyncd's attachment bytes on disk, outside the store (issue 19), content-
 * addressed: the blob whose SHA-256 is abcd...(64 hex) lives at ROOT/ab/cd...(62 hex), and
 * its upload in progress at ROOT/tmp/abcd....part (ROOT is DIR/blobs, DIR the folder of
 * gridsyncd.conf). The index (who sent it, its grid, its size) is in the store
 * (store_att.c); this module only keeps files.
 *
 *   absent --write at 0--> ROOT/tmp/H.part --append, fsync each chunk--> ... size bytes
 *      --SHA-256 == H: fsync, rename into ROOT/ab/cd..., fsync the folder--> complete
 *      --SHA-256 != H: the part is removed--> absent (GS_E_CRYPTO)
 *
 * Invariants:
 *  - a file under ROOT/ab/ is complete and its name is its SHA-256: nothing becomes
 *    visible before it is verified, and a rename never leaves half a file there;
 *  - the committed offset of an upload is the length of its part file, and every byte of
 *    it was fsynced before any answer counted it: a kill -9 or a crash of the server keeps
 *    every acknowledged byte;
 *  - writes are serialised by one mutex (two devices sending the same content share one
 *    part file and see one committed offset).
 */
#ifndef GS_SERVER_BLOBS_H
#define GS_SERVER_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rc.h"

typedef struct blobs blobs;

/* Opens (creating ROOT and ROOT/tmp, mode 0700, when missing) the blob folder root. */
int blobs_open(blobs **out, const char *root, gs_err *err);
void blobs_close(blobs *b); /* NULL: no-op */

/* Where the upload of hex (64 lower-case hex) stands: *done 1 and *committed = the file's
 * size when complete; else *committed the part's length (0 when none). */
int blobs_stat(blobs *b, const char *hex, uint64_t *committed, int *done, gs_err *err);

/* Appends n bytes given for offset of the blob hex of size bytes. offset below the
 * committed length: the bytes already held are skipped (a retried chunk), the rest
 * appended; offset above it: GS_E_STATE (nothing written; ask where to resume); offset +
 * n beyond size: GS_E_INVALID (nothing written). When the part reaches size it is hashed:
 * GS_E_CRYPTO (and the part is gone) when the SHA-256 is not hex, else it becomes the
 * blob. *committed and *done as blobs_stat after the write. An already complete blob
 * takes nothing and answers done. */
int blobs_write(blobs *b, const char *hex, uint64_t size, uint64_t offset, const void *p,
                size_t n, uint64_t *committed, int *done, gs_err *err);

/* Up to max bytes of the complete blob hex from offset into out (appended); *size its
 * size. GS_E_NOTFOUND when not complete; GS_E_INVALID when offset is beyond its end. */
int blobs_read(blobs *b, const char *hex, uint64_t offset, size_t max, gs_buf *out,
               uint64_t *size, gs_err *err);

/* Removes the blob hex and any part of it (absent is no error). */
int blobs_remove(blobs *b, const char *hex, gs_err *err);

/* Calls doomed(ud, hex) for each partial upload in ROOT/tmp and removes those it answers 1
 * for (the garbage collector's abandoned uploads). */
typedef int blobs_part_fn(void *ud, const char *hex);
void blobs_parts_prune(blobs *b, blobs_part_fn *doomed, void *ud);

/* ROOT/ab/cd... for hex into out (cap bytes). GS_E_TOO_LARGE when it does not fit. */
int blobs_path(const blobs *b, const char *hex, char *out, size_t cap);

#endif
