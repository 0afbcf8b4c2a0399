/*
 * certwatch.h: the serving certificate's upkeep inside a running gridsyncd.
 *
 *  - SIGHUP (read from a signalfd by a small thread of its own): tls_reload, so handshakes
 *    from then on get the certificate and key now in the files (`gridsyncd cert renew`
 *    wrote them) while open connections finish with theirs. A pair that does not load is
 *    logged and the current one kept. SIGHUP rather than watching the files' mtime: the
 *    operator says when the pair on disk is complete, so the server never loads a new key
 *    beside the old certificate in the instant between renew's two renames, and a test or
 *    script knows when the new certificate is served.
 *  - /metrics gridsyncd_cert_expiry_seconds: seconds until the notAfter of the certificate
 *    new handshakes get (srv_metrics.cert_not_after, set at start and at every reload).
 *  - From CERTWATCH_WARN_DAYS before that notAfter, a warning in the log at start and then
 *    once a day (checked every CERTWATCH_TICK_MS).
 */
#ifndef GS_SERVER_CERTWATCH_H
#define GS_SERVER_CERTWATCH_H

#include <stdint.h>

#include "common/log.h"
#include "common/rc.h"
#include "metrics.h"
#include "tls.h"

#define CERTWATCH_WARN_DAYS 60   /* warn this long before the certificate ends */
#define CERTWATCH_TICK_MS 60000  /* how often the thread looks at the clock */
#define CERTWATCH_REPEAT_S 86400 /* a warning repeats this often */

typedef struct certwatch certwatch;

/* Sets the gauge, logs the start warning if one is due, and starts the thread that reads
 * hup_fd (a nonblocking signalfd for SIGHUP, not owned; -1: no reload). tls, m and lg
 * outlive the watch. */
int certwatch_start(certwatch **out, srv_tls *tls, srv_metrics *m, gs_logger *lg, int hup_fd,
                    gs_err *err);

/* Stops and joins the thread. NULL is a no-op. */
void certwatch_stop(certwatch *w);

/* 1 if a warning is due at now for a certificate ending at not_after, the last warning
 * having been logged at last_warn (0: none yet), else 0. */
int certwatch_warn_due(int64_t now, int64_t not_after, int64_t last_warn);

#endif
