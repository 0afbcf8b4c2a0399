/*
 * admin.c: see admin.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "admin.h"

#include "common/cmdline.h"
#include "common/isotime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int admin_usage_error(const admin *a, const char *fmt, ...)
{
    va_list ap;
    int code;

    va_start(ap, fmt);
    code = cmdline_usage_verror(PROG, a->json, fmt, ap);
    va_end(ap);
    return code;
}

int admin_fail(admin *a, int rc)
{
    return cmdline_fail(PROG, a->json, rc, gs_err_msg(&a->err, rc));
}

int admin_connect(admin *a)
{
    transport_opts opts;
    int rc;

    if (a->link)
        return GS_OK;
    if (!a->server[0] || !a->ca_path[0] || !a->token[0])
        return gs_err_set(&a->err, GS_E_CONFIG,
                          "no server settings: give --config DIR/admin.conf, or --server, "
                          "--ca and --token");
    buf_init(&a->ca_pem, ADMIN_CA_PEM_MAX);
    rc = buf_read_file(&a->ca_pem, a->ca_path, &a->err);
    if (rc)
        a->err.rc = rc = GS_E_CONFIG;
    if (rc)
        return rc;
    memset(&opts, 0, sizeof(opts));
    opts.base_url = a->server;
    opts.ca_pem = a->ca_pem.ptr;
    opts.ca_pem_len = a->ca_pem.len;
    opts.token = a->token;
    opts.connect_timeout_ms = 10000;
    opts.total_timeout_ms = 60000;
    return transport_new(&a->link, &opts, &a->err);
}

/* Sends one request and parses the JSON answer. Maps HTTP errors to gs_rc with the
 * server's message. *out is the parsed body on success. */
int admin_call(admin *a, const char *method, const char *path, json_t *body, json_t **out)
{
    char full[1024];
    gs_buf resp;
    char *text = NULL;
    long status = 0;
    json_t *j = NULL;
    json_error_t jerr;
    int rc;

    rc = admin_connect(a);
    if (rc)
        return rc;
    buf_init(&resp, ADMIN_RESP_MAX);
    snprintf(full, sizeof(full), "%s%s", ADMIN_PREFIX, path);
    if (strcmp(method, "POST") == 0) {
        json_t *empty = body ? NULL : json_object(); /* a POST without arguments sends {} */
        text = json_dumps(body ? body : empty, JSON_COMPACT);
        json_decref(empty);
        if (!text) {
            rc = gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
            goto out;
        }
        rc = transport_post(a->link, full, "application/json", text, strlen(text), &status, &resp,
                            &a->err);
    } else {
        rc = transport_get(a->link, full, &status, &resp, &a->err);
    }
    if (rc)
        goto out;
    j = resp.len ? json_loadb(resp.ptr, resp.len, 0, &jerr) : NULL;
    if (status < 200 || status > 299) {
        const char *msg = json_string_value(json_object_get(j, "message"));
        int code = status == 401 || status == 403 ? GS_E_AUTH
                   : status == 404                ? GS_E_NOTFOUND
                   : status == 400                ? GS_E_INVALID
                   : status == 409                ? GS_E_STATE
                                                  : GS_E_SERVER;
        rc = gs_err_set(&a->err, code, "server answered %ld: %s", status,
                        msg ? msg : "(no message)");
        if (code == GS_E_AUTH)
            gs_err_set(&a->err, code, "the server refused the admin token (%ld): %s", status,
                       msg ? msg : "check the token in your admin.conf");
        goto out;
    }
    if (!j) {
        rc = gs_err_set(&a->err, GS_E_PROTO, "the server's answer is not JSON");
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    free(text);
    buf_free(&resp);
    return rc;
}

void admin_print_json(json_t *j)
{
    /* indented for people, UTF-8 unescaped like gridsync's */
    cmdline_print_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

const char *admin_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* "2026-11-27 09:30" (Beijing time) from a member holding ms since 1970; "-" for 0. */
const char *admin_time(json_t *o, const char *key, char *buf, size_t cap)
{
    char tmp[ISOTIME_MAX];
    json_int_t ms = json_integer_value(json_object_get(o, key));
    if (ms <= 0 || isotime_format_local(ms, ISOTIME_LOCAL_OFFSET_MIN, tmp) != GS_OK)
        return "-";
    snprintf(buf, cap, "%s", tmp);
    return buf;
}

int admin_print_table(table *t)
{
    table_print(t, stdout, 40);
    table_free(t);
    return 0;
}

/* Appends s to the query string q with %-escaping. */
void admin_query_add(char *q, size_t cap, const char *key, const char *s)
{
    size_t n = strlen(q);
    n += (size_t)snprintf(q + n, n < cap ? cap - n : 0, "%s%s=", n ? "&" : "?", key);
    for (; *s && n + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.')
            q[n++] = (char)ch;
        else
            n += (size_t)snprintf(q + n, cap - n, "%%%02X", ch);
    }
    q[n < cap ? n : cap - 1] = '\0';
}
