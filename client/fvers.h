/*
 * fvers.h: what the device knows of the server's copy of each record: per field, the server
 * version it last saw and the clock of the edit that gave the value. One row per record
 * (record_version: rid -> a MessagePack blob [[name, ver, hlc], ...]), read and written
 * whole: settling a change or applying a pulled one is one point read and one upsert,
 * however many fields the record has (a row per field cost nine upserts per visit).
 *
 * A field absent from the blob has version 0 ("never saw one") and clock 0. Versions only
 * grow: fvers_raise keeps the greater of old and new (and the clock that goes with it);
 * only a record state (apply_fix) replaces them (fvers_put, fvers_clear).
 */
#ifndef GS_CLIENT_FVERS_H
#define GS_CLIENT_FVERS_H

#include <stdint.h>

#include "client/db.h"
#include "proto/proto.h"

typedef struct fvers_entry {
    char name[PROTO_MAX_NAME + 1]; /* the field, NUL-terminated */
    uint64_t ver;                  /* server version seen */
    uint64_t hlc;                  /* clock of the edit behind the value (0: unknown) */
} fvers_entry;

typedef struct fvers {
    uint32_t n;                                 /* entries in use */
    int dirty;                                  /* changed since fvers_load */
    fvers_entry e[PROTO_MAX_FIELDS + 1];        /* the fields, the tombstone included */
} fvers;

/* Reads the record's row (an empty set when there is none). GS_E_DB when it is damaged. */
int fvers_load(gs_db *db, const uint8_t id[16], fvers *out);
/* Writes the set back when it changed (an empty set deletes the row). */
int fvers_store(gs_db *db, const uint8_t id[16], fvers *fv);
/* Deletes the record's row. */
int fvers_drop(gs_db *db, const uint8_t id[16]);

/* The field's entry, or NULL. */
const fvers_entry *fvers_find(const fvers *fv, const char *name, size_t len);
/* Version of the field (0 when absent). */
uint64_t fvers_ver(const fvers *fv, const char *name, size_t len);
/* The greatest version of any field (a delete's base). */
uint64_t fvers_max_ver(const fvers *fv);
/* The greatest clock of any field; *unknown 1 when some field's clock is 0. */
uint64_t fvers_max_hlc(const fvers *fv, int *unknown);
/* Raises the field to ver (a lower ver changes nothing), with its clock. GS_E_TOO_LARGE
 * past PROTO_MAX_FIELDS + 1 fields. */
int fvers_raise(fvers *fv, const char *name, size_t len, uint64_t ver, uint64_t clock);
/* Sets the field to exactly ver and hlc (a record state), or removes it. */
int fvers_put(fvers *fv, const char *name, size_t len, uint64_t ver, uint64_t clock);
void fvers_clear(fvers *fv, const char *name, size_t len);

/* Encodes / decodes the blob (layout migration, tests). */
int fvers_encode(const fvers *fv, gs_buf *out);
int fvers_decode(const void *p, size_t len, fvers *out);

#endif
