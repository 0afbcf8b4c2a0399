/*
 * attachments.c: see attachments.h. Without gc: the attachment bytes the server holds,
 * per grid and per device, against their quotas; with gc: removes the blobs no live
 * attachment record names and prints what went.
 */
#include "attachments.h"

#include "common/table.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void human(json_int_t n, char *buf, size_t cap)
{
    if (n < 10 * 1024)
        snprintf(buf, cap, "%lld B", (long long)n);
    else if (n < 10 * 1024 * 1024)
        snprintf(buf, cap, "%.1f KB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

static int usage_table(admin *a, json_t *rows, const char *key, const char *title)
{
    table *t = NULL;
    json_t *r;
    size_t i;

    if (table_new(&t, 4))
        return admin_fail(a, GS_E_NOMEM);
    printf("%s\n", title);
    table_add(t, (const char *const[]){key[0] == 'g' ? "GRID" : "DEVICE", "FILES", "BYTES",
                                       "QUOTA"});
    json_array_foreach(rows, i, r)
    {
        char n[24], bytes[32], quota[32];
        json_int_t q = json_integer_value(json_object_get(r, "quota"));
        snprintf(n, sizeof(n), "%lld",
                 (long long)json_integer_value(json_object_get(r, "blobs")));
        human(json_integer_value(json_object_get(r, "bytes")), bytes, sizeof(bytes));
        if (q)
            human(q, quota, sizeof(quota));
        else
            snprintf(quota, sizeof(quota), "none");
        table_add(t, (const char *const[]){admin_str(r, key), n, bytes, quota});
    }
    return admin_print_table(t);
}

int attachments_cmd(admin *a, int argc, char **argv)
{
    json_t *res = NULL;
    char total[32], freed[32];
    int rc;

    if (argc == 1 && strcmp(argv[0], "gc") == 0) {
        rc = admin_call(a, "POST", "/attachments/gc", NULL, &res);
        if (rc)
            return admin_fail(a, rc);
        if (a->json) {
            admin_print_json(res);
        } else {
            human(json_integer_value(json_object_get(res, "removed_bytes")), freed,
                  sizeof(freed));
            printf("removed %lld attachment file%s no record names (%s); %lld kept\n",
                   (long long)json_integer_value(json_object_get(res, "removed")),
                   json_integer_value(json_object_get(res, "removed")) == 1 ? "" : "s", freed,
                   (long long)json_integer_value(json_object_get(res, "kept")));
        }
        json_decref(res);
        return 0;
    }
    if (argc != 0)
        return admin_usage_error(a, "attachments: expected nothing or gc, not '%s'", argv[0]);
    rc = admin_call(a, "GET", "/attachments", NULL, &res);
    if (rc)
        return admin_fail(a, rc);
    if (a->json) {
        admin_print_json(res);
        json_decref(res);
        return 0;
    }
    human(json_integer_value(json_object_get(res, "bytes")), total, sizeof(total));
    printf("attachment files on the server: %lld, %s\n\n",
           (long long)json_integer_value(json_object_get(res, "blobs")), total);
    rc = usage_table(a, json_object_get(res, "grids"), "grid", "per grid");
    if (rc == 0) {
        printf("\n");
        rc = usage_table(a, json_object_get(res, "devices"), "device",
                         "per device (the one that sent a file first)");
    }
    json_decref(res);
    return rc;
}
