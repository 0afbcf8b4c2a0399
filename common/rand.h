/* rand.h: bytes from the operating system's CSPRNG (getrandom(2)). */
#ifndef GS_COMMON_RAND_H
#define GS_COMMON_RAND_H

#include <stddef.h>

/* Fills buf with n unpredictable bytes; GS_E_RANDOM if the kernel cannot supply them. */
int rand_bytes(void *buf, size_t n);

#endif
