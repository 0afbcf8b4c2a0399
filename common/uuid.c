/* uuid.c: see uuid.h. */
#include "uuid.h"

#include "hex.h"
#include "rand.h"
#include "rc.h"

int uuid_v7(uint8_t out[UUID_LEN], uint64_t unix_ms)
{
    uint8_t id[UUID_LEN];
    int rc = rand_bytes(id + 6, UUID_LEN - 6);
    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
    id[6] = (uint8_t)(0x70 | (id[6] & 0x0F)); /* version 7 */
    id[8] = (uint8_t)(0x80 | (id[8] & 0x3F)); /* variant 10 */
    for (int i = 0; i < UUID_LEN; i++)
        out[i] = id[i];
    return GS_OK;
}

void uuid_format(const uint8_t id[UUID_LEN], char out[UUID_TEXT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (int i = 0; i < UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 0xF];
    }
    out[o] = '\0';
}

int uuid_parse(const char *text, size_t len, uint8_t out[UUID_LEN])
{
    uint8_t id[UUID_LEN];
    size_t pos = 0;

    if (!text || len != UUID_TEXT_LEN)
        return GS_E_INVALID;
    for (int i = 0; i < UUID_LEN; i++) {
        int hi, lo;
        if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
            if (text[pos] != '-')
                return GS_E_INVALID;
            pos++;
        }
        hi = hex_digit(text[pos]);
        lo = hex_digit(text[pos + 1]);
        if (hi < 0 || lo < 0)
            return GS_E_INVALID;
        id[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    for (int i = 0; i < UUID_LEN; i++)
        out[i] = id[i];
    return GS_OK;
}

uint64_t uuid_v7_ms(const uint8_t id[UUID_LEN])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | id[i];
    return ms;
}

int uuid_version(const uint8_t id[UUID_LEN])
{
    return id[6] >> 4;
}
