/*
 * gate.h: a counting gate that lets at most `slots` holders through at once, waiting a
 * bounded time for a slot. The sync handler passes large bodies through one (api.c) so that
 * inflating and decoding 8 MiB requests, each costing tens of MB while it lasts, happens
 * for at most APP_LARGE_DECODES requests at a time whatever arrives.
 *
 * Invariant: 0 <= busy <= slots; cannot fail (static initialisers; no allocation).
 */
#ifndef GS_SERVER_GATE_H
#define GS_SERVER_GATE_H

#include <pthread.h>

typedef struct srv_gate {
    pthread_mutex_t lock; /* guards busy */
    pthread_cond_t freed; /* signalled when a slot is given back */
    int busy;             /* holders now */
    int slots;            /* holders at most */
} srv_gate;

void gate_init(srv_gate *g, int slots);
void gate_destroy(srv_gate *g);

/* Takes a slot, waiting at most wait_ms for one: 1 when taken, 0 when none came. */
int gate_enter(srv_gate *g, int wait_ms);

/* Gives back a slot taken by gate_enter. */
void gate_leave(srv_gate *g);

#endif
