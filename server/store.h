/*
 * store.h: gridsyncd's persistent state behind one narrow interface. The store's files
 * (store.c, store_rec.c, store_watch.c, store_dash.c) are the ONLY ones with SQL in them; a
 * PostgreSQL store could replace them by implementing these functions.
 *
 * What is kept (one SQLite file, WAL; store.c and store_rec.c have the details):
 *   meta          server HLC and the last server version
 *   devices       id, name, grids, token hash, created, revoked, last sync time and result,
 *                 rejected-change count, the wipe asked for with the revocation; its rowid
 *                 is the device's number in records
 *   admins        id, unique name, role (county, town, viewer), token hash, created,
 *                 revoked; admin_towns: the towns of a town admin (or a limited viewer)
 *   towns, grids  the grid registry: per grid code its name, village and town
 *   records       one row per record of any schema table: table, id, grid, deleted,
 *                 created/updated HLC, current version, and every field (value, version,
 *                 HLC, writer) in one blob: a change reads and writes one row
 *   pulls         the pull index: (grid, version) of every version a record's fields have
 *   changes       the change log: version, device, seq, record (who changed what, when)
 *   ack_ranges    runs of accepted changes per device (seq range, first version), and
 *   acks          the other acks per (device, seq): a retried batch gets the same answer
 *   conflicts     both sides of every concurrent edit, the policy and the winner
 *   audit         admin resolutions: who, when, old and new value, note
 *   moves         departures: a record that left a grid, so that grid's devices drop it
 *   watch, dispute_visits, visit_days   what the warning rules and the dashboard watch
 * Record types are never named here: table and field names come from proto/schema.h, so a
 * new record type needs no change in the store.
 *
 * Invariants:
 *  - every write happens between store_begin and store_commit; store_rollback undoes all of
 *    it (the caller decides the transaction boundaries: one sync is one savepoint, and the
 *    syncs that arrive together share one transaction, server/group.c);
 *  - the pull index holds exactly the versions the record's current fields have, in its
 *    current grid (store_rec_put keeps it, given the record as it was);
 *  - server versions come from store_version_next only, strictly increasing in commit order
 *    (one writer at a time: the caller serialises store use with one mutex);
 *  - a store handle is used by one thread at a time (the caller's mutex).
 *
 * Memory: values read from the store are decoded into a gs_arena the caller owns; they
 * stay valid until the arena is freed.
 */
#ifndef GS_SERVER_STORE_H
#define GS_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"
#include "sval.h"

#define STORE_SCHEMA_VERSION 13 /* PRAGMA user_version after the last migration */
#define STORE_RESULT_MAX 120   /* bytes of a device's last sync result */
#define STORE_HASH_LEN 32      /* SHA-256 of a token secret */
#define STORE_ADMIN_DEVICE "admin" /* the writer of admin resolutions (device number 0) */
#define STORE_SERVER_DEVICE "server" /* the writer of warnings (server/warn.c) */
#define STORE_SERVER_NUM UINT32_MAX  /* its device number: never a device's (from 1 up) */
#define STORE_REC_FIELDS (PROTO_MAX_FIELDS + 1) /* a record's fields, the tombstone included */

typedef struct store store;

/* ---- open, close, transactions ---- */

/* Opens or creates the store at path and runs every migration still due. WAL,
 * synchronous=FULL (an ack promises the change is durable: the device then deletes it from
 * its outbox, so a commit lost to a power cut would lose the change for good), busy_timeout
 * 5 s, foreign keys on. */
int store_open(store **out, const char *path, gs_err *err);
/* Process-wide SQLite settings for a server: call once, before any other SQLite use (it
 * fails with GS_E_STATE after). Turns off SQLite's memory statistics, whose global mutex
 * taken on every allocation cost ~6% of a merge (callgrind). */
int store_global_init(void);
/* Stops the checkpointer, if any, and closes; the last connection to close checkpoints
 * what the WAL still holds (SQLite does that). */
void store_close(store *s);
/* Moves WAL checkpoints out of the commits: a thread with its own connection to path copies
 * the WAL into the database whenever it passes 1,000 pages, while the one writer goes on
 * (SQLite's automatic checkpoint ran inside the commit that passed the mark, under the
 * server's lock, with its own fsyncs). For servers; tests may leave SQLite's. */
int store_checkpointer_start(store *s, const char *path, gs_err *err);
/* Checkpoints the thread has run so far (0 without one). */
uint64_t store_checkpoints(store *s);
int store_begin(store *s, gs_err *err); /* BEGIN IMMEDIATE: takes the write lock now */
int store_commit(store *s, gs_err *err);
void store_rollback(store *s); /* harmless outside a transaction */
/* One batch inside an open transaction (group commit, server/group.c): store_savepoint
 * marks where it starts, store_release keeps its writes in the transaction,
 * store_rollback_to undoes them alone (GS_E_DB: the transaction itself is gone, e.g. after
 * an I/O error: roll it back). Versions the undone batch took are not given again. */
int store_savepoint(store *s, gs_err *err);
int store_release(store *s, gs_err *err);
int store_rollback_to(store *s);
/* Test hook: the n-th statement step from now fails with GS_E_DB (n >= 1); -1: never. */
void store_inject_fault(store *s, long n);
/* PRAGMA user_version, for tests and `gridsyncd --version` style reports. */
int store_schema_version(store *s, int *out, gs_err *err);

/* ---- meta ---- */

/* The persisted server HLC (0 for a new store). */
int store_hlc_get(store *s, uint64_t *out, gs_err *err);
int store_hlc_set(store *s, uint64_t value, gs_err *err);
/* Takes the next server version (the last one + 1). Inside a transaction it is counted in
 * memory and persisted by store_commit (gone with a rollback); outside one it is persisted
 * at once. */
int store_version_next(store *s, uint64_t *out, gs_err *err);
/* The last server version given (0 when none). */
int store_version_last(store *s, uint64_t *out, gs_err *err);
/* The store's epoch (PROTOCOL.md 2.9): random at init, never 0; store_epoch_renew gives it a
 * new random value (a restore: the copy is another history from the devices' view). */
int store_epoch_get(store *s, uint64_t *out, gs_err *err);
int store_epoch_renew(store *s, uint64_t *out, gs_err *err);
/* The signature of the warning rules' thresholds the watch rows' deadlines were computed
 * with (rules_signature; 0 when never recorded). */
int store_rules_sig_get(store *s, uint64_t *out, gs_err *err);
int store_rules_sig_set(store *s, uint64_t sig, gs_err *err);

/* ---- devices and admins ---- */

typedef struct store_device {
    char id[GS_LIMIT_NAME + 1];                      /* "d-3f9a0c12ab77" */
    char name[GS_LIMIT_DEVICE_NAME + 1];             /* for people: worker or handheld */
    char grids[GS_LIMIT_GRIDS][GS_LIMIT_NAME + 1];   /* grids it may push and pull */
    size_t n_grids;                                  /* entries in grids */
    uint8_t token_hash[STORE_HASH_LEN];              /* SHA-256 of the token's secret */
    int64_t created_ms;                              /* creation, ms since 1970 */
    int64_t revoked_ms;                              /* 0 while active */
    int64_t last_sync_ms;                            /* 0 when it never synced */
    char last_result[STORE_RESULT_MAX + 1];          /* "ok ch=3 acc=3", "400 malformed" */
    uint64_t rejects;                                /* changes rejected so far */
    uint32_t num;                                    /* its number in records (>= 1) */
    int wipe;                                        /* STORE_WIPE_*: set with revoked_ms */
} store_device;

/* What a revoked device is told when it next syncs (PROTOCOL.md section 1, 410). */
#define STORE_WIPE_NONE 0         /* 401 auth, as for any refused token */
#define STORE_WIPE_NOW 1          /* 410 wiped: delete everything, nothing is accepted */
#define STORE_WIPE_AFTER_UPLOAD 2 /* its batches are merged (410 upload_then_wipe), then
                                     410 wiped once it has nothing left to send */

/* GS_E_EXISTS when the id is taken. */
int store_device_add(store *s, const store_device *d, gs_err *err);
/* GS_E_NOTFOUND when there is no such device (revoked devices are found). */
int store_device_get(store *s, const char *id, size_t id_len, store_device *out, gs_err *err);
/* Sets revoked once (a second call keeps the first time); GS_E_NOTFOUND. wipe is a
 * STORE_WIPE_* value: above NONE it replaces the wipe asked for before (the latest order
 * counts); NONE keeps it (a wipe once asked for is not taken back by a plain revoke). */
int store_device_revoke(store *s, const char *id, int64_t now_ms, int wipe, gs_err *err);
/* Records the outcome of a sync and adds n_rejects to the device's reject count. */
int store_device_synced(store *s, const char *id, int64_t now_ms, const char *result,
                        uint64_t n_rejects, gs_err *err);
typedef int store_device_cb(void *ud, const store_device *d);
/* Every device, by id; a non-zero return of cb stops and is returned. */
int store_device_list(store *s, store_device_cb *cb, void *ud, gs_err *err);

int store_admin_add(store *s, const char *id, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
                    gs_err *err);
int store_admin_get(store *s, const char *id, size_t id_len, uint8_t hash[STORE_HASH_LEN],
                    gs_err *err);
int store_admin_count(store *s, int64_t *out, gs_err *err);

/* ---- the grid registry and named admins (store_registry.c, issue 20) ---- */
/* Towns, and grids by code with their name, village and town; admins by id with a unique
 * name, a role, the towns of a town admin (or of a viewer limited to some towns) and a
 * revocation time. Every list is in byte order of its key. */

#define STORE_REG_TEXT_MAX 120     /* bytes of a grid's name, village or a town's name */
#define STORE_ADMIN_TOWNS 16       /* towns one admin may hold */
#define STORE_GRIDS_MAX 100000     /* grids one registry holds (a list reads at most this) */

typedef struct store_grid {
    char code[GS_LIMIT_NAME + 1];          /* "XH-0412": what devices and records name */
    char name[STORE_REG_TEXT_MAX + 1];     /* "东风村3组" */
    char village[STORE_REG_TEXT_MAX + 1];  /* "东风村" */
    char town[STORE_REG_TEXT_MAX + 1];     /* "迟营镇" (a registered town) */
    int64_t created_ms;                    /* when it was registered */
} store_grid;

typedef struct store_admin {
    char id[GS_LIMIT_NAME + 1];                          /* "a-3f9a0c12ab77" */
    char name[GS_LIMIT_NAME + 1];                        /* for people and the audit */
    char role[8];                                        /* "county", "town" or "viewer" */
    char towns[STORE_ADMIN_TOWNS][STORE_REG_TEXT_MAX + 1]; /* its towns */
    size_t n_towns;                                      /* entries in towns */
    uint8_t token_hash[STORE_HASH_LEN];                  /* SHA-256 of its token's secret */
    int64_t created_ms;                                  /* creation */
    int64_t revoked_ms;                                  /* 0 while active */
} store_admin;

/* GS_E_EXISTS when the town is there. */
int store_town_add(store *s, const char *town, int64_t now_ms, gs_err *err);
/* 1 in *out when the town is registered. */
int store_town_has(store *s, const char *town, int *out, gs_err *err);
typedef int store_town_cb(void *ud, const char *town, int64_t created_ms, int64_t n_grids);
int store_town_list(store *s, store_town_cb *cb, void *ud, gs_err *err);
/* Adds g (its town must be registered: GS_E_NOTFOUND); GS_E_EXISTS when the code is taken,
 * unless replace, which then sets its name, village and town (an import). */
int store_grid_put(store *s, const store_grid *g, int replace, gs_err *err);
/* GS_E_NOTFOUND when no grid has the code. */
int store_grid_get(store *s, const char *code, store_grid *out, gs_err *err);
/* The number of registered grids (0: no registry, devices may name any grid). */
int store_grid_count(store *s, int64_t *out, gs_err *err);
typedef int store_grid_cb(void *ud, const store_grid *g);
/* The grids of town (NULL: all), by code. */
int store_grid_list(store *s, const char *town, store_grid_cb *cb, void *ud, gs_err *err);

/* Adds a (its towns must be registered: GS_E_NOTFOUND); GS_E_EXISTS when the id or the
 * name is taken. */
int store_admin_put(store *s, const store_admin *a, gs_err *err);
/* The admin, revoked ones included; GS_E_NOTFOUND. */
int store_admin_load(store *s, const char *id, size_t id_len, store_admin *out, gs_err *err);
/* Sets revoked once (a second call keeps the first time); GS_E_NOTFOUND. */
int store_admin_revoke(store *s, const char *id, int64_t now_ms, gs_err *err);
typedef int store_admin_cb(void *ud, const store_admin *a);
/* Every admin, by name. */
int store_admin_list(store *s, store_admin_cb *cb, void *ud, gs_err *err);
/* ---- enrolment codes (store_enrol.c) ----
 * A code an admin made for a device-to-be: its name and grids, the SHA-256 of the code
 * (the code is never stored), when it expires, and at most once either its use (with the
 * device it made) or its revocation. States: open -> used | revoked; open past expires
 * reads as expired. */

typedef enum store_enrol_state {
    STORE_ENROL_OPEN,    /* usable */
    STORE_ENROL_EXPIRED, /* not used before expires */
    STORE_ENROL_USED,    /* a device was made with it */
    STORE_ENROL_REVOKED, /* an admin revoked it before it was used */
} store_enrol_state;

typedef struct store_enrolment {
    char id[GS_LIMIT_NAME + 1];                    /* "e-3f9a0c12ab77": not secret */
    uint8_t code_hash[STORE_HASH_LEN];             /* SHA-256 of the canonical code */
    char name[GS_LIMIT_DEVICE_NAME + 1];           /* the device's name to be */
    char grids[GS_LIMIT_GRIDS][GS_LIMIT_NAME + 1]; /* its grids to be */
    size_t n_grids;                                /* entries in grids (>= 1) */
    int64_t created_ms;                            /* made, ms since 1970 */
    int64_t expires_ms;                            /* unusable from then on */
    char created_by[GS_LIMIT_NAME + 1];            /* the admin who made it */
    int64_t used_ms;                               /* 0 until used */
    char device[GS_LIMIT_NAME + 1];                /* the device it made; "" until used */
    int64_t revoked_ms;                            /* 0 unless revoked */
} store_enrolment;

/* e's state at now_ms. */
store_enrol_state store_enrol_state_at(const store_enrolment *e, int64_t now_ms);
/* A short name of a state: "open", "expired", "used", "revoked". */
const char *store_enrol_state_name(store_enrol_state st);
/* Adds e (used and revoked ignored); GS_E_EXISTS when its id or code hash is taken. */
int store_enrol_add(store *s, const store_enrolment *e, gs_err *err);
/* The enrolment of a code hash, or of an id; GS_E_NOTFOUND. */
int store_enrol_by_hash(store *s, const uint8_t hash[STORE_HASH_LEN], store_enrolment *out,
                        gs_err *err);
int store_enrol_get(store *s, const char *id, store_enrolment *out, gs_err *err);
typedef int store_enrol_cb(void *ud, const store_enrolment *e);
/* Every enrolment, the newest first; a non-zero return of cb stops and is returned. */
int store_enrol_list(store *s, store_enrol_cb *cb, void *ud, gs_err *err);
/* Marks enrolment id used at now_ms by device, only if it is open then: GS_E_STATE when it
 * is not (expired, used or revoked meanwhile), GS_E_NOTFOUND. Run it in the transaction
 * that adds the device, so a code makes one device or none. */
int store_enrol_use(store *s, const char *id, int64_t now_ms, const char *device, gs_err *err);
/* Revokes enrolment id at now_ms: GS_E_STATE when it was used already (revoke the device
 * instead), GS_E_NOTFOUND; revoking twice keeps the first time. An expired one may be
 * revoked (it then lists as revoked). */
int store_enrol_revoke(store *s, const char *id, int64_t now_ms, gs_err *err);
/* Sets a device's display name (the console's devices page); GS_E_NOTFOUND. */
int store_device_rename(store *s, const char *id, const char *name, gs_err *err);

/* ---- what the warning rules watch (store_watch.c, server/warn.c) ---- */

/* One (rule, subject): the condition began at since; it holds from deadline on (0: it
 * cannot, as things are) until until (0: no end by time); due is the next time the row must
 * be looked at (0: none), what the sweep reads by index. warning is the open warning's id. */
typedef struct store_watch {
    char rule[32];                     /* a warning rule key */
    char subject[GS_LIMIT_NAME + 1];   /* record id as text, or a device id */
    char grid[GS_LIMIT_NAME + 1];      /* the warning's grid */
    char ref[GS_LIMIT_NAME + 1];       /* the resident a visit's row is about, or "" */
    int64_t since, deadline, until, due; /* ms since 1970, 0 for none */
    int64_t info;                      /* the rule's own: unvisited_vulnerable, the resident's
                                          tags (bit i: resident.tags' i-th value in the
                                          schema); care_overdue, the priority (0 low, 1
                                          normal, 2 urgent); dispute_repeated, the count */
    int has_warning;                   /* warning holds an id */
    uint8_t warning[16];               /* the open warning */
    int level;                         /* its level (index in the schema's levels) */
} store_watch;

/* GS_E_NOTFOUND when there is no row. */
int store_watch_get(store *s, const char *rule, const char *subject, store_watch *out,
                    gs_err *err);
int store_watch_put(store *s, const store_watch *w, gs_err *err);
/* w's state (since to level) in place, its grid and ref as the store has them; the whole
 * row when the store has none. */
int store_watch_update(store *s, const store_watch *w, gs_err *err);
int store_watch_del(store *s, const char *rule, const char *subject, gs_err *err);
typedef int store_watch_cb(void *ud, const store_watch *w);
/* Rows with 0 < due <= now, by due, at most max; a non-zero return of cb stops. */
int store_watch_due(store *s, int64_t now, uint32_t max, store_watch_cb *cb, void *ud,
                    gs_err *err);
/* At most max rows after (after_rule, after_subject) in key order ("", "": from the first). */
int store_watch_scan(store *s, const char *after_rule, const char *after_subject, uint32_t max,
                     store_watch_cb *cb, void *ud, gs_err *err);
/* Rows of rule whose ref is ref. */
int store_watch_by_ref(store *s, const char *rule, const char *ref, store_watch_cb *cb, void *ud,
                       gs_err *err);
typedef int store_warn_count_cb(void *ud, const char *rule, int level, int64_t n);
/* Open warnings by rule and level. */
int store_watch_open_counts(store *s, store_warn_count_cb *cb, void *ud, gs_err *err);
/* A dispute visit of a resident (idempotent), and how many of them (at most n) are at or
 * after from; *nth_at is the time of the n-th latest (0 with fewer). */
int store_dispute_add(store *s, const char *resident, int64_t at, const char *visit,
                      const char *grid, gs_err *err);
int store_dispute_recent(store *s, const char *resident, int64_t from, uint32_t n,
                         int64_t *count, int64_t *nth_at, gs_err *err);

/* 1 in *out when the rules watch nothing yet and the store holds records: a store from
 * before the rules (warn_backfill). */
int store_watch_needs_backfill(store *s, int *out, gs_err *err);
/* 1 in *out when no visit has been counted in visit_days. */
int store_visit_days_empty(store *s, int *out, gs_err *err);
/* One more visit recorded in grid on day (days since 1970-01-01 in Beijing time, UTC+8). */
int store_visit_day_add(store *s, const char *grid, int64_t day, int64_t n, gs_err *err);

/* ---- the dashboard, the warning list and the export (store_dash.c) ---- */
/* Every read here is by index: one grid's rows by its grid, a range by its time; nothing
 * decodes a record blob (the warning list and the export read the records they list, one
 * by one, with store_rec_get). grid NULL: the whole town; every callback's grid is the
 * row's. A non-zero return of a callback stops the read and is returned. Rows come one
 * call each, in no order: the caller sums them (dash.c) without the sort a GROUP BY over
 * the town's rows would cost. */

/* The residents watched by unvisited_vulnerable (one row each, store_watch) that have a
 * tag, one call each: grid, tag mask (the watch row's info), their last visit or creation. */
typedef int store_dash_resident_cb(void *ud, const char *grid, unsigned mask, int64_t since);
int store_dash_residents(store *s, const char *grid, store_dash_resident_cb *cb, void *ud,
                         gs_err *err);
/* Visits per grid and day (days since 1970 in Beijing time) for days day_from..day_to. */
typedef int store_dash_day_cb(void *ud, const char *grid, int64_t day, int64_t n);
int store_dash_visit_days(store *s, const char *grid, int64_t day_from, int64_t day_to,
                          store_dash_day_cb *cb, void *ud, gs_err *err);
/* Open care requests (their care_overdue rows), one call each: grid, priority (0 low,
 * 1 normal, 2 urgent), requested_at. */
typedef int store_dash_care_cb(void *ud, const char *grid, int priority, int64_t since);
int store_dash_care(store *s, const char *grid, store_dash_care_cb *cb, void *ud, gs_err *err);
/* The dispute visits at from..to (ms), one call each with open 0: grid, time; then, open 1,
 * those of them whose follow-up is open (their dispute_open rows: since is the visit's
 * time, warn.c on_followup). Closed = all - open. */
typedef int store_dash_dispute_cb(void *ud, const char *grid, int64_t at, int open);
int store_dash_disputes(store *s, const char *grid, int64_t from, int64_t to,
                        store_dash_dispute_cb *cb, void *ud, gs_err *err);
/* Open (not cleared) warnings by grid, rule and level, as their watch rows say. */
typedef int store_dash_warn_cb(void *ud, const char *grid, const char *rule, int level,
                               int64_t n);
int store_dash_warnings(store *s, const char *grid, store_dash_warn_cb *cb, void *ud,
                        gs_err *err);
/* Devices not revoked whose last sync (their creation, never synced) is before `before`. */
typedef int store_dash_id_cb(void *ud, const char *id);
int store_dash_silent(store *s, const char *grid, int64_t before, store_dash_id_cb *cb, void *ud,
                      gs_err *err);
typedef int store_dash_rid_cb(void *ud, const uint8_t id[16]);
/* The warnings not cleared (their watch rows hold them), of the grid of their watch rows. */
int store_warning_live(store *s, const char *grid, store_dash_rid_cb *cb, void *ud, gs_err *err);
/* At most limit warning records, not deleted, of grid (the record's), by id from the newest,
 * below `below` (NULL: from the newest of all). */
int store_warning_page(store *s, const char *grid, const uint8_t *below, uint32_t limit,
                       store_dash_rid_cb *cb, void *ud, gs_err *err);
/* At most limit records of tbl, not deleted, whose id (a UUIDv7: its first 48 bits are the
 * ms of the record's creation) is of from_ms..to_ms, by id, after `after` (NULL: from the
 * first). */
int store_rec_page(store *s, const char *tbl, int64_t from_ms, int64_t to_ms,
                   const uint8_t *after, uint32_t limit, store_dash_rid_cb *cb, void *ud,
                   gs_err *err);

/* ---- records and fields ---- */

typedef struct store_record {
    char grid[GS_LIMIT_NAME + 1];  /* current grid */
    int deleted;                   /* the tombstone's current value */
    uint64_t created_hlc;          /* HLC of the creating change */
    uint64_t updated_hlc;          /* greatest HLC of any change applied */
    uint64_t version;              /* version of the last change applied */
} store_record;

typedef struct store_field {
    proto_value value;             /* current value (arena memory when read) */
    uint64_t version;              /* server version of this value */
    uint64_t hlc;                  /* HLC of the edit that wrote it */
    char device[GS_LIMIT_NAME + 1]; /* device that wrote it, or "admin" */
    uint32_t writer;               /* that device's number (0 for admin) */
} store_field;

/* A whole record: what a change reads once and writes once. */
typedef struct store_rec {
    store_record meta;                     /* grid, tombstone, times, version */
    uint32_t n;                            /* fields in names and f */
    const char *names[STORE_REC_FIELDS];   /* static schema names */
    store_field f[STORE_REC_FIELDS];       /* their states */
} store_rec;

int store_record_get(store *s, const char *tbl, const uint8_t id[16], store_record *out,
                     gs_err *err);
/* The record with every field (values in the arena); GS_E_NOTFOUND when absent. */
int store_rec_get(store *s, const char *tbl, const uint8_t id[16], gs_arena *a, store_rec *out,
                  gs_err *err);
typedef int store_rec_cb(void *ud, const uint8_t id[16], const store_rec *r);
/* The records of tbl after the one at *after (0: from the first), in the order they were
 * first written, at most max; *after moves to the last one given, *n_out counts them. For
 * one-off passes over everything (the warning rules' backfill). */
int store_rec_scan(store *s, const char *tbl, int64_t *after, uint32_t max, gs_arena *a,
                   store_rec_cb *cb, void *ud, uint32_t *n_out, gs_err *err);
/* Writes record r after a change with version r->meta.version by device number writer;
 * old is the record as store_rec_get read it before the change (NULL for a new record):
 * the pull index follows from the two. */
int store_rec_put(store *s, const char *tbl, const uint8_t id[16], const store_rec *old,
                  const store_rec *r, uint32_t writer, gs_err *err);
/* In r, the field (other than the tombstone) with the greatest version above `above`
 * written by a device other than `device`: 1 with *index set, or 0 when there is none. */
int store_rec_latest_other(const store_rec *r, const char *device, uint64_t above, size_t *index);
/* The value of field in r (a schema name), or NULL when r has none. */
const proto_value *store_rec_value(const store_rec *r, const char *field);
/* One field (reads the record); GS_E_NOTFOUND when the record or field is absent. */
int store_field_get(store *s, const char *tbl, const uint8_t id[16], const char *field,
                    gs_arena *a, store_field *out, gs_err *err);
/* Records that a record left from_grid for to_grid with change version `version`: devices
 * of from_grid (and not of to_grid) pull it as a change setting `field` (the table's scope
 * field) to to_grid, by `device`, so they drop their copy. */
int store_move_add(store *s, const char *tbl, const uint8_t id[16], const char *field,
                   const char *from_grid, const char *to_grid, uint64_t version, uint64_t hlc,
                   const char *device, gs_err *err);
typedef int store_field_cb(void *ud, const char *field, const store_field *f);
/* Every field of a record, in field-name order (none for an absent record). */
int store_fields_each(store *s, const char *tbl, const uint8_t id[16], gs_arena *a,
                      store_field_cb *cb, void *ud, gs_err *err);

/* Appends an accepted change to the change log: who changed which record, as which seq. */
int store_change_add(store *s, uint64_t version, const char *device, uint64_t seq, const char *tbl,
                     const uint8_t id[16], gs_err *err);

/* ---- acks (exactly once per device and seq) ---- */

int store_ack_get(store *s, const char *device, uint64_t seq, gs_arena *a, proto_ack *out,
                  gs_err *err);
/* An ack that no range holds: a rejection, or an acceptance with lost fields. */
int store_ack_put(store *s, const char *device, const proto_ack *ack, gs_err *err);
/* Accepted changes first_seq..last_seq of device, each with no lost field, got versions
 * first_version.. in order (a run of one batch). */
int store_ack_range_put(store *s, const char *device, uint64_t first_seq, uint64_t last_seq,
                        uint64_t first_version, gs_err *err);
/* The highest seq the device has a stored ack for (0 when none): a seq above it is new. */
int store_ack_max(store *s, const char *device, uint64_t *out, gs_err *err);
/* Forgets the device's acks below low (the device has settled them). */
int store_ack_prune(store *s, const char *device, uint64_t low, gs_err *err);

/* ---- pull ---- */

typedef struct store_pull_row {
    uint64_t version;          /* the field's version */
    const char *tbl;           /* static schema name of the record's table */
    const uint8_t *rid;        /* 16 bytes, valid during the callback */
    const char *field;         /* static schema name of the field */
    const proto_value *value;  /* the value, in the scan's arena */
    uint64_t hlc;              /* HLC of the edit */
} store_pull_row;

/* 0: go on; 1: stop (not an error); anything else: stop and return it. */
typedef int store_pull_cb(void *ud, const store_pull_row *row);
/* Field states with version > cursor, of records whose current grid is one of the
 * device's grids, and departures (store_move_add) from the device's grids to grids it does
 * not have, neither written by the device, in version order (the fields of one version are
 * one change of one record). For a one-grid device rows are read lazily from the index;
 * for several grids SQLite sorts the rows after the cursor first. Values live in a. */
int store_pull_scan(store *s, const store_device *dev, uint64_t cursor, gs_arena *a,
                    store_pull_cb *cb, void *ud, gs_err *err);

/* ---- conflicts and audit ---- */

typedef struct store_side {
    proto_value value;             /* the value of this side */
    uint64_t hlc;                  /* HLC of its edit */
    uint64_t version;              /* server version it had or got */
    char device[GS_LIMIT_NAME + 1]; /* device that wrote it */
} store_side;

typedef struct store_conflict {
    int64_t id;                      /* assigned by store_conflict_add */
    char tbl[GS_LIMIT_NAME + 1];     /* record type */
    uint8_t rid[16];                 /* record id */
    char grid[GS_LIMIT_NAME + 1];    /* the record's grid when recorded */
    char field[GS_LIMIT_NAME + 1];   /* the contested field */
    int policy;                      /* schema_policy that decided */
    int winner_pushed;               /* 1: the incoming change won; 0: the stored value stayed */
    store_side winner;               /* the side whose value was kept */
    store_side other;                /* the side that lost */
    int resolved;                    /* 0 open, 1 resolved by an admin */
    int64_t created_ms;              /* when it was recorded */
    int64_t resolved_ms;             /* when it was resolved, 0 while open */
    int64_t losers;                  /* losing edits folded into it (read only; >= 1) */
    int64_t updated_ms;              /* when its last loser came (read only) */
} store_conflict;

/* Records a conflict. There is at most one open conflict per (tbl, rid, field): when one
 * is open, c updates it (both sides, grid, policy) and its losers count grows by one. */
int store_conflict_add(store *s, const store_conflict *c, int64_t *id_out, gs_err *err);
/* The same; with may_open 0 only an open conflict is updated and none is opened.
 * *opened (may be NULL): 1 a new conflict was opened, 0 an open one updated, -1 nothing
 * recorded (may_open 0 and none open). *id_out is written when a row was touched. */
int store_conflict_note(store *s, const store_conflict *c, int may_open, int *opened,
                        int64_t *id_out, gs_err *err);
int store_conflict_get(store *s, int64_t id, gs_arena *a, store_conflict *out, gs_err *err);
typedef int store_conflict_cb(void *ud, const store_conflict *c);
/* Conflicts by id; open_only, grid (NULL: any) filter; at most limit of them. */
int store_conflict_list(store *s, int open_only, const char *grid, uint32_t limit, gs_arena *a,
                        store_conflict_cb *cb, void *ud, gs_err *err);
int store_conflict_resolve(store *s, int64_t id, int64_t now_ms, gs_err *err);

typedef struct store_audit {
    int64_t conflict;             /* the conflict resolved */
    char admin[GS_LIMIT_NAME + 1]; /* who */
    int64_t at_ms;                /* when */
    proto_value old_value;        /* the field's value before */
    proto_value new_value;        /* the value chosen */
    uint64_t version;             /* the version the resolution got */
    const char *note;             /* the admin's note, "" when none */
} store_audit;

int store_audit_add(store *s, const store_audit *au, gs_err *err);
/* The latest audit row of a conflict; GS_E_NOTFOUND when it has none. */
int store_audit_get(store *s, int64_t conflict, gs_arena *a, store_audit *out, gs_err *err);

/* ---- console sessions (store_session.c) ---- */

/* One signed-in console session, known to every process on the store (issue 20). The
 * cookie is never stored, only its SHA-256 (id_hash); the csrf token is stored as is (it
 * is no use without the cookie, and a reloaded page asks for it again). */
typedef struct store_session {
    uint8_t id_hash[STORE_HASH_LEN]; /* SHA-256 of the cookie value */
    char csrf[64];                   /* the page's "Session <csrf>" token */
    char admin[GS_LIMIT_NAME + 1];   /* who signed in */
    int64_t created_ms;              /* sign-in */
    int64_t used_ms;                 /* last accepted request */
} store_session;

/* Adds (or replaces, same id_hash) a session; then, past max_sessions, ends the least
 * recently used ones. */
int store_session_put(store *s, const store_session *ss, int max_sessions, gs_err *err);
/* Ends the sessions idle since before idle_before_ms or signed in before born_before_ms,
 * then reads the one of id_hash: GS_E_NOTFOUND when there is none. */
int store_session_get(store *s, const uint8_t id_hash[STORE_HASH_LEN], int64_t idle_before_ms,
                      int64_t born_before_ms, store_session *out, gs_err *err);
int store_session_touch(store *s, const uint8_t id_hash[STORE_HASH_LEN], int64_t now_ms,
                        gs_err *err);
int store_session_del(store *s, const uint8_t id_hash[STORE_HASH_LEN], gs_err *err);
/* Live sessions, after ending the expired ones as store_session_get does. */
int store_session_count(store *s, int64_t idle_before_ms, int64_t born_before_ms, int64_t *out,
                        gs_err *err);

/* ---- attachment bytes (store_att.c, issue 19) ---- */

/* A complete, hash-verified blob in DIR/blobs (server/blobs.h): who sent it first and the
 * grid of the attachment record it was sent for (its quotas are charged to them). */
typedef struct store_att_blob {
    char sha256[65];               /* lower-case hex */
    int64_t size;                  /* bytes */
    char device[GS_LIMIT_NAME + 1]; /* the device that completed it first */
    char grid[GS_LIMIT_NAME + 1];  /* that attachment record's grid */
    int64_t created_ms;            /* when it became visible */
} store_att_blob;

/* GS_E_NOTFOUND when the blob is not indexed. */
int store_att_get(store *s, const char *sha256, store_att_blob *out, gs_err *err);
/* Indexes b; a row already there for the hash is kept (the same content is stored once). */
int store_att_put(store *s, const store_att_blob *b, gs_err *err);
int store_att_del(store *s, const char *sha256, gs_err *err);
/* Bytes charged to device and to grid (either may be NULL: 0). */
int store_att_usage(store *s, const char *device, const char *grid, int64_t *device_bytes,
                    int64_t *grid_bytes, gs_err *err);
typedef int store_att_cb(void *ud, const store_att_blob *b);
/* Every indexed blob, by hash; a non-zero return of cb stops and is returned. */
int store_att_each(store *s, store_att_cb *cb, void *ud, gs_err *err);

/* ---- status ---- */

/* Per grid and table, live (not deleted) records. */
typedef int store_count_cb(void *ud, const char *grid, const char *tbl, int64_t n);
int store_record_counts(store *s, store_count_cb *cb, void *ud, gs_err *err);
/* Per grid, open conflicts (tbl is NULL). */
int store_conflict_counts(store *s, store_count_cb *cb, void *ud, gs_err *err);

#endif
