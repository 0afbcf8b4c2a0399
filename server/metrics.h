/*
 * metrics.h: counters for /metrics (Prometheus text format 0.0.4). Lock-free: every counter
 * is an atomic that any worker thread may add to.
 */
#ifndef GS_SERVER_METRICS_H
#define GS_SERVER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "rules.h"

/* Upper bounds in milliseconds of the request latency histogram buckets (+Inf implied). */
#define METRICS_LATENCY_BUCKETS {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000}
#define METRICS_N_BUCKETS 10

/* Who counts what: the network layer (net.c) counts requests, 4xx/5xx, connections,
 * tls_failures, timeouts and latency; the application counts syncs, changes, conflicts and
 * auth_failures. */
typedef struct srv_metrics {
    _Atomic uint64_t requests;          /* HTTP requests answered */
    _Atomic uint64_t responses_4xx;     /* of which 4xx */
    _Atomic uint64_t responses_5xx;     /* of which 5xx */
    _Atomic uint64_t syncs;             /* /v1/sync exchanges answered 200 */
    _Atomic uint64_t sync_commits;      /* transactions that committed them (group.h) */
    _Atomic uint64_t changes_merged;    /* pushed changes accepted */
    _Atomic uint64_t changes_rejected;  /* pushed changes rejected */
    _Atomic uint64_t changes_duplicate; /* pushed changes already applied (retries) */
    _Atomic uint64_t conflicts;         /* conflicts recorded */
    _Atomic uint64_t uploads_disk_low;  /* syncs with changes answered 503 disk_low */
    _Atomic uint64_t conflicts_unlogged; /* beyond max_conflicts_per_sync, not recorded */
    _Atomic uint64_t changes_pulled;    /* changes sent to devices */
    _Atomic uint64_t auth_failures;     /* 401 answers */
    _Atomic uint64_t resyncs;           /* syncs whose cursor was beyond the last version, or
                                           0 from a device that synced before: a device
                                           catching up after a restore (PROTOCOL.md 2.9) */
    _Atomic uint64_t connections;       /* connections accepted */
    _Atomic uint64_t connections_refused; /* connections closed at once over the cap */
    _Atomic uint64_t connections_evicted; /* idle or handshaking ones closed to make room */
    _Atomic uint64_t bodies_refused;    /* 429: over max_body_bytes_in_flight */
    _Atomic uint64_t tls_failures;      /* handshakes that failed */
    _Atomic uint64_t timeouts;          /* connections cut by a read, request or write timeout
                                           (not idle keep-alive ones, which are normal) */
    _Atomic int64_t connections_open;   /* connections open now */
    _Atomic int64_t cert_not_after;     /* notAfter (Unix s) of the certificate new handshakes
                                           get (certwatch.c); 0: not known, no gauge */
    _Atomic uint64_t latency_bucket[METRICS_N_BUCKETS + 1]; /* per bucket, last is +Inf */
    _Atomic uint64_t latency_sum_us;    /* sum of request latencies */
    /* open warnings by rule and level (notice, attention, urgent), as the last sweep counted */
    _Atomic int64_t warnings_open[RULE_COUNT][3];
} srv_metrics;

void metrics_init(srv_metrics *m);
void metrics_observe_latency(srv_metrics *m, uint64_t micros);
/* Appends the Prometheus text exposition of m to out. */
int metrics_render(const srv_metrics *m, gs_buf *out);

#endif
