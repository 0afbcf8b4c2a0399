/*
 * gridsync.h: the one public header of libgridsync, the offline store of a grid worker's
 * handheld. Anything not declared here is not published API.
 *
 * In the manner of sqlite3 and libcurl:
 *  - a database is an opaque handle, gs_db, from gs_db_open, released by gs_db_close;
 *  - every call returns an int result code (GS_OK = 0, else a GS_E_* code below, never
 *    renumbered); gs_strerror(rc) is a fixed English text, gs_db_errmsg(db) the message of
 *    the handle's last failure, naming the field or record concerned;
 *  - out-parameters are written only on success; every *_free(NULL) is a no-op;
 *  - no global state: two handles (on the same or different files) are independent.
 *
 * Threads: a handle and the records, lists and strings made from it belong to one thread
 * at a time. Different handles may be used at once from different threads (or processes)
 * on the same file: SQLite's locking serialises writers, each waiting up to 5 s
 * (GS_E_BUSY after that). Moving a handle to another thread is fine between calls.
 *
 * Durability: every write (gs_db_add, gs_db_update, gs_db_delete) is one SQLite transaction
 * holding the record AND its entry in the outbox (the change log the sync sends), committed
 * with synchronous=FULL in WAL mode: once the call has returned GS_OK the write survives
 * kill -9 and power loss. gs_db_begin / gs_db_commit group many writes into one transaction
 * (an import, a batch), which is much faster and still all-or-nothing.
 *
 * Records are generic: a gs_record belongs to one table ("resident", "visit", "care", ...,
 * declared in proto/schema.c) and holds values by field name, so a new record type needs no
 * new API. Times are milliseconds since 1970 UTC; record ids are UUIDv7 in canonical text
 * form ("0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d").
 *
 * Example:
 *
 *   gs_db *db;
 *   gs_record *v;
 *   if (gs_db_open("/data/grid.db", &db) != GS_OK) { ...; gs_db_close(db); }
 *   gs_record_new(db, "visit", &v);
 *   gs_record_set_ref(v, "resident", resident_id);
 *   gs_record_set_str(v, "kind", "elderly_checkin");
 *   gs_record_set_str(v, "notes", "老人身体状况良好");
 *   if (gs_db_add(db, v) != GS_OK)
 *       fprintf(stderr, "%s\n", gs_db_errmsg(db));   // "visit.kind: 'walk' is not one of ..."
 *   else
 *       printf("%s\n", gs_record_id(v));
 *   gs_record_free(v);
 *   gs_db_close(db);
 */
#ifndef GRIDSYNC_H
#define GRIDSYNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "gridsync_rc.h" /* GS_OK, the GS_E_* codes, gs_strerror, GS_API */

/* Frees strings and buffers the library hands over (gs_record_to_json). */
GS_API void gs_free(void *p);

/* "0.1.0" */
GS_API const char *gs_version(void);

/* ---- the database ---------------------------------------------------------------------- */

typedef struct gs_db gs_db;

/* Opens (creating it, mode 0600, when absent) the device database at path and brings its
 * layout up to date. On failure *out is still set when a handle could be made, so that
 * gs_db_errmsg can say why; close it with gs_db_close. GS_E_STATE: the file was written by
 * a newer gridsync. GS_E_WIPED: a remote wipe of this file (gs_sync_run) was interrupted
 * (the marker path + "-wipe" is there); it has now been completed, the file is gone and
 * nothing was opened: enrol the device again. */
GS_API int gs_db_open(const char *path, gs_db **out);

/* ---- encryption at rest (docs/CLIENT.md) ----
 * A library built with `make SQLCIPHER=1` keeps the whole database encrypted: tables,
 * indexes, the WAL, the token and attachments' bytes (they are rows of the same file).
 * The key is the app's: any bytes, 1..GS_DB_KEY_MAX (on Android a secret the Keystore
 * keeps; for the CLI the file GRIDSYNC_KEY_FILE names). The library keeps no copy of it. */
#define GS_DB_KEY_MAX 1024

/* 1 when this library can encrypt (built with SQLCipher), 0 when not. */
GS_API int gs_db_can_encrypt(void);

/* gs_db_open for an encrypted database: a new file is created encrypted under key; an
 * existing one must open with it. key_len 0 (key NULL) is gs_db_open. GS_E_KEY, with
 * nothing read or written beyond the first page: the key does not open the file (wrong
 * key, a key for a plain file, no key for an encrypted one), or a key was given to a
 * library without encryption. GS_E_INVALID: key_len over GS_DB_KEY_MAX. */
GS_API int gs_db_open_key(const char *path, const void *key, size_t key_len, gs_db **out);

/* Re-encrypts the database under a new key (new_len >= 1); a plain database becomes an
 * encrypted one. Atomic: the data is copied into PATH.rekey under the new key, made
 * durable, then renamed over PATH, so after a crash the file opens with exactly one of
 * the two keys. The app keeps the new key before the call and drops the old one after it.
 * GS_E_STATE: a batch or a gs_list is open, or another connection holds the file
 * (GS_E_BUSY); GS_E_KEY without encryption. On failure the handle stays on the old key. */
GS_API int gs_db_rekey(gs_db *db, const void *new_key, size_t new_len);

/* Rolls back an open gs_db_begin batch, closes the file. Free every gs_list first
 * (GS_E_STATE otherwise; the file is closed when the list is freed). gs_db_close(NULL) is a
 * no-op. */
GS_API int gs_db_close(gs_db *db);

/* The message of the last failed call on db ("visit.kind: 'walk' is not one of routine,
 * ..."), or "" after a success. Valid until the next call on db. */
GS_API const char *gs_db_errmsg(const gs_db *db);
/* The code of the last failed call on db, GS_OK after a success. */
GS_API int gs_db_errcode(const gs_db *db);

/* Batches: writes between gs_db_begin and gs_db_commit are one transaction (and one fsync);
 * gs_db_rollback forgets all of them. A write refused inside a batch (bad input, a missing
 * reference) leaves the batch as it was; a write that fails after it began writing (a disk
 * or database error) makes gs_db_commit roll the whole batch back and return GS_E_STATE.
 * Batches do not nest (GS_E_STATE). */
GS_API int gs_db_begin(gs_db *db);
GS_API int gs_db_commit(gs_db *db);
GS_API int gs_db_rollback(gs_db *db);

/* ---- the device --------------------------------------------------------------------- */

/* What `gridsync init` stores: everything the sync needs, kept inside the database so a
 * device is one file. */
typedef struct gs_device_config {
    const char *device_id;   /* 1..64 bytes, from `gridsync-admin device add` */
    const char *token;       /* the bearer token printed with it */
    const char *server_url;  /* "https://town.example:8443" */
    const char *ca_pem;      /* the CA certificate(s), PEM text (the contents, not a path) */
    size_t ca_pem_len;       /* bytes in ca_pem */
    const char *const *grids; /* the grids this device works in, first is the default */
    size_t n_grids;          /* entries in grids, 1..GS_GRIDS_MAX */
    const char *worker;      /* the worker's name on new visits; NULL: the device id */
} gs_device_config;

/* Stores the device settings. On an initialised database, the same device id updates the
 * settings (a new token, server or CA); another device id is GS_E_EXISTS. */
GS_API int gs_db_init_device(gs_db *db, const gs_device_config *cfg);

/* Enrols this device with an enrolment code (PROTOCOL.md 11), as `gridsync enroll` does:
 * code_or_uri is the URI of gridsync-admin's QR code ("gridsync://enroll?u=..&c=..&fp=..")
 * or the code alone, with server_url and ca_sha256 (the CA certificate's SHA-256, 64 hex
 * digits) given; with a URI both must be NULL. Fetches the server's CA, trusts it only if
 * its SHA-256 is the fingerprint, presents the code over a connection verified with it,
 * and stores what the server answers (device id, token, grids) with the server and CA as
 * gs_db_init_device does. worker: the name on new visits; NULL: the name the admin gave
 * the device, else its id. Nothing is stored unless all of it succeeds.
 * GS_E_INVALID: a bad URI, code or fingerprint; GS_E_TLS: the server's CA is not the one
 * the fingerprint names (the code was not sent); GS_E_AUTH: the server refused the code
 * (unknown, expired, used or revoked: the message says which); GS_E_EXISTS: this database
 * belongs to a device already (checked before the code is used); GS_E_NETWORK,
 * GS_E_TIMEOUT, GS_E_SERVER. */
GS_API int gs_db_enroll(gs_db *db, const char *code_or_uri, const char *server_url,
                        const char *ca_sha256, const char *worker);

#define GS_NAME_MAX 64   /* bytes of a name: device id, grid, worker, table, field */
#define GS_GRIDS_MAX 32  /* grids one device works in (as many as the server allows) */
#define GS_RESULT_MAX 256

/* The caller allocates a gs_status and gs_db_status writes all of it, so its size is part
 * of the library's binary interface: an app built against an older gridsync.h would be
 * overrun by a longer one. It does not grow; new figures get a call of their own
 * (gs_db_warnings_open). */
typedef struct gs_status {
    int initialised;                /* 1 once gs_db_init_device succeeded */
    char device_id[GS_NAME_MAX + 1]; /* "" before init */
    char worker[GS_NAME_MAX + 1];   /* "" before init */
    char grids[GS_GRIDS_MAX * (GS_NAME_MAX + 1)]; /* the device's grids, comma-separated */
    char server_url[GS_RESULT_MAX]; /* "" before init */
    int64_t pending;                /* changes waiting to be sent or acknowledged */
    int64_t pending_sent;           /* of those, sent but not yet acknowledged */
    int64_t rejected;               /* changes the server refused (see gs_db_rejected) */
    int64_t records;                /* live (not deleted) records of every type */
    int64_t last_sync_ms;           /* when the last sync ended, 0 never */
    char last_sync_result[GS_RESULT_MAX]; /* "ok", or what went wrong; "" never */
    uint64_t cursor;                /* pull cursor: last server version pulled */
} gs_status;

GS_API int gs_db_status(gs_db *db, gs_status *out);

/* Number of changes in the outbox (the same as gs_status.pending). */
GS_API int gs_db_pending(gs_db *db, int64_t *n);

/* A change the server refused, kept aside for the worker. Strings valid during the call. */
typedef struct gs_rejected_info {
    uint64_t seq;         /* the device's sequence number of the change */
    const char *table;    /* "visit" */
    const char *id;       /* the record id, canonical text */
    const char *code;     /* "out_of_scope", "invalid", ... */
    const char *message;  /* the server's reason */
    int64_t at_ms;        /* when the rejection arrived */
} gs_rejected_info;

typedef int gs_rejected_cb(void *ud, const gs_rejected_info *info);

/* Calls cb for each rejected change, oldest first; a non-zero return from cb stops the walk
 * and is returned. A rejected change is kept until the worker retries or drops it; it does
 * not shadow the server's data: after the sync that brought the rejection, the record shows
 * the server's values (or is gone, when the server never had it). */
GS_API int gs_db_rejected(gs_db *db, gs_rejected_cb *cb, void *ud);

/* Sends rejected change seq again, once its cause is fixed (the clock set right, the grid
 * enrolled, the resident synced): its values become a new local edit made now (a fresh
 * clock, the current bases, every check of gs_db_add/update/delete), and the rejected
 * change goes, in one transaction. *new_seq (may be NULL) gets the seq of the outbox row
 * that carries the edit, or 0 when the record already holds every value (nothing to send).
 * GS_E_NOTFOUND: no rejected change seq, or its record is gone; a refused edit
 * (GS_E_INVALID, ...) leaves the rejected change in place. */
GS_API int gs_db_retry(gs_db *db, uint64_t seq, uint64_t *new_seq);

/* Gives rejected change seq up: it is removed, nothing else changes. GS_E_NOTFOUND when
 * there is no such rejected change. */
GS_API int gs_db_drop(gs_db *db, uint64_t seq);

/* ---- records ------------------------------------------------------------------------- */

typedef struct gs_record gs_record;

/* A new, empty record of table ("resident", "visit", "care") on db; GS_E_INVALID for an
 * unknown table. Setters keep the values in memory; nothing is written until gs_db_add or
 * gs_db_update. Setter errors name the field and are readable with gs_db_errmsg(db). */
GS_API int gs_record_new(gs_db *db, const char *table, gs_record **out);
GS_API void gs_record_free(gs_record *rec);

GS_API const char *gs_record_table(const gs_record *rec);
/* The id, canonical text; "" for a new record until gs_db_add gives it one. */
GS_API const char *gs_record_id(const gs_record *rec);
/* Gives a new record its id (for imports that keep ids); GS_E_INVALID if not a UUID. */
GS_API int gs_record_set_id(gs_record *rec, const char *id);
/* HLC values (48-bit ms, 16-bit counter) of the creation and the last change; 0 if new. */
GS_API uint64_t gs_record_created(const gs_record *rec);
GS_API uint64_t gs_record_updated(const gs_record *rec);
GS_API int gs_record_deleted(const gs_record *rec);

/* Typed setters. The value is checked against the schema by gs_db_add / gs_db_update; the
 * setters only check that the field exists and the C type fits its schema type:
 *   text, enum  gs_record_set_str       int   gs_record_set_int     bool gs_record_set_bool
 *   real        gs_record_set_real      time  gs_record_set_time (ms since 1970 UTC)
 *   reference   gs_record_set_ref (a record id)   tags  gs_record_add_tag / gs_record_clear
 * gs_record_clear sets a field to "no value" (clearing it on update).
 * gs_record_set_text parses a value as a person writes it, for any field type: numbers,
 * true/false/yes/no/1/0, ISO 8601 times (see docs/CLIENT.md), enum names, record ids,
 * tags comma-separated; "" clears the field. */
GS_API int gs_record_set_str(gs_record *rec, const char *field, const char *utf8);
GS_API int gs_record_set_int(gs_record *rec, const char *field, int64_t value);
GS_API int gs_record_set_bool(gs_record *rec, const char *field, int value);
GS_API int gs_record_set_real(gs_record *rec, const char *field, double value);
GS_API int gs_record_set_time(gs_record *rec, const char *field, int64_t unix_ms);
GS_API int gs_record_set_ref(gs_record *rec, const char *field, const char *id);
GS_API int gs_record_add_tag(gs_record *rec, const char *field, const char *tag);
GS_API int gs_record_clear(gs_record *rec, const char *field);
GS_API int gs_record_set_text(gs_record *rec, const char *field, const char *text);

/* Getters: GS_E_NOTFOUND when the field has no value, GS_E_INVALID when the field does not
 * exist or has another type. Returned strings belong to rec and stay valid until the field
 * is set again or rec is freed. */
GS_API int gs_record_has(const gs_record *rec, const char *field);
GS_API int gs_record_get_str(const gs_record *rec, const char *field, const char **out);
GS_API int gs_record_get_int(const gs_record *rec, const char *field, int64_t *out);
GS_API int gs_record_get_bool(const gs_record *rec, const char *field, int *out);
GS_API int gs_record_get_real(const gs_record *rec, const char *field, double *out);
GS_API int gs_record_get_time(const gs_record *rec, const char *field, int64_t *out);
GS_API int gs_record_get_ref(const gs_record *rec, const char *field, const char **out_id);
GS_API int gs_record_get_tags(const gs_record *rec, const char *field, const char *const **out,
                       size_t *n);
/* Any field as text for people (times in ISO 8601 UTC, tags comma-separated); NULL when
 * the field has no value or does not exist. Owned by rec, valid until the next call of
 * gs_record_text on rec. */
GS_API const char *gs_record_text(gs_record *rec, const char *field);

/* The record as one JSON object: "type", "id", every field with a value under its schema
 * name (times as ISO 8601 UTC strings, references as ids, tags as arrays), "created" and
 * "updated" (ISO 8601 of the HLCs), and "deleted": true for a tombstone. Free *out with
 * gs_free. */
GS_API int gs_record_to_json(const gs_record *rec, char **out);

/* ---- writes ---------------------------------------------------------------------------- */

/* Validates rec (every value against the schema, required fields, references to records
 * that exist on this device and are not deleted) and, if all is well, writes it and its
 * outbox entry in one transaction. Unset fields get their defaults first: the device's
 * first grid and its worker name, "now" for creation times, the schema's default enum
 * values. On success rec has its id (gs_record_id) and HLCs. On failure nothing is written
 * and the message names the field. GS_E_EXISTS: rec carries an id already in use. */
GS_API int gs_db_add(gs_db *db, gs_record *rec);

/* Writes the fields set on rec (by setters since gs_record_new or gs_db_get) to the record
 * with rec's id. Fields whose value does not change are ignored; when nothing changes,
 * nothing is written. GS_E_NOTFOUND: no such record, or it is deleted. */
GS_API int gs_db_update(gs_db *db, gs_record *rec);

/* Marks the record deleted (a tombstone that syncs like any change). GS_E_NOTFOUND when
 * there is no such live record. */
GS_API int gs_db_delete(gs_db *db, const char *id);

/* Reads the live record with this id, whatever its table. GS_E_NOTFOUND when there is
 * none or it is deleted. */
GS_API int gs_db_get(gs_db *db, const char *id, gs_record **out);

/* ---- lists ------------------------------------------------------------------------------- */

typedef struct gs_list gs_list;

/* Live records of table, newest first (by id: ids made on devices are time-ordered UUIDv7,
 * so this is creation order; imported ids sort where their time puts them). Narrow with
 * gs_list_where (field equals the value, written as for gs_record_set_text; several
 * conditions all apply; a tags field matches records carrying every tag given) and
 * gs_list_limit, then call gs_list_next until *out is NULL. Each record from gs_list_next
 * is the caller's, to free with gs_record_free. */
GS_API int gs_list_new(gs_db *db, const char *table, gs_list **out);
GS_API int gs_list_where(gs_list *list, const char *field, const char *text);
GS_API int gs_list_limit(gs_list *list, int64_t limit);
GS_API int gs_list_next(gs_list *list, gs_record **out);
GS_API void gs_list_free(gs_list *list);

/* ---- warnings ------------------------------------------------------------------------ */

/* Warnings (预警) are records of table "warning" that the town server's rules raise (a
 * resident living alone not visited for 7 days, a care request overdue, ...) and the
 * device pulls with its grids' other records, so a worker sees them offline. Fields: rule,
 * grid, subject_type, subject, level (notice 提示, attention 关注, urgent 紧急), title,
 * since, state (open, acknowledged, cleared), cleared_at, note, ack_by, ack_at; read them
 * with gs_db_get and the getters like any record. The server creates and clears them (state
 * cleared, with cleared_at, when the condition ends); a device may only acknowledge one,
 * with a note. gs_db_add of a warning, gs_db_delete of one, and a gs_db_update that changes
 * a field other than state, note, ack_by and ack_at, or sets state to anything but
 * acknowledged, are refused with GS_E_READ_ONLY and write nothing (the server would
 * reject them read_only).
 *
 * A warning is open until the server clears it, acknowledged or not: acknowledging says
 * a worker has seen it, not that its condition is over. */

#define GS_WARNINGS_ALL 1 /* gs_db_warnings_list: cleared warnings too */

/* The device's open warnings as a gs_list (read with gs_list_next, free with
 * gs_list_free), in the order a worker should take them: state open before acknowledged,
 * then by level (urgent, attention, notice), then the oldest condition first (since), then
 * by id. flags GS_WARNINGS_ALL: the cleared ones too, after the others. gs_list_where and
 * gs_list_limit narrow it like any list. Deleted warnings are never listed. */
GS_API int gs_db_warnings_list(gs_db *db, int flags, gs_list **out);

/* *out = the number of open warnings on the device: not deleted, state open or
 * acknowledged (not cleared). */
GS_API int gs_db_warnings_open(gs_db *db, int64_t *out);

/* Acknowledges warning id: state acknowledged, ack_by the device's worker name, ack_at now,
 * and the note when note is not NULL ("" clears it; NULL keeps the one it has), written as
 * one local change (one outbox entry) like gs_db_update. Acknowledging again records the
 * new acknowledgement (worker, time, note). GS_E_NOTFOUND: no warning with this id on the
 * device (or it is deleted); GS_E_STATE: the server has cleared it (nothing to
 * acknowledge); GS_E_INVALID: id is not a record id, or the note is refused (too long). */
GS_API int gs_db_warning_ack(gs_db *db, const char *id, const char *note);

/* ---- import --------------------------------------------------------------------------- */

typedef struct gs_import_stats {
    int64_t lines;    /* non-blank lines read */
    int64_t added;    /* records written */
    int64_t skipped;  /* lines whose record was already there, identical */
    int64_t bad;      /* lines refused */
} gs_import_stats;

/* Told about each refused line (1-based number) and why. A non-zero return stops. */
typedef int gs_import_cb(void *ud, int64_t line, const char *message);

/* Reads path ("-": standard input) as JSON Lines, one record per line: {"type": "visit",
 * "id": optional UUID, and schema field names}. Times are ISO 8601 strings or ms numbers.
 * Every line is checked; if any is bad, on_bad is told about each and NOTHING is written
 * (GS_E_INVALID). Otherwise all records are written in one transaction. A line whose id is
 * already present is skipped when every field it gives equals the stored value and is a
 * bad line when one differs, so importing a file twice changes nothing. References may
 * point to records of other lines, in any order. stats (may be NULL) is filled in either
 * way: on failure it counts what was checked, and added is 0. */
GS_API int gs_db_import(gs_db *db, const char *path, gs_import_cb *on_bad, void *ud,
                 gs_import_stats *stats);

/* ---- attachments (issue 19) --------------------------------------------------------------- */

/* A photo or scanned document belongs to one record. gs_db_attach takes a JPEG, a PNG or a
 * PDF: images are decoded, shrunk to a long side (default 1600 px), turned upright by their
 * EXIF orientation and re-encoded as JPEG (default quality 80) with no metadata at all (the
 * camera's GPS and serial number never leave the device); a thumbnail JPEG (default 320 px)
 * is made too; a PDF is stored as given. Anything else is GS_E_INVALID; an image whose
 * header claims more than 16384 px a side or too many pixels (a decompression bomb) is
 * GS_E_TOO_LARGE, refused before decoding; a file over 32 MiB is GS_E_TOO_LARGE.
 *
 * The stored bytes are content-addressed (SHA-256, lower-case hex). The attachment itself
 * is a record of the schema table "attachment" (record, record_type, mime, sha256, bytes,
 * width, height, thumb_sha256, thumb_bytes, caption, grid = the record's grid), written
 * with its bytes in one transaction, so its existence syncs like any record and
 * gs_db_delete of the record deletes its attachments in the same transaction. Records of
 * that table cannot be made by gs_db_add (GS_E_INVALID); their caption can be updated. */

#define GS_ID_TEXT_LEN 36 /* bytes of a record id in text, without the NUL */

typedef struct gs_attach_opts {
    int long_side;     /* the stored image's longer side in px; 0: 1600 */
    int quality;       /* JPEG quality 1..100; 0: 80 */
    int thumb_side;    /* the thumbnail's longer side in px; 0: 320 */
    int keep_original; /* 1: also keep the bytes as given, on this device only (never sent) */
} gs_attach_opts;

/* Attaches len bytes at data to the live record record_id, with caption (NULL or "" for
 * none, up to 400 bytes). opts may be NULL (the defaults). out_id (may be NULL; room for
 * GS_ID_TEXT_LEN + 1 bytes) gets the attachment's id. GS_E_NOTFOUND: no such live record. */
GS_API int gs_db_attach(gs_db *db, const char *record_id, const void *data, size_t len,
                        const char *caption, const gs_attach_opts *opts, char *out_id);

/* One attachment, as gs_db_attachments tells it. Strings valid during the call. */
typedef struct gs_attachment_info {
    const char *id;           /* the attachment's id */
    const char *record;       /* the id of the record it belongs to */
    const char *mime;         /* "image/jpeg" or "application/pdf" */
    const char *sha256;       /* of the stored bytes, hex */
    const char *caption;      /* "" when none */
    int64_t bytes;            /* of the stored image or PDF */
    int64_t thumb_bytes;      /* of the thumbnail, 0 when none (a PDF) */
    int width, height;        /* px of the stored image; 0 for a PDF */
    int have_full;            /* 1 when the stored bytes are on this device */
    int have_thumb;           /* 1 when the thumbnail is on this device */
} gs_attachment_info;

typedef int gs_attachment_cb(void *ud, const gs_attachment_info *info);

/* Calls cb for each live attachment of record_id, oldest first (a non-zero return stops
 * the walk and is returned). A record without attachments is no error; GS_E_INVALID when
 * record_id is not a record id. */
GS_API int gs_db_attachments(gs_db *db, const char *record_id, gs_attachment_cb *cb, void *ud);

#define GS_ATT_FULL 0     /* the stored image or PDF */
#define GS_ATT_THUMB 1    /* the thumbnail JPEG */
#define GS_ATT_ORIGINAL 2 /* the bytes as given (only with keep_original) */

/* The bytes of attachment att_id (which: GS_ATT_*) into *data (free with gs_free) and *len.
 * GS_E_NOTFOUND: no such live attachment, or its bytes are not on this device. */
GS_API int gs_db_attachment_get(gs_db *db, const char *att_id, int which, void **data,
                                size_t *len);

/* Fetches from the server the file (GS_ATT_FULL) or thumbnail (GS_ATT_THUMB) of attachment
 * att_id when it is not on this device (GS_OK at once when it is), checked against its
 * SHA-256 before it is stored. opts (may be NULL) gives the timeouts. GS_E_NOTFOUND: no
 * such live attachment here, or the server does not hold its bytes yet; GS_E_NETWORK,
 * GS_E_TIMEOUT, GS_E_AUTH as gs_sync_run. */
struct gs_sync_opts;
GS_API int gs_db_attachment_fetch(gs_db *db, const char *att_id, int which,
                                  const struct gs_sync_opts *opts);

/* Attachment bytes on this device the server has not acknowledged yet: *files stored files
 * and thumbnails (either may be NULL), *bytes their unsent bytes (`gridsync status`). */
GS_API int gs_db_attachments_pending(gs_db *db, int64_t *files, int64_t *bytes);

/* ---- sync ------------------------------------------------------------------------------ */

/* What a sync did so far (to a progress callback) or in all (from gs_sync_run). */
typedef struct gs_sync_summary {
    uint64_t requests;   /* HTTPS requests made */
    uint64_t connects;   /* new connections (1 when the connection was reused throughout) */
    uint64_t pushed;     /* local changes sent */
    uint64_t accepted;   /* of which the server accepted */
    uint64_t rejected;   /* of which it refused (kept, listed by gs_db_rejected) */
    uint64_t pulled;     /* changes received from the server */
    uint64_t kept_local; /* pulled fields not applied because a local edit is still pending */
    uint64_t lost;       /* fields where the server kept another device's value */
    uint64_t bytes_up;   /* bytes sent, HTTP headers included, after compression */
    uint64_t bytes_down; /* bytes received, HTTP headers included, before decompression */
    uint64_t requeued;   /* records queued again because the server was restored (a new
                            epoch, or a cursor beyond its history: PROTOCOL.md 2.9) */
    /* attachment bytes, after the records (PROTOCOL.md section 12) */
    uint64_t att_sent;     /* files and thumbnails the server now holds, hash-verified */
    uint64_t att_bytes_up; /* attachment bytes the server acknowledged in this sync */
    uint64_t att_deferred; /* files left for a later sync by attachments_budget */
    uint64_t att_refused;  /* files the server refused (over quota: gridsync status says) */
    uint64_t att_received; /* thumbnails received from the server */
} gs_sync_summary;

typedef void gs_sync_progress_fn(void *ud, const gs_sync_summary *so_far);

typedef struct gs_sync_opts {
    uint32_t batch_changes;   /* most changes per request (0: 5000, the protocol's most) */
    uint32_t batch_bytes;     /* most encoded change bytes per request (0: 1.75 MiB) */
    long connect_timeout_ms;  /* TCP + TLS connect (0: 20 s) */
    long request_timeout_ms;  /* one whole request (0: 10 minutes; a stall of 60 s at
                                 under 16 bytes/s aborts sooner) */
    int no_compress;          /* 1: send bodies as they are (for measurements) */
    gs_sync_progress_fn *progress; /* called after each request; may be NULL */
    void *progress_ud;        /* passed to progress */
    int64_t attachments_budget; /* attachment bytes one sync may move: 0 no limit,
                                   GS_SYNC_NO_ATTACHMENTS none; a file that does not fit
                                   waits whole for a later sync (thumbnails go first) */
} gs_sync_opts;

#define GS_SYNC_NO_ATTACHMENTS (-1)

/* Syncs with the server given at init (PROTOCOL.md section 4) until nothing remains to
 * send or to pull: pending changes go up in batches, the server's answer (acks, changes of
 * the device's grids, the new cursor) is applied in one transaction per request. A change
 * leaves the outbox only when the server has acknowledged it, so a sync cut at any moment
 * loses and doubles nothing: the next sync completes it. opts and summary may be NULL.
 * Errors: GS_E_NETWORK or GS_E_TIMEOUT (server unreachable, nothing lost), GS_E_TLS
 * (certificate or host name does not match the CA given at init), GS_E_AUTH (token refused:
 * revoked or wrong), GS_E_REJECTED (the sync completed but some changes were refused:
 * gs_db_rejected lists them), GS_E_PROTO_VERSION (the server needs a newer client),
 * GS_E_CONFIG (not initialised), GS_E_WIPED (the device was revoked with a wipe: after
 * sending what it had not sent when the admin allowed it, its database file, -wal, -shm,
 * attachments and token are deleted; the handle then holds an empty in-memory database,
 * every call on it fails: close it and enrol again). Thread use: like every call on this
 * handle, one thread at a time; the sync holds no transaction while waiting on the
 * network. */
GS_API int gs_sync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
