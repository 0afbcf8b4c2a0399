/*
 * hlc.c: see hlc.h for the invariants. The algorithm, with pt = wall clock:
 *
 *   now:   l' = max(l.phys, pt); c' = (l' == l.phys) ? l.c + 1 : 0
 *   recv:  l' = max(l.phys, r.phys, pt);
 *          c' = l'==l.phys==r.phys ? max(l.c, r.c) + 1
 *             : l'==l.phys         ? l.c + 1
 *             : l'==r.phys         ? r.c + 1
 *             :                      0
 *   and in both, c' > 0xFFFF carries into the physical part.
 */
#define _POSIX_C_SOURCE 200809L
#include "hlc.h"

#include "rc.h"

#include <time.h>

uint64_t hlc_wall_ms(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hlc_init(hlc *c, uint64_t last, uint64_t max_drift_ms, hlc_clock_fn *clock, void *ud)
{
    c->last = last;
    c->max_drift_ms = max_drift_ms;
    c->clock = clock ? clock : hlc_wall_ms;
    c->clock_ud = ud;
}

static uint64_t wall(const hlc *c)
{
    uint64_t pt = c->clock(c->clock_ud);
    return pt > HLC_PHYSICAL_MAX ? HLC_PHYSICAL_MAX : pt;
}

/* Packs (phys, logical) with the counter carry; fails only past the 48-bit range. */
static int finish(hlc *c, uint64_t phys, uint64_t logical, uint64_t *out)
{
    if (logical > HLC_LOGICAL_MAX) {
        phys += logical >> HLC_LOGICAL_BITS;
        logical &= HLC_LOGICAL_MAX;
    }
    if (phys > HLC_PHYSICAL_MAX)
        return GS_E_CLOCK;
    c->last = hlc_pack(phys, (uint32_t)logical);
    *out = c->last;
    return GS_OK;
}

int hlc_now(hlc *c, uint64_t *out)
{
    uint64_t pt = wall(c);
    uint64_t lp = hlc_physical(c->last);

    if (pt > lp)
        return finish(c, pt, 0, out);
    return finish(c, lp, (uint64_t)hlc_logical(c->last) + 1, out);
}

int hlc_check_drift(const hlc *c, uint64_t remote)
{
    uint64_t pt = wall(c);
    uint64_t rp = hlc_physical(remote);

    if (rp > pt && rp - pt > c->max_drift_ms)
        return GS_E_CLOCK;
    return GS_OK;
}

int hlc_recv(hlc *c, uint64_t remote, uint64_t *out)
{
    uint64_t pt = wall(c);
    uint64_t lp = hlc_physical(c->last), rp = hlc_physical(remote);
    uint64_t lc = hlc_logical(c->last), rc = hlc_logical(remote);
    uint64_t np = pt;

    if (rp > pt && rp - pt > c->max_drift_ms)
        return GS_E_CLOCK;
    if (lp > np)
        np = lp;
    if (rp > np)
        np = rp;
    if (np == lp && np == rp)
        return finish(c, np, (lc > rc ? lc : rc) + 1, out);
    if (np == lp)
        return finish(c, np, lc + 1, out);
    if (np == rp)
        return finish(c, np, rc + 1, out);
    return finish(c, np, 0, out);
}
