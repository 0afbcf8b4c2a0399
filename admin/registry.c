/*
 * registry.c: see registry.h. Lists are printed as the server sorts them: grids by town,
 * then code, so a county's registry reads town by town.
 */
#define _POSIX_C_SOURCE 200809L
#include "registry.h"

#include "common/buf.h"
#include "common/csvread.h"
#include "common/isotime.h"
#include "common/limits.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX 120 /* bytes of a grid's name, village or a town (the server's) */

/* Prints res as JSON (--json) or runs print; frees res. */
static int done(admin *a, json_t *res, int (*print)(admin *a, json_t *res))
{
    int code = 0;

    if (a->json)
        admin_print_json(res);
    else
        code = print(a, res);
    json_decref(res);
    return code;
}

/* ---- towns ---------------------------------------------------------------------------- */

static int print_towns(admin *a, json_t *res)
{
    table *t = NULL;
    json_t *town;
    size_t i;

    if (table_new(&t, 3))
        return admin_fail(a, GS_E_NOMEM);
    table_add(t, (const char *const[]){"TOWN", "GRIDS", "REGISTERED"});
    json_array_foreach(json_object_get(res, "towns"), i, town)
    {
        char n[24], when[ISOTIME_MAX];
        snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(town, "grids")));
        table_add(t, (const char *const[]){admin_str(town, "name"), n,
                                           admin_time(town, "created_ms", when, sizeof(when))});
    }
    return admin_print_table(t);
}

static int print_town(admin *a, json_t *res)
{
    (void)a;
    printf("town %s registered\n", admin_str(res, "name"));
    return 0;
}

int registry_town_cmd(admin *a, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    json_t *body, *res = NULL;
    int rc;

    if (strcmp(verb, "list") == 0) {
        if (argc != 1)
            return admin_usage_error(a, "town list takes no arguments");
        rc = admin_call(a, "GET", "/towns", NULL, &res);
        return rc ? admin_fail(a, rc) : done(a, res, print_towns);
    }
    if (strcmp(verb, "add") != 0)
        return admin_usage_error(a, "town: expected add or list, not '%s'", verb);
    if (argc != 2)
        return admin_usage_error(a, "town add: give exactly one town name");
    body = json_pack("{s:s}", "name", argv[1]);
    rc = admin_call(a, "POST", "/towns", body, &res);
    json_decref(body);
    return rc ? admin_fail(a, rc) : done(a, res, print_town);
}

/* ---- grids ---------------------------------------------------------------------------- */

static int print_grids(admin *a, json_t *res)
{
    table *t = NULL;
    json_t *g;
    size_t i;

    if (table_new(&t, 4))
        return admin_fail(a, GS_E_NOMEM);
    table_add(t, (const char *const[]){"TOWN", "GRID", "NAME", "VILLAGE"});
    json_array_foreach(json_object_get(res, "grids"), i, g)
        table_add(t, (const char *const[]){admin_str(g, "town"), admin_str(g, "code"),
                                           admin_str(g, "name"), admin_str(g, "village")});
    return admin_print_table(t);
}

static int print_grid(admin *a, json_t *res)
{
    (void)a;
    printf("grid %s (%s) in %s, %s\n", admin_str(res, "code"), admin_str(res, "name"),
           admin_str(res, "village"), admin_str(res, "town"));
    return 0;
}

static int print_import(admin *a, json_t *res)
{
    (void)a;
    printf("%lld grids imported (%lld new, %lld updated), %lld towns added\n",
           (long long)json_integer_value(json_object_get(res, "grids")),
           (long long)json_integer_value(json_object_get(res, "added")),
           (long long)json_integer_value(json_object_get(res, "updated")),
           (long long)json_integer_value(json_object_get(res, "towns_added")));
    return 0;
}

/* Each --KEY VALUE of argv[from..) whose KEY is among keys (without dashes) into vals. */
static int options(admin *a, const char *cmd, int argc, char **argv, int from,
                   const char *const *keys, const char **vals, size_t n)
{
    for (int i = from; i < argc; i++) {
        size_t k = 0;
        while (k < n && !(argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, keys[k]) == 0))
            k++;
        if (k == n || i + 1 >= argc)
            return admin_usage_error(a, "%s: unexpected '%s'", cmd, argv[i]);
        vals[k] = argv[++i];
    }
    return 0;
}

static int grid_add(admin *a, int argc, char **argv)
{
    static const char *const keys[] = {"name", "village", "town"};
    const char *vals[3] = {NULL, NULL, NULL};
    json_t *body, *res = NULL;
    int rc;

    if (argc < 2 || argv[1][0] == '-')
        return admin_usage_error(a, "grid add: give the grid's CODE first");
    if ((rc = options(a, "grid add", argc, argv, 2, keys, vals, 3)))
        return rc;
    if (!vals[0] || !vals[1] || !vals[2])
        return admin_usage_error(a, "grid add: --name, --village and --town are all needed");
    body = json_pack("{s:s, s:s, s:s, s:s}", "code", argv[1], "name", vals[0], "village", vals[1],
                     "town", vals[2]);
    rc = admin_call(a, "POST", "/grids", body, &res);
    json_decref(body);
    return rc ? admin_fail(a, rc) : done(a, res, print_grid);
}

static int grid_move(admin *a, int argc, char **argv)
{
    static const char *const keys[] = {"town", "village"};
    const char *vals[2] = {NULL, NULL};
    json_t *body, *res = NULL;
    int rc;

    if (argc < 2 || argv[1][0] == '-')
        return admin_usage_error(a, "grid move: give the grid's CODE first");
    if ((rc = options(a, "grid move", argc, argv, 2, keys, vals, 2)))
        return rc;
    if (!vals[0] && !vals[1])
        return admin_usage_error(a, "grid move: give --town, --village or both");
    body = json_pack("{s:s}", "code", argv[1]);
    if (vals[0])
        json_object_set_new(body, "town", json_string(vals[0]));
    if (vals[1])
        json_object_set_new(body, "village", json_string(vals[1]));
    rc = admin_call(a, "POST", "/grids/move", body, &res);
    json_decref(body);
    return rc ? admin_fail(a, rc) : done(a, res, print_grid);
}

/* Spaces and tabs around a field are not part of it (a spreadsheet's padding). */
static const char *trim(const char *s, char *out, size_t cap)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* field is 1..max bytes of UTF-8 without control characters; else the reason. */
static const char *field_problem(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0)
        return "is empty";
    if (n > max)
        return "is too long";
    if (!utf8_valid(s, n))
        return "is not UTF-8 (save the file as CSV UTF-8)";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return "holds a control character";
    return NULL;
}

/* One grid's code and the line it was on, to find a code given twice. */
typedef struct seen_code {
    char code[GS_LIMIT_NAME + 1]; /* the grid */
    size_t line;                  /* where */
} seen_code;

/* Every line of the CSV text as a grid of list; GS_E_INVALID with "FILE:LINE: why". */
static int import_parse(admin *a, const char *path, const gs_buf *text, json_t *list)
{
    static const char *const cols[] = {"code", "name", "village", "town"};
    static const size_t max[] = {GS_LIMIT_NAME, TEXT_MAX, TEXT_MAX, TEXT_MAX};
    csv_reader *r = calloc(1, sizeof(*r));
    seen_code *seen = NULL;
    size_t n_seen = 0, cap_seen = 0;
    const char *f[CSV_FIELDS_MAX];
    size_t n;
    int got, rc = GS_OK, first = 1;

    if (!r)
        return gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
    csv_init(r, text->ptr, text->len);
    while (!rc && (got = csv_next(r, f, CSV_FIELDS_MAX, &n, &a->err)) == 1) {
        /* one byte more than a field may hold, so that a long one is seen as long */
        char v[4][TEXT_MAX + 2];
        json_t *g;
        if (n == 1 && !trim(f[0], v[0], sizeof(v[0]))[0])
            continue; /* an empty line */
        if (n != 4) {
            rc = gs_err_set(&a->err, GS_E_INVALID,
                            "%s:%zu: %zu columns, want 4 (code,name,village,town)", path, r->line,
                            n);
            break;
        }
        for (size_t k = 0; k < 4; k++)
            trim(f[k], v[k], sizeof(v[k]));
        if (first && strcasecmp(v[0], "code") == 0) { /* the header */
            first = 0;
            continue;
        }
        first = 0;
        for (size_t k = 0; !rc && k < 4; k++) {
            const char *why = field_problem(v[k], max[k]);
            if (why)
                rc = gs_err_set(&a->err, GS_E_INVALID, "%s:%zu: the %s %s", path, r->line,
                                cols[k], why);
        }
        for (size_t k = 0; !rc && k < n_seen; k++)
            if (strcmp(seen[k].code, v[0]) == 0)
                rc = gs_err_set(&a->err, GS_E_INVALID, "%s:%zu: grid %s is on line %zu already",
                                path, r->line, v[0], seen[k].line);
        if (rc)
            break;
        if (n_seen == cap_seen) {
            size_t cap = cap_seen ? cap_seen * 2 : 256;
            seen_code *s2 = realloc(seen, cap * sizeof(*s2));
            if (!s2) {
                rc = gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
                break;
            }
            seen = s2;
            cap_seen = cap;
        }
        memcpy(seen[n_seen].code, v[0], strlen(v[0]) + 1); /* checked: at most GS_LIMIT_NAME */
        seen[n_seen++].line = r->line;
        g = json_pack("{s:s, s:s, s:s, s:s}", "code", v[0], "name", v[1], "village", v[2],
                      "town", v[3]);
        if (!g || json_array_append_new(list, g))
            rc = gs_err_set(&a->err, GS_E_NOMEM, "out of memory");
    }
    if (!rc && got < 0) {
        gs_err_prefix(&a->err, "%s: ", path);
        rc = GS_E_INVALID;
    }
    if (!rc && json_array_size(list) == 0)
        rc = gs_err_set(&a->err, GS_E_INVALID, "%s: no grids in the file", path);
    free(seen);
    free(r);
    return rc;
}

static int grid_import(admin *a, int argc, char **argv)
{
    json_t *list = json_array(), *body = NULL, *res = NULL;
    gs_buf text;
    int rc;

    if (argc != 2) {
        json_decref(list);
        return admin_usage_error(a, "grid import: give one FILE.csv");
    }
    buf_init(&text, REGISTRY_CSV_MAX);
    rc = buf_read_file(&text, argv[1], &a->err);
    if (rc) {
        a->err.rc = rc = rc == GS_E_NOTFOUND ? GS_E_NOTFOUND : GS_E_INVALID;
        goto out;
    }
    rc = import_parse(a, argv[1], &text, list);
    if (rc)
        goto out;
    body = json_object();
    json_object_set(body, "grids", list);
    rc = admin_call(a, "POST", "/grids/import", body, &res);
out:
    buf_free(&text);
    json_decref(list);
    json_decref(body);
    if (rc)
        return admin_fail(a, rc);
    return done(a, res, print_import);
}

int registry_grid_cmd(admin *a, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    json_t *res = NULL;
    char path[512], q[300] = "";
    int rc;

    if (strcmp(verb, "add") == 0)
        return grid_add(a, argc, argv);
    if (strcmp(verb, "move") == 0)
        return grid_move(a, argc, argv);
    if (strcmp(verb, "import") == 0)
        return grid_import(a, argc, argv);
    if (strcmp(verb, "list") != 0)
        return admin_usage_error(a, "grid: expected add, list, move or import, not '%s'", verb);
    if (argc == 3 && strcmp(argv[1], "--town") == 0)
        admin_query_add(q, sizeof(q), "town", argv[2]);
    else if (argc != 1)
        return admin_usage_error(a, "grid list: only --town T may follow");
    snprintf(path, sizeof(path), "/grids%s", q);
    rc = admin_call(a, "GET", path, NULL, &res);
    return rc ? admin_fail(a, rc) : done(a, res, print_grids);
}

/* ---- admins --------------------------------------------------------------------------- */

static void join_towns(json_t *o, char *buf, size_t cap)
{
    size_t i, n = 0;
    json_t *t;

    buf[0] = '\0';
    json_array_foreach(json_object_get(o, "towns"), i, t)
    {
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", i ? "," : "",
                              json_string_value(t) ? json_string_value(t) : "");
        if (n >= cap)
            break;
    }
}

static int print_admins(admin *a, json_t *res)
{
    table *t = NULL;
    json_t *ad;
    size_t i;

    if (table_new(&t, 6))
        return admin_fail(a, GS_E_NOMEM);
    table_add(t, (const char *const[]){"ADMIN", "NAME", "ROLE", "TOWNS", "CREATED", "STATE"});
    json_array_foreach(json_object_get(res, "admins"), i, ad)
    {
        char towns[16 * (TEXT_MAX + 1)], when[ISOTIME_MAX];
        join_towns(ad, towns, sizeof(towns));
        table_add(t, (const char *const[]){
                         admin_str(ad, "id"), admin_str(ad, "name"), admin_str(ad, "role"),
                         towns[0] ? towns : "(all)",
                         admin_time(ad, "created_ms", when, sizeof(when)),
                         json_is_true(json_object_get(ad, "revoked")) ? "revoked" : "active"});
    }
    return admin_print_table(t);
}

static int print_new_admin(admin *a, json_t *res)
{
    char towns[16 * (TEXT_MAX + 1)];

    join_towns(res, towns, sizeof(towns));
    printf("admin   %s (%s)\n", admin_str(res, "name"), admin_str(res, "id"));
    printf("role    %s%s%s\n", admin_str(res, "role"), towns[0] ? " of " : "", towns);
    printf("token   %s\n", admin_str(res, "token"));
    printf("The token is shown only this once. The admin signs in to the console with it, or\n"
           "uses it with gridsync-admin --server %s --ca ca.pem --token TOKEN\n",
           a->server);
    return 0;
}

static int print_revoked(admin *a, json_t *res)
{
    (void)a;
    printf("admin %s (%s) revoked: its token and console sessions are refused from now on\n",
           admin_str(res, "name"), admin_str(res, "id"));
    return 0;
}

static int admin_add(admin *a, int argc, char **argv)
{
    json_t *towns = json_array(), *body, *res = NULL;
    const char *role = NULL;
    int rc;

    if (argc < 2 || argv[1][0] == '-') {
        json_decref(towns);
        return admin_usage_error(a, "admin add: give the admin's NAME first");
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role = argv[++i];
        } else if (strcmp(argv[i], "--town") == 0 && i + 1 < argc) {
            json_array_append_new(towns, json_string(argv[++i]));
        } else {
            json_decref(towns);
            return admin_usage_error(a, "admin add: unexpected '%s'", argv[i]);
        }
    }
    if (!role || (strcmp(role, "county") && strcmp(role, "town") && strcmp(role, "viewer"))) {
        json_decref(towns);
        return admin_usage_error(a, "admin add: --role county, town or viewer is needed");
    }
    if (strcmp(role, "town") == 0 && json_array_size(towns) == 0) {
        json_decref(towns);
        return admin_usage_error(a, "admin add: a town admin needs --town T (one or more)");
    }
    body = json_pack("{s:s, s:s, s:o}", "name", argv[1], "role", role, "towns", towns);
    rc = admin_call(a, "POST", "/admins", body, &res);
    json_decref(body);
    return rc ? admin_fail(a, rc) : done(a, res, print_new_admin);
}

static int admin_revoke(admin *a, int argc, char **argv)
{
    json_t *list = NULL, *ad, *res = NULL;
    const char *id = NULL;
    char path[256];
    size_t i;
    int rc;

    if (argc != 2)
        return admin_usage_error(a, "admin revoke: give exactly one admin ID or NAME");
    /* a name is looked up in the list (an id too: a name could look like one) */
    rc = admin_call(a, "GET", "/admins", NULL, &list);
    if (rc)
        return admin_fail(a, rc);
    json_array_foreach(json_object_get(list, "admins"), i, ad)
        if (strcmp(admin_str(ad, "id"), argv[1]) == 0 ||
            (!id && strcmp(admin_str(ad, "name"), argv[1]) == 0))
            id = admin_str(ad, "id");
    if (!id) {
        json_decref(list);
        gs_err_set(&a->err, GS_E_NOTFOUND, "no admin with the id or name %s", argv[1]);
        return admin_fail(a, GS_E_NOTFOUND);
    }
    snprintf(path, sizeof(path), "/admins/%s/revoke", id);
    json_decref(list); /* id is not used after this */
    rc = admin_call(a, "POST", path, NULL, &res);
    return rc ? admin_fail(a, rc) : done(a, res, print_revoked);
}

int registry_admin_cmd(admin *a, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    json_t *res = NULL;
    int rc;

    if (strcmp(verb, "add") == 0)
        return admin_add(a, argc, argv);
    if (strcmp(verb, "revoke") == 0)
        return admin_revoke(a, argc, argv);
    if (strcmp(verb, "list") != 0)
        return admin_usage_error(a, "admin: expected add, list or revoke, not '%s'", verb);
    if (argc != 1)
        return admin_usage_error(a, "admin list takes no arguments");
    rc = admin_call(a, "GET", "/admins", NULL, &res);
    return rc ? admin_fail(a, rc) : done(a, res, print_admins);
}
