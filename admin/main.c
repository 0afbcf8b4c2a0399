/*
 * gridsync-admin: the admins' command line for a town server, over its JSON admin API
 * (docs/ADMIN-API.md) on the same TLS port as the devices.
 *
 *   gridsync-admin [--config DIR/admin.conf | --server URL --ca PEM --token T] [--json] CMD
 *
 * Settings come from --config (the file `gridsyncd init` writes), then the options given
 * override it. The token is never printed except by `device add --print-token`, which shows
 * a new device's token once; `device add` shows an enrolment code (single use, short-lived)
 * instead. Exit codes and how errors are printed are common/cmdline.h, shared with gridsync
 * (README "Exit codes"): 0 ok, 1 failure, 2 bad usage, input or configuration,
 * 3 not found, 4 server unreachable, 5 authentication refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "admin.h"
#include "attachments.h"
#include "dashboard.h"
#include "export.h"
#include "qr.h"
#include "registry.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/cmdline.h"
#include "common/conf.h"
#include "common/isotime.h"
#include "common/limits.h"
#include "common/rc.h"
#include "common/table.h"
#include "common/transport.h"
#include "common/uuid.h"
#include "proto/enroll.h"
#include "proto/schema.h"
#include "proto/value_json.h"
#include "proto/value_text.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: gridsync-admin [--config FILE | --server URL --ca PEM --token T] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  device add --grid G [--grid G2]... [--name N] [--ttl T]\n"
    "                                                  an enrolment code for a new device, as\n"
    "                                                  a QR code and a gridsync:// URI for\n"
    "                                                  `gridsync enroll`; single use, valid T\n"
    "                                                  (seconds, or 30m, 24h, 7d; default 24h)\n"
    "  device add --grid G... [--name N] --print-token create the device at once; prints its\n"
    "                                                  id and token (for `gridsync init`)\n"
    "  device list                                     devices, their grids and last sync\n"
    "  device revoke ID [--wipe | --wipe-after-upload] refuse the device's token from now on;\n"
    "                                                  --wipe: it deletes its data when it next\n"
    "                                                  calls, --wipe-after-upload: it sends\n"
    "                                                  what it has not sent first\n"
    "  device rename ID NAME                           change a device's display name\n"
    "  enrolment list                                  enrolment codes and their state\n"
    "  enrolment revoke ID                             make an unused enrolment code unusable\n"
    "  conflicts list [--open | --all] [--grid G]      conflicts (open ones by default)\n"
    "  conflicts show ID                               one conflict in context\n"
    "  conflicts resolve ID (--keep winner | --keep other | --value V) [--note TEXT]\n"
    "                                                  overrule or confirm the automatic choice\n"
    "  status                                          per device and per grid sync health\n"
    "  dashboard [--grid G] [--days N]                 the town's figures (概览), the last N\n"
    "                                                  days (default 30), per grid\n"
    "  warnings [--grid G] [--all]                     warnings not cleared (--all: cleared too)\n"
    "  warning ack ID [--note TEXT]                    acknowledge a warning as the admin\n"
    "  attachments                                     attachment bytes on the server per grid\n"
    "                                                  and device, against their quotas\n"
    "  attachments gc                                  remove the files no live attachment names\n"
    "  export --from DATE --to DATE --out FILE.xlsx    the records created in the range, one\n"
    "                                                  sheet per type, and a summary sheet\n"
    "  export --from DATE --to DATE --out FILE.csv [--type T] (either: [--grid G])\n"
    "                                                  one type's records (default visit) as\n"
    "                                                  CSV (UTF-8 with BOM)\n"
    "  town add NAME | town list                       the county's towns\n"
    "  grid add CODE --name N --village V --town T     register a grid\n"
    "  grid list [--town T]                            the registry, by town then grid\n"
    "  grid move CODE [--town T] [--village V]         the grid now belongs elsewhere\n"
    "  grid import FILE.csv                            the county office's registry: columns\n"
    "                                                  code,name,village,town (all or none)\n"
    "  admin add NAME --role county|town|viewer [--town T]...\n"
    "                                                  a named admin; prints its token once\n"
    "  admin list | admin revoke ID|NAME               the admins; refuse one from now on\n"
    "\n"
    "options:\n"
    "  --config FILE   settings written by `gridsyncd init` (DIR/admin.conf)\n"
    "  --server URL    https://HOST:PORT of the town server\n"
    "  --ca PEM        CA certificate that signed the server's certificate\n"
    "  --token T       admin token (prefer --config: a token on a command line can leak)\n"
    "  --json          print JSON instead of tables\n"
    "  --help, --version\n"
    "\n"
    "exit status (the same as gridsync's): 0 ok, 1 failure, 2 bad usage, input or\n"
    "configuration, 3 not found, 4 server unreachable, 5 authentication refused\n";

/* The keys of admin.conf (written by `gridsyncd init`), indexed by admin_key. */
enum admin_key { KEY_SERVER, KEY_CA, KEY_TOKEN, N_ADMIN_KEYS };
static const char *const admin_keys[N_ADMIN_KEYS] = {"server", "ca", "token"};

/* What set_admin_key fills, and the file it reads (for relative ca paths). */
typedef struct admin_conf {
    admin *a;         /* settings being filled */
    const char *path; /* the admin.conf being read */
} admin_conf;

/* conf_set_fn for admin.conf; a relative ca path is relative to the file's folder. */
static int set_admin_key(void *ud, size_t key, const char *value, char *why, size_t why_cap)
{
    admin_conf *ac = ud;
    const char *slash = strrchr(ac->path, '/');
    char *dst = key == KEY_SERVER ? ac->a->server : key == KEY_CA ? ac->a->ca_path : ac->a->token;
    size_t cap = key == KEY_SERVER ? sizeof(ac->a->server)
                 : key == KEY_CA   ? sizeof(ac->a->ca_path)
                                   : sizeof(ac->a->token);
    int n;

    if (key == KEY_CA && value[0] != '/' && slash)
        n = snprintf(dst, cap, "%.*s/%s", (int)(slash - ac->path), ac->path, value);
    else
        n = snprintf(dst, cap, "%s", value);
    if (n < 0 || (size_t)n >= cap) {
        dst[0] = '\0';
        snprintf(why, why_cap, "value too long (at most %zu bytes)", cap - 1);
        return GS_E_CONFIG;
    }
    return GS_OK;
}

/* Reads admin.conf with the reader gridsyncd.conf is read with (common/conf.h). */
static int load_config(admin *a, const char *path)
{
    admin_conf ac = {a, path};

    return conf_load(path, admin_keys, N_ADMIN_KEYS, set_admin_key, &ac, &a->err);
}

static void join_strings(json_t *arr, char *buf, size_t cap)
{
    size_t i, n = 0;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", i ? "," : "",
                              json_string_value(v) ? json_string_value(v) : "");
        if (n >= cap)
            break;
    }
}

/* Prints a value of the JSON API for people. */
static void value_text(json_t *v, char *buf, size_t cap)
{
    char *dump;

    if (!v || json_is_null(v))
        snprintf(buf, cap, "(none)");
    else if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_array(v))
        join_strings(v, buf, cap);
    else if ((dump = json_dumps(v, JSON_ENCODE_ANY)) != NULL) {
        snprintf(buf, cap, "%s", dump);
        free(dump);
    } else
        snprintf(buf, cap, "?");
}

/* --ttl: "90" seconds, or a number with s, m, h or d; 1 s to 30 days. -1 when bad. */
static long long parse_ttl(const char *text)
{
    char *end = NULL;
    long long v, unit = 1;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || !end)
        return -1;
    if (*end && end[1] == '\0')
        unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
    else if (*end)
        unit = 0;
    if (unit == 0 || v < 1 || v > 30LL * 86400 / unit)
        return -1;
    return v * unit;
}

/* The old way, kept for scripts: the device now, its token printed once. */
static int device_add_token(admin *a, json_t *body)
{
    json_t *res = NULL;
    int rc = admin_call(a, "POST", "/devices", body, &res);

    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
    } else {
        printf("device  %s\n", admin_str(res, "id"));
        printf("token   %s\n", admin_str(res, "token"));
        printf("The token is shown only this once. Enrol the handheld with:\n"
               "  gridsync init --device %s --token %s --server %s --ca ca.pem --grid %s\n",
               admin_str(res, "id"), admin_str(res, "token"), a->server,
               json_string_value(json_array_get(json_object_get(res, "grids"), 0))
                   ? json_string_value(json_array_get(json_object_get(res, "grids"), 0))
                   : "GRID");
    }
    json_decref(res);
    return 0;
}

/* An enrolment code, shown as a QR code of its URI (PROTOCOL.md 11), the URI and the code. */
static int device_add_enrolment(admin *a, json_t *body)
{
    char uri[ENROLL_URI_MAX + 1] = "", when[ISOTIME_MAX];
    json_t *res = NULL;
    const char *fp;
    int rc = admin_call(a, "POST", "/enrolments", body, &res), code = 0;

    if (rc)
        return admin_fail(a, rc);
    fp = json_string_value(json_object_get(res, "ca_sha256"));
    if (fp) {
        rc = enroll_uri_format(a->server, admin_str(res, "code"), fp, uri, sizeof(uri), &a->err);
        if (rc) {
            code = admin_fail(a, rc);
            goto out;
        }
    }
    if (a->json) {
        json_object_set_new(res, "uri", uri[0] ? json_string(uri) : json_null());
        admin_print_json(res);
        goto out;
    }
    if (uri[0]) {
        rc = qr_print_utf8(stdout, uri, &a->err);
        if (rc)
            fprintf(stderr, PROG ": no QR code: %s; give the handheld the URI below\n",
                    a->err.msg);
        printf("\n%s\n\n", uri);
    } else {
        fprintf(stderr, PROG ": the server has no CA file configured, so there is no URI "
                        "to scan; enrol with the code and --server and --ca\n");
    }
    printf("enrolment %s   code %s\n", admin_str(res, "id"), admin_str(res, "code"));
    printf("valid until %s, for one device; on the handheld:\n",
           admin_time(res, "expires_ms", when, sizeof(when)));
    printf("  gridsync enroll '%s'\n", uri[0] ? uri : admin_str(res, "code"));
    printf("Revoke it with: " PROG " enrolment revoke %s\n", admin_str(res, "id"));
out:
    json_decref(res);
    return code;
}

static int cmd_device_add(admin *a, int argc, char **argv)
{
    json_t *grids = json_array(), *body = json_object();
    const char *name = NULL;
    long long ttl = 0;
    int print_token = 0, code;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--grid") == 0 && i + 1 < argc)
            json_array_append_new(grids, json_string(argv[++i]));
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
            ttl = parse_ttl(argv[++i]);
            if (ttl < 0) {
                json_decref(grids);
                json_decref(body);
                return admin_usage_error(a, "device add: --ttl takes seconds or 30m, 24h, 7d "
                                            "(1 second to 30 days), not '%s'",
                                         argv[i]);
            }
        } else if (strcmp(argv[i], "--print-token") == 0)
            print_token = 1;
        else {
            json_decref(grids);
            json_decref(body);
            return admin_usage_error(a, "device add: unexpected '%s'", argv[i]);
        }
    }
    if (json_array_size(grids) == 0 || (print_token && ttl)) {
        json_decref(grids);
        json_decref(body);
        return admin_usage_error(a, json_array_size(grids) == 0
                                        ? "device add: at least one --grid is needed"
                                        : "device add: --ttl is for enrolment codes, not "
                                          "with --print-token");
    }
    json_object_set_new(body, "grids", grids);
    if (name)
        json_object_set_new(body, "name", json_string(name));
    if (ttl)
        json_object_set_new(body, "ttl_s", json_integer((json_int_t)ttl));
    code = print_token ? device_add_token(a, body) : device_add_enrolment(a, body);
    json_decref(body);
    return code;
}

static int cmd_device_rename(admin *a, int argc, char **argv)
{
    char path[256];
    json_t *body, *res = NULL;
    int rc;

    if (argc != 2)
        return admin_usage_error(a, "device rename: give the device ID and its new NAME");
    body = json_pack("{s:s}", "name", argv[1]); /* NULL: not UTF-8 (or no memory) */
    if (!body)
        return admin_usage_error(a, "device rename: NAME must be UTF-8 text");
    snprintf(path, sizeof(path), "/devices/%s/rename", argv[0]);
    rc = admin_call(a, "POST", path, body, &res);
    json_decref(body);
    if (rc)
        return admin_fail(a, rc);
    if (a->json)
        admin_print_json(res);
    else
        printf("device %s is now called %s\n", argv[0], admin_str(res, "name"));
    json_decref(res);
    return 0;
}

static int cmd_enrolment_list(admin *a, int argc)
{
    json_t *res = NULL, *e;
    table *t = NULL;
    size_t i;
    int rc;

    if (argc)
        return admin_usage_error(a, "enrolment list takes no arguments");
    rc = admin_call(a, "GET", "/enrolments", NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        json_decref(res);
        return 0;
    }
    if (table_new(&t, 7)) {
        json_decref(res);
        return admin_fail(a, GS_E_NOMEM);
    }
    table_add(t, (const char *const[]){"ENROLMENT", "NAME", "GRIDS", "STATE", "MADE", "EXPIRES",
                                       "DEVICE"});
    json_array_foreach(json_object_get(res, "enrolments"), i, e)
    {
        char grids[GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1)], made[ISOTIME_MAX], exp[ISOTIME_MAX];
        join_strings(json_object_get(e, "grids"), grids, sizeof(grids));
        table_add(t, (const char *const[]){admin_str(e, "id"), admin_str(e, "name"), grids,
                                           admin_str(e, "state"),
                                           admin_time(e, "created_ms", made, sizeof(made)),
                                           admin_time(e, "expires_ms", exp, sizeof(exp)),
                                           *admin_str(e, "device") ? admin_str(e, "device")
                                                                   : "-"});
    }
    json_decref(res);
    return admin_print_table(t);
}

static int cmd_enrolment_revoke(admin *a, int argc, char **argv)
{
    char path[256];
    json_t *res = NULL;
    int rc;

    if (argc != 1)
        return admin_usage_error(a, "enrolment revoke: give exactly one enrolment ID (e-...)");
    snprintf(path, sizeof(path), "/enrolments/%s/revoke", argv[0]);
    rc = admin_call(a, "POST", path, NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json)
        admin_print_json(res);
    else
        printf("enrolment %s revoked: its code is refused from now on\n", argv[0]);
    json_decref(res);
    return 0;
}

/* "revoked" (with "+wipe" or "+wipe-after-upload" when a wipe was asked for), "SILENT" (no
 * sync for more than the server's silent_days) or "active". */
static const char *device_state(json_t *d)
{
    if (json_is_true(json_object_get(d, "revoked"))) {
        const char *w = json_string_value(json_object_get(d, "wipe"));
        if (w && strcmp(w, "now") == 0)
            return "revoked+wipe";
        if (w && strcmp(w, "after_upload") == 0)
            return "revoked+wipe-after-upload";
        return "revoked";
    }
    return json_is_true(json_object_get(d, "silent")) ? "SILENT" : "active";
}

/* Prints the devices of a /devices or /status answer as a table. */
static int print_devices(admin *a, json_t *devices)
{
    table *t = NULL;
    json_t *d;
    size_t i;

    if (table_new(&t, 7))
        return admin_fail(a, GS_E_NOMEM);
    table_add(t, (const char *const[]){"DEVICE", "NAME", "GRIDS", "LAST SYNC", "RESULT", "REJECTS",
                                       "STATE"});
    json_array_foreach(devices, i, d)
    {
        /* room for every grid a device may have: a list cut short in a table is a list that
         * lies (and could end in half a character) */
        char grids[GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1)], when[ISOTIME_MAX], rej[24];
        join_strings(json_object_get(d, "grids"), grids, sizeof(grids));
        snprintf(rej, sizeof(rej), "%lld",
                 (long long)json_integer_value(json_object_get(d, "pending_rejects")));
        table_add(t, (const char *const[]){admin_str(d, "id"), admin_str(d, "name"), grids,
                                           admin_time(d, "last_sync_ms", when, sizeof(when)),
                                           admin_str(d, "last_result"), rej, device_state(d)});
    }
    return admin_print_table(t);
}

static int cmd_device_list(admin *a)
{
    json_t *res = NULL;
    int rc = admin_call(a, "GET", "/devices", NULL, &res);

    if (rc)
        return admin_fail(a, rc);
    if (a->json)
        admin_print_json(res);
    else
        rc = print_devices(a, json_object_get(res, "devices"));
    json_decref(res);
    return rc;
}

static int cmd_device_revoke(admin *a, int argc, char **argv)
{
    char path[256];
    const char *id = NULL, *wipe = NULL;
    json_t *res = NULL, *body = NULL;
    int rc;

    for (int i = 0; i < argc; i++) {
        const char *w = strcmp(argv[i], "--wipe") == 0                ? "now"
                        : strcmp(argv[i], "--wipe-after-upload") == 0 ? "after_upload"
                                                                      : NULL;
        if (w && wipe && strcmp(w, wipe) != 0)
            return admin_usage_error(a, "device revoke: give --wipe or --wipe-after-upload, "
                                        "not both");
        if (w)
            wipe = w;
        else if (argv[i][0] == '-')
            return admin_usage_error(a, "device revoke: unknown option %.60s", argv[i]);
        else if (id)
            return admin_usage_error(a, "device revoke: give exactly one device ID");
        else
            id = argv[i];
    }
    if (!id)
        return admin_usage_error(a, "device revoke: give exactly one device ID");
    snprintf(path, sizeof(path), "/devices/%s/revoke", id);
    if (wipe) {
        body = json_pack("{s:s}", "wipe", wipe);
        if (!body)
            return admin_fail(a, GS_E_NOMEM);
    }
    rc = admin_call(a, "POST", path, body, &res);
    json_decref(body);
    if (rc)
        return admin_fail(a, rc);
    if (a->json)
        admin_print_json(res);
    else if (!wipe)
        printf("device %s revoked: its token is refused from now on\n", id);
    else if (strcmp(wipe, "now") == 0)
        printf("device %s revoked: when it next calls it is told to delete its data and token "
               "(what it has not sent is lost)\n", id);
    else
        printf("device %s revoked: when it next calls it sends what it has not sent, then "
               "deletes its data and token\n", id);
    json_decref(res);
    return 0;
}

static int cmd_conflicts_list(admin *a, int argc, char **argv)
{
    char path[512], q[400] = "";
    const char *state = "open";
    json_t *res = NULL, *c;
    table *t = NULL;
    size_t i;
    int rc;

    for (int k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--open") == 0)
            state = "open";
        else if (strcmp(argv[k], "--all") == 0)
            state = "all";
        else if (strcmp(argv[k], "--grid") == 0 && k + 1 < argc)
            admin_query_add(q, sizeof(q), "grid", argv[++k]);
        else
            return admin_usage_error(a, "conflicts list: unexpected '%s'", argv[k]);
    }
    admin_query_add(q, sizeof(q), "state", state);
    snprintf(path, sizeof(path), "/conflicts%s", q);
    rc = admin_call(a, "GET", path, NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        json_decref(res);
        return 0;
    }
    if (table_new(&t, 8)) {
        json_decref(res);
        return admin_fail(a, GS_E_NOMEM);
    }
    table_add(t, (const char *const[]){"ID", "STATUS", "GRID", "RECORD", "FIELD", "WINNER", "OTHER",
                                       "POLICY"});
    json_array_foreach(json_object_get(res, "conflicts"), i, c)
    {
        char id[32], rec[64], field[80], win[160], other[160];
        json_t *w = json_object_get(c, "winner"), *o = json_object_get(c, "other");
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(c, "id")));
        snprintf(rec, sizeof(rec), "%s %.8s", admin_str(c, "table"), admin_str(c, "record"));
        snprintf(field, sizeof(field), "%s", admin_str(c, "field"));
        value_text(json_object_get(w, "value"), win, sizeof(win));
        value_text(json_object_get(o, "value"), other, sizeof(other));
        table_add(t, (const char *const[]){id, admin_str(c, "status"), admin_str(c, "grid"), rec,
                                           field, win, other, admin_str(c, "policy")});
    }
    json_decref(res);
    return admin_print_table(t);
}

static void print_side(const char *label, json_t *s)
{
    char val[1024], when[ISOTIME_MAX];
    value_text(json_object_get(s, "value"), val, sizeof(val));
    printf("  %-7s %s\n", label, val);
    printf("          by %s (device %s) at %s\n", admin_str(s, "worker"), admin_str(s, "device"),
           admin_time(s, "time_ms", when, sizeof(when)));
}

static int cmd_conflicts_show(admin *a, int argc, char **argv)
{
    char path[256];
    json_t *res = NULL, *resident, *resolution;
    int rc;

    if (argc != 1)
        return admin_usage_error(a, "conflicts show: give exactly one conflict ID");
    snprintf(path, sizeof(path), "/conflicts/%s", argv[0]);
    rc = admin_call(a, "GET", path, NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        json_decref(res);
        return 0;
    }
    resident = json_object_get(res, "resident");
    printf("conflict %lld (%s)\n", (long long)json_integer_value(json_object_get(res, "id")),
           admin_str(res, "status"));
    printf("  record  %s %s in grid %s\n", admin_str(res, "table"), admin_str(res, "record"),
           admin_str(res, "grid"));
    if (json_is_object(resident))
        printf("  resident %s (%s)\n", admin_str(resident, "name"), admin_str(resident, "id"));
    printf("  field   %s, policy %s\n", admin_str(res, "field"), admin_str(res, "policy"));
    print_side("winner", json_object_get(res, "winner"));
    print_side("other", json_object_get(res, "other"));
    resolution = json_object_get(res, "resolution");
    if (json_is_object(resolution)) {
        char oldv[512], newv[512], when[ISOTIME_MAX];
        value_text(json_object_get(json_object_get(resolution, "old"), "value"), oldv,
                   sizeof(oldv));
        value_text(json_object_get(json_object_get(resolution, "new"), "value"), newv,
                   sizeof(newv));
        printf("  resolved by %s at %s: %s -> %s\n", admin_str(resolution, "admin"),
               admin_time(resolution, "at_ms", when, sizeof(when)), oldv, newv);
        if (*admin_str(resolution, "note"))
            printf("  note    %s\n", admin_str(resolution, "note"));
    }
    json_decref(res);
    return 0;
}

/* Converts the text an admin typed for --value into the JSON the field's type needs: the
 * one parser of typed values (proto/value_text.h, as the device's CLI), then the one JSON
 * form (proto/value_json.h). */
static int value_from_text(admin *a, const char *table_name, const char *field_name,
                           const char *text, json_t **out)
{
    const schema_table *t = schema_table_find(table_name, strlen(table_name));
    const schema_field *f = t ? schema_field_find(t, field_name, strlen(field_name)) : NULL;
    gs_arena arena;
    proto_value v;
    int rc;

    if (!f)
        return gs_err_set(&a->err, GS_E_INVALID, "unknown field %s.%s", table_name, field_name);
    arena_init(&arena, ARENA_NO_CAP); /* bounded by the text */
    rc = proto_value_parse(t, f, text, &arena, &v, &a->err);
    if (rc == GS_OK) {
        *out = proto_value_to_json(f, &v);
        if (!*out)
            rc = gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
    }
    arena_free(&arena);
    return rc;
}

static int cmd_conflicts_resolve(admin *a, int argc, char **argv)
{
    const char *id = NULL, *keep = NULL, *value = NULL, *note = NULL;
    char path[256];
    json_t *body = NULL, *res = NULL, *conflict = NULL, *v = NULL;
    int rc, code = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
            keep = argv[++i];
        else if (strcmp(argv[i], "--value") == 0 && i + 1 < argc)
            value = argv[++i];
        else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
            note = argv[++i];
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            return admin_usage_error(a, "conflicts resolve: unexpected '%s'", argv[i]);
    }
    if (!id)
        return admin_usage_error(a, "conflicts resolve: give the conflict ID");
    if (!keep == !value)
        return admin_usage_error(a, "conflicts resolve: give exactly one of --keep or --value");
    if (keep && strcmp(keep, "winner") != 0 && strcmp(keep, "other") != 0)
        return admin_usage_error(a, "conflicts resolve: --keep takes winner or other, not '%s'",
                                 keep);
    body = json_object();
    if (keep) {
        json_object_set_new(body, "keep", json_string(keep));
    } else {
        /* the field's type decides how the typed text becomes a value */
        snprintf(path, sizeof(path), "/conflicts/%s", id);
        rc = admin_call(a, "GET", path, NULL, &conflict);
        if (!rc)
            rc = value_from_text(a, admin_str(conflict, "table"), admin_str(conflict, "field"),
                                 value, &v);
        if (rc) {
            code = admin_fail(a, rc);
            goto out;
        }
        json_object_set_new(body, "value", v);
    }
    if (note)
        json_object_set_new(body, "note", json_string(note));
    snprintf(path, sizeof(path), "/conflicts/%s/resolve", id);
    rc = admin_call(a, "POST", path, body, &res);
    if (rc) {
        code = admin_fail(a, rc);
        goto out;
    }
    if (a->json)
        admin_print_json(res);
    else
        printf("conflict %s resolved; the devices of its grid receive the value at their next "
               "sync\n",
               id);
out:
    json_decref(body);
    json_decref(res);
    json_decref(conflict);
    return code;
}

static int cmd_status(admin *a)
{
    json_t *res = NULL, *g;
    table *t = NULL;
    size_t i;
    int rc = admin_call(a, "GET", "/status", NULL, &res);

    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        json_decref(res);
        return 0;
    }
    printf("devices (SILENT: no sync for more than %lld days)\n",
           (long long)json_integer_value(json_object_get(res, "silent_days")));
    rc = print_devices(a, json_object_get(res, "devices"));
    if (rc || table_new(&t, 4)) {
        json_decref(res);
        return rc ? rc : admin_fail(a, GS_E_NOMEM);
    }
    printf("\ngrids\n");
    table_add(t, (const char *const[]){"TOWN", "GRID", "RECORDS", "OPEN CONFLICTS"});
    json_array_foreach(json_object_get(res, "grids"), i, g)
    {
        char recs[256] = "", open[24];
        size_t n = 0;
        const char *tname;
        json_t *cnt;
        json_object_foreach(json_object_get(g, "records"), tname, cnt)
        {
            n += (size_t)snprintf(recs + n, n < sizeof(recs) ? sizeof(recs) - n : 0, "%s%s %lld",
                                  n ? ", " : "", tname, (long long)json_integer_value(cnt));
        }
        snprintf(open, sizeof(open), "%lld",
                 (long long)json_integer_value(json_object_get(g, "open_conflicts")));
        table_add(t, (const char *const[]){*admin_str(g, "town") ? admin_str(g, "town") : "-",
                                           admin_str(g, "grid"), recs, open});
    }
    json_decref(res);
    return admin_print_table(t);
}

static int dispatch(admin *a, int argc, char **argv)
{
    const char *noun = argv[0], *verb = argc > 1 ? argv[1] : "";

    if (strcmp(noun, "status") == 0)
        return argc == 1 ? cmd_status(a) : admin_usage_error(a, "status takes no arguments");
    if (strcmp(noun, "device") == 0) {
        if (strcmp(verb, "add") == 0)
            return cmd_device_add(a, argc - 2, argv + 2);
        if (strcmp(verb, "list") == 0)
            return cmd_device_list(a);
        if (strcmp(verb, "rename") == 0)
            return cmd_device_rename(a, argc - 2, argv + 2);
        if (strcmp(verb, "revoke") == 0)
            return cmd_device_revoke(a, argc - 2, argv + 2);
        return admin_usage_error(a, "device: expected add, list, rename or revoke, not '%s'", verb);
    }
    if (strcmp(noun, "enrolment") == 0) {
        if (strcmp(verb, "list") == 0)
            return cmd_enrolment_list(a, argc - 2);
        if (strcmp(verb, "revoke") == 0)
            return cmd_enrolment_revoke(a, argc - 2, argv + 2);
        return admin_usage_error(a, "enrolment: expected list or revoke, not '%s'", verb);
    }
    if (strcmp(noun, "conflicts") == 0) {
        if (strcmp(verb, "list") == 0)
            return cmd_conflicts_list(a, argc - 2, argv + 2);
        if (strcmp(verb, "show") == 0)
            return cmd_conflicts_show(a, argc - 2, argv + 2);
        if (strcmp(verb, "resolve") == 0)
            return cmd_conflicts_resolve(a, argc - 2, argv + 2);
        return admin_usage_error(a, "conflicts: expected list, show or resolve, not '%s'", verb);
    }
    if (strcmp(noun, "dashboard") == 0)
        return dashboard_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "warnings") == 0)
        return dashboard_warnings_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "warning") == 0) {
        if (strcmp(verb, "ack") == 0)
            return dashboard_ack_cmd(a, argc - 2, argv + 2);
        return admin_usage_error(a, "warning: expected ack, not '%s'", verb);
    }
    if (strcmp(noun, "export") == 0)
        return export_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "town") == 0)
        return registry_town_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "grid") == 0)
        return registry_grid_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "admin") == 0)
        return registry_admin_cmd(a, argc - 1, argv + 1);
    if (strcmp(noun, "attachments") == 0)
        return attachments_cmd(a, argc - 1, argv + 1);
    return admin_usage_error(a, "unknown command '%s'", noun);
}

int main(int argc, char **argv)
{
    admin a;
    const char *config = NULL, *server = NULL, *ca = NULL, *token = NULL;
    int i, code;

    memset(&a, 0, sizeof(a));
    buf_init(&a.ca_pem, ADMIN_CA_PEM_MAX);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(opt, "--version") == 0) {
            printf("gridsync-admin %s\n", GS_VERSION);
            return 0;
        }
        if (strcmp(opt, "--json") == 0) {
            a.json = 1;
            continue;
        }
        if (i + 1 >= argc)
            return admin_usage_error(&a, "%s needs a value", opt);
        if (strcmp(opt, "--config") == 0)
            config = argv[++i];
        else if (strcmp(opt, "--server") == 0)
            server = argv[++i];
        else if (strcmp(opt, "--ca") == 0)
            ca = argv[++i];
        else if (strcmp(opt, "--token") == 0)
            token = argv[++i];
        else
            return admin_usage_error(&a, "unknown option '%s'", opt);
    }
    if (i >= argc)
        return admin_usage_error(&a, "no command given");
    /* the command's own --help */
    for (int k = i; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    if (config && load_config(&a, config) != GS_OK)
        return admin_fail(&a, a.err.rc);
    if (server)
        snprintf(a.server, sizeof(a.server), "%s", server);
    if (ca)
        snprintf(a.ca_path, sizeof(a.ca_path), "%s", ca);
    if (token)
        snprintf(a.token, sizeof(a.token), "%s", token);
    code = dispatch(&a, argc - i, argv + i);
    transport_free(a.link);
    buf_free(&a.ca_pem);
    return code;
}
