/*
 * config.h: gridsyncd's settings, read from DIR/gridsyncd.conf (written by `gridsyncd init`).
 *
 * The file is lines of `key = value` as common/conf.h reads them ('#' first on a line or
 * after a blank starts a comment); relative paths are relative to the file's folder.
 * Unknown keys are an error (a typo must not silently keep a default).
 */
#ifndef GS_SERVER_CONFIG_H
#define GS_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"
#include "rules.h"

#define SRV_PATH_MAX 1024

typedef struct srv_config {
    char dir[SRV_PATH_MAX];       /* folder holding the config file */
    char listen[256];             /* "listen": HOST:PORT, default 127.0.0.1:8443 */
    char db_path[SRV_PATH_MAX];   /* "store" (or "database"): a SQLite file, default
                                     gridsyncd.db, or a postgresql:// URL */
    char cert_path[SRV_PATH_MAX]; /* "cert": server certificate chain PEM */
    char key_path[SRV_PATH_MAX];  /* "key": server private key PEM */
    char ca_path[SRV_PATH_MAX];   /* "ca": the CA certificate devices verify against */
    int workers;                  /* "workers": threads serving connections, default 8 */
    int max_connections;          /* "max_connections": open connections, default 4096 */
    int max_connections_per_address; /* "max_connections_per_address": from one IPv4
                                        address or IPv6 /64, default 16 */
    uint64_t min_free_disk_bytes; /* "min_free_disk_bytes": below it on the store's file
                                     system a sync with changes is answered 503 disk_low
                                     (pulls go on), default 256 MiB; 0 off; SQLite only */
    int max_conflicts_per_sync;   /* "max_conflicts_per_sync": conflicts one sync may open,
                                     default 1000; beyond it they update open ones only */
    int handshake_timeout_ms;     /* "handshake_timeout_ms": TLS handshake, and the first
                                     request byte after it, default 5000 */
    int head_timeout_ms;          /* "head_timeout_ms": a request head from its first byte,
                                     default 10000 */
    int read_timeout_ms;          /* "read_timeout_ms": one read, default 15000 */
    int request_timeout_ms;       /* "request_timeout_ms": a whole request, default 60000 */
    int idle_timeout_ms;          /* "idle_timeout_ms": keep-alive idle, default 30000 */
    size_t max_header_bytes;      /* "max_header_bytes": default 16384 */
    size_t max_body_bytes;        /* "max_body_bytes": default 8 MiB (PROTO_MAX_BODY) */
    size_t max_body_bytes_in_flight; /* "max_body_bytes_in_flight": bodies being received
                                        at once, all connections, default 64 MiB */
    uint64_t max_drift_ms;        /* "max_drift_ms": clock guard, default 300000 (5 min) */
    uint32_t pull_page_changes;   /* "pull_page_changes": default 2000 */
    int silent_days;              /* "silent_days": console flags devices silent longer, 3 */
    int log_level;                /* "log_level": off|error|warn|info|debug, default info */
    int shutdown_timeout_ms;      /* "shutdown_timeout_ms": wait for in-flight requests on
                                     SIGTERM before closing them, default 10000 */
    rules_config rules;           /* the warning rules' keys (rules.h; silent_days is above) */
    uint64_t attachment_quota_device; /* "attachment_quota_device": attachment bytes one
                                         device may have sent, 0 (default): no quota */
    uint64_t attachment_quota_grid;   /* "attachment_quota_grid": attachment bytes of one
                                         grid, 0 (default): no quota */
} srv_config;

/* Fills cfg with the defaults above (paths empty, dir "."). Cannot fail. */
void config_defaults(srv_config *cfg);

/* Reads path over the defaults; GS_E_CONFIG with the line number on a bad line. Paths left
 * unset become DIR/gridsyncd.db, DIR/server.pem, DIR/server.key and DIR/ca.pem. */
int config_load(srv_config *cfg, const char *path, gs_err *err);

/* Checks a "HOST:PORT" or "[V6]:PORT" listen address (port 0..65535; 0 picks a free port)
 * and splits it; host_out gets the host without brackets. GS_E_CONFIG when malformed. */
int config_split_listen(const char *listen, char *host_out, size_t host_cap, int *port_out);

#endif
