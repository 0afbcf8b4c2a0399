/*
 * tbench.h: what the benchmarks (tests/bench/) share: clocks, the seeded generator their
 * data sets come from (the same seed gives the same town in every run), and the comparison
 * their medians sort with.
 */
#ifndef GS_TESTS_TBENCH_H
#define GS_TESTS_TBENCH_H

#include <stdint.h>

/* Seconds on the monotonic clock. */
double tbench_now_s(void);
/* Seconds of CPU this process has used, all its threads. */
double tbench_cpu_s(void);
/* The next number of a xorshift64* sequence in *s (not 0). */
uint64_t tbench_rng(uint64_t *s);
/* A UUIDv7 of time ms whose other bits come from *seed. */
void tbench_uuid7(uint8_t id[16], uint64_t ms, uint64_t *seed);
/* qsort's comparison of doubles, ascending. */
int tbench_cmp_double(const void *a, const void *b);

#endif
