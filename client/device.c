/*
 * device.c: gs_db_init_device, gs_db_status, gs_db_pending and the
 * settings the sync reads. A device's settings are rewritten only as a whole, in one
 * transaction, so a half-enrolled device cannot exist.
 */
#define _GNU_SOURCE /* memmem */
#include "device.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "outbox.h"

#include <stdio.h>
#include <string.h>

/* gridsync.h repeats two limits for apps; the library checks with the internal ones. */
_Static_assert(GS_NAME_MAX == GS_LIMIT_NAME, "gridsync.h's GS_NAME_MAX is common/limits.h's");
_Static_assert(GS_GRIDS_MAX == GS_LIMIT_GRIDS, "gridsync.h's GS_GRIDS_MAX is common/limits.h's");

/* A name (device id, grid, worker): 1..GS_LIMIT_NAME bytes of UTF-8 without control characters or
 * commas and newlines (grids are listed with both). */
static int check_name(gs_db *db, const char *what, const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (len == 0 || len > GS_LIMIT_NAME)
        return gs_err_set(&db->err, GS_E_INVALID, "%s: must be 1 to %d bytes", what,
                          GS_LIMIT_NAME);
    if (!utf8_valid(s, len))
        return gs_err_set(&db->err, GS_E_INVALID, "%s: not valid UTF-8 text", what);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == ',' || s[i] == 0x7f)
            return gs_err_set(&db->err, GS_E_INVALID,
                              "%s: must not contain commas or control characters", what);
    return GS_OK;
}

static int check_config(gs_db *db, const gs_device_config *cfg)
{
    int rc = check_name(db, "device id", cfg->device_id);

    if (rc)
        return rc;
    if (!cfg->token || !cfg->token[0] || strlen(cfg->token) > 512 ||
        !utf8_valid(cfg->token, strlen(cfg->token)))
        return gs_err_set(&db->err, GS_E_INVALID, "token: missing or malformed");
    for (const char *p = cfg->token; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return gs_err_set(&db->err, GS_E_INVALID, "token: must not contain spaces");
    if (!cfg->server_url || strncmp(cfg->server_url, "https://", 8) != 0 ||
        strlen(cfg->server_url) < 9 || strlen(cfg->server_url) >= GS_RESULT_MAX)
        return gs_err_set(&db->err, GS_E_INVALID,
                          "server: must be an https:// URL (got '%.80s')",
                          cfg->server_url ? cfg->server_url : "");
    if (!cfg->ca_pem || cfg->ca_pem_len == 0)
        return gs_err_set(&db->err, GS_E_INVALID, "ca: no CA certificate given");
    if (cfg->ca_pem_len > DEVICE_CA_MAX)
        return gs_err_set(&db->err, GS_E_INVALID, "ca: larger than %d bytes", DEVICE_CA_MAX);
    if (memchr(cfg->ca_pem, '\0', cfg->ca_pem_len))
        return gs_err_set(&db->err, GS_E_INVALID, "ca: not a PEM text file");
    if (!memmem(cfg->ca_pem, cfg->ca_pem_len, "-----BEGIN CERTIFICATE-----", 27))
        return gs_err_set(&db->err, GS_E_INVALID,
                          "ca: not a PEM certificate (no BEGIN CERTIFICATE line)");
    if (cfg->n_grids == 0 || !cfg->grids)
        return gs_err_set(&db->err, GS_E_INVALID, "grid: at least one grid is needed");
    if (cfg->n_grids > GS_LIMIT_GRIDS)
        return gs_err_set(&db->err, GS_E_INVALID, "grid: at most %d grids",
                          GS_LIMIT_GRIDS);
    for (size_t i = 0; i < cfg->n_grids; i++) {
        rc = check_name(db, "grid", cfg->grids[i]);
        if (rc)
            return rc;
    }
    if (cfg->worker)
        return check_name(db, "worker", cfg->worker);
    return GS_OK;
}

int gs_db_init_device(gs_db *db, const gs_device_config *cfg)
{
    char *existing = NULL;
    gs_buf grids;
    int rc;

    if (!db || !cfg)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = check_config(db, cfg);
    if (rc)
        return rc;
    buf_init(&grids, GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1));
    for (size_t i = 0; i < cfg->n_grids && rc == GS_OK; i++)
        rc = buf_addf(&grids, "%s%s", i ? "\n" : "", cfg->grids[i]);
    if (rc) {
        buf_free(&grids);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    rc = db_tx_begin(db);
    if (rc)
        goto done;
    rc = db_meta_get_text(db, DB_META_DEVICE, &existing);
    if (rc == GS_OK && existing && strcmp(existing, cfg->device_id) != 0)
        rc = gs_err_set(&db->err, GS_E_EXISTS,
                        "this database belongs to device %s already; use another --db for "
                        "device %s",
                        existing, cfg->device_id);
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_DEVICE, cfg->device_id, strlen(cfg->device_id));
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_TOKEN, cfg->token, strlen(cfg->token));
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_SERVER, cfg->server_url, strlen(cfg->server_url));
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_CA, cfg->ca_pem, cfg->ca_pem_len);
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_GRIDS, grids.ptr, grids.len);
    if (rc == GS_OK) {
        const char *w = cfg->worker ? cfg->worker : cfg->device_id;
        rc = db_meta_set_text(db, DB_META_WORKER, w, strlen(w));
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    else
        rc = db_load_defaults(db);
done:
    gs_free(existing);
    buf_free(&grids);
    return rc;
}

void device_settings_free(device_settings *s)
{
    if (s->token) {
        volatile char *p = s->token;
        while (*p)
            *p++ = 0;
    }
    gs_free(s->device_id);
    gs_free(s->token);
    gs_free(s->server_url);
    gs_free(s->ca_pem);
    gs_free(s->grids);
    gs_free(s->worker);
    memset(s, 0, sizeof(*s));
}

int device_load(gs_db *db, device_settings *out)
{
    device_settings s;
    int rc;

    memset(&s, 0, sizeof(s));
    rc = db_meta_get_text(db, DB_META_DEVICE, &s.device_id);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_TOKEN, &s.token);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_SERVER, &s.server_url);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_CA, &s.ca_pem);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_GRIDS, &s.grids);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_WORKER, &s.worker);
    if (rc) {
        device_settings_free(&s);
        return rc;
    }
    s.ca_pem_len = s.ca_pem ? strlen(s.ca_pem) : 0;
    *out = s;
    return GS_OK;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static int count_live(gs_db *db, int64_t *out)
{
    *out = 0;
    for (size_t k = 0; k < schema_n_tables; k++) {
        char sql[128];
        sqlite3_stmt *st;
        int src, rc;

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" WHERE deleted = 0",
                 schema_tables[k].name);
        rc = db_prepare(db, sql, &st);
        if (rc)
            return rc;
        src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            *out += sqlite3_column_int64(st, 0);
        db_done(st);
        if (src != SQLITE_ROW)
            return db_fail(db, src, "counting records");
    }
    return GS_OK;
}

int gs_db_status(gs_db *db, gs_status *out)
{
    gs_status s;
    device_settings ds;
    char *result = NULL;
    sqlite3_stmt *st;
    int src, rc;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    memset(&s, 0, sizeof(s));
    rc = device_load(db, &ds);
    if (rc)
        return rc;
    s.initialised = ds.device_id != NULL;
    copy_text(s.device_id, sizeof(s.device_id), ds.device_id);
    copy_text(s.worker, sizeof(s.worker), ds.worker);
    copy_text(s.server_url, sizeof(s.server_url), ds.server_url);
    copy_text(s.grids, sizeof(s.grids), ds.grids);
    for (char *p = s.grids; *p; p++)
        if (*p == '\n')
            *p = ',';
    device_settings_free(&ds);
    rc = outbox_count(db, &s.pending, &s.pending_sent);
    if (rc == GS_OK)
        rc = db_meta_get_int(db, DB_META_SYNC_AT, 0, &s.last_sync_ms);
    if (rc == GS_OK)
        rc = db_meta_get_text(db, DB_META_SYNC_RESULT, &result);
    if (rc == GS_OK)
        rc = outbox_get_cursor(db, &s.cursor);
    if (rc == GS_OK)
        rc = count_live(db, &s.records);
    if (rc == GS_OK)
        rc = db_prepare_static(db, "SELECT count(*) FROM rejected", &st);
    if (rc == GS_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            s.rejected = sqlite3_column_int64(st, 0);
        else
            rc = db_fail(db, src, "counting rejected changes");
        db_done(st);
    }
    copy_text(s.last_sync_result, sizeof(s.last_sync_result), result);
    gs_free(result);
    if (rc == GS_OK)
        *out = s;
    return rc;
}

int gs_db_pending(gs_db *db, int64_t *n)
{
    if (!db || !n)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    return outbox_count(db, n, NULL);
}
