/*
 * csync.h: the sync loop behind gs_sync_run (PROTOCOL.md section 4), joining the outbox
 * (outbox.h), the codec (proto.h) and the HTTPS link (transport.h).
 */
#ifndef GS_CLIENT_CSYNC_H
#define GS_CLIENT_CSYNC_H

#include "common/buf.h"
#include "common/rc.h" /* before gridsync.h, which then skips its copy */
#include "gridsync.h"

/* Changes and encoded bytes per request unless gs_sync_opts says otherwise: 2,000 visits
 * fit one request, so a day's work is one or two round trips even at 600 ms RTT, while the
 * request (about 1 MB before deflate) stays small beside the handheld's memory. */
#define CSYNC_BATCH_CHANGES 2000u
#define CSYNC_BATCH_BYTES (1536u * 1024u)

int csync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum);

/* How a request body reaches the server: GS_OK with the HTTP status and the (inflated)
 * answer in resp, or a transport failure (GS_E_NETWORK, GS_E_TIMEOUT, GS_E_TLS...). */
typedef int csync_post_fn(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                          gs_err *err);
/* csync_run with another way to post (tests: a fake server); NULL post means HTTPS. */
int csync_run_with(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum, csync_post_fn *post,
                   void *post_ud);

#endif
