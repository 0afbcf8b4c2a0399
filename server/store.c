/*
 * store.c: the SQLite implementation of store.h, and the only file of gridsyncd with SQL.
 *
 * Statements are prepared once per handle (lazily, SQLITE_PREPARE_PERSISTENT) and kept in
 * s->stmt[] indexed by the Q_* enum; every function resets what it used before returning,
 * so no read statement keeps a WAL snapshot open between calls.
 *
 * Migrations are forward only: migrations[i] takes the store from user_version i to i + 1,
 * each in its own transaction together with the user_version bump. A store newer than this
 * program (user_version above STORE_SCHEMA_VERSION) is refused rather than guessed at.
 *
 * Values are stored as the MessagePack of the wire value (see proto_value_encode), which
 * keeps every schema type exact (ints, reals, tag lists) without a column per type.
 */
#include "store_db.h"

#include "common/alloc.h"
#include "common/rand.h"
#include "proto/value.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* schema and migrations                                                                */

/* migrations[i] takes user_version i to i + 1. Append only; never edit a shipped one. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);"
    "INSERT INTO meta (key, value) VALUES ('hlc', 0), ('version', 0), ('schema', 1);"
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  last_sync INTEGER NOT NULL DEFAULT 0,"
    "  last_result TEXT NOT NULL DEFAULT '',"
    "  rejects INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE device_grids ("
    "  device TEXT NOT NULL REFERENCES devices(id),"
    "  grid TEXT NOT NULL,"
    "  PRIMARY KEY (device, grid)) WITHOUT ROWID;"
    "CREATE TABLE admins ("
    "  id TEXT PRIMARY KEY,"
    "  token_hash BLOB NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE records ("
    "  tbl TEXT NOT NULL,"
    "  id BLOB NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0,"
    "  created_hlc INTEGER NOT NULL,"
    "  updated_hlc INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  PRIMARY KEY (tbl, id)) WITHOUT ROWID;"
    "CREATE INDEX records_grid ON records (grid, tbl);"
    "CREATE TABLE field_state ("
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL,"
    "  field TEXT NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  value BLOB NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  hlc INTEGER NOT NULL,"
    "  device TEXT NOT NULL,"
    "  seq INTEGER NOT NULL);"
    /* a rowid table: the pull index below reaches each row by integer rowid, cheaper than
     * by its (text, blob, text) key */
    "CREATE UNIQUE INDEX field_state_key ON field_state (tbl, rid, field);"
    /* the pull of a one-grid device walks this index in order, so a page stops reading
     * where it is full; grid is the record's current grid (see store.h); device is in it
     * so the device's own rows are skipped without reading them */
    "CREATE INDEX field_state_pull ON field_state (grid, version, tbl, rid, field, device);"
    "CREATE TABLE changes ("
    "  version INTEGER PRIMARY KEY,"
    "  device TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL,"
    "  hlc INTEGER NOT NULL,"
    "  fields BLOB NOT NULL);"
    "CREATE TABLE acks ("
    "  device TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  ack BLOB NOT NULL,"
    "  PRIMARY KEY (device, seq)) WITHOUT ROWID;"
    "CREATE TABLE conflicts ("
    "  id INTEGER PRIMARY KEY,"
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  policy INTEGER NOT NULL,"
    "  winner_pushed INTEGER NOT NULL,"
    "  w_value BLOB NOT NULL, w_hlc INTEGER NOT NULL, w_version INTEGER NOT NULL,"
    "  w_device TEXT NOT NULL,"
    "  o_value BLOB NOT NULL, o_hlc INTEGER NOT NULL, o_version INTEGER NOT NULL,"
    "  o_device TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),"
    "  created INTEGER NOT NULL,"
    "  resolved INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX conflicts_status ON conflicts (status, grid);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  conflict INTEGER NOT NULL REFERENCES conflicts(id),"
    "  admin TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  old_value BLOB NOT NULL,"
    "  new_value BLOB NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  note TEXT NOT NULL);"
    "CREATE INDEX audit_conflict ON audit (conflict);",
    /* 1 -> 2: departures. When a record moves to another grid its field_state rows go with
     * it, so devices of the old grid would never hear of it again and keep a stale copy.
     * A moves row per departure is pulled by the old grid's devices as a change that sets
     * the scope field to the new grid, which tells them to drop their copy. */
    "CREATE TABLE moves ("
    "  from_grid TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL,"
    "  field TEXT NOT NULL,"   /* the table's scope field */
    "  value BLOB NOT NULL,"   /* its new value (the new grid), stored as field_state.value */
    "  to_grid TEXT NOT NULL,"
    "  hlc INTEGER NOT NULL,"
    "  device TEXT NOT NULL,"
    "  PRIMARY KEY (from_grid, version, tbl, rid)) WITHOUT ROWID;"
    "CREATE INDEX moves_to ON moves (to_grid, version);",
    /* 2 -> 3: one row per record (issue 14). A change read and wrote one field_state row per
     * field (14 statements and 31 B-tree inserts per new visit); now the record's fields are
     * one blob in its records row, and the pull index has one row per change, not per
     * field. store_rec_migrate_3 (C) fills records_3 and pulls from records and field_state,
     * then swaps the tables. The change log keeps who changed what and drops the copy of
     * the values nothing read; runs of acks become ranges. */
    "CREATE TABLE records_3 ("
    "  tbl TEXT NOT NULL,"
    "  id BLOB NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0,"
    "  created_hlc INTEGER NOT NULL,"
    "  updated_hlc INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  fields BLOB NOT NULL);"
    "CREATE TABLE pulls ("
    "  grid TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL,"
    "  writer INTEGER NOT NULL,"
    "  PRIMARY KEY (grid, version)) WITHOUT ROWID;"
    "CREATE TABLE ack_ranges ("
    "  device TEXT NOT NULL,"
    "  first_seq INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL,"
    "  first_version INTEGER NOT NULL,"
    "  PRIMARY KEY (device, first_seq)) WITHOUT ROWID;"
    "CREATE TABLE changes_3 ("
    "  version INTEGER PRIMARY KEY,"
    "  device TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  tbl TEXT NOT NULL,"
    "  rid BLOB NOT NULL);"
    "INSERT INTO changes_3 SELECT version, device, seq, tbl, rid FROM changes;"
    "DROP TABLE changes;"
    "ALTER TABLE changes_3 RENAME TO changes;",
    /* 3 -> 4: what the warning rules watch (issue 15, store_watch.c): one row per (rule,
     * subject) with the time its condition began and the next time it must be looked at,
     * so that neither a change nor the sweep ever scans the residents; and the dispute
     * visits per resident, for the repeated-dispute rule. */
    "CREATE TABLE watch ("
    "  rule TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  ref TEXT,"
    "  since INTEGER NOT NULL,"
    "  deadline INTEGER,"
    "  until INTEGER,"
    "  due INTEGER,"
    "  info INTEGER NOT NULL DEFAULT 0,"
    "  warning BLOB,"
    "  level INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (rule, subject)) WITHOUT ROWID;"
    "CREATE INDEX watch_due ON watch (due) WHERE due IS NOT NULL;"
    "CREATE INDEX watch_ref ON watch (rule, ref) WHERE ref IS NOT NULL;"
    "CREATE TABLE dispute_visits ("
    "  resident TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  visit TEXT NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  PRIMARY KEY (resident, at, visit)) WITHOUT ROWID;"
    "CREATE INDEX dispute_visits_grid ON dispute_visits (grid, at);"
    /* visits recorded per grid and day (Beijing time): the dashboard's chart, counted as
     * each new visit merges */
    "CREATE TABLE visit_days ("
    "  grid TEXT NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (grid, day)) WITHOUT ROWID;",
    /* 4 -> 5: what the dashboard reads by (store_dash.c), so that it never scans a table
     * for one grid or one month. The export pages records by id (UUIDv7: by creation
     * time), through records_id: an index on created_hlc cost 6% of a merge's
     * instructions (callgrind, bench_srv_merge). */
    "CREATE INDEX watch_grid ON watch (grid, rule);"
    "CREATE INDEX watch_open ON watch (grid, rule, level, warning) WHERE warning IS NOT NULL;"
    "CREATE INDEX visit_days_day ON visit_days (day);"
    "CREATE INDEX dispute_visits_at ON dispute_visits (at, grid);",
    /* 5 -> 6: the store's identity (PROTOCOL.md 2.9): random, never 0, below 2^62 so it
     * fits every signed reader; a restore gives a new one (store_epoch_renew). SQLite's
     * random() is seeded from the operating system's randomness. */
    "INSERT INTO meta (key, value) VALUES ('epoch', 1 + (random() & 4611686018427387903));",
    /* 6 -> 7: a revocation may ask the device to wipe itself (issue 21): STORE_WIPE_* */
    "ALTER TABLE devices ADD COLUMN wipe INTEGER NOT NULL DEFAULT 0;",
    /* 7 -> 8: enrolment codes (issue 17, store_enrol.c): a device-to-be's name and grids,
     * reached by the SHA-256 of its single-use code (never the code itself); the device is
     * made, and the row marked used, when the code is presented to POST /v1/enroll. */
    "CREATE TABLE enrolments ("
    "  id TEXT PRIMARY KEY,"
    "  code_hash BLOB NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  grids TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0,"
    "  device TEXT NOT NULL DEFAULT '',"
    "  revoked INTEGER NOT NULL DEFAULT 0);",
    /* 8 -> 9: the console's sessions, in the store so that every gridsyncd process on one
     * database knows them (issue 20; store_session.c) */
    "CREATE TABLE console_sessions ("
    "  id_hash BLOB PRIMARY KEY,"
    "  csrf TEXT NOT NULL,"
    "  admin TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  used INTEGER NOT NULL) WITHOUT ROWID;",
    /* 9 -> 10: the grid registry (issue 20, store_registry.c): the county's towns and, per
     * grid code, its name, village and town. Empty, devices may name any grid, as before;
     * once it holds a grid, devices are enrolled into registered grids only. */
    "CREATE TABLE towns ("
    "  name TEXT PRIMARY KEY,"
    "  created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE grids ("
    "  code TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  village TEXT NOT NULL,"
    "  town TEXT NOT NULL REFERENCES towns(name),"
    "  created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX grids_town ON grids (town, code);",
    /* 10 -> 11: named admins with roles (issue 20, store_registry.c): county sees everything,
     * town the grids of its towns (admin_towns), viewer reads only; a revoked admin's token
     * is refused. The admins made before keep their id as name and are county admins. */
    "ALTER TABLE admins ADD COLUMN name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'county'"
    "  CHECK (role IN ('county', 'town', 'viewer'));"
    "ALTER TABLE admins ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;"
    "UPDATE admins SET name = id;"
    "CREATE UNIQUE INDEX admins_name ON admins (name);"
    "CREATE TABLE admin_towns ("
    "  admin TEXT NOT NULL REFERENCES admins(id),"
    "  town TEXT NOT NULL REFERENCES towns(name),"
    "  PRIMARY KEY (admin, town)) WITHOUT ROWID;",
    /* 11 -> 12: conflict floods (issue 18, item 5): at most one open conflict per (record,
     * field). A new loser updates the open row (both sides, losers + 1, updated) instead
     * of adding one; older open duplicates are folded into the newest (resolved at 0,
     * which no admin resolution can give) and a partial unique index keeps it true. */
    "ALTER TABLE conflicts ADD COLUMN losers INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE conflicts ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
    "UPDATE conflicts SET losers = (SELECT count(*) FROM conflicts d WHERE d.status = 'open' "
    "  AND d.tbl = conflicts.tbl AND d.rid = conflicts.rid AND d.field = conflicts.field) "
    "  WHERE status = 'open';"
    "UPDATE conflicts SET status = 'resolved', resolved = 0 WHERE status = 'open' AND "
    "  EXISTS (SELECT 1 FROM conflicts d WHERE d.status = 'open' AND d.tbl = conflicts.tbl "
    "  AND d.rid = conflicts.rid AND d.field = conflicts.field AND d.id > conflicts.id);"
    "UPDATE conflicts SET updated = created;"
    "CREATE UNIQUE INDEX conflicts_open ON conflicts (tbl, rid, field) WHERE status = 'open';",
    /* 12 -> 13: the index of attachment bytes (issue 19, store_att.c): one row per complete,
     * hash-verified blob in DIR/blobs (server/blobs.h), with the device that sent it first
     * and the grid of the attachment record it came for, which its quotas are charged to. */
    "CREATE TABLE attachment_blobs ("
    "  sha256 TEXT PRIMARY KEY NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  device TEXT NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX attachment_blobs_device ON attachment_blobs (device);"
    "CREATE INDEX attachment_blobs_grid ON attachment_blobs (grid);",
};

/* What a migration needs besides its SQL (run after it, in its transaction). */
static int (*const migration_code[])(store *s, gs_err *err) = {
    NULL, NULL, store_rec_migrate_3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

/* ------------------------------------------------------------------------------------ */
/* statements                                                                           */

#define CONF_COLS                                                                                  \
    "id, tbl, rid, grid, field, policy, winner_pushed, w_value, w_hlc, w_version, w_device, "      \
    "o_value, o_hlc, o_version, o_device, status, created, resolved, losers, updated"

static const char *const sql_text[Q_N] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT batch",
    [Q_RELEASE] = "RELEASE batch",
    [Q_ROLLBACK_TO] = "ROLLBACK TO batch",
    [Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [Q_META_SET] = "UPDATE meta SET value = ?2 WHERE key = ?1",
    [Q_META_PUT] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [Q_VER_NEXT] = "UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value",
    [Q_VER_LOCK] = "SELECT value FROM meta WHERE key = 'version'",
    [Q_DEV_ADD] = "INSERT INTO devices (id, name, token_hash, created) VALUES (?1, ?2, ?3, ?4)",
    [Q_DEV_GRID_ADD] = "INSERT INTO device_grids (device, grid) VALUES (?1, ?2)",
    [Q_DEV_GET] = "SELECT id, name, token_hash, created, revoked, last_sync, last_result, "
                  "rejects, rowid, wipe FROM devices WHERE id = ?1",
    [Q_DEV_GRIDS] = "SELECT grid FROM device_grids WHERE device = ?1 ORDER BY grid",
    [Q_DEV_REVOKE] = "UPDATE devices SET revoked = CASE WHEN revoked = 0 THEN ?2 ELSE revoked "
                     "END, wipe = CASE WHEN ?3 > 0 THEN ?3 ELSE wipe END WHERE id = ?1",
    [Q_DEV_SYNCED] = "UPDATE devices SET last_sync = ?2, last_result = ?3, "
                     "rejects = rejects + ?4 WHERE id = ?1",
    [Q_DEV_LIST] = "SELECT id FROM devices ORDER BY id",
    [Q_ADM_ADD] = "INSERT INTO admins (id, token_hash, created, name) VALUES (?1, ?2, ?3, ?1)",
    [Q_ADM_GET] = "SELECT token_hash FROM admins WHERE id = ?1",
    [Q_ADM_COUNT] = "SELECT count(*) FROM admins",
    /* one open conflict per (record, field): a new loser updates it (migration 9) */
    [Q_CONF_ADD] = "INSERT INTO conflicts (tbl, rid, grid, field, policy, winner_pushed, "
                   "w_value, w_hlc, w_version, w_device, o_value, o_hlc, o_version, o_device, "
                   "status, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?11, ?12, ?13, ?14, 'open', ?15, ?15) "
                   "ON CONFLICT (tbl, rid, field) WHERE status = 'open' DO UPDATE SET "
                   "grid = excluded.grid, policy = excluded.policy, "
                   "winner_pushed = excluded.winner_pushed, w_value = excluded.w_value, "
                   "w_hlc = excluded.w_hlc, w_version = excluded.w_version, "
                   "w_device = excluded.w_device, o_value = excluded.o_value, "
                   "o_hlc = excluded.o_hlc, o_version = excluded.o_version, "
                   "o_device = excluded.o_device, losers = conflicts.losers + 1, "
                   "updated = excluded.updated RETURNING id, losers",
    /* the same update of an open conflict, without opening one (beyond the per-sync cap) */
    [Q_CONF_BUMP] = "UPDATE conflicts SET grid = ?3, policy = ?5, winner_pushed = ?6, "
                    "w_value = ?7, w_hlc = ?8, w_version = ?9, w_device = ?10, o_value = ?11, "
                    "o_hlc = ?12, o_version = ?13, o_device = ?14, losers = losers + 1, "
                    "updated = ?15 WHERE status = 'open' AND tbl = ?1 AND rid = ?2 "
                    "AND field = ?4 RETURNING id, losers",
    [Q_CONF_GET] = "SELECT " CONF_COLS " FROM conflicts WHERE id = ?1",
    [Q_CONF_LIST] = "SELECT " CONF_COLS " FROM conflicts WHERE (?1 = 0 OR status = 'open') "
                    "AND (CAST(?2 AS TEXT) IS NULL OR grid = ?2) ORDER BY id LIMIT ?3",
    [Q_CONF_RESOLVE] = "UPDATE conflicts SET status = 'resolved', resolved = ?2 WHERE id = ?1",
    [Q_AUD_ADD] = "INSERT INTO audit (conflict, admin, at, old_value, new_value, version, note) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_AUD_GET] = "SELECT admin, at, old_value, new_value, version, note FROM audit "
                  "WHERE conflict = ?1 ORDER BY id DESC LIMIT 1",
    [Q_REC_COUNTS] = "SELECT grid, tbl, count(*) FROM records WHERE deleted = 0 "
                     "GROUP BY grid, tbl ORDER BY grid, tbl",
    [Q_CONF_COUNTS] = "SELECT grid, count(*) FROM conflicts WHERE status = 'open' "
                      "GROUP BY grid ORDER BY grid",
};

/* PostgreSQL's own texts. BEGIN: a writer takes the version row's lock first, which
 * serialises writers as SQLite's BEGIN IMMEDIATE does (store_begin), so versions commit
 * in the order they were given and a pull never skips one committed later. */
static const char *const sql_pg[Q_N] = {
    [Q_BEGIN] = "BEGIN",
    [Q_VER_LOCK] = "SELECT value FROM meta WHERE key = 'version' FOR UPDATE",
};

static int prep(store *s, int q, eng_stmt **out, gs_err *err)
{
    return prep_slot(s, &s->stmt[q], on_engine(s, sql_text[q], sql_pg[q]), out, err);
}

static int migrate(store *s, gs_err *err)
{
    int rc = GS_OK, ver = 0;
    char sql[128];

    if (s->pg)
        return store_pg_migrate(s, err);
    rc = sqldb_user_version(s->db, STORE_SCHEMA_VERSION, "gridsyncd", &ver, err);
    if (rc) {
        gs_err_prefix(err, "store: ");
        return rc;
    }
    for (int v = ver; v < STORE_SCHEMA_VERSION; v++) {
        rc = eng_exec(s->e, "BEGIN IMMEDIATE", err);
        if (rc)
            return rc;
        /* the version lives in user_version (checked before anything is read) and, for
         * people looking at the file, in meta */
        snprintf(sql, sizeof(sql),
                 "PRAGMA user_version = %d; UPDATE meta SET value = %d WHERE key = 'schema'",
                 v + 1, v + 1);
        rc = eng_exec(s->e, migrations[v], err);
        if (!rc && migration_code[v])
            rc = migration_code[v](s, err);
        if (!rc)
            rc = eng_exec(s->e, sql, err);
        if (!rc)
            rc = eng_exec(s->e, "COMMIT", err);
        if (rc) {
            eng_exec(s->e, "ROLLBACK", NULL);
            gs_err_prefix(err, "migration %d: ", v + 1);
            return rc;
        }
    }
    return GS_OK;
}

int store_open(store **out, const char *path, gs_err *err)
{
    /* 2 KiB pages for a new store (an existing one keeps its own): an update of one record
       is one page in the WAL, and half the bytes of a 4 KiB page (issue 14: 1% re-sync).
       WAL lets readers (sqlite3 CLI, backups) work beside the one writer; FULL because an
       ack is a promise of durability (see store.h). A 64 MB page cache keeps a group
       commit's dirty pages in memory until its commit (SQLite's 2 MB spilled them to the
       WAL mid-transaction) and a county's indexes warm for the warning sweep (bench_srv_warn:
       21.4 -> 14.9 s to open 83,000 warnings against 16 MB), and temp_store MEMORY keeps a grouped batch's savepoint
       journal there too (it spilled to a temporary file past 64 KiB: 2.5 -> 4.9 KB written
       per change in the 1% re-sync). */
    static const sqldb_opts open_opts = {
        .page_size = 2048,
        .pragmas = "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; "
                   "PRAGMA temp_store = MEMORY"};
    store *s = gs_calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    s->fault_countdown = -1;
    rc = eng_open(&s->e, path, &open_opts, err);
    if (rc) {
        gs_err_prefix(err, "store: ");
    } else {
        s->db = eng_sqlite(s->e);
        s->pg = eng_kind_of(s->e) == ENG_PG;
        rc = migrate(s, err);
    }
    /* the ways back out are prepared now: a rollback after a failed allocation must not
       need one */
    for (int q = Q_ROLLBACK; !rc && q <= Q_ROLLBACK_TO; q++) {
        eng_stmt *st = NULL;
        rc = prep(s, q, &st, err);
    }
    if (rc) {
        store_close(s);
        return rc;
    }
    *out = s;
    return GS_OK;
}

/* ---- the checkpointer ---- */

/* WAL pages after which the checkpointer copies them into the database (SQLite's own
 * automatic checkpoint runs at 1,000, inside the commit that passes it). */
#define CK_PAGES 1000

static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
    store *s = ud;
    (void)db;
    (void)name;
    pthread_mutex_lock(&s->ck_lock);
    s->ck_pages = pages;
    if (pages >= CK_PAGES)
        pthread_cond_signal(&s->ck_wake);
    pthread_mutex_unlock(&s->ck_lock);
    return SQLITE_OK;
}

static void *checkpointer(void *ud)
{
    store *s = ud;

    pthread_mutex_lock(&s->ck_lock);
    for (;;) {
        while (!s->ck_stop && s->ck_pages < CK_PAGES)
            pthread_cond_wait(&s->ck_wake, &s->ck_lock);
        if (s->ck_stop)
            break;
        s->ck_pages = 0;
        pthread_mutex_unlock(&s->ck_lock);
        /* PASSIVE: copies what no reader still needs, never waits for the writer; the
           writer goes on appending meanwhile and restarts the log once it is all copied */
        sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->ck_lock);
        s->ck_runs++;
    }
    pthread_mutex_unlock(&s->ck_lock);
    return NULL;
}

int store_checkpointer_start(store *s, const char *path, gs_err *err)
{
    int src;

    if (s->ck_on || !s->db) /* PostgreSQL checkpoints itself */
        return GS_OK;
    src = sqlite3_open_v2(path, &s->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        int rc = gs_err_set(err, GS_E_DB, "store: checkpointer: cannot open %s: %s", path,
                            s->ck_db ? sqlite3_errmsg(s->ck_db) : sqlite3_errstr(src));
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(s->ck_db, 5000);
    if (pthread_mutex_init(&s->ck_lock, NULL) || pthread_cond_init(&s->ck_wake, NULL)) {
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return gs_err_set(err, GS_E_NOMEM, "store: checkpointer: no mutex");
    }
    s->ck_stop = 0;
    s->ck_pages = 0;
    if (pthread_create(&s->ck_thread, NULL, checkpointer, s)) {
        pthread_cond_destroy(&s->ck_wake);
        pthread_mutex_destroy(&s->ck_lock);
        sqlite3_close(s->ck_db);
        s->ck_db = NULL;
        return gs_err_set(err, GS_E_NOMEM, "store: checkpointer: no thread");
    }
    s->ck_on = 1;
    /* replaces SQLite's automatic checkpoint, which ran inside a commit, under the lock */
    sqlite3_wal_hook(s->db, on_wal_commit, s);
    return GS_OK;
}

uint64_t store_checkpoints(store *s)
{
    uint64_t n;
    if (!s->ck_on)
        return 0;
    pthread_mutex_lock(&s->ck_lock);
    n = s->ck_runs;
    pthread_mutex_unlock(&s->ck_lock);
    return n;
}

static void checkpointer_stop(store *s)
{
    if (!s->ck_on)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&s->ck_lock);
    s->ck_stop = 1;
    pthread_cond_signal(&s->ck_wake);
    pthread_mutex_unlock(&s->ck_lock);
    pthread_join(s->ck_thread, NULL);
    pthread_cond_destroy(&s->ck_wake);
    pthread_mutex_destroy(&s->ck_lock);
    sqlite3_close(s->ck_db);
    s->ck_db = NULL;
    s->ck_on = 0;
}

void store_close(store *s)
{
    if (!s)
        return;
    checkpointer_stop(s);
    for (int i = 0; i < Q_N; i++)
        eng_finalize(s->stmt[i]);
    for (int i = 0; i < RQ_N; i++)
        eng_finalize(s->rstmt[i]);
    for (size_t i = 0; i < WQ_N; i++)
        eng_finalize(s->wstmt[i]);
    for (size_t i = 0; i < DQ_N; i++)
        eng_finalize(s->dstmt[i]);
    for (size_t i = 0; i < EQ_N; i++)
        eng_finalize(s->estmt[i]);
    for (size_t i = 0; i < SQ_N; i++)
        eng_finalize(s->sstmt[i]);
    gs_free(s->dev_ids);
    if (s->e)
        eng_close(s->e);
    gs_free(s);
}

void store_inject_fault(store *s, long n)
{
    s->fault_countdown = n;
}

int store_schema_version(store *s, int *out, gs_err *err)
{
    if (s->pg)
        return store_pg_schema_version(s, out, err);
    return sqldb_user_version(s->db, STORE_SCHEMA_VERSION, "gridsyncd", out, err);
}

static int run_simple(store *s, int q, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, q, &st, err);
    if (rc)
        return rc;
    return exec_done(s, st, err);
}

int store_global_init(void)
{
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK ? GS_OK : GS_E_STATE;
}

static int meta_set(store *s, const char *key, uint64_t v, gs_err *err);

int store_begin(store *s, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = run_simple(s, Q_BEGIN, err);

    s->ver_loaded = s->ver_dirty = 0;
    if (rc)
        return rc;
    s->in_txn = 1;
    if (!s->pg)
        return GS_OK;
    /* PostgreSQL: the version row locked for the whole transaction, read after the lock
       (READ COMMITTED: every later statement sees what the writer before committed) */
    rc = prep(s, Q_VER_LOCK, &st, err);
    if (!rc)
        rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_DB, "store: meta 'version' missing");
    if (!rc) {
        s->ver = col_u64(st, 0);
        s->ver_loaded = 1;
    }
    done(st);
    if (rc)
        store_rollback(s);
    return rc;
}

int store_commit(store *s, gs_err *err)
{
    int rc = GS_OK;

    if (s->in_txn && s->ver_dirty)
        rc = meta_set(s, "version", s->ver, err);
    if (!rc)
        rc = run_simple(s, Q_COMMIT, err);
    if (!rc) {
        s->in_txn = 0;
        s->ver_loaded = s->ver_dirty = 0;
    }
    return rc;
}

void store_rollback(store *s)
{
    eng_stmt *st = NULL;
    if (eng_in_txn(s->e) && !prep(s, Q_ROLLBACK, &st, NULL)) {
        eng_step(st, NULL, NULL); /* not through step(): an injected fault must not block it */
        done(st);
    }
    s->in_txn = 0;
    s->ver_loaded = s->ver_dirty = 0;
}

int store_savepoint(store *s, gs_err *err)
{
    if (!s->in_txn)
        return gs_err_set(err, GS_E_STATE, "store: a savepoint needs an open transaction");
    return run_simple(s, Q_SAVEPOINT, err);
}

int store_release(store *s, gs_err *err)
{
    return run_simple(s, Q_RELEASE, err);
}

int store_rollback_to(store *s)
{
    eng_stmt *st = NULL;
    int ok;

    /* SQLite ends the whole transaction itself after some errors (a full disk, an I/O
     * error): then there is nothing to go back into */
    if (!s->in_txn || !eng_in_txn(s->e))
        return GS_E_DB;
    /* not through step(), like store_rollback: an injected fault must not block it */
    ok = !prep(s, Q_ROLLBACK_TO, &st, NULL) && !eng_step(st, NULL, NULL);
    done(st);
    st = NULL;
    ok = ok && !prep(s, Q_RELEASE, &st, NULL) && !eng_step(st, NULL, NULL);
    done(st);
    /* the version counter stays where it is: versions taken by the undone batch are never
     * given again (gaps in the pull index are harmless; a reuse would not be) */
    return ok && eng_in_txn(s->e) ? GS_OK : GS_E_DB;
}

/* ------------------------------------------------------------------------------------ */
/* meta                                                                                 */

static int meta_get(store *s, const char *key, uint64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_META_GET, &st, err), row = 0;
    if (rc)
        return rc;
    bind_text(st, 1, key);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_DB, "store: meta '%s' missing", key);
    if (!rc)
        *out = col_u64(st, 0);
    done(st);
    return rc;
}

static int meta_set(store *s, const char *key, uint64_t v, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_META_SET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, key);
    bind_u64(st, 2, v);
    return exec_done(s, st, err);
}

int store_rules_sig_get(store *s, uint64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_META_GET, &st, err), row = 0;

    *out = 0; /* never set: a store from before it, or a new one */
    if (rc)
        return rc;
    bind_text(st, 1, "rules_sig");
    rc = step(s, st, &row, err);
    if (!rc && row)
        *out = col_u64(st, 0);
    done(st);
    return rc;
}

int store_rules_sig_set(store *s, uint64_t sig, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_META_PUT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, "rules_sig");
    bind_u64(st, 2, sig);
    return exec_done(s, st, err);
}

int store_hlc_get(store *s, uint64_t *out, gs_err *err)
{
    return meta_get(s, "hlc", out, err);
}

int store_hlc_set(store *s, uint64_t value, gs_err *err)
{
    return meta_set(s, "hlc", value, err);
}

int store_epoch_get(store *s, uint64_t *out, gs_err *err)
{
    return meta_get(s, "epoch", out, err);
}

int store_epoch_renew(store *s, uint64_t *out, gs_err *err)
{
    uint64_t old = 0, now = 0;
    int rc = meta_get(s, "epoch", &old, err);

    while (!rc && (now == 0 || now == old)) { /* 0 and the old one: 2 chances in 2^62 */
        if (rand_bytes(&now, sizeof(now)))
            return gs_err_set(err, GS_E_IO, "store: new epoch: no random bytes");
        now >>= 2; /* 62 bits: stored as a positive integer on either engine */
    }
    if (!rc)
        rc = meta_set(s, "epoch", now, err);
    if (!rc)
        *out = now;
    return rc;
}

int store_version_last(store *s, uint64_t *out, gs_err *err)
{
    if (s->ver_loaded) {
        *out = s->ver;
        return GS_OK;
    }
    return meta_get(s, "version", out, err);
}

int store_version_next(store *s, uint64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc, row = 0;

    if (s->in_txn) {
        if (!s->ver_loaded) {
            rc = meta_get(s, "version", &s->ver, err);
            if (rc)
                return rc;
            s->ver_loaded = 1;
        }
        s->ver++;
        s->ver_dirty = 1;
        *out = s->ver;
        return GS_OK;
    }
    rc = prep(s, Q_VER_NEXT, &st, err);
    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_DB, "store: meta 'version' missing");
    if (!rc)
        *out = col_u64(st, 0);
    done(st);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* devices and admins                                                                   */

int store_device_add(store *s, const store_device *d, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_DEV_ADD, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, d->id);
    bind_text(st, 2, d->name);
    eng_bind_blob(st, 3, d->token_hash, STORE_HASH_LEN);
    eng_bind_i64(st, 4, d->created_ms);
    rc = exec_done(s, st, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < d->n_grids && !rc; i++) {
        rc = prep(s, Q_DEV_GRID_ADD, &st, err);
        if (rc)
            break;
        bind_text(st, 1, d->id);
        bind_text(st, 2, d->grids[i]);
        rc = exec_done(s, st, err);
    }
    return rc;
}

static int device_grids(store *s, store_device *d, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_DEV_GRIDS, &st, err), row = 1;
    if (rc)
        return rc;
    bind_text(st, 1, d->id);
    d->n_grids = 0;
    while (!rc) {
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        if (d->n_grids < GS_LIMIT_GRIDS)
            col_text(st, 0, d->grids[d->n_grids++], GS_LIMIT_NAME + 1);
    }
    done(st);
    return rc;
}

int store_device_get(store *s, const char *id, size_t id_len, store_device *out, gs_err *err)
{
    eng_stmt *st = NULL;
    store_device d;
    int rc = prep(s, Q_DEV_GET, &st, err), row = 0;

    if (rc)
        return rc;
    memset(&d, 0, sizeof(d));
    eng_bind_textn(st, 1, id, id_len);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no device '%.*s'", (int)(id_len > 64 ? 64 : id_len),
                        id);
    if (!rc) {
        const void *h = eng_col_blob(st, 2);
        col_text(st, 0, d.id, sizeof(d.id));
        col_text(st, 1, d.name, sizeof(d.name));
        if (h && eng_col_bytes(st, 2) == STORE_HASH_LEN)
            memcpy(d.token_hash, h, STORE_HASH_LEN);
        d.created_ms = eng_col_i64(st, 3);
        d.revoked_ms = eng_col_i64(st, 4);
        d.last_sync_ms = eng_col_i64(st, 5);
        col_text(st, 6, d.last_result, sizeof(d.last_result));
        d.rejects = col_u64(st, 7);
        d.num = (uint32_t)col_u64(st, 8);
        d.wipe = (int)eng_col_i64(st, 9);
    }
    done(st);
    if (!rc)
        rc = device_grids(s, &d, err);
    if (!rc)
        *out = d;
    return rc;
}

int store_device_revoke(store *s, const char *id, int64_t now_ms, int wipe, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc;

    if (wipe < STORE_WIPE_NONE || wipe > STORE_WIPE_AFTER_UPLOAD)
        return gs_err_set(err, GS_E_INVALID, "wipe %d is not a STORE_WIPE_* value", wipe);
    rc = prep(s, Q_DEV_REVOKE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    eng_bind_i64(st, 3, wipe);
    rc = exec_done(s, st, err);
    if (!rc && eng_changes(s->e) == 0)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no device '%s'", id);
    return rc;
}

int store_device_synced(store *s, const char *id, int64_t now_ms, const char *result,
                        uint64_t n_rejects, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_DEV_SYNCED, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    bind_text(st, 3, result);
    bind_u64(st, 4, n_rejects);
    return exec_done(s, st, err);
}

int store_device_list(store *s, store_device_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_DEV_LIST, &st, err), row = 1;
    store_device *d = gs_malloc(sizeof(*d));
    char id[GS_LIMIT_NAME + 1];

    if (!rc && !d)
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
    while (!rc) {
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        col_text(st, 0, id, sizeof(id));
        rc = store_device_get(s, id, strlen(id), d, err);
        if (!rc)
            rc = cb(ud, d);
    }
    done(st);
    gs_free(d);
    return rc;
}

int store_admin_add(store *s, const char *id, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
                    gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_ADM_ADD, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_blob(st, 2, hash, STORE_HASH_LEN);
    eng_bind_i64(st, 3, now_ms);
    return exec_done(s, st, err);
}

int store_admin_get(store *s, const char *id, size_t id_len, uint8_t hash[STORE_HASH_LEN],
                    gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_ADM_GET, &st, err), row = 0;
    if (rc)
        return rc;
    eng_bind_textn(st, 1, id, id_len);
    rc = step(s, st, &row, err);
    if (!rc && (!row || eng_col_bytes(st, 0) != STORE_HASH_LEN))
        rc = gs_err_set(err, GS_E_NOTFOUND, "no such admin");
    if (!rc)
        memcpy(hash, eng_col_blob(st, 0), STORE_HASH_LEN);
    done(st);
    return rc;
}

int store_admin_count(store *s, int64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_ADM_COUNT, &st, err), row = 0;
    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    if (!rc)
        *out = row ? eng_col_i64(st, 0) : 0;
    done(st);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* conflicts and audit                                                                  */

static int damaged(gs_err *err, int rc, const char *what)
{
    if (rc == GS_E_NOMEM)
        return gs_err_set(err, rc, "out of memory reading %s", what);
    return gs_err_set(err, rc, "store: damaged %s", what);
}

int store_conflict_add(store *s, const store_conflict *c, int64_t *id_out, gs_err *err)
{
    return store_conflict_note(s, c, 1, NULL, id_out, err);
}

int store_conflict_note(store *s, const store_conflict *c, int may_open, int *opened,
                        int64_t *id_out, gs_err *err)
{
    eng_stmt *st = NULL;
    gs_buf scratch;
    int row = 0, rc = prep(s, may_open ? Q_CONF_ADD : Q_CONF_BUMP, &st, err);

    if (rc)
        return rc;
    buf_init(&scratch, PROTO_MAX_BODY);
    bind_text(st, 1, c->tbl);
    bind_id(st, 2, c->rid);
    bind_text(st, 3, c->grid);
    bind_text(st, 4, c->field);
    eng_bind_i64(st, 5, c->policy);
    eng_bind_i64(st, 6, c->winner_pushed ? 1 : 0);
    rc = bind_value(st, 7, &scratch, &c->winner.value);
    if (!rc)
        rc = bind_value(st, 11, &scratch, &c->other.value);
    if (rc) {
        done(st);
        buf_free(&scratch);
        return gs_err_set(err, rc, "store: cannot encode a conflict");
    }
    bind_u64(st, 8, c->winner.hlc);
    bind_u64(st, 9, c->winner.version);
    bind_text(st, 10, c->winner.device);
    bind_u64(st, 12, c->other.hlc);
    bind_u64(st, 13, c->other.version);
    bind_text(st, 14, c->other.device);
    eng_bind_i64(st, 15, c->created_ms);
    rc = step(s, st, &row, err);
    if (!rc && !row && may_open)
        rc = gs_err_set(err, GS_E_DB, "store: a conflict without its id");
    if (!rc && opened)
        *opened = !row ? -1 : eng_col_i64(st, 1) == 1;
    if (!rc && row && id_out)
        *id_out = eng_col_i64(st, 0);
    done(st);
    buf_free(&scratch);
    return rc;
}

static int col_conflict(eng_stmt *st, gs_arena *a, store_conflict *c)
{
    int rc;
    const char *status;

    memset(c, 0, sizeof(*c));
    c->id = eng_col_i64(st, 0);
    col_text(st, 1, c->tbl, sizeof(c->tbl));
    if (eng_col_bytes(st, 2) != 16)
        return GS_E_DB;
    memcpy(c->rid, eng_col_blob(st, 2), 16);
    col_text(st, 3, c->grid, sizeof(c->grid));
    col_text(st, 4, c->field, sizeof(c->field));
    c->policy = (int)eng_col_i64(st, 5);
    c->winner_pushed = (int)eng_col_i64(st, 6);
    rc = col_value(st, 7, a, &c->winner.value);
    if (rc)
        return rc;
    c->winner.hlc = col_u64(st, 8);
    c->winner.version = col_u64(st, 9);
    col_text(st, 10, c->winner.device, sizeof(c->winner.device));
    rc = col_value(st, 11, a, &c->other.value);
    if (rc)
        return rc;
    c->other.hlc = col_u64(st, 12);
    c->other.version = col_u64(st, 13);
    col_text(st, 14, c->other.device, sizeof(c->other.device));
    status = eng_col_text(st, 15);
    c->resolved = strcmp(status, "resolved") == 0;
    c->created_ms = eng_col_i64(st, 16);
    c->resolved_ms = eng_col_i64(st, 17);
    c->losers = eng_col_i64(st, 18);
    c->updated_ms = eng_col_i64(st, 19);
    return GS_OK;
}

/* Steps statement q with ?1 = key to its first row, left in *out for the caller to read and
 * done(). GS_E_NOTFOUND ("no WHAT KEY") without one; *out is then NULL. */
static int row_by_key(store *s, int q, int64_t key, const char *what, eng_stmt **out,
                      gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, q, &st, err), row = 0;

    *out = NULL;
    if (rc)
        return rc;
    eng_bind_i64(st, 1, key);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no %s %lld", what, (long long)key);
    if (rc)
        done(st);
    else
        *out = st;
    return rc;
}

int store_conflict_get(store *s, int64_t id, gs_arena *a, store_conflict *out, gs_err *err)
{
    eng_stmt *st;
    int rc = row_by_key(s, Q_CONF_GET, id, "conflict", &st, err);
    if (rc)
        return rc;
    rc = col_conflict(st, a, out);
    if (rc)
        damaged(err, rc, "conflict");
    done(st);
    return rc;
}

int store_conflict_list(store *s, int open_only, const char *grid, uint32_t limit, gs_arena *a,
                        store_conflict_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_CONF_LIST, &st, err), row = 1;
    if (rc)
        return rc;
    eng_bind_i64(st, 1, open_only ? 1 : 0);
    if (grid)
        bind_text(st, 2, grid);
    else
        eng_bind_null(st, 2);
    eng_bind_i64(st, 3, limit);
    while (!rc) {
        store_conflict c;
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        rc = col_conflict(st, a, &c);
        if (rc) {
            damaged(err, rc, "conflict");
            break;
        }
        rc = cb(ud, &c);
    }
    done(st);
    return rc;
}

int store_conflict_resolve(store *s, int64_t id, int64_t now_ms, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, Q_CONF_RESOLVE, &st, err);
    if (rc)
        return rc;
    eng_bind_i64(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    rc = exec_done(s, st, err);
    if (!rc && eng_changes(s->e) == 0)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no conflict %lld", (long long)id);
    return rc;
}

int store_audit_add(store *s, const store_audit *au, gs_err *err)
{
    eng_stmt *st = NULL;
    gs_buf scratch;
    int rc = prep(s, Q_AUD_ADD, &st, err);

    if (rc)
        return rc;
    buf_init(&scratch, PROTO_MAX_BODY);
    eng_bind_i64(st, 1, au->conflict);
    bind_text(st, 2, au->admin);
    eng_bind_i64(st, 3, au->at_ms);
    rc = bind_value(st, 4, &scratch, &au->old_value);
    if (!rc)
        rc = bind_value(st, 5, &scratch, &au->new_value);
    if (rc) {
        done(st);
        buf_free(&scratch);
        return gs_err_set(err, rc, "store: cannot encode an audit row");
    }
    bind_u64(st, 6, au->version);
    bind_text(st, 7, au->note ? au->note : "");
    rc = exec_done(s, st, err);
    buf_free(&scratch);
    return rc;
}

int store_audit_get(store *s, int64_t conflict, gs_arena *a, store_audit *out, gs_err *err)
{
    eng_stmt *st;
    int rc = row_by_key(s, Q_AUD_GET, conflict, "audit for conflict", &st, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    out->conflict = conflict;
    col_text(st, 0, out->admin, sizeof(out->admin));
    out->at_ms = eng_col_i64(st, 1);
    rc = col_value(st, 2, a, &out->old_value);
    if (!rc)
        rc = col_value(st, 3, a, &out->new_value);
    out->version = col_u64(st, 4);
    if (!rc) {
        out->note = arena_strndup(a, eng_col_text(st, 5),
                                  eng_col_bytes(st, 5));
        if (!out->note)
            rc = GS_E_NOMEM;
    }
    if (rc)
        damaged(err, rc, "audit row");
    done(st);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* status                                                                               */

static int counts(store *s, int q, int with_tbl, store_count_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = prep(s, q, &st, err), row = 1;
    if (rc)
        return rc;
    while (!rc) {
        char grid[GS_LIMIT_NAME + 1], tbl[GS_LIMIT_NAME + 1];
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        col_text(st, 0, grid, sizeof(grid));
        if (with_tbl)
            col_text(st, 1, tbl, sizeof(tbl));
        rc = cb(ud, grid, with_tbl ? tbl : NULL, eng_col_i64(st, with_tbl ? 2 : 1));
    }
    done(st);
    return rc;
}

int store_record_counts(store *s, store_count_cb *cb, void *ud, gs_err *err)
{
    return counts(s, Q_REC_COUNTS, 1, cb, ud, err);
}

int store_conflict_counts(store *s, store_count_cb *cb, void *ud, gs_err *err)
{
    return counts(s, Q_CONF_COUNTS, 0, cb, ud, err);
}
