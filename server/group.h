/*
 * group.h: group commit of syncs. A commit is one WAL write and one fsync, a fixed cost
 * that a 100-change request pays as fully as a 5,000-change one: with many devices syncing
 * at once the server spent more time committing than merging. So syncs that reach the
 * store lock while others are being applied share one transaction:
 *
 *   group_lock       counts the caller as waiting, takes the store lock
 *   group_join       opens the group's transaction if none is open; a savepoint for this batch
 *   ... the batch is merged, its answer encoded ...
 *   group_leave      keeps the batch (RELEASE) or undoes it alone (ROLLBACK TO); when no
 *                    other sync is waiting for the lock (or the group is full) commits for
 *                    every member; else sleeps, lock released, until a later member or
 *                    group_flush commits; returns the commit's outcome
 *
 * What holds (issue 14, and the promises of PROTOCOL.md):
 *  - a batch is applied entirely or not at all: its savepoint is undone on its own failure
 *    and the others' batches stay; a failed commit fails every member (500, nothing applied);
 *  - no member answers before the commit that holds its batch is durable, so an ACK never
 *    names a change a crash could lose, and a pulled change is always committed;
 *  - one sync alone commits at once, as before (nobody is waiting): latency is unchanged
 *    without load and, under load, a member waits at most for the syncs queued behind it
 *    (at most GROUP_MAX members a transaction);
 *  - any other store use that writes or must see committed state takes the lock and calls
 *    group_flush first (the admin API, a failed sync's note).
 */
#ifndef GS_SERVER_GROUP_H
#define GS_SERVER_GROUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/rc.h"
#include "store.h"

/* Members one transaction holds at most: bounds the first member's wait. */
#define GROUP_MAX 64

typedef struct group_member {
    int done;                  /* set when the group it joined has ended */
    int rc;                    /* that group's outcome */
    gs_err err;                /* its message when rc != GS_OK */
    struct group_member *next; /* the next member of the same group */
} group_member;

typedef struct sync_group {
    pthread_mutex_t *lock;    /* the store lock (the caller's) */
    pthread_cond_t ended;     /* broadcast when a group ends */
    store *st;                /* the store the transaction is on */
    int open;                 /* a group transaction is open */
    int in_savepoint;         /* the batch being applied has a savepoint (not the first) */
    uint32_t n;               /* batches kept in the open transaction */
    group_member *members;    /* their members, waiting for the commit */
    _Atomic uint32_t waiting; /* syncs between group_lock's call and the lock */
    _Atomic uint64_t *commits; /* counts group transactions committed (may be NULL) */
} sync_group;

/* Cannot fail but for GS_E_NOMEM (the condition variable). lock guards st; commits counts
 * the transactions committed (srv_metrics.sync_commits; may be NULL). */
int group_init(sync_group *g, pthread_mutex_t *lock, store *st, _Atomic uint64_t *commits);
void group_free(sync_group *g);

/* Takes the store lock for a sync, counted as waiting while it blocks. */
void group_lock(sync_group *g);
/* With the lock: the group's transaction (opened if none is) and a savepoint for this batch.
 * On failure call group_leave all the same, with the code. */
int group_join(sync_group *g, gs_err *err);
/* With the lock, after group_join: rc is the batch's own outcome. A failed batch is undone
 * alone and its code returned at once; a kept one returns the outcome of the commit that
 * holds it (err set on failure). The lock is held again on return. */
int group_leave(sync_group *g, group_member *me, int rc, gs_err *err);
/* With the lock: commits an open group, telling its members. For every store user but the
 * syncs themselves; harmless without an open group, and g may be NULL (tests). */
void group_flush(sync_group *g);

#endif
