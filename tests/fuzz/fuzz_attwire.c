/*
 * fuzz_attwire.c: libFuzzer target for the attachment wire (proto/attwire.c): the request
 * target parser of /v1/attachments/<sha256>?att=..&offset=..&length=.. and the State
 * decoder. Input: everything up to the first '?' is the path, the rest the query; the same
 * bytes are also fed to the State decoder. Traps on broken promises: a parsed target has a
 * 64 lower-case hex hash and a 36-byte id; a decoded State has off <= size, done only at
 * size, and encodes back to bytes that decode to the same State.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "proto/attwire.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *q = memchr(p, '?', size);
    size_t plen = q ? (size_t)(q - p) : size;
    attwire_req r;
    attwire_state st, back;
    const char *why = NULL;

    if (attwire_parse(p, plen, q ? q + 1 : NULL, q ? size - plen - 1 : 0, &r, &why) == GS_OK) {
        CHECK(strlen(r.sha256) == 64 && strlen(r.att) == 36);
        for (int i = 0; i < 64; i++)
            CHECK((r.sha256[i] >= '0' && r.sha256[i] <= '9') ||
                  (r.sha256[i] >= 'a' && r.sha256[i] <= 'f'));
        CHECK(!r.has_length || r.length > 0);
    }
    if (attwire_decode_state(data, size, &st) == GS_OK) {
        gs_buf b;
        CHECK(st.off <= st.size && (!st.done || st.off == st.size));
        buf_init(&b, 1024);
        CHECK(attwire_encode_state(&b, &st) == GS_OK);
        CHECK(attwire_decode_state(b.ptr, b.len, &back) == GS_OK);
        CHECK(back.off == st.off && back.size == st.size && back.done == st.done);
        buf_free(&b);
    }
    return 0;
}
