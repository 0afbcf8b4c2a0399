/*
 * csync.h: the sync loop behind gs_sync_run (PROTOCOL.md section 4), joining the outbox
 * (outbox.h), the codec (proto.h) and the HTTPS link (common/transport.h).
 */
#ifndef GS_CLIENT_CSYNC_H
#define GS_CLIENT_CSYNC_H

#include "common/buf.h"
#include "common/rc.h"
#include "gridsync.h"

/* Changes and encoded bytes per request unless gs_sync_opts says otherwise: up to the
 * protocol's 5,000 changes, so on 2G, where each round trip costs a second or more, 10,000
 * visits still go in three requests. The byte cap is what bounds the handheld's memory
 * (issue 21): the request is built whole before it is deflated, so the request buffer,
 * grown by doubling, stays within 2 MiB (the cap, the head room and the one change that
 * overshoots it and waits for the next request), and the deflated copy beside it is about
 * a quarter of that. 5,000 visits with Chinese notes are about 2.6 MB before deflate, so
 * a 10,000-visit sync sends about 3,500 per request (docs/BENCHMARKS.md). */
#define CSYNC_BATCH_CHANGES 5000u
#define CSYNC_BATCH_BYTES (1792u * 1024u)
/* Changes the device asks the server to pull per response (SyncRequest "max"): a pulled
 * page is inflated, decoded (msgpack-c's zone) and applied in memory at once, about 1.7 KB
 * of gridsync's heap and 1 KB of msgpack-c's per change, so this bounds a new device's
 * first pull of a busy grid: 100,000 changes arrive in 51 responses instead of 21
 * (docs/BENCHMARKS.md). */
#define CSYNC_PULL_MAX 2000u
/* The request buffer's allocation in a sync: the doubling growth from 64 bytes reaches this
 * power of two once a batch passes half of it; a change past the cap is rolled back there. */
#define CSYNC_REQ_ALLOC (2u * 1024u * 1024u)
/* SQLite's page cache during a sync (KiB; csync.c says why). */
#define CSYNC_CACHE_KIB 512

int csync_run(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum);

/* How a request body reaches the server: GS_OK with the HTTP status and the (inflated)
 * answer in resp, or a transport failure (GS_E_NETWORK, GS_E_TIMEOUT, GS_E_TLS...). */
typedef int csync_post_fn(void *ud, const void *body, size_t len, long *status, gs_buf *resp,
                          gs_err *err);
/* csync_run with another way to post (tests: a fake server); NULL post means HTTPS. */
int csync_run_with(gs_db *db, const gs_sync_opts *opts, gs_sync_summary *sum, csync_post_fn *post,
                   void *post_ud);

#endif
