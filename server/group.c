/*
 * group.c: group commit of syncs (see group.h for what holds and why).
 */
#include "group.h"

#include <string.h>

int group_init(sync_group *g, pthread_mutex_t *lock, store *st, _Atomic uint64_t *commits)
{
    memset(g, 0, sizeof(*g));
    g->lock = lock;
    g->st = st;
    g->commits = commits;
    atomic_init(&g->waiting, 0);
    return pthread_cond_init(&g->ended, NULL) == 0 ? GS_OK : GS_E_NOMEM;
}

void group_free(sync_group *g)
{
    pthread_cond_destroy(&g->ended);
}

void group_lock(sync_group *g)
{
    atomic_fetch_add(&g->waiting, 1);
    pthread_mutex_lock(g->lock);
    atomic_fetch_sub(&g->waiting, 1);
}

/* Ends the open group: commits what it holds (or, with fail set, rolls it back) and tells
 * every member the outcome. */
static void group_end(sync_group *g, int fail, const gs_err *why)
{
    gs_err err;
    int rc = fail;

    gs_err_clear(&err);
    if (fail)
        err = *why;
    if (!rc && g->n)
        rc = store_commit(g->st, &err);
    if (rc || !g->n)
        store_rollback(g->st); /* nothing kept: nothing to write */
    if (!rc && g->n && g->commits)
        atomic_fetch_add(g->commits, 1);
    for (group_member *m = g->members, *next; m; m = next) {
        next = m->next; /* m may go as soon as done is seen */
        m->rc = rc;
        m->err = err;
        m->done = 1;
    }
    g->members = NULL;
    g->n = 0;
    g->open = 0;
    pthread_cond_broadcast(&g->ended);
}

int group_join(sync_group *g, gs_err *err)
{
    int rc;

    /* the first batch of a group needs no savepoint: the transaction holds nothing else, so
     * undoing it is rolling the transaction back (and a savepoint's journal of the pages it
     * changes is work a sync alone would do for nothing) */
    g->in_savepoint = 0;
    if (!g->open) {
        rc = store_begin(g->st, err);
        if (rc)
            return rc;
        g->open = 1;
        return GS_OK;
    }
    rc = store_savepoint(g->st, err);
    if (rc) {
        group_end(g, rc, err);
        return rc;
    }
    g->in_savepoint = 1;
    return GS_OK;
}

int group_leave(sync_group *g, group_member *me, int rc, gs_err *err)
{
    if (!g->open)
        return rc ? rc : gs_err_set(err, GS_E_STATE, "no open transaction");
    if (!rc && g->in_savepoint)
        rc = store_release(g->st, err);
    if (rc) {
        gs_err lost;
        /* this batch alone goes; when the transaction went with it, everyone's did */
        if (!g->in_savepoint) {
            group_end(g, rc, err); /* it was the only one: roll back */
        } else if (store_rollback_to(g->st) != GS_OK) {
            gs_err_set(&lost, GS_E_DB, "the transaction was lost with another batch: %s",
                       err->msg);
            group_end(g, GS_E_DB, &lost);
        } else if (atomic_load(&g->waiting) == 0) {
            group_end(g, 0, NULL);
        }
        return rc;
    }
    me->done = 0;
    me->rc = GS_OK;
    me->next = g->members;
    g->members = me;
    g->n++;
    if (atomic_load(&g->waiting) == 0 || g->n >= GROUP_MAX)
        group_end(g, 0, NULL);
    while (!me->done)
        pthread_cond_wait(&g->ended, g->lock);
    if (me->rc)
        *err = me->err;
    return me->rc;
}

void group_flush(sync_group *g)
{
    if (g && g->open)
        group_end(g, 0, NULL);
}
