/* gate.c: see gate.h. */
#include "gate.h"

#include <errno.h>
#include <time.h>

void gate_init(srv_gate *g, int slots)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    g->lock = m;
    g->freed = c;
    g->busy = 0;
    g->slots = slots;
}

void gate_destroy(srv_gate *g)
{
    pthread_cond_destroy(&g->freed);
    pthread_mutex_destroy(&g->lock);
}

int gate_enter(srv_gate *g, int wait_ms)
{
    struct timespec until;
    int got, r = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->lock);
    while (g->busy >= g->slots && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&g->freed, &g->lock, &until);
    got = g->busy < g->slots;
    if (got)
        g->busy++;
    pthread_mutex_unlock(&g->lock);
    return got;
}

void gate_leave(srv_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->busy--;
    pthread_cond_signal(&g->freed);
    pthread_mutex_unlock(&g->lock);
}
