/*
 * peers.c: per-address connection counts (see peers.h).
 *
 * A packed array searched linearly: the poller looks an address up once per accept and
 * once per close, and with at most max_connections slots (4,096 by default) a scan of
 * 9-byte keys costs a few microseconds, far below the TLS handshake every accept leads to.
 */
#include "peers.h"

#include <netinet/in.h>
#include <string.h>

#include "common/alloc.h"
#include "common/rc.h"

int peers_init(peer_table *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->slots = gs_calloc(cap ? cap : 1, sizeof(*t->slots));
    if (!t->slots)
        return GS_E_NOMEM;
    t->cap = cap ? cap : 1;
    return GS_OK;
}

void peers_free(peer_table *t)
{
    gs_free(t->slots);
    memset(t, 0, sizeof(*t));
}

peer_key peers_key(const struct sockaddr_storage *ss)
{
    peer_key k;
    memset(&k, 0, sizeof(k));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        k.b[0] = 4;
        memcpy(k.b + 1, &a->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            k.b[0] = 4;
            memcpy(k.b + 1, a->sin6_addr.s6_addr + 12, 4);
        } else {
            k.b[0] = 6;
            memcpy(k.b + 1, a->sin6_addr.s6_addr, 8); /* the /64 */
        }
    }
    return k;
}

int peers_same(const peer_key *a, const peer_key *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static peer_slot *find(const peer_table *t, const peer_key *key)
{
    for (size_t i = 0; i < t->n_used; i++)
        if (peers_same(&t->slots[i].key, key))
            return &t->slots[i];
    return NULL;
}

int peers_count(const peer_table *t, const peer_key *key)
{
    const peer_slot *s = find(t, key);
    return s ? s->count : 0;
}

int peers_add(peer_table *t, const peer_key *key)
{
    peer_slot *s = find(t, key);
    if (s) {
        s->count++;
        return GS_OK;
    }
    if (t->n_used >= t->cap)
        return GS_E_NOMEM;
    t->slots[t->n_used].key = *key;
    t->slots[t->n_used].count = 1;
    t->n_used++;
    return GS_OK;
}

void peers_remove(peer_table *t, const peer_key *key)
{
    peer_slot *s = find(t, key);
    if (!s)
        return;
    if (--s->count == 0)
        *s = t->slots[--t->n_used];
}
