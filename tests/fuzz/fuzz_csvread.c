/*
 * fuzz_csvread.c: the CSV reader (common/csvread.c) on arbitrary bytes: it reads only inside
 * the input, always ends (every record moves on), every field it gives is NUL-terminated
 * inside its buffer, and line numbers never go back.
 */
#include "common/csvread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static csv_reader r;
    const char *f[CSV_FIELDS_MAX];
    size_t n, line = 0, before;
    gs_err err;
    int rc;

    csv_init(&r, (const char *)data, size);
    for (;;) {
        before = r.pos;
        rc = csv_next(&r, f, CSV_FIELDS_MAX, &n, &err);
        if (rc != 1)
            break;
        if (r.pos <= before || r.line < line || n == 0 || n > CSV_FIELDS_MAX)
            abort();
        line = r.line;
        for (size_t i = 0; i < n; i++)
            if (f[i] < r.buf || f[i] + strlen(f[i]) >= r.buf + sizeof(r.buf))
                abort();
    }
    if (rc != 0 && rc != GS_E_INVALID)
        abort();
    return 0;
}
