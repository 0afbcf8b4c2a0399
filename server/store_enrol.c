/*
 * store_enrol.c: the enrolment codes of store.h ("enrolment codes"), table enrolments
 * (migration 6 -> 7 in store.c), and the devices page's rename of a device.
 *
 * Invariants: the code itself is never stored, only SHA-256 of its canonical form (so a
 * copy of the database enrols nothing); used and revoked are each set at most once and
 * never both (every UPDATE is guarded by "used = 0 AND revoked = 0"); grids are kept as
 * one text, a line per grid (a grid name holds no control character: the admin API checks).
 */
#include "store_db.h"

#include <stdio.h>
#include <string.h>

#define ENROL_COLS "id, code_hash, name, grids, created, expires, created_by, used, device, revoked"

static const char *const esql[EQ_N] = {
    [EQ_ADD] = "INSERT INTO enrolments (id, code_hash, name, grids, created, expires, created_by) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [EQ_BY_HASH] = "SELECT " ENROL_COLS " FROM enrolments WHERE code_hash = ?1",
    [EQ_BY_ID] = "SELECT " ENROL_COLS " FROM enrolments WHERE id = ?1",
    [EQ_LIST] = "SELECT " ENROL_COLS " FROM enrolments ORDER BY created DESC, id",
    [EQ_USE] = "UPDATE enrolments SET used = ?2, device = ?3 "
               "WHERE id = ?1 AND used = 0 AND revoked = 0 AND expires > ?2",
    [EQ_REVOKE] = "UPDATE enrolments SET revoked = ?2 WHERE id = ?1 AND used = 0 AND revoked = 0",
    [EQ_DEV_RENAME] = "UPDATE devices SET name = ?2 WHERE id = ?1",
};

static int eprep(store *s, int q, eng_stmt **out, gs_err *err)
{
    return prep_slot(s, &s->estmt[q], esql[q], out, err);
}

store_enrol_state store_enrol_state_at(const store_enrolment *e, int64_t now_ms)
{
    if (e->used_ms)
        return STORE_ENROL_USED;
    if (e->revoked_ms)
        return STORE_ENROL_REVOKED;
    return now_ms >= e->expires_ms ? STORE_ENROL_EXPIRED : STORE_ENROL_OPEN;
}

const char *store_enrol_state_name(store_enrol_state st)
{
    switch (st) {
    case STORE_ENROL_OPEN:
        return "open";
    case STORE_ENROL_EXPIRED:
        return "expired";
    case STORE_ENROL_USED:
        return "used";
    case STORE_ENROL_REVOKED:
        return "revoked";
    }
    return "unknown";
}

int store_enrol_add(store *s, const store_enrolment *e, gs_err *err)
{
    char grids[GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1)];
    size_t n = 0;
    eng_stmt *st = NULL;
    int rc;

    if (e->n_grids == 0 || e->n_grids > GS_LIMIT_GRIDS)
        return gs_err_set(err, GS_E_INVALID, "an enrolment has 1 to %d grids", GS_LIMIT_GRIDS);
    for (size_t i = 0; i < e->n_grids; i++)
        n += (size_t)snprintf(grids + n, sizeof(grids) - n, "%s%s", i ? "\n" : "", e->grids[i]);
    rc = eprep(s, EQ_ADD, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, e->id);
    eng_bind_blob(st, 2, e->code_hash, STORE_HASH_LEN);
    bind_text(st, 3, e->name);
    bind_text(st, 4, grids);
    eng_bind_i64(st, 5, e->created_ms);
    eng_bind_i64(st, 6, e->expires_ms);
    bind_text(st, 7, e->created_by);
    return exec_done(s, st, err);
}

/* The row under st (ENROL_COLS) into *e. */
static int read_row(eng_stmt *st, store_enrolment *e, gs_err *err)
{
    const char *g = eng_col_text(st, 3);
    size_t glen = eng_col_bytes(st, 3);

    memset(e, 0, sizeof(*e));
    col_text(st, 0, e->id, sizeof(e->id));
    if (eng_col_bytes(st, 1) != STORE_HASH_LEN)
        return gs_err_set(err, GS_E_DB, "store: damaged enrolment %s (hash)", e->id);
    memcpy(e->code_hash, eng_col_blob(st, 1), STORE_HASH_LEN);
    col_text(st, 2, e->name, sizeof(e->name));
    for (size_t i = 0; g && i < glen && e->n_grids < GS_LIMIT_GRIDS;) {
        const char *nl = memchr(g + i, '\n', glen - i);
        size_t len = nl ? (size_t)(nl - (g + i)) : glen - i;
        if (len == 0 || len > GS_LIMIT_NAME)
            return gs_err_set(err, GS_E_DB, "store: damaged enrolment %s (grids)", e->id);
        memcpy(e->grids[e->n_grids], g + i, len);
        e->grids[e->n_grids++][len] = '\0';
        i += len + 1;
    }
    e->created_ms = eng_col_i64(st, 4);
    e->expires_ms = eng_col_i64(st, 5);
    col_text(st, 6, e->created_by, sizeof(e->created_by));
    e->used_ms = eng_col_i64(st, 7);
    col_text(st, 8, e->device, sizeof(e->device));
    e->revoked_ms = eng_col_i64(st, 9);
    return GS_OK;
}

/* One row of a prepared, bound statement into *out; GS_E_NOTFOUND without one. */
static int get_one(store *s, eng_stmt *st, store_enrolment *out, gs_err *err)
{
    store_enrolment e;
    int row = 0, rc = step(s, st, &row, err);

    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no such enrolment");
    if (!rc)
        rc = read_row(st, &e, err);
    done(st);
    if (!rc)
        *out = e;
    return rc;
}

int store_enrol_by_hash(store *s, const uint8_t hash[STORE_HASH_LEN], store_enrolment *out,
                        gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_BY_HASH, &st, err);
    if (rc)
        return rc;
    eng_bind_blob(st, 1, hash, STORE_HASH_LEN);
    return get_one(s, st, out, err);
}

int store_enrol_get(store *s, const char *id, store_enrolment *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_BY_ID, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = get_one(s, st, out, err);
    if (rc == GS_E_NOTFOUND)
        gs_err_set(err, rc, "no enrolment '%s'", id);
    return rc;
}

int store_enrol_list(store *s, store_enrol_cb *cb, void *ud, gs_err *err)
{
    store_enrolment e;
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_LIST, &st, err), row = 1;

    while (!rc) {
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        rc = read_row(st, &e, err);
        if (!rc)
            rc = cb(ud, &e);
    }
    done(st);
    return rc;
}

/* After a guarded UPDATE that changed nothing: why (GS_E_NOTFOUND or GS_E_STATE). */
static int why_unchanged(store *s, const char *id, int64_t now_ms, gs_err *err)
{
    store_enrolment e;
    int rc = store_enrol_get(s, id, &e, err);

    if (rc)
        return rc;
    return gs_err_set(err, GS_E_STATE, "enrolment %s is %s", id,
                      store_enrol_state_name(store_enrol_state_at(&e, now_ms)));
}

int store_enrol_use(store *s, const char *id, int64_t now_ms, const char *device, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_USE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    bind_text(st, 3, device);
    rc = exec_done(s, st, err);
    if (!rc && eng_changes(s->e) != 1)
        rc = why_unchanged(s, id, now_ms, err);
    return rc;
}

int store_enrol_revoke(store *s, const char *id, int64_t now_ms, gs_err *err)
{
    store_enrolment e;
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_REVOKE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    eng_bind_i64(st, 2, now_ms);
    rc = exec_done(s, st, err);
    if (rc || eng_changes(s->e) == 1)
        return rc;
    rc = store_enrol_get(s, id, &e, err);
    if (rc)
        return rc;
    if (e.revoked_ms)
        return GS_OK; /* revoked before: the first time stays */
    return gs_err_set(err, GS_E_STATE, "enrolment %s was used already (by device %s): revoke "
                                       "the device instead",
                      id, e.device);
}

int store_device_rename(store *s, const char *id, const char *name, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = eprep(s, EQ_DEV_RENAME, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    bind_text(st, 2, name);
    rc = exec_done(s, st, err);
    if (!rc && eng_changes(s->e) == 0)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no device '%s'", id);
    return rc;
}
