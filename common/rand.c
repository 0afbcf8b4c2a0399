/* rand.c: getrandom(2) with EINTR retry and short-read handling. Blocks only until the
 * kernel's pool is first initialised at boot. */
#define _GNU_SOURCE
#include "rand.h"

#include "rc.h"

#include <errno.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return GS_E_RANDOM;
        }
        p += got;
        n -= (size_t)got;
    }
    return GS_OK;
}
