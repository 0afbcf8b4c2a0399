/*
 * dclock.h: the device's wall clock, corrected by what the server last said the time was.
 *
 * A handheld's clock may be hours behind or days ahead. An HLC never lets a device ahead
 * win (the server refuses changes stamped past its drift guard), but a device behind
 * stamps its edits in the past and loses conflicts to edits made earlier in real time.
 * So every sync measures the offset to the server's wall clock ("clk" of a version 2
 * response, against the midpoint of the request's round trip) and later readings of the
 * clock add it:
 *
 *     corrected = raw wall clock + offset      while the offset is valid
 *
 * The offset stays valid only while the raw clock has not been stepped since it was
 * measured: each measurement keeps the raw and the monotonic clock (CLOCK_BOOTTIME, which
 * counts through suspend and is never set) of that moment, and a reading whose raw clock
 * moved more than DCLOCK_STEP_MS away from the monotonic clock (the worker or the network
 * set the time, or the device rebooted) ignores the offset until the next sync measures a
 * new one. Offsets below DCLOCK_MIN_MS (round-trip noise) are 0, and an offset over
 * DCLOCK_MAX_MS is not believed.
 */
#ifndef GS_CLIENT_DCLOCK_H
#define GS_CLIENT_DCLOCK_H

#include <stdint.h>

#include "common/hlc.h"

#define DCLOCK_STEP_MS 60000u                       /* a raw clock step that voids the offset */
#define DCLOCK_MIN_MS 2000u                         /* offsets below are noise: 0 */
#define DCLOCK_MAX_MS (400ull * 24 * 3600 * 1000)   /* offsets above are not believed */
#define DCLOCK_MAX_RTT_MS 60000u                    /* a round trip too slow to measure by */

typedef struct dclock {
    hlc_clock_fn *raw;      /* the wall clock (tests replace it); ms since 1970 */
    void *raw_ud;           /* passed to raw */
    hlc_clock_fn *mono;     /* the monotonic clock (tests replace it); ms since boot */
    void *mono_ud;          /* passed to mono */
    int64_t offset_ms;      /* server minus raw, when measured; 0: none */
    uint64_t ref_raw;       /* raw clock when it was measured */
    uint64_t ref_mono;      /* monotonic clock when it was measured */
} dclock;

/* Cannot fail: the system clocks, no offset. */
void dclock_init(dclock *dc);
/* The corrected wall clock (an hlc_clock_fn: ud is the dclock). */
uint64_t dclock_now(void *ud);
uint64_t dclock_raw(const dclock *dc);
uint64_t dclock_mono(const dclock *dc);
/* The offset that dclock_now adds at this moment (0 when there is none or it is void). */
int64_t dclock_offset_now(const dclock *dc);
/* One measurement: the request left at raw/mono send_*, the answer came at recv_*, the
 * server's clock said server_ms. Returns 1 when the offset was replaced, 0 when the
 * measurement was not usable (too slow, clocks stepped during it, beyond DCLOCK_MAX_MS). */
int dclock_learn(dclock *dc, uint64_t server_ms, uint64_t send_raw, uint64_t send_mono,
                 uint64_t recv_raw, uint64_t recv_mono);

/* CLOCK_BOOTTIME in ms (CLOCK_MONOTONIC where there is none). */
uint64_t dclock_system_mono(void *ud);

#endif
