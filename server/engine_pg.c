/*
 * engine_pg.c: engine.h on PostgreSQL through libpq (Debian libpq-dev, PostgreSQL 15).
 *
 * A statement is prepared on the server at its first step, with the types of that step's
 * binds (bigint, bytea, text; unknown for a NULL), and again when a later step binds other
 * types or the connection was reopened since. Parameters go in binary, results come back in
 * binary, so no number is ever printed and parsed.
 *
 * Connection state:
 *
 *   ok ──lost outside a transaction──► reopened by the next step (statements re-prepared)
 *    │
 *    └─lost inside a transaction──► broken: every step fails GS_E_IO until the store's
 *                                   ROLLBACK, which reopens (the transaction died with the
 *                                   connection: nothing of it may be written after)
 *
 * Invariant: a row is read only from the result of the statement's last step; the result
 * is kept until eng_reset (or the next execution).
 */
#include "server/engine_pg.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define PG_MAX_PARAMS 32  /* the most parameters of one store statement */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_CHAR 18
#define PG_OID_NAME 19
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043

struct pg_conn {
    PGconn *conn;       /* libpq's connection */
    char *conninfo;     /* to reopen it */
    unsigned gen;       /* bumped by every reopen: statements prepared before are gone */
    unsigned next_name; /* names server-side prepared statements */
    int in_txn;         /* the last result left a transaction open */
    int broken;         /* lost inside a transaction: only ROLLBACK may run */
    int64_t changes;    /* rows the last statement changed */
};

struct pg_stmt {
    pg_conn *c;                       /* its connection */
    char *sql;                        /* the text with $N */
    int n_params;                     /* the highest N */
    int is_rollback;                  /* "ROLLBACK" (not "ROLLBACK TO"): ends a broken txn */
    char name[24];                    /* the server-side name, "" before the first prepare */
    unsigned gen;                     /* the connection's gen when prepared */
    Oid prep_types[PG_MAX_PARAMS];    /* the types it was prepared with */
    Oid types[PG_MAX_PARAMS];         /* the binds' */
    const char *vals[PG_MAX_PARAMS];  /* NULL: SQL NULL */
    int lens[PG_MAX_PARAMS];          /* bytes of vals */
    int fmts[PG_MAX_PARAMS];          /* 1: binary */
    unsigned char i64[PG_MAX_PARAMS][8]; /* bigint binds, network order */
    void *copies[PG_MAX_PARAMS];      /* pg_bind_copy's bytes */
    PGresult *res;                    /* the last step's result */
    int row;                          /* the current row in res; -1 before the first */
};

/* ---- errors ---- */

/* SQLSTATE classes and codes to gs_rc: what a caller can do about it. */
static int sqlstate_rc(const char *state)
{
    if (!state || strlen(state) != 5)
        return GS_E_DB;
    if (!strcmp(state, "23505"))
        return GS_E_EXISTS; /* unique_violation */
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return GS_E_BUSY; /* serialization failure, deadlock, lock not available: retry */
    if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57P", 3) ||
        !strncmp(state, "58", 2))
        return GS_E_IO; /* connection, resources (disk full), shutdown, system errors */
    return GS_E_DB;
}

/* The first line of a libpq message, without its "ERROR:  " and trailing newline. */
static void first_line(const char *msg, char *out, size_t cap)
{
    size_t n;

    if (!msg)
        msg = "";
    if (!strncmp(msg, "ERROR:  ", 8))
        msg += 8;
    n = strcspn(msg, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static int res_fail(pg_conn *c, PGresult *res, gs_err *err, const char *what)
{
    char line[300];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int rc;

    first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn), line, sizeof(line));
    if (!line[0])
        first_line(PQerrorMessage(c->conn), line, sizeof(line));
    rc = PQstatus(c->conn) == CONNECTION_BAD ? GS_E_IO : sqlstate_rc(state);
    return gs_err_set(err, rc, "store: %s: %s (postgresql %s)", what, line,
                      state ? state : "connection");
}

/* After every result: whether a transaction is open, and whether the connection died. */
static void note_state(pg_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->conn);

    if (PQstatus(c->conn) == CONNECTION_BAD) {
        if (c->in_txn)
            c->broken = 1;
        return;
    }
    c->in_txn = t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* Reopens a lost connection; GS_E_IO while the server stays away. */
static int reopen(pg_conn *c, gs_err *err)
{
    PQreset(c->conn);
    if (PQstatus(c->conn) != CONNECTION_OK)
        return res_fail(c, NULL, err, "PostgreSQL unreachable");
    c->gen++;
    c->in_txn = 0;
    c->broken = 0;
    return GS_OK;
}

/* Before running anything: a lost connection is reopened unless a transaction died with
 * it, which only a ROLLBACK clears. *skip 1: the ROLLBACK has nothing left to do. */
static int ready(pg_conn *c, int is_rollback, int *skip, gs_err *err)
{
    *skip = 0;
    /* idle outside a transaction: a connection the server closed meanwhile (a restart
       sends its clients a FATAL and a close) is noticed now, by reading what is pending,
       rather than by failing the statement */
    for (int i = 0; i < 3 && !c->in_txn && !c->broken && PQstatus(c->conn) == CONNECTION_OK;
         i++) {
        struct pollfd p = {.fd = PQsocket(c->conn), .events = POLLIN};
        /* the FATAL is read by one call, the close by the next */
        if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !PQconsumeInput(c->conn))
            break;
    }
    if (PQstatus(c->conn) != CONNECTION_BAD && !c->broken)
        return GS_OK;
    if (c->in_txn || c->broken) {
        c->broken = 1;
        if (!is_rollback)
            return gs_err_set(err, GS_E_IO,
                              "store: the connection to PostgreSQL was lost inside a "
                              "transaction; it is rolled back");
        *skip = 1;
        c->in_txn = 0;
        c->broken = 0;
        /* reopen now if it can; if not, the next statement tries again */
        PQreset(c->conn);
        if (PQstatus(c->conn) == CONNECTION_OK)
            c->gen++;
        return GS_OK;
    }
    return reopen(c, err);
}

static int starts_rollback(const char *sql)
{
    const char *kw = "rollback";
    size_t i;

    while (isspace((unsigned char)*sql))
        sql++;
    for (i = 0; kw[i]; i++)
        if (tolower((unsigned char)sql[i]) != kw[i])
            return 0;
    sql += i;
    while (isspace((unsigned char)*sql))
        sql++;
    return tolower((unsigned char)sql[0]) != 't'; /* not ROLLBACK TO */
}

/* ---- connection ---- */

static void quiet(void *ud, const char *msg)
{
    (void)ud; /* "NOTICE: relation exists, skipping" and the like are not for the log */
    (void)msg;
}

int pg_open(pg_conn **out, const char *conninfo, gs_err *err)
{
    pg_conn *c = gs_calloc(1, sizeof(*c));
    int rc = GS_OK;

    if (!c || !(c->conninfo = gs_strdup(conninfo))) {
        gs_free(c);
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    }
    c->conn = PQconnectdb(conninfo);
    if (!c->conn) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
    } else if (PQstatus(c->conn) != CONNECTION_OK) {
        char line[300];
        first_line(PQerrorMessage(c->conn), line, sizeof(line));
        rc = gs_err_set(err, GS_E_IO, "store: cannot connect to PostgreSQL: %s", line);
    } else if (PQserverVersion(c->conn) < 120000) {
        rc = gs_err_set(err, GS_E_STATE, "store: PostgreSQL %d.%d is too old (12 or later)",
                        PQserverVersion(c->conn) / 10000, PQserverVersion(c->conn) % 10000);
    }
    if (rc) {
        pg_close(c);
        return rc;
    }
    PQsetNoticeProcessor(c->conn, quiet, NULL);
    c->gen = 1;
    *out = c;
    return GS_OK;
}

void pg_close(pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->conn);
    gs_free(c->conninfo);
    gs_free(c);
}

int pg_exec(pg_conn *c, const char *sql, gs_err *err)
{
    PGresult *res;
    ExecStatusType st;
    int skip, rc = ready(c, starts_rollback(sql), &skip, err);

    if (rc || skip)
        return rc;
    res = PQexec(c->conn, sql);
    st = PQresultStatus(res);
    note_state(c);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = res_fail(c, res, err, "exec");
    PQclear(res);
    return rc;
}

/* ---- statements ---- */

/* sql with ?N as $N outside quotes and comments; the highest N in *n_params. */
static int translate(const char *sql, char **out, int *n_params, gs_err *err)
{
    size_t len = strlen(sql);
    char *t = gs_malloc(len + 1), *w = t;
    const char *p = sql;
    int highest = 0;

    if (!t)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    while (*p) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            *w++ = *p++;
            while (*p && *p != q)
                *w++ = *p++;
            if (*p)
                *w++ = *p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                *w++ = *p++;
        } else if (*p == '?') {
            char *end;
            long n = strtol(p + 1, &end, 10);
            if (end == p + 1 || n < 1 || n > PG_MAX_PARAMS) {
                gs_free(t);
                return gs_err_set(err, GS_E_INVALID,
                                  "store: parameter %.12s: write ?1 .. ?%d", p, PG_MAX_PARAMS);
            }
            if (n > highest)
                highest = (int)n;
            *w++ = '$';
            p++;
            while (p < end)
                *w++ = *p++;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    *out = t;
    *n_params = highest;
    return GS_OK;
}

int pg_prepare(pg_conn *c, const char *sql, pg_stmt **out, gs_err *err)
{
    pg_stmt *st = gs_calloc(1, sizeof(*st));
    int rc;

    if (!st)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    st->c = c;
    st->row = -1;
    st->is_rollback = starts_rollback(sql);
    rc = translate(sql, &st->sql, &st->n_params, err);
    if (rc) {
        gs_free(st);
        return rc;
    }
    *out = st;
    return GS_OK;
}

static void drop_copy(pg_stmt *st, int k)
{
    gs_free(st->copies[k]);
    st->copies[k] = NULL;
}

void pg_reset(pg_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    for (int k = 0; k < st->n_params; k++) {
        drop_copy(st, k);
        st->vals[k] = NULL;
        st->lens[k] = 0;
        st->fmts[k] = 0;
        st->types[k] = 0;
    }
}

void pg_finalize(pg_stmt *st)
{
    if (!st)
        return;
    pg_reset(st);
    /* the server-side statement goes with the connection (DEALLOCATE would cost a round
       trip for something the store does only at close) */
    gs_free(st->sql);
    gs_free(st);
}

/* The slot of parameter i, or -1 for a number the SQL does not have. */
static int slot(pg_stmt *st, int i)
{
    if (i < 1 || i > st->n_params)
        return -1;
    drop_copy(st, i - 1);
    return i - 1;
}

void pg_bind_i64(pg_stmt *st, int i, int64_t v)
{
    int k = slot(st, i);
    uint64_t u = (uint64_t)v;

    if (k < 0)
        return;
    for (int b = 7; b >= 0; b--, u >>= 8)
        st->i64[k][b] = (unsigned char)(u & 0xff);
    st->vals[k] = (const char *)st->i64[k];
    st->lens[k] = 8;
    st->fmts[k] = 1;
    st->types[k] = PG_OID_INT8;
}

void pg_bind_ref(pg_stmt *st, int i, const void *p, size_t n, int is_text)
{
    int k = slot(st, i);

    if (k < 0)
        return;
    st->vals[k] = n ? p : ""; /* NULL would mean SQL NULL */
    st->lens[k] = (int)n;
    st->fmts[k] = 1;
    st->types[k] = is_text ? PG_OID_TEXT : PG_OID_BYTEA;
}

int pg_bind_copy(pg_stmt *st, int i, const void *p, size_t n)
{
    int k = slot(st, i);
    void *copy;

    if (k < 0)
        return GS_OK;
    copy = gs_malloc(n ? n : 1);
    if (!copy)
        return GS_E_NOMEM;
    if (n)
        memcpy(copy, p, n);
    pg_bind_ref(st, i, copy, n, 0);
    st->copies[k] = copy;
    return GS_OK;
}

void pg_bind_null(pg_stmt *st, int i)
{
    int k = slot(st, i);

    if (k < 0)
        return;
    st->vals[k] = NULL;
    st->lens[k] = 0;
    st->fmts[k] = 1;
    /* a NULL fits any type: the one the statement was prepared with, so that a column
       that is sometimes NULL does not prepare its statement again at every change */
    st->types[k] = st->name[0] ? st->prep_types[k] : 0;
}

/* Prepares st on the server unless it is prepared, on this connection, with these types. */
static int ensure_prepared(pg_stmt *st, gs_err *err)
{
    pg_conn *c = st->c;
    PGresult *res;
    int rc = GS_OK;

    if (st->name[0] && st->gen == c->gen &&
        !memcmp(st->prep_types, st->types, sizeof(Oid) * (size_t)st->n_params))
        return GS_OK;
    if (st->name[0] && st->gen == c->gen) { /* other types: the old one is not needed */
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
        PQclear(PQexec(c->conn, sql));
        note_state(c);
    }
    snprintf(st->name, sizeof(st->name), "gs%u", ++c->next_name);
    res = PQprepare(c->conn, st->name, st->sql, st->n_params, st->types);
    note_state(c);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[64]; /* which statement: the start of its text */
        snprintf(what, sizeof(what), "prepare \"%.40s...\"", st->sql);
        rc = res_fail(c, res, err, what);
        st->name[0] = '\0';
    } else {
        memcpy(st->prep_types, st->types, sizeof(Oid) * (size_t)st->n_params);
        st->gen = c->gen;
    }
    PQclear(res);
    return rc;
}

int pg_step(pg_stmt *st, int *row, gs_err *err)
{
    pg_conn *c = st->c;
    ExecStatusType status;
    int skip, rc;

    if (!st->res) {
        rc = ready(c, st->is_rollback, &skip, err);
        if (!rc && skip) {
            if (row)
                *row = 0;
            c->changes = 0;
            return GS_OK;
        }
        if (!rc)
            rc = ensure_prepared(st, err);
        if (rc)
            return rc;
        st->res = PQexecPrepared(c->conn, st->name, st->n_params, st->vals, st->lens, st->fmts,
                                 1);
        note_state(c);
        status = PQresultStatus(st->res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            rc = res_fail(c, st->res, err, "step");
            PQclear(st->res);
            st->res = NULL;
            return rc;
        }
        c->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
    }
    if (st->row < PQntuples(st->res))
        st->row++;
    if (row)
        *row = st->row < PQntuples(st->res);
    return GS_OK;
}

static int has_row(pg_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 &&
           i < PQnfields(st->res);
}

int pg_col_null(pg_stmt *st, int i)
{
    return !has_row(st, i) || PQgetisnull(st->res, st->row, i);
}

int64_t pg_col_i64(pg_stmt *st, int i)
{
    const unsigned char *v;
    int len;
    uint64_t u = 0;

    if (pg_col_null(st, i))
        return 0;
    v = (const unsigned char *)PQgetvalue(st->res, st->row, i);
    len = PQgetlength(st->res, st->row, i);
    switch (PQftype(st->res, i)) {
    case PG_OID_INT8:
    case PG_OID_INT4:
    case PG_OID_INT2:
        for (int b = 0; b < len; b++)
            u = u << 8 | v[b];
        /* sign-extend the narrower integers */
        if (len < 8 && len > 0 && (v[0] & 0x80))
            u |= ~(uint64_t)0 << (8 * len);
        return (int64_t)u;
    case PG_OID_BOOL:
        return len > 0 && v[0];
    default:
        return 0; /* not a number: engine.h asks the SQL to cast */
    }
}

const void *pg_col_blob(pg_stmt *st, int i)
{
    if (pg_col_null(st, i))
        return NULL;
    return PQgetvalue(st->res, st->row, i);
}

size_t pg_col_bytes(pg_stmt *st, int i)
{
    if (pg_col_null(st, i))
        return 0;
    return (size_t)PQgetlength(st->res, st->row, i);
}

int64_t pg_changes(pg_conn *c)
{
    return c->changes;
}

int pg_in_txn(pg_conn *c)
{
    return c->in_txn || c->broken;
}
