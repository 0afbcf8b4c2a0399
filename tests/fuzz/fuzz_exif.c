/*
 * fuzz_exif.c: the EXIF orientation parser (client/exif.c) on arbitrary bytes: it must read
 * only inside the input and always answer 1..8.
 */
#include "client/exif.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int o = exif_orientation(data, size);
    if (o < 1 || o > 8)
        abort();
    return 0;
}
