/*
 * csync.h: the sync loop behind gs_sync_run (PROTOCOL.md section 4), joining the outbox
 * (outbox.h), the codec (proto.h) and the HTTPS link (common/transport.h).
 */
#ifndef GS_CLIENT_CSYNC_H
#define GS_CLIENT_CSYNC_H

#include "common/buf.h"
#include "common/rc.h"
#include "gridsync.h"

/* Changes and encoded bytes per request unless gs_sync_opts says otherwise: the protocol's
 * 5,000 changes, so on 2G, where each round trip costs a second or more, 10,000 visits are
 * two requests and a third that finds nothing left. 5,000 visits are about 1 MB before
 * deflate; the byte cap keeps a request of large records under the 8 MiB body limit with
 * room to spare, and bounds the handheld's buffer. */
#define CSYNC_BATCH_CHANGES 5000u
#define CSYNC_BATCH_BYTES (4u * 1024u * 1024u)

int csync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum);

/* How a request body reaches the server: GS_OK with the HTTP status and the (inflated)
 * answer in resp, or a transport failure (GS_E_NETWORK, GS_E_TIMEOUT, GS_E_TLS...). */
typedef int csync_post_fn(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                          gs_err *err);
/* csync_run with another way to post (tests: a fake server); NULL post means HTTPS. */
int csync_run_with(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum, csync_post_fn *post,
                   void *post_ud);

#endif
