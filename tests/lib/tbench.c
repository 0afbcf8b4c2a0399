/*
 * tbench.c: what the benchmarks share (tbench.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "tbench.h"

#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tbench_now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

double tbench_cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

uint64_t tbench_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

void tbench_uuid7(uint8_t id[16], uint64_t ms, uint64_t *seed)
{
    uint64_t a = tbench_rng(seed), b = tbench_rng(seed);
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(id + 6, &a, 2);
    memcpy(id + 8, &b, 8);
    id[6] = (uint8_t)(0x70 | (id[6] & 0x0f));
    id[8] = (uint8_t)(0x80 | (id[8] & 0x3f));
}

int tbench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
