/*
 * db.h: the device database handle (struct gs_db) and what every client module needs from
 * it: SQLite errors translated to gs_rc with a message, a cache of prepared statements,
 * nested transactions, the key/value meta table, and the two counters every write
 * advances (the HLC and the outbox sequence number).
 *
 * Transactions nest: the outermost db_tx_begin is BEGIN IMMEDIATE (the write lock is taken
 * at once, so a write never fails half-way with SQLITE_BUSY); an inner level is only a mark
 * (a SAVEPOINT per record cost a fifth of a batch's time in its sub-journal). Every write
 * checks all it can (values, references, ids) before its first change, so an inner level
 * rolled back for a refused input has changed nothing and the batch goes on. An inner level
 * rolled back after it changed rows (a disk or database error) poisons the outermost
 * transaction: its commit rolls everything back and fails with GS_E_STATE (unless that level
 * was begun with db_tx_begin_undoable, a real SAVEPOINT). The counters are read from
 * meta by the first write of an outermost transaction and written back just before its
 * COMMIT, so they commit or vanish with the writes that used them; a sequence number
 * consumed by a write that rolled back inside a batch is simply skipped (seq must never be
 * reused, gaps are fine).
 *
 * Layout (user_version 4; record tables are generated from proto/schema.c on open):
 *   meta(k, v)                         device settings and counters, see DB_META_*
 *   <table>(id, created, updated, deleted, <one column per schema field>)
 *   outbox(seq, tbl, rid, hlc, fields, sent)   pending changes (fieldpack.h blobs); a row
 *                                      is sent when seq <= meta sent_upto (`sent` unused)
 *   record_version(rid, fields)        per record, the server version and edit clock of
 *                                      each field seen (fvers.h)
 *   rejected(seq, tbl, rid, hlc, fields, code, message, at)
 *   attachment_blob(key, kind, data, sent)   attachment bytes (layout 4, attach.h)
 */
#ifndef GS_CLIENT_DB_H
#define GS_CLIENT_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hlc.h"
#include "common/rc.h"
#include "dclock.h"
#include "gridsync.h"

/* The layout version this code writes; older files are migrated forward on open. */
#define DB_LAYOUT_VERSION 4

/* Meta keys. */
#define DB_META_DEVICE "device_id"
#define DB_META_TOKEN "token"
#define DB_META_SERVER "server_url"
#define DB_META_CA "ca_pem"
#define DB_META_GRIDS "grids"     /* newline-separated, the first is the default */
#define DB_META_WORKER "worker"
#define DB_META_HLC "hlc_last"
#define DB_META_SEQ "next_seq"
#define DB_META_CURSOR "cursor"
#define DB_META_SYNC_AT "last_sync_ms"
#define DB_META_SYNC_RESULT "last_sync_result"
#define DB_META_SCHEMA_SIG "schema_sig"
#define DB_META_SERVER_PROTO "server_proto" /* protocol version of the last response */
#define DB_META_SENT_UPTO "sent_upto"       /* every outbox row up to this seq was sent */
#define DB_META_CLOCK_OFFSET "clock_offset_ms" /* dclock.h: server minus device clock */
#define DB_META_CLOCK_RAW "clock_ref_raw"      /* the device clock when it was measured */
#define DB_META_CLOCK_MONO "clock_ref_mono"    /* the monotonic clock then */

/* How far ahead of our clock a server HLC may be before db_hlc_observe refuses it. */
#define DB_MAX_DRIFT_MS (5u * 60u * 1000u)

typedef struct db_stmt_entry db_stmt_entry;

/* Deepest nesting of db_tx_begin (a batch, a write, and the calls a write makes). */
#define DB_TX_MAX_DEPTH 8

#define DB_STMT_BUCKETS 256
#define DB_LIT_SLOTS 64 /* db_prepare_static's direct-mapped cache */

struct gs_db {
    sqlite3 *sql;               /* the connection */
    gs_err err;                 /* last error of a public call */
    hlc clock;                  /* the HLC; .last valid while counters_loaded; its wall clock
                                   is dc, corrected by the server's time */
    dclock dc;                  /* the device clock and its offset to the server's */
    uint64_t next_seq;          /* next outbox seq; valid while counters_loaded */
    int counters_loaded;        /* counters read from meta in this outermost transaction */
    int counters_dirty;         /* counters changed: write back before COMMIT */
    int tx_depth;               /* 0 none, 1 BEGIN, >1 nested inner levels */
    sqlite3_int64 tx_mark[DB_TX_MAX_DEPTH]; /* total changes when each level began */
    int tx_savepoint[DB_TX_MAX_DEPTH]; /* that level is a SAVEPOINT (undoable alone) */
    int poisoned;               /* an inner level failed after changing rows */
    int batch;                  /* a gs_db_begin batch is open (it owns depth 1) */
    char *default_grid;         /* the device's first grid (NULL before init) */
    char *grids;                /* all its grids, newline-separated (NULL before init) */
    char *worker;               /* the device's worker name (NULL before init) */
    char *path;                 /* the file gs_db_open_key opened (gs_db_rekey renames) */
    unsigned char *key;         /* a copy of its key (NULL: plain), for gs_db_rekey to go
                                   back to the old file; wiped before it is freed */
    size_t key_len;             /* its length */
    db_stmt_entry *stmts[DB_STMT_BUCKETS]; /* prepared statement cache, by SQL text */
    const char *lit_key[DB_LIT_SLOTS];     /* db_prepare_static: the literal of each slot */
    sqlite3_stmt *lit_st[DB_LIT_SLOTS];    /* and its statement (owned by stmts) */
    char **memo;                /* SQL texts built per (table, kind), see db_prepare_memo */
    char *locate_sql;           /* record_locate's statement text (record.c), built once */
    sqlite3_stmt **memo_st;     /* their statements (owned by the cache above) */
};

/* The connection alone, for gs_db_rekey (dbkey.c): db_conn_open opens db->path with key
 * (none when key_len is 0), probing it (GS_E_KEY); db_conn_close finalises every cached
 * statement and closes it, GS_E_STATE (connection kept) while a gs_list is open. */
int db_conn_open(gs_db *db, const void *key, size_t key_len);
int db_conn_close(gs_db *db);
/* Replaces db->key with a copy of key (none when key_len is 0), wiping the old one.
 * GS_E_NOMEM keeps the old. */
int db_key_keep(gs_db *db, const void *key, size_t key_len);

/* Records a SQLite failure (src is the sqlite result code) as a gs_rc with a message
 * "<what>: <sqlite message> (sqlite <code>)" and returns the gs_rc: GS_E_BUSY for
 * locking, GS_E_NOMEM, GS_E_IO for disk errors, GS_E_DB otherwise. */
int db_fail(gs_db *db, int src, const char *what);

/* A cached prepared statement for sql (compared by content). The statement must be given
 * back with db_done before the next db_prepare of the same SQL. */
int db_prepare(gs_db *db, const char *sql, sqlite3_stmt **out);
/* db_prepare for a string literal (or any text that never changes at that address): found
 * by the literal's address, without hashing the text (a fifth of a sync's statement
 * lookups went into hashing). Never give it a buffer that is reused for other SQL. */
int db_prepare_static(gs_db *db, const char *sql, sqlite3_stmt **out);
/* Kinds of per-table statement texts kept by db_prepare_memo. */
#define DB_SQL_INSERT 0    /* INSERT of a whole record */
#define DB_SQL_BY_ID 1     /* SELECT record_select_list FROM t WHERE id = ?1 */
#define DB_SQL_KINDS 2

struct schema_table;
typedef int db_sql_build_fn(const struct schema_table *t, gs_buf *out);
/* db_prepare of the statement text build makes for (t, kind), built once per handle: the
 * hot write path should not format SQL for every record. */
int db_prepare_memo(gs_db *db, const struct schema_table *t, int kind, db_sql_build_fn *build,
                    sqlite3_stmt **out);
/* Resets and unbinds st; NULL is fine. */
void db_done(sqlite3_stmt *st);
/* Runs a statement without results. */
int db_exec(gs_db *db, const char *sql);

/* Closes the handle's connection to its file (an open transaction rolled back, every
 * statement finalised) and puts an empty in-memory database in its place, so that every
 * later call fails (GS_E_DB) without reaching a file, until gs_db_close. For the remote
 * wipe (wipe.h), which deletes the files next. GS_E_NOMEM when the in-memory database
 * cannot be made (db->sql is then NULL: only gs_db_close is safe). */
int db_detach_file(gs_db *db);

int db_tx_begin(gs_db *db);
/* As db_tx_begin, but when nested the level is a SAVEPOINT and its rollback undoes it alone
 * without poisoning the outer transaction (for a whole import inside a batch). */
int db_tx_begin_undoable(gs_db *db);
int db_tx_commit(gs_db *db);
/* Never fails: a failed rollback leaves SQLite to roll back on close. */
void db_tx_rollback(gs_db *db);

/* Inside a transaction: loads the counters if this transaction has not. */
int db_counters_load(gs_db *db);
/* Inside a transaction: the HLC of a new local event. */
int db_hlc_next(gs_db *db, uint64_t *out);
/* Inside a transaction: the next outbox sequence number. */
int db_seq_next(gs_db *db, uint64_t *out);
/* A new HLC value for a send (the request's "now"), persisted in its own transaction (or
 * the caller's), so the clock never repeats it. */
int db_hlc_stamp(gs_db *db, uint64_t *out);
/* Merges a peer's HLC (the server's "now" or a pulled change's hlc) into the clock, in its
 * own transaction when none is open. GS_E_CLOCK when remote is over DB_MAX_DRIFT_MS ahead. */
int db_hlc_observe(gs_db *db, uint64_t remote);
/* Steps the HLC back to the server's clock when it ran more than DB_MAX_DRIFT_MS ahead of
 * both our wall clock and the server's (a device whose clock was set days ahead, then set
 * right). Safe because the server refuses every change stamped beyond that drift, so no
 * accepted edit carries such a stamp and nothing accepted is reordered; without it the
 * device would stamp every new edit days ahead and be refused until time caught up. */
int db_hlc_rebase(gs_db *db, uint64_t server_now);
/* Wall-clock ms from the handle's clock, corrected by the offset to the server's clock
 * (dclock.h); this is the clock of HLCs and "now" defaults. */
uint64_t db_wall_ms(gs_db *db);
/* Test hooks: the raw wall clock and the monotonic clock under the correction. */
void db_set_clock(gs_db *db, hlc_clock_fn *fn, void *ud);
void db_set_mono_clock(gs_db *db, hlc_clock_fn *fn, void *ud);
/* Reads the last measured offset from meta (gs_db_open does); stores a new measurement
 * (dclock_learn) in its own transaction. */
int db_clock_load(gs_db *db);
int db_clock_learn(gs_db *db, uint64_t server_ms, uint64_t send_raw, uint64_t send_mono,
                   uint64_t recv_raw, uint64_t recv_mono);

/* Meta values. A missing key gives dflt / NULL. Text is returned in gs_malloc'd memory. */
int db_meta_get_int(gs_db *db, const char *key, int64_t dflt, int64_t *out);
int db_meta_get_text(gs_db *db, const char *key, char **out);
int db_meta_set_int(gs_db *db, const char *key, int64_t v);
int db_meta_set_text(gs_db *db, const char *key, const char *v, size_t len);

/* Re-reads the device defaults (grid, worker) from meta after gs_db_init_device. */
int db_load_defaults(gs_db *db);
/* Whether grid (len bytes) is one of the device's grids (db_load_defaults read them). */
int db_has_grid(const gs_db *db, const char *grid, size_t len);

/* The SQL column type of a schema type. */
const char *db_sql_type(int schema_type);

#endif
