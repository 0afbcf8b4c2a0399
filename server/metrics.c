/*
 * metrics.c: the counters behind /metrics and their Prometheus text exposition (format
 * 0.0.4). Invariants: every counter only grows (connections_open, the warnings and the
 * certificate's remaining life, computed from its notAfter when rendered, are gauges); the
 * latency buckets are stored per bucket and summed into cumulative `le` buckets only when
 * rendered, so an observation costs two relaxed atomic adds.
 */
#include "metrics.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "common/rc.h"

static const uint64_t bucket_ms[METRICS_N_BUCKETS] = METRICS_LATENCY_BUCKETS;

void metrics_init(srv_metrics *m)
{
    /* every field is an atomic integer: zero bytes are a valid zero for each */
    memset(m, 0, sizeof(*m));
}

void metrics_observe_latency(srv_metrics *m, uint64_t micros)
{
    size_t i = 0;
    while (i < METRICS_N_BUCKETS && micros > bucket_ms[i] * 1000)
        i++;
    atomic_fetch_add_explicit(&m->latency_bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us, micros, memory_order_relaxed);
}

/* One counter: HELP, TYPE and the sample. */
static int counter(gs_buf *out, const char *name, const char *help, uint64_t v)
{
    return buf_addf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name,
                    name, v);
}

#define LOAD(field) atomic_load_explicit(&((srv_metrics *)m)->field, memory_order_relaxed)

int metrics_render(const srv_metrics *m, gs_buf *out)
{
    int rc = GS_OK;
    uint64_t cumulative = 0;

    rc = counter(out, "gridsyncd_http_requests_total", "HTTP requests answered.", LOAD(requests));
    if (!rc)
        rc = buf_addf(out,
                      "# HELP gridsyncd_http_responses_total HTTP answers by status class "
                      "(4xx and 5xx only).\n"
                      "# TYPE gridsyncd_http_responses_total counter\n"
                      "gridsyncd_http_responses_total{class=\"4xx\"} %" PRIu64 "\n"
                      "gridsyncd_http_responses_total{class=\"5xx\"} %" PRIu64 "\n",
                      LOAD(responses_4xx), LOAD(responses_5xx));
    if (!rc)
        rc = counter(out, "gridsyncd_syncs_total", "Sync exchanges answered 200.", LOAD(syncs));
    if (!rc)
        rc = counter(out, "gridsyncd_sync_commits_total",
                     "Transactions committed for syncs (syncs arriving together share one).",
                     LOAD(sync_commits));
    if (!rc)
        rc = buf_addf(out,
                      "# HELP gridsyncd_changes_pushed_total Pushed changes by outcome.\n"
                      "# TYPE gridsyncd_changes_pushed_total counter\n"
                      "gridsyncd_changes_pushed_total{result=\"merged\"} %" PRIu64 "\n"
                      "gridsyncd_changes_pushed_total{result=\"rejected\"} %" PRIu64 "\n"
                      "gridsyncd_changes_pushed_total{result=\"duplicate\"} %" PRIu64 "\n",
                      LOAD(changes_merged), LOAD(changes_rejected), LOAD(changes_duplicate));
    if (!rc)
        rc = counter(out, "gridsyncd_conflicts_total", "Conflicts recorded.", LOAD(conflicts));
    if (!rc)
        rc = counter(out, "gridsyncd_uploads_disk_low_total",
                     "Syncs with changes answered 503 disk_low (free disk below the floor).",
                     LOAD(uploads_disk_low));
    if (!rc)
        rc = counter(out, "gridsyncd_conflicts_unlogged_total",
                     "Conflicts beyond max_conflicts_per_sync, merged but not recorded.",
                     LOAD(conflicts_unlogged));
    if (!rc)
        rc = counter(out, "gridsyncd_changes_pulled_total", "Changes sent to devices.",
                     LOAD(changes_pulled));
    if (!rc)
        rc = counter(out, "gridsyncd_resyncs_total",
                     "Syncs that start a device's history over: its cursor beyond the last "
                     "version (a restore from an older backup), or 0 from a device that "
                     "synced before (it saw a new epoch, or was set up anew).",
                     LOAD(resyncs));
    if (!rc)
        rc = counter(out, "gridsyncd_auth_failures_total", "Requests answered 401.",
                     LOAD(auth_failures));
    if (!rc)
        rc = counter(out, "gridsyncd_connections_total", "TCP connections accepted.",
                     LOAD(connections));
    if (!rc)
        rc = counter(out, "gridsyncd_connections_refused_total",
                     "Connections closed at once because the connection cap was reached.",
                     LOAD(connections_refused));
    if (!rc)
        rc = counter(out, "gridsyncd_connections_evicted_total",
                     "Idle, handshaking or head-reading connections closed to make room at a "
                     "connection cap.",
                     LOAD(connections_evicted));
    if (!rc)
        rc = counter(out, "gridsyncd_bodies_refused_total",
                     "Requests answered 429 because max_body_bytes_in_flight was reached.",
                     LOAD(bodies_refused));
    if (!rc)
        rc = counter(out, "gridsyncd_tls_handshake_failures_total", "TLS handshakes that failed.",
                     LOAD(tls_failures));
    if (!rc)
        rc = counter(out, "gridsyncd_timeouts_total",
                     "Connections cut because a client was too slow (read, request or write "
                     "timeout).",
                     LOAD(timeouts));
    if (!rc)
        rc = buf_addf(out,
                      "# HELP gridsyncd_connections_open Connections open now.\n"
                      "# TYPE gridsyncd_connections_open gauge\n"
                      "gridsyncd_connections_open %" PRId64 "\n",
                      LOAD(connections_open));
    if (!rc && LOAD(cert_not_after) != 0)
        rc = buf_addf(out,
                      "# HELP gridsyncd_cert_expiry_seconds Seconds until the notAfter of the "
                      "certificate new connections get (negative once it has ended).\n"
                      "# TYPE gridsyncd_cert_expiry_seconds gauge\n"
                      "gridsyncd_cert_expiry_seconds %" PRId64 "\n",
                      LOAD(cert_not_after) - (int64_t)time(NULL));
    if (!rc)
        rc = buf_adds(out, "# HELP gridsyncd_warnings_open Open warnings by rule and level, as "
                           "of the last sweep (rules_sweep_s).\n"
                           "# TYPE gridsyncd_warnings_open gauge\n");
    for (int r = 0; !rc && r < RULE_COUNT; r++)
        for (int l = 0; !rc && l < 3; l++)
            rc = buf_addf(out, "gridsyncd_warnings_open{rule=\"%s\",level=\"%s\"} %" PRId64 "\n",
                          rule_key((rule_id)r), (const char *const[]){"notice", "attention",
                                                                      "urgent"}[l],
                          LOAD(warnings_open[r][l]));
    if (!rc)
        rc = buf_adds(out, "# HELP gridsyncd_request_duration_seconds Time from the first byte "
                           "of a request to the last byte of its answer.\n"
                           "# TYPE gridsyncd_request_duration_seconds histogram\n");
    for (size_t i = 0; !rc && i < METRICS_N_BUCKETS; i++) {
        cumulative += LOAD(latency_bucket[i]);
        rc = buf_addf(out,
                      "gridsyncd_request_duration_seconds_bucket{le=\"%" PRIu64 ".%03" PRIu64
                      "\"} %" PRIu64 "\n",
                      bucket_ms[i] / 1000, bucket_ms[i] % 1000, cumulative);
    }
    if (!rc) {
        uint64_t sum_us = LOAD(latency_sum_us);
        cumulative += LOAD(latency_bucket[METRICS_N_BUCKETS]);
        rc = buf_addf(out,
                      "gridsyncd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                      "gridsyncd_request_duration_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
                      "gridsyncd_request_duration_seconds_count %" PRIu64 "\n",
                      cumulative, sum_us / 1000000, sum_us % 1000000, cumulative);
    }
    return rc;
}
