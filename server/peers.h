/*
 * peers.h: open connections counted per source address, for the per-address connection cap
 * (net.c). One slot per distinct address with an open connection; the poller thread alone
 * uses it.
 *
 * An address key is the IPv4 address, or the /64 prefix of an IPv6 address: a mobile
 * network hands each subscriber a /64, so one attacker owns 2^64 addresses of it, and
 * counting whole IPv6 addresses would give no cap at all. An IPv4-mapped IPv6 address
 * counts as its IPv4 address.
 *
 * Invariant: every slot in use has count >= 1; n_used <= cap (the table has one slot per
 * possible connection, so peers_add cannot run out of room while open <= max_connections).
 */
#ifndef GS_SERVER_PEERS_H
#define GS_SERVER_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct peer_key {
    unsigned char b[9]; /* family byte (4 or 6), then 4 (IPv4) or 8 (IPv6 /64) address bytes */
} peer_key;

typedef struct peer_slot {
    peer_key key; /* the address */
    int count;    /* connections open from it */
} peer_slot;

typedef struct peer_table {
    peer_slot *slots; /* n_used slots in use, packed at the front */
    size_t n_used;    /* distinct addresses with an open connection */
    size_t cap;       /* slots allocated */
} peer_table;

/* Allocates room for cap distinct addresses; GS_E_NOMEM. */
int peers_init(peer_table *t, size_t cap);
void peers_free(peer_table *t);

/* The key of a socket address (AF_INET or AF_INET6; anything else is one shared key). */
peer_key peers_key(const struct sockaddr_storage *ss);

/* 1 if a and b are the same address key. */
int peers_same(const peer_key *a, const peer_key *b);

/* Connections open from key now (0 when none). */
int peers_count(const peer_table *t, const peer_key *key);

/* Counts one more connection from key; GS_E_NOMEM only when the table is full (a caller
 * bug: the table is sized for max_connections). */
int peers_add(peer_table *t, const peer_key *key);

/* Counts one connection less from key (no-op for a key not in the table). */
void peers_remove(peer_table *t, const peer_key *key);

#endif
