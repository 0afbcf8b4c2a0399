/*
 * device.h: the device's enrolment settings kept in the database's meta table (what
 * `gridsync init` stores), read back as one struct by the sync.
 */
#ifndef GS_CLIENT_DEVICE_H
#define GS_CLIENT_DEVICE_H

#include <stddef.h>

#include "db.h"
#include "common/limits.h"

/* Largest CA bundle accepted at init. */
#define DEVICE_CA_MAX (256 * 1024)

typedef struct device_settings {
    char *device_id;   /* NULL before init */
    char *token;       /* the bearer token: never log it */
    char *server_url;  /* "https://..." */
    char *ca_pem;      /* PEM text */
    size_t ca_pem_len; /* bytes in ca_pem */
    char *grids;       /* newline-separated */
    char *worker;      /* worker name */
} device_settings;

/* Reads every setting (all NULL when the device is not initialised). Free with
 * device_settings_free, which wipes the token. */
int device_load(gs_db *db, device_settings *out);
void device_settings_free(device_settings *s);

#endif
