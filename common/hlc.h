/*
 * hlc.h: hybrid logical clock (Kulkarni et al.), 64 bits: the high 48 bits are physical
 * milliseconds since the Unix epoch, the low 16 bits a logical counter.
 *
 *   63                              16 15            0
 *   +---------------------------------+---------------+
 *   |   physical ms since 1970 (48)   | logical (16)  |
 *   +---------------------------------+---------------+
 *
 * Invariants kept by every operation that succeeds:
 *  - the value returned is strictly greater than every value this clock returned before,
 *    even when the wall clock steps backwards (the physical part then stays put and the
 *    counter advances);
 *  - when the counter would pass 0xFFFF the physical part is advanced by one millisecond and
 *    the counter restarts at 0, so the clock never wraps and runs ahead of the wall clock by
 *    at most one millisecond per 65,536 events in that millisecond;
 *  - hlc_recv refuses (GS_E_CLOCK, clock unchanged) a remote timestamp whose physical part is
 *    more than max_drift_ms ahead of the local wall clock: one handheld that thinks it is 2031
 *    must not drag every clock it talks to into 2031.
 * Comparing two HLC values as unsigned integers orders them; ties between devices are broken
 * by the caller (by device id).
 */
#ifndef GS_COMMON_HLC_H
#define GS_COMMON_HLC_H

#include <stdint.h>

#define HLC_LOGICAL_BITS 16
#define HLC_LOGICAL_MAX 0xFFFFu
#define HLC_PHYSICAL_MAX ((UINT64_C(1) << 48) - 1)

/* Returns wall-clock milliseconds since the Unix epoch. */
typedef uint64_t hlc_clock_fn(void *ud);

typedef struct hlc {
    uint64_t last;          /* the last value issued or observed; 0 before the first */
    uint64_t max_drift_ms;  /* how far ahead of our wall clock a remote timestamp may be */
    hlc_clock_fn *clock;    /* wall clock; NULL means CLOCK_REALTIME */
    void *clock_ud;         /* passed to clock */
} hlc;

/* Cannot fail. last may be a value persisted earlier (0 for a new clock). */
void hlc_init(hlc *c, uint64_t last, uint64_t max_drift_ms, hlc_clock_fn *clock, void *ud);

/* A timestamp for a local event or a send. GS_E_CLOCK only if the physical part would pass
 * 2^48 - 1 ms (the year 10889). */
int hlc_now(hlc *c, uint64_t *out);

/* Merges a timestamp received from a peer and returns a timestamp for the receive event,
 * greater than both the remote one and every earlier local one. GS_E_CLOCK, with the clock
 * unchanged, when remote is further ahead than max_drift_ms. */
int hlc_recv(hlc *c, uint64_t remote, uint64_t *out);

/* Checks only the drift guard of hlc_recv, without changing the clock. */
int hlc_check_drift(const hlc *c, uint64_t remote);

static inline uint64_t hlc_physical(uint64_t t)
{
    return t >> HLC_LOGICAL_BITS;
}

static inline uint32_t hlc_logical(uint64_t t)
{
    return (uint32_t)(t & HLC_LOGICAL_MAX);
}

static inline uint64_t hlc_pack(uint64_t physical_ms, uint32_t logical)
{
    return (physical_ms << HLC_LOGICAL_BITS) | (logical & HLC_LOGICAL_MAX);
}

/* The wall clock used when none is given: CLOCK_REALTIME in milliseconds. */
uint64_t hlc_wall_ms(void *ud);

#endif
