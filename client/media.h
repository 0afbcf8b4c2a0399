/*
 * media.h: what an attachment's bytes become before they are stored on the device.
 *
 *   JPEG, PNG --decode (dimensions checked before any pixel buffer)--> RGB
 *             --shrink to long side, apply the EXIF orientation--> JPEG at quality q
 *             --shrink again--> thumbnail JPEG
 *   PDF       kept byte for byte (it must start with "%PDF-"), no thumbnail
 *
 * The re-encoded JPEG is written by libjpeg-turbo from pixels alone: it carries a JFIF header
 * and nothing else, so EXIF (the camera's GPS, its serial number), XMP, ICC and comments are
 * gone. Anything else is refused (GS_E_INVALID: "not a JPEG, PNG or PDF"), as is an image
 * whose header promises more than MEDIA_MAX_SIDE per side or more pixels than the caps below
 * (GS_E_TOO_LARGE: a decompression bomb is refused from its header, before allocation).
 * Input bytes are untrusted; this module keeps no state.
 */
#ifndef GS_CLIENT_MEDIA_H
#define GS_CLIENT_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"

#define MEDIA_MAX_INPUT (32u * 1024u * 1024u) /* bytes of a file given to attach */
#define MEDIA_MAX_SIDE 16384                  /* pixels of either side */
/* A JPEG is decoded already scaled down (libjpeg-turbo's 1/2, 1/4, 1/8 IDCT), so its cap is
 * on the header; a PNG has no such trick and is decoded whole, hence the smaller cap. */
#define MEDIA_MAX_JPEG_PIXELS (100u * 1000u * 1000u)
#define MEDIA_MAX_PNG_PIXELS (24u * 1000u * 1000u)

typedef enum media_kind {
    MEDIA_JPEG = 1, /* stored as image/jpeg (photos, PNG screenshots and scans) */
    MEDIA_PDF = 2,  /* stored as application/pdf, as given */
} media_kind;

typedef struct media_opts {
    int long_side;  /* pixels of the stored image's longer side (smaller images are kept) */
    int quality;    /* JPEG quality 1..100 */
    int thumb_side; /* pixels of the thumbnail's longer side */
} media_opts;

typedef struct media_out {
    media_kind kind;  /* what full holds */
    uint8_t *full;    /* the bytes to store (gs_malloc'd) */
    size_t full_len;  /* bytes in full */
    uint8_t *thumb;   /* the thumbnail JPEG (gs_malloc'd), NULL for a PDF */
    size_t thumb_len; /* bytes in thumb */
    int width;        /* of the stored image, after orientation; 0 for a PDF */
    int height;
    int thumb_width;  /* of the thumbnail */
    int thumb_height;
} media_out;

/* Turns n bytes at in into *out (written only on success; free with media_out_free). */
int media_prepare(const uint8_t *in, size_t n, const media_opts *opts, media_out *out,
                  gs_err *err);
void media_out_free(media_out *out);

#endif
