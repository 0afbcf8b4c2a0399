/*
 * config.c: reads gridsyncd.conf (see config.h) with the shared reader common/conf.c, which
 * owns the syntax (`key = value`, comments, blanks) and the mistakes any such file can
 * have; this file owns the keys, their ranges and the paths. Invariants:
 *  - a key the server does not know, a key given twice, a value out of its range or a line
 *    without '=' fails the whole load with GS_E_CONFIG and "FILE:LINE: ..." in the message
 *    (a typo must never silently keep a default);
 *  - cfg is written only when the whole file is good;
 *  - every path in cfg is absolute or relative to the process's working folder: relative
 *    paths in the file are resolved against the file's own folder.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "proto/proto.h"
#include "server/engine.h"

void config_defaults(srv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->dir, sizeof(cfg->dir), ".");
    snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8443");
    cfg->workers = 8;
    cfg->max_connections = 4096;
    cfg->max_connections_per_address = 16;
    cfg->max_conflicts_per_sync = 1000;
    cfg->min_free_disk_bytes = 256ULL * 1024 * 1024;
    cfg->handshake_timeout_ms = 5000;
    cfg->head_timeout_ms = 10000;
    cfg->read_timeout_ms = 15000;
    cfg->request_timeout_ms = 60000;
    cfg->idle_timeout_ms = 30000;
    cfg->max_header_bytes = 16384;
    cfg->max_body_bytes = PROTO_MAX_BODY;
    cfg->max_body_bytes_in_flight = 8 * (size_t)PROTO_MAX_BODY;
    cfg->max_drift_ms = 300000;
    cfg->pull_page_changes = 5000;
    cfg->silent_days = 3;
    cfg->log_level = GS_LOG_INFO;
    cfg->shutdown_timeout_ms = 10000;
    rules_defaults(&cfg->rules);
}

int config_split_listen(const char *listen, char *host_out, size_t host_cap, int *port_out)
{
    const char *colon, *host = listen, *port_s;
    size_t host_len;
    char *end;
    long port;

    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return GS_E_CONFIG;
        host = listen + 1;
        host_len = (size_t)(close - host);
        port_s = close + 2;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || strchr(listen, ':') != colon)
            return GS_E_CONFIG; /* a bare IPv6 address needs brackets */
        host_len = (size_t)(colon - listen);
        port_s = colon + 1;
    }
    if (host_len == 0 || host_len >= host_cap || !*port_s)
        return GS_E_CONFIG;
    for (size_t i = 0; i < host_len; i++)
        if (host[i] == ' ' || host[i] == '\t' || host[i] == '/')
            return GS_E_CONFIG;
    errno = 0;
    port = strtol(port_s, &end, 10);
    if (errno || *end || port < 0 || port > 65535 || port_s[0] == '-' || port_s[0] == '+')
        return GS_E_CONFIG;
    memcpy(host_out, host, host_len);
    host_out[host_len] = '\0';
    *port_out = (int)port;
    return GS_OK;
}

/* What kind of value a key takes, and where it goes. */
/* K_STORE: a PostgreSQL URL as written, else a path (K_PATH) */
typedef enum key_kind { K_STR, K_PATH, K_STORE, K_INT, K_SIZE, K_U64, K_U32, K_LEVEL } key_kind;

typedef struct key_def {
    const char *name; /* the key as written in the file */
    key_kind kind;    /* how the value is parsed */
    size_t offset;    /* of the field in srv_config */
    size_t cap;       /* K_STR/K_PATH: size of the char array */
    long long min;    /* numeric kinds: smallest accepted value */
    long long max;    /* numeric kinds: largest accepted value */
} key_def;

#define F(field) offsetof(srv_config, field)
#define CAP(field) sizeof(((srv_config *)0)->field)

static const key_def key_defs[] = {
    {"listen", K_STR, F(listen), CAP(listen), 0, 0},
    {"store", K_STORE, F(db_path), CAP(db_path), 0, 0},
    {"database", K_STORE, F(db_path), CAP(db_path), 0, 0}, /* store's first name */
    {"cert", K_PATH, F(cert_path), CAP(cert_path), 0, 0},
    {"key", K_PATH, F(key_path), CAP(key_path), 0, 0},
    {"ca", K_PATH, F(ca_path), CAP(ca_path), 0, 0},
    {"workers", K_INT, F(workers), 0, 1, 256},
    {"max_connections", K_INT, F(max_connections), 0, 1, 65536},
    {"max_connections_per_address", K_INT, F(max_connections_per_address), 0, 1, 65536},
    {"min_free_disk_bytes", K_U64, F(min_free_disk_bytes), 0, 0, 1LL << 50},
    {"max_conflicts_per_sync", K_INT, F(max_conflicts_per_sync), 0, 1, 1000000},
    {"handshake_timeout_ms", K_INT, F(handshake_timeout_ms), 0, 100, 3600000},
    {"head_timeout_ms", K_INT, F(head_timeout_ms), 0, 100, 3600000},
    {"read_timeout_ms", K_INT, F(read_timeout_ms), 0, 100, 3600000},
    {"request_timeout_ms", K_INT, F(request_timeout_ms), 0, 100, 3600000},
    {"idle_timeout_ms", K_INT, F(idle_timeout_ms), 0, 100, 3600000},
    {"max_header_bytes", K_SIZE, F(max_header_bytes), 0, 1024, 1024 * 1024},
    {"max_body_bytes", K_SIZE, F(max_body_bytes), 0, 1024, 64LL * 1024 * 1024},
    {"max_body_bytes_in_flight", K_SIZE, F(max_body_bytes_in_flight), 0, 1024,
     64LL * 1024 * 1024 * 1024},
    {"max_drift_ms", K_U64, F(max_drift_ms), 0, 0, 366LL * 24 * 3600 * 1000},
    {"pull_page_changes", K_U32, F(pull_page_changes), 0, 1, PROTO_MAX_CHANGES},
    {"silent_days", K_INT, F(silent_days), 0, 1, 3650},
    {"log_level", K_LEVEL, F(log_level), 0, 0, 0},
    {"shutdown_timeout_ms", K_INT, F(shutdown_timeout_ms), 0, 0, 600000},
    {"rules", K_INT, F(rules.enabled), 0, 0, 1},
    {"rules_disabled", K_STR, F(rules.disabled), CAP(rules.disabled), 0, 0},
    {"rules_sweep_s", K_INT, F(rules.sweep_s), 0, 1, 86400},
    {"unvisited_days_alone", K_INT, F(rules.unvisited_days_alone), 0, 1, 365},
    {"unvisited_days", K_INT, F(rules.unvisited_days), 0, 1, 365},
    {"care_overdue_hours_urgent", K_INT, F(rules.care_overdue_hours_urgent), 0, 1, 8760},
    {"care_overdue_hours_normal", K_INT, F(rules.care_overdue_hours_normal), 0, 1, 8760},
    {"care_overdue_hours_low", K_INT, F(rules.care_overdue_hours_low), 0, 1, 8760},
    {"dispute_open_days", K_INT, F(rules.dispute_open_days), 0, 1, 365},
    {"dispute_repeated_count", K_INT, F(rules.dispute_repeated_count), 0, 2, 100},
    {"dispute_repeated_days", K_INT, F(rules.dispute_repeated_days), 0, 1, 365},
    {"hazard_open_days", K_INT, F(rules.hazard_open_days), 0, 1, 365},
    {"attachment_quota_device", K_U64, F(attachment_quota_device), 0, 0, 1LL << 50},
    {"attachment_quota_grid", K_U64, F(attachment_quota_grid), 0, 0, 1LL << 50},
};

#define N_KEYS (sizeof(key_defs) / sizeof(key_defs[0]))

/* Joins dir and a relative path, or copies an absolute one. */
static int resolve_path(const char *dir, const char *value, char *out, size_t cap)
{
    char folder[SRV_PATH_MAX];
    int n;
    /* dir and out are fields of one srv_config: copy dir so no snprintf argument can
     * alias its destination (and so gcc's -Wrestrict can see that) */
    snprintf(folder, sizeof(folder), "%s", dir);
    if (value[0] == '/')
        n = snprintf(out, cap, "%s", value);
    else
        n = snprintf(out, cap, "%s/%s", folder, value);
    return (n < 0 || (size_t)n >= cap) ? GS_E_CONFIG : GS_OK;
}

/* Sets one key of cfg from its text value; on failure writes why into why[]. */
static int set_key(srv_config *cfg, const key_def *k, const char *value, char *why, size_t why_cap)
{
    char *field = (char *)cfg + k->offset;
    char *end;
    long long v;
    int port;
    char host[256];

    switch (k->kind) {
    case K_STR:
        if (strlen(value) >= k->cap) {
            snprintf(why, why_cap, "value too long");
            return GS_E_CONFIG;
        }
        if (k->offset == F(listen) &&
            config_split_listen(value, host, sizeof(host), &port) != GS_OK) {
            snprintf(why, why_cap, "expected HOST:PORT or [IPV6]:PORT, got \"%s\"", value);
            return GS_E_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return GS_OK;
    case K_STORE:
        if (eng_target_is_pg(value)) {
            if (strlen(value) >= k->cap) {
                snprintf(why, why_cap, "URL too long");
                return GS_E_CONFIG;
            }
            memcpy(field, value, strlen(value) + 1);
            return GS_OK;
        }
        /* a SQLite file */
        /* fall through */
    case K_PATH:
        if (resolve_path(cfg->dir, value, field, k->cap) != GS_OK) {
            snprintf(why, why_cap, "path too long");
            return GS_E_CONFIG;
        }
        return GS_OK;
    case K_LEVEL:
        v = log_level_parse(value);
        if (v < 0) {
            snprintf(why, why_cap, "expected off, error, warn, info or debug, got \"%s\"", value);
            return GS_E_CONFIG;
        }
        *(int *)(void *)field = (int)v;
        return GS_OK;
    default:
        break;
    }
    errno = 0;
    v = strtoll(value, &end, 10);
    if (errno || *end || end == value || value[0] == '+') {
        snprintf(why, why_cap, "expected a whole number, got \"%s\"", value);
        return GS_E_CONFIG;
    }
    if (v < k->min || v > k->max) {
        snprintf(why, why_cap, "%lld is outside %lld..%lld", v, k->min, k->max);
        return GS_E_CONFIG;
    }
    switch (k->kind) {
    case K_INT:
        *(int *)(void *)field = (int)v;
        break;
    case K_SIZE:
        *(size_t *)(void *)field = (size_t)v;
        break;
    case K_U64:
        *(uint64_t *)(void *)field = (uint64_t)v;
        break;
    case K_U32:
        *(uint32_t *)(void *)field = (uint32_t)v;
        break;
    default:
        break;
    }
    return GS_OK;
}

/* conf_set_fn for gridsyncd.conf: ud is the srv_config being filled. */
static int set_conf_key(void *ud, size_t key, const char *value, char *why, size_t why_cap)
{
    return set_key(ud, &key_defs[key], value, why, why_cap);
}

/* Sets cfg->dir to the absolute folder of path. */
static int set_dir(srv_config *cfg, const char *path, gs_err *err)
{
    char folder[SRV_PATH_MAX];
    const char *slash = strrchr(path, '/');
    char *real;

    if (!slash)
        snprintf(folder, sizeof(folder), ".");
    else if (slash == path)
        snprintf(folder, sizeof(folder), "/");
    else if ((size_t)(slash - path) >= sizeof(folder))
        return gs_err_set(err, GS_E_CONFIG, "%s: path too long", path);
    else
        snprintf(folder, sizeof(folder), "%.*s", (int)(slash - path), path);
    real = realpath(folder, NULL);
    if (!real)
        return gs_err_set(err, GS_E_CONFIG, "%s: cannot resolve: %s", folder, strerror(errno));
    if (strlen(real) >= sizeof(cfg->dir)) {
        free(real);
        return gs_err_set(err, GS_E_CONFIG, "%s: path too long", folder);
    }
    snprintf(cfg->dir, sizeof(cfg->dir), "%s", real);
    free(real); /* allocated by libc's realpath, not by gs_malloc */
    return GS_OK;
}

int config_load(srv_config *cfg, const char *path, gs_err *err)
{
    srv_config tmp = *cfg;
    const char *names[N_KEYS];
    int rc;

    _Static_assert(N_KEYS <= CONF_KEYS_MAX, "more keys than common/conf.c reads");
    for (size_t i = 0; i < N_KEYS; i++)
        names[i] = key_defs[i].name;
    rc = set_dir(&tmp, path, err);
    if (rc)
        goto out;
    rc = conf_load(path, names, N_KEYS, set_conf_key, &tmp, err);
    if (rc)
        goto out;
    rc = rules_check(&tmp.rules, err);
    if (rc) {
        gs_err_prefix(err, "%s: ", path);
        goto out;
    }
    /* paths not named in the file sit beside it */
    if ((!tmp.db_path[0] &&
         resolve_path(tmp.dir, "gridsyncd.db", tmp.db_path, sizeof(tmp.db_path))) ||
        (!tmp.cert_path[0] &&
         resolve_path(tmp.dir, "server.pem", tmp.cert_path, sizeof(tmp.cert_path))) ||
        (!tmp.key_path[0] &&
         resolve_path(tmp.dir, "server.key", tmp.key_path, sizeof(tmp.key_path))) ||
        (!tmp.ca_path[0] && resolve_path(tmp.dir, "ca.pem", tmp.ca_path, sizeof(tmp.ca_path)))) {
        rc = gs_err_set(err, GS_E_CONFIG, "%s: folder path too long", path);
        goto out;
    }
    *cfg = tmp;
out:
    return rc;
}
