/*
 * fuzz_enroll.c: the enrolment URI and code parsers (proto/enroll.c) on arbitrary text, what
 * a handheld reads from any QR code put in front of it: they must read only inside the
 * input, and what they accept must format back and parse to the same thing.
 */
#include "proto/enroll.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), canon[ENROLL_CODE_LEN + 1], uri[ENROLL_URI_MAX + 1];
    enroll_uri u, again;
    gs_err err;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the text, as it would for a C string */
    if (enroll_code_canon(text, canon, &err) == GS_OK && strlen(canon) != ENROLL_CODE_LEN)
        abort();
    if (enroll_uri_parse(text, &u, &err) == GS_OK) {
        if (enroll_uri_format(u.server, u.code, u.fp, uri, sizeof(uri), &err) == GS_OK) {
            if (enroll_uri_parse(uri, &again, &err) != GS_OK || strcmp(again.server, u.server) ||
                strcmp(again.code, u.code) || strcmp(again.fp, u.fp))
                abort();
        }
    }
    free(text);
    return 0;
}
