/*
 * dclock.c: see dclock.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "dclock.h"

#include <time.h>

uint64_t dclock_system_mono(void *ud)
{
    struct timespec ts;
    (void)ud;
#ifdef CLOCK_BOOTTIME
    if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void dclock_init(dclock *dc)
{
    dc->raw = hlc_wall_ms;
    dc->raw_ud = NULL;
    dc->mono = dclock_system_mono;
    dc->mono_ud = NULL;
    dc->offset_ms = 0;
    dc->ref_raw = 0;
    dc->ref_mono = 0;
}

uint64_t dclock_raw(const dclock *dc)
{
    return dc->raw(dc->raw_ud);
}

uint64_t dclock_mono(const dclock *dc)
{
    return dc->mono(dc->mono_ud);
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

int64_t dclock_offset_now(const dclock *dc)
{
    uint64_t raw, mono;

    if (dc->offset_ms == 0)
        return 0;
    raw = dclock_raw(dc);
    mono = dclock_mono(dc);
    /* a reboot restarts the monotonic clock; a set clock moves the raw one alone */
    if (mono < dc->ref_mono)
        return 0;
    {
        int64_t ran_raw = (int64_t)raw - (int64_t)dc->ref_raw;
        int64_t ran_mono = (int64_t)(mono - dc->ref_mono);
        int64_t d = ran_raw - ran_mono;
        if (d > (int64_t)DCLOCK_STEP_MS || d < -(int64_t)DCLOCK_STEP_MS)
            return 0;
    }
    return dc->offset_ms;
}

uint64_t dclock_now(void *ud)
{
    const dclock *dc = ud;
    uint64_t raw = dclock_raw(dc);
    int64_t off = dclock_offset_now(dc);

    if (off < 0 && (uint64_t)-off > raw)
        return 0;
    return (uint64_t)((int64_t)raw + off);
}

int dclock_learn(dclock *dc, uint64_t server_ms, uint64_t send_raw, uint64_t send_mono,
                 uint64_t recv_raw, uint64_t recv_mono)
{
    uint64_t rtt, mid;
    int64_t off;

    if (server_ms == 0 || recv_mono < send_mono || recv_raw < send_raw)
        return 0;
    rtt = recv_mono - send_mono;
    /* the raw clock must have run with the monotonic one during the exchange */
    if (rtt > DCLOCK_MAX_RTT_MS || absdiff(recv_raw - send_raw, rtt) > 1000)
        return 0;
    mid = send_raw + (recv_raw - send_raw) / 2;
    if (absdiff(server_ms, mid) > DCLOCK_MAX_MS)
        return 0;
    off = server_ms >= mid ? (int64_t)(server_ms - mid) : -(int64_t)(mid - server_ms);
    if (absdiff(server_ms, mid) < DCLOCK_MIN_MS)
        off = 0;
    dc->offset_ms = off;
    dc->ref_raw = recv_raw;
    dc->ref_mono = recv_mono;
    return 1;
}
