/*
 * exif.h: the one fact gridsync reads from a camera's metadata, the EXIF orientation of a
 * JPEG, so that the re-encoded photo (which carries no metadata at all: GPS and serials must
 * not leave the device) is stored the right way up.
 *
 * Untrusted bytes: the parser allocates nothing, reads only inside [p, p + n), and answers 1
 * ("as stored") for anything it does not understand. Fuzzed by tests/fuzz/fuzz_exif.c.
 */
#ifndef GS_CLIENT_EXIF_H
#define GS_CLIENT_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* The EXIF orientation tag (0x0112) of IFD0 in the first APP1 "Exif" segment of the JPEG at
 * p (n bytes): 1..8 as TIFF defines them, 1 when absent, out of range or malformed. Stops at
 * the first SOS marker (metadata comes before the image data). */
int exif_orientation(const uint8_t *p, size_t n);

#endif
