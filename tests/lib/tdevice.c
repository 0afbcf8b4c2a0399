/* tdevice.c: see tdevice.h. */
#include "tdevice.h"
#include "tdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

const char tdevice_ca_pem[] = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n";
const size_t tdevice_ca_pem_len = sizeof(tdevice_ca_pem) - 1;

gs_device_config tdevice_config(const char *const *grids, size_t n_grids, const char *worker)
{
    gs_device_config cfg = {"dev-1", "dev-1.secret", "https://127.0.0.1:8443", tdevice_ca_pem,
                            tdevice_ca_pem_len, grids, n_grids, worker};
    return cfg;
}

void tdevice_init(gs_db *db, const char *const *grids, size_t n_grids, const char *worker)
{
    gs_device_config cfg = tdevice_config(grids, n_grids, worker);
    if (gs_db_init_device(db, &cfg) != GS_OK)
        fail_msg("init of dev-1: %s", gs_db_errmsg(db));
}

void tdevice_add_resident(gs_db *db, const char *name, int64_t born, char id[TDEVICE_ID_MAX])
{
    gs_record *r;
    assert_int_equal(gs_record_new(db, "resident", &r), GS_OK);
    assert_int_equal(gs_record_set_str(r, "name", name), GS_OK);
    if (born)
        assert_int_equal(gs_record_set_int(r, "born", born), GS_OK);
    if (gs_db_add(db, r) != GS_OK)
        fail_msg("add resident %s: %s", name, gs_db_errmsg(db));
    if (id)
        snprintf(id, TDEVICE_ID_MAX, "%s", gs_record_id(r));
    gs_record_free(r);
}

int64_t tdevice_pending(gs_db *db)
{
    int64_t n = -1;
    if (gs_db_pending(db, &n) != GS_OK)
        fail_msg("pending: %s", gs_db_errmsg(db));
    return n;
}

int tdevice_db_open(char *dir, char path[TDEVICE_PATH_MAX], gs_db **db, const char *tag)
{
    *db = NULL;
    if (tdir_make(dir, tag) != 0)
        return -1;
    snprintf(path, TDEVICE_PATH_MAX, "%s/device.db", dir);
    if (gs_db_open(path, db) != GS_OK) {
        gs_db_close(*db);
        *db = NULL;
        tdir_remove(dir);
        return -1;
    }
    return 0;
}

int tdevice_db_close(gs_db *db, const char *dir)
{
    gs_db_close(db);
    return tdir_remove(dir);
}
