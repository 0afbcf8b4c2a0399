/*
 * store_session.c: the console's sessions of store.h, table console_sessions (migration
 * 8 -> 9), so that a browser signed in through one gridsyncd process stays signed in when
 * haproxy sends its next request to another (issue 20).
 *
 * Invariants: only the cookie's SHA-256 is stored; an expired row is deleted before any
 * read, so a session past its idle or absolute limit is never found; each statement is
 * one autocommit write or read (no writer's lock on PostgreSQL, store_begin's).
 */
#include "store_db.h"

#include <string.h>

static const char *const ssql[SQ_N] = {
    [SQ_PUT] = "INSERT INTO console_sessions (id_hash, csrf, admin, created, used) "
               "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_hash) DO UPDATE SET "
               "csrf = excluded.csrf, admin = excluded.admin, created = excluded.created, "
               "used = excluded.used",
    [SQ_GET] = "SELECT csrf, admin, created, used FROM console_sessions WHERE id_hash = ?1",
    [SQ_TOUCH] = "UPDATE console_sessions SET used = ?2 WHERE id_hash = ?1 AND used < ?2",
    [SQ_DEL] = "DELETE FROM console_sessions WHERE id_hash = ?1",
    [SQ_EXPIRE] = "DELETE FROM console_sessions WHERE used < ?1 OR created < ?2",
    [SQ_COUNT] = "SELECT count(*) FROM console_sessions",
    /* the least recently used beyond the newest ?1 */
    [SQ_LRU_DEL] = "DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM "
                   "console_sessions ORDER BY used DESC, id_hash LIMIT -1 OFFSET ?1)",
};

/* PostgreSQL: LIMIT ALL, where SQLite says LIMIT -1. */
static const char *const ssql_pg[SQ_N] = {
    [SQ_LRU_DEL] = "DELETE FROM console_sessions WHERE id_hash IN (SELECT id_hash FROM "
                   "console_sessions ORDER BY used DESC, id_hash OFFSET ?1)",
};

static int sprep(store *s, int q, eng_stmt **out, gs_err *err)
{
    return prep_slot(s, &s->sstmt[q], on_engine(s, ssql[q], ssql_pg[q]), out, err);
}

static int expire(store *s, int64_t idle_before_ms, int64_t born_before_ms, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = sprep(s, SQ_EXPIRE, &st, err);
    if (rc)
        return rc;
    eng_bind_i64(st, 1, idle_before_ms);
    eng_bind_i64(st, 2, born_before_ms);
    return exec_done(s, st, err);
}

int store_session_put(store *s, const store_session *ss, int max_sessions, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = sprep(s, SQ_PUT, &st, err);

    if (rc)
        return rc;
    eng_bind_blob(st, 1, ss->id_hash, STORE_HASH_LEN);
    bind_text(st, 2, ss->csrf);
    bind_text(st, 3, ss->admin);
    eng_bind_i64(st, 4, ss->created_ms);
    eng_bind_i64(st, 5, ss->used_ms);
    rc = exec_done(s, st, err);
    if (!rc)
        rc = sprep(s, SQ_LRU_DEL, &st, err);
    if (rc)
        return rc;
    eng_bind_i64(st, 1, max_sessions);
    return exec_done(s, st, err);
}

int store_session_get(store *s, const uint8_t id_hash[STORE_HASH_LEN], int64_t idle_before_ms,
                      int64_t born_before_ms, store_session *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = expire(s, idle_before_ms, born_before_ms, err);

    if (!rc)
        rc = sprep(s, SQ_GET, &st, err);
    if (rc)
        return rc;
    eng_bind_blob(st, 1, id_hash, STORE_HASH_LEN);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = GS_E_NOTFOUND;
    if (!rc) {
        memset(out, 0, sizeof(*out));
        memcpy(out->id_hash, id_hash, STORE_HASH_LEN);
        col_text(st, 0, out->csrf, sizeof(out->csrf));
        col_text(st, 1, out->admin, sizeof(out->admin));
        out->created_ms = eng_col_i64(st, 2);
        out->used_ms = eng_col_i64(st, 3);
    }
    done(st);
    return rc;
}

int store_session_touch(store *s, const uint8_t id_hash[STORE_HASH_LEN], int64_t now_ms,
                        gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = sprep(s, SQ_TOUCH, &st, err);
    if (rc)
        return rc;
    eng_bind_blob(st, 1, id_hash, STORE_HASH_LEN);
    eng_bind_i64(st, 2, now_ms);
    return exec_done(s, st, err);
}

int store_session_del(store *s, const uint8_t id_hash[STORE_HASH_LEN], gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = sprep(s, SQ_DEL, &st, err);
    if (rc)
        return rc;
    eng_bind_blob(st, 1, id_hash, STORE_HASH_LEN);
    return exec_done(s, st, err);
}

int store_session_count(store *s, int64_t idle_before_ms, int64_t born_before_ms, int64_t *out,
                        gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = expire(s, idle_before_ms, born_before_ms, err);

    if (!rc)
        rc = sprep(s, SQ_COUNT, &st, err);
    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    if (!rc)
        *out = row ? eng_col_i64(st, 0) : 0;
    done(st);
    return rc;
}
