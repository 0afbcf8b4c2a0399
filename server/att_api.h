/*
 * att_api.h: gridsyncd's attachment routes (issue 19, PROTOCOL.md section 12):
 *   PUT|GET|HEAD /v1/attachments/<sha256>?att=<id>[&offset=N][&length=L]   devices
 *   GET  /v1/admin/attachments        usage per grid and device, quotas   (admin token)
 *   POST /v1/admin/attachments/gc     removes blobs no live attachment record names
 *
 * A device may send or fetch the bytes of hash H only through a live attachment record
 * (att) of one of its grids whose sha256 or thumb_sha256 is H; the record's bytes or
 * thumb_bytes is the blob's size. Bytes go to server/blobs.c; a blob that became complete
 * (hash-verified) is indexed in the store (store_att_*), charged to the device that
 * completed it and to the record's grid.
 *
 * Invariants: nothing is written for a refused chunk (not owned, beyond the end, past the
 * committed offset, over quota, wrong type); every answer is a State or an Error in
 * MessagePack, or the bytes asked for; records never wait on this path (it takes the
 * store lock only for short reads and the one index write).
 */
#ifndef GS_SERVER_ATT_API_H
#define GS_SERVER_ATT_API_H

#include <pthread.h>
#include <stdint.h>

#include "app.h"
#include "blobs.h"
#include "store.h"

struct sync_group;

typedef struct att_env {
    store *st;                 /* used only holding *lock */
    pthread_mutex_t *lock;     /* the app's store lock */
    struct sync_group *group;  /* flushed before the store is written (group.h); may be NULL */
    blobs *b;                  /* the blob folder */
    uint64_t quota_device;     /* bytes per device, 0: none */
    uint64_t quota_grid;       /* bytes per grid, 0: none */
    gs_logger *lg;             /* log */
    /* the device token check of /v1/sync: GS_OK with *dev, GS_E_AUTH, or another code */
    int (*device_auth)(void *ud, const srv_request *req, store_device *dev);
    void *auth_ud;             /* passed to device_auth */
} att_env;

/* 1 when path is under /v1/attachments/ (att_api_handle answers it). */
int att_api_owns(srv_slice path);

/* Answers a device's request under /v1/attachments/. Never fails. */
void att_api_handle(att_env *env, const srv_request *req, srv_response *resp);

/* app_head_check for /v1/attachments/: 0 with *max_body (a chunk) or 1 with resp the
 * refusal (400 bad target, 401 no valid device token). */
int att_api_head_check(att_env *env, const srv_request *req, srv_response *resp,
                       size_t *max_body);

/* 1 when path is /v1/admin/attachments or under it. */
int att_admin_owns(srv_slice path);
/* Answers /v1/admin/attachments[/gc] for an authenticated admin (the caller checked). */
void att_admin_handle(att_env *env, const srv_request *req, srv_response *resp);

typedef struct att_gc_stats {
    uint64_t kept;          /* indexed blobs a live attachment names */
    uint64_t removed;       /* blobs removed (index row and file) */
    uint64_t removed_bytes; /* their bytes */
} att_gc_stats;

/* Removes every indexed blob that no live attachment record names (sha256 or
 * thumb_sha256), and the partial uploads of such hashes. */
int att_gc(att_env *env, att_gc_stats *out, gs_err *err);

#endif
