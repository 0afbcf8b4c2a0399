/*
 * tdevice.h: the enrolled device most client tests start from, made through the public API
 * only (test_client_api.c includes gridsync.h alone, as an app would, and so does this).
 *
 * The device is "dev-1" with token "dev-1.secret" and server https://127.0.0.1:8443; no
 * test here reaches a server (test_client_sync scripts one in-process), and
 * gs_db_init_device checks only the shape of the CA text, so a dummy certificate does.
 * Helpers fail the test, with the handle's message, on any error.
 */
#ifndef GS_TESTS_TDEVICE_H
#define GS_TESTS_TDEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "client/gridsync.h"

/* Bytes a record id takes as text, with its NUL (36 + 1, rounded up). */
#define TDEVICE_ID_MAX 40

/* A CA certificate in PEM shape (not a real one), and its length. */
extern const char tdevice_ca_pem[];
extern const size_t tdevice_ca_pem_len;

/* The settings of dev-1 working in grids[0..n_grids); worker NULL: the device id. */
gs_device_config tdevice_config(const char *const *grids, size_t n_grids, const char *worker);

/* gs_db_init_device(db, tdevice_config(...)). */
void tdevice_init(gs_db *db, const char *const *grids, size_t n_grids, const char *worker);

/* Adds a resident named name, born in born (none when 0), in the device's default grid;
 * copies its id into id unless id is NULL. */
void tdevice_add_resident(gs_db *db, const char *name, int64_t born, char id[TDEVICE_ID_MAX]);

/* Changes waiting in the outbox (gs_db_pending). */
int64_t tdevice_pending(gs_db *db);

/* Bytes a device database's path takes: a tdir folder, "/device.db" and its NUL. */
#define TDEVICE_PATH_MAX 128

/* For a test's setup: a fresh folder /tmp/gs-TAG-XXXXXX (tests/lib/tdir.h) in dir, the
 * path of device.db in it in path, and that database opened (not initialised) in *db.
 * 0, or -1 with nothing left behind. */
int tdevice_db_open(char *dir, char path[TDEVICE_PATH_MAX], gs_db **db, const char *tag);
/* For its teardown: closes db and removes dir with everything in it; 0, or -1. */
int tdevice_db_close(gs_db *db, const char *dir);

#endif
