/*
 * warning.c: the handheld's side of warnings (预警, issue 15): gs_db_warnings_list,
 * gs_db_warnings_open and gs_db_warning_ack.
 *
 * A warning is a record of the schema's server_only table "warning": the town server's
 * rules raise it, the device pulls it with its grids' records (apply.c, like any record),
 * and the server clears it (state cleared, cleared_at) when the condition ends. The device
 * writes a warning only through the update path (capture.c), which refuses everything the
 * server would reject read_only; an acknowledgement is therefore an ordinary update of the
 * device-editable fields and syncs as one outbox change.
 *
 *     (server) ──raise──> open ──ack (device)──> acknowledged ──┐
 *                           │                                    │ (server: condition over)
 *                           └────────────────────────────────────┴──> cleared (final)
 *
 * "Open" means not cleared: a warning is open from when it is raised until the server
 * clears it, acknowledged or not (acknowledging says a worker has seen it, not that the
 * resident was visited). Which state values are final, and the order of the levels, come
 * from the schema (SEF_TERMINAL; the levels are declared mildest first), not from here.
 */
#include "capture.h"
#include "query.h"

#include "common/buf.h"

#include <stdio.h>
#include <string.h>

#define WARNING_TABLE "warning"
#define F_STATE "state"
#define F_LEVEL "level"
#define F_SINCE "since"
#define F_NOTE "note"
#define F_ACK_BY "ack_by"
#define F_ACK_AT "ack_at"
#define ACKNOWLEDGED "acknowledged" /* the state a device sets (SEF_DEVICE) */

/* Bytes of the SQL texts made here: a few CASE expressions over the schema's enums. */
#define WARNING_SQL_MAX 2048

static const schema_table *warning_table(gs_db *db, const schema_field **state,
                                         const schema_field **level)
{
    const schema_table *t = schema_table_find(WARNING_TABLE, strlen(WARNING_TABLE));

    *state = t ? schema_field_find(t, F_STATE, strlen(F_STATE)) : NULL;
    *level = t ? schema_field_find(t, F_LEVEL, strlen(F_LEVEL)) : NULL;
    if (!t || !*state || !*level || (*state)->type != ST_ENUM || (*level)->type != ST_ENUM) {
        gs_err_set(&db->err, GS_E_STATE, "this build's schema has no warning table");
        return NULL;
    }
    return t;
}

/* The condition "not cleared": state is none of the final (SEF_TERMINAL) values. A
 * warning without a state (never sent so by the server) counts as open. */
static int open_sql(const schema_field *state, gs_buf *sql)
{
    const char *sep = "";
    int rc = buf_addf(sql, "\"%s\" IS NULL OR \"%s\" NOT IN (", state->name, state->name);

    for (size_t k = 0; k < state->n_enums && rc == GS_OK; k++)
        if (state->enums[k].flags & SEF_TERMINAL) {
            rc = buf_addf(sql, "%s'%s'", sep, state->enums[k].name);
            sep = ", ";
        }
    return rc ? rc : buf_adds(sql, ")");
}

/* CASE f WHEN <first enum> THEN 0 ... END: the enum's place in the schema, reversed when
 * reverse; a value the schema does not know (from a newer server) or none sorts last. */
static int rank_sql(const schema_field *f, int reverse, gs_buf *sql)
{
    int rc = buf_addf(sql, "CASE \"%s\"", f->name);

    for (size_t k = 0; k < f->n_enums && rc == GS_OK; k++)
        rc = buf_addf(sql, " WHEN '%s' THEN %zu", f->enums[k].name,
                      reverse ? f->n_enums - 1 - k : k);
    return rc ? rc : buf_addf(sql, " ELSE %zu END", f->n_enums);
}

int gs_db_warnings_list(gs_db *db, int flags, gs_list **out)
{
    const schema_field *state, *level;
    gs_list *l = NULL;
    gs_buf where, order;
    int rc;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    if (flags & ~GS_WARNINGS_ALL)
        return gs_err_set(&db->err, GS_E_INVALID, "unknown warnings list flags 0x%x",
                          (unsigned)flags);
    if (!warning_table(db, &state, &level))
        return GS_E_STATE;
    buf_init(&where, WARNING_SQL_MAX);
    buf_init(&order, WARNING_SQL_MAX);
    /* open before acknowledged before cleared, then urgent first, then the oldest
       condition, then the id so that equal warnings always come in the same order */
    rc = (flags & GS_WARNINGS_ALL) ? GS_OK : open_sql(state, &where);
    if (rc == GS_OK)
        rc = rank_sql(state, 0, &order);
    if (rc == GS_OK)
        rc = buf_adds(&order, ", ");
    if (rc == GS_OK)
        rc = rank_sql(level, 1, &order);
    if (rc == GS_OK)
        rc = buf_addf(&order, ", \"%s\", id", F_SINCE);
    if (rc)
        rc = gs_err_set(&db->err, rc, "out of memory");
    if (rc == GS_OK)
        rc = gs_list_new(db, WARNING_TABLE, &l);
    if (rc == GS_OK)
        rc = list_set_sql(l, where.len ? where.ptr : NULL, order.ptr);
    buf_free(&where);
    buf_free(&order);
    if (rc) {
        gs_list_free(l);
        return rc;
    }
    *out = l;
    return GS_OK;
}

int gs_db_warnings_open(gs_db *db, int64_t *out)
{
    const schema_field *state, *level;
    const schema_table *t;
    sqlite3_stmt *st;
    gs_buf sql;
    int src, rc;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    t = warning_table(db, &state, &level);
    if (!t)
        return GS_E_STATE;
    buf_init(&sql, WARNING_SQL_MAX);
    rc = buf_addf(&sql, "SELECT count(*) FROM \"%s\" WHERE deleted = 0 AND (", t->name);
    if (rc == GS_OK)
        rc = open_sql(state, &sql);
    if (rc == GS_OK)
        rc = buf_adds(&sql, ")");
    if (rc) {
        buf_free(&sql);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    rc = db_prepare(db, sql.ptr, &st);
    buf_free(&sql);
    if (rc)
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_fail(db, src, "counting open warnings");
    db_done(st);
    return rc;
}

/* GS_OK when warning cur may be acknowledged: GS_E_STATE once the server has cleared it
 * (a final state): its condition is over and an acknowledgement would change nothing. */
static int check_ackable(gs_db *db, const schema_field *state, gs_record *cur)
{
    const char *s = NULL;
    const schema_enum *e;

    if (gs_record_get_str(cur, state->name, &s) != GS_OK)
        return GS_OK;
    e = schema_enum_find(state, s, strlen(s));
    if (!e || !(e->flags & SEF_TERMINAL))
        return GS_OK;
    return gs_err_set(&db->err, GS_E_STATE,
                      "warning %s is %s (%s) already: the server ended it, there is nothing to "
                      "acknowledge",
                      cur->id_text, e->name, e->label_zh);
}

/* The acknowledgement as a record to update: state, who, when, and the note if given. */
static int ack_record(gs_db *db, const schema_table *t, const uint8_t id[UUID_LEN],
                      const char *note, gs_record **out)
{
    gs_record *rec = NULL;
    int rc = record_new(db, t, &rec);

    if (rc)
        return rc;
    record_set_id(rec, id);
    rc = gs_record_set_str(rec, F_STATE, ACKNOWLEDGED);
    if (rc == GS_OK && db->worker)
        rc = gs_record_set_str(rec, F_ACK_BY, db->worker);
    if (rc == GS_OK)
        rc = gs_record_set_time(rec, F_ACK_AT, (int64_t)db_wall_ms(db));
    if (rc == GS_OK && note)
        rc = gs_record_set_text(rec, F_NOTE, note); /* "" clears it, as on update */
    if (rc) {
        gs_record_free(rec);
        return rc;
    }
    *out = rec;
    return GS_OK;
}

int gs_db_warning_ack(gs_db *db, const char *id, const char *note)
{
    const schema_field *state, *level;
    const schema_table *t;
    gs_record *cur = NULL, *rec = NULL;
    uint8_t raw[UUID_LEN];
    int rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    t = warning_table(db, &state, &level);
    if (!t)
        return GS_E_STATE;
    rc = capture_parse_id(db, id, raw);
    if (rc)
        return rc;
    /* one transaction: a sync that clears the warning cannot come between the check and
       the write (the write lock is taken at once) */
    rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = record_load_in(db, t, raw, &cur);
    if (rc == GS_E_NOTFOUND || (rc == GS_OK && cur->deleted))
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no warning %s on this device%s", id,
                        cur ? " (it was deleted)" : "");
    if (rc == GS_OK)
        rc = check_ackable(db, state, cur);
    if (rc == GS_OK)
        rc = ack_record(db, t, raw, note, &rec);
    if (rc == GS_OK)
        rc = gs_db_update(db, rec); /* every check of an update, one outbox change */
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    gs_record_free(rec);
    gs_record_free(cur);
    return rc;
}
