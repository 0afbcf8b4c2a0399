/*
 * exif.c: see exif.h. JPEG markers are walked from SOI: each is 0xFF, any number of 0xFF
 * fill bytes, a code, and (except for the stand-alone codes) a 2-byte big-endian length that
 * counts itself. An APP1 segment starting "Exif\0\0" holds a TIFF structure: byte order
 * ("II" little, "MM" big), 42, the offset of IFD0; an IFD is a 2-byte count and 12-byte
 * entries (tag, type, count, value or offset). Offsets are relative to the TIFF header and
 * are checked against the segment's length, never against the file's.
 */
#include "exif.h"

#include <string.h>

#define TAG_ORIENTATION 0x0112u
#define TYPE_SHORT 3u

static unsigned get16(const uint8_t *p, int little)
{
    return little ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p, int little)
{
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The orientation in the TIFF structure t (len bytes), or 1. */
static int tiff_orientation(const uint8_t *t, size_t len)
{
    int little;
    size_t ifd, count;

    if (len < 8)
        return 1;
    if (t[0] == 'I' && t[1] == 'I')
        little = 1;
    else if (t[0] == 'M' && t[1] == 'M')
        little = 0;
    else
        return 1;
    if (get16(t + 2, little) != 42)
        return 1;
    ifd = get32(t + 4, little);
    if (ifd > len || len - ifd < 2)
        return 1;
    count = get16(t + ifd, little);
    /* never trust the count: at most the entries that fit in the segment */
    if (count > (len - ifd - 2) / 12)
        count = (len - ifd - 2) / 12;
    for (size_t k = 0; k < count; k++) {
        const uint8_t *e = t + ifd + 2 + 12 * k;
        if (get16(e, little) != TAG_ORIENTATION)
            continue;
        if (get16(e + 2, little) != TYPE_SHORT || get32(e + 4, little) < 1)
            return 1;
        unsigned v = get16(e + 8, little); /* a SHORT sits left-justified in the value */
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int exif_orientation(const uint8_t *p, size_t n)
{
    size_t i = 2;

    if (!p || n < 4 || p[0] != 0xFF || p[1] != 0xD8)
        return 1;
    while (i < n) {
        unsigned code;
        size_t seg_len;

        if (p[i] != 0xFF)
            return 1; /* not a marker where one must be: give up */
        while (i < n && p[i] == 0xFF)
            i++;
        if (i >= n)
            return 1;
        code = p[i++];
        if (code == 0xD9 || code == 0xDA) /* EOI, SOS: no metadata after this */
            return 1;
        if (code == 0x01 || (code >= 0xD0 && code <= 0xD7)) /* TEM, RSTn: no length */
            continue;
        if (n - i < 2)
            return 1;
        seg_len = (size_t)p[i] << 8 | p[i + 1];
        if (seg_len < 2 || seg_len > n - i)
            return 1;
        if (code == 0xE1 && seg_len - 2 >= 6 && memcmp(p + i + 2, "Exif\0\0", 6) == 0)
            return tiff_orientation(p + i + 8, seg_len - 8);
        i += seg_len;
    }
    return 1;
}
