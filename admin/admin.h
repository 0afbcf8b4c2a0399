/*
 * admin.h: what the commands of gridsync-admin share (admin.c): one invocation's settings
 * and HTTPS link, the call to the admin API, how errors and tables are printed. The
 * commands are main.c (devices, conflicts, status), dashboard.c (dashboard, warnings) and
 * export.c (export).
 *
 * Errors: every command returns an exit code made by common/cmdline.h (admin_fail,
 * admin_usage_error), so gridsync-admin and gridsync exit alike: 0 ok, 1 failure, 2 bad
 * usage, input or configuration, 3 not found, 4 server unreachable, 5 token refused.
 */
#ifndef GS_ADMIN_ADMIN_H
#define GS_ADMIN_ADMIN_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/rc.h"
#include "common/table.h"
#include "common/transport.h"

#define PROG "gridsync-admin"
#define ADMIN_CA_PEM_MAX (64 * 1024)
#define ADMIN_RESP_MAX (16u * 1024 * 1024) /* bytes of one answer */
#define ADMIN_PREFIX "/v1/admin"

/* Everything one invocation needs. */
typedef struct admin {
    char server[1024];  /* base URL */
    char ca_path[1024]; /* CA PEM file */
    char token[512];    /* admin token: never printed */
    int json;           /* --json: print the server's JSON */
    transport *link;    /* HTTPS link, made on first use */
    gs_buf ca_pem;      /* the CA file's content */
    gs_err err;         /* last error */
} admin;

/* "gridsync-admin: MESSAGE" and the --help hint; exit code 2. */
int admin_usage_error(const admin *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The failure rc with a->err's message; its exit code. */
int admin_fail(admin *a, int rc);
/* The HTTPS link to the server, made on first use (GS_E_CONFIG without settings). */
int admin_connect(admin *a);
/* Sends one request to ADMIN_PREFIX path (body: POST only; NULL sends {}) and parses the
 * JSON answer into *out. HTTP errors become gs_rc with the server's message: 401/403
 * GS_E_AUTH, 404 GS_E_NOTFOUND, 400 GS_E_INVALID, 409 GS_E_STATE, others GS_E_SERVER. */
int admin_call(admin *a, const char *method, const char *path, json_t *body, json_t **out);
/* j indented, UTF-8 unescaped, on stdout. */
void admin_print_json(json_t *j);
/* o[key] as a string, "" when it is not one. */
const char *admin_str(json_t *o, const char *key);
/* "2026-11-27 09:30" (Beijing time) from a member holding ms since 1970; "-" for 0. */
const char *admin_time(json_t *o, const char *key, char *buf, size_t cap);
/* Prints t (cells at most 40 columns) and frees it; 0. */
int admin_print_table(table *t);
/* Appends key=s to the query string q ("?" first, "&" after), %-escaping s. */
void admin_query_add(char *q, size_t cap, const char *key, const char *s);

#endif
