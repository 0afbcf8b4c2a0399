/*
 * uuid.h: record ids, UUID version 7 (RFC 9562 section 5.7): 48 bits of Unix milliseconds,
 * version 7, 12 random bits, variant 10, 62 random bits, all random bits from the OS CSPRNG.
 * 16 bytes on the wire; the canonical text form 8-4-4-4-12 lower-case hex for people.
 * Ids made later sort after ids made earlier (to the millisecond), which keeps SQLite's
 * B-trees appending rather than splitting.
 */
#ifndef GS_COMMON_UUID_H
#define GS_COMMON_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_LEN 16
#define UUID_TEXT_LEN 36 /* without the NUL */

/* A new UUIDv7 for the given time; GS_E_RANDOM if the CSPRNG fails. */
int uuid_v7(uint8_t out[UUID_LEN], uint64_t unix_ms);

/* Writes the canonical text form and a NUL into out (UUID_TEXT_LEN + 1 bytes). */
void uuid_format(const uint8_t id[UUID_LEN], char out[UUID_TEXT_LEN + 1]);

/* Parses exactly the canonical form (either case) of len bytes; GS_E_INVALID otherwise. */
int uuid_parse(const char *text, size_t len, uint8_t out[UUID_LEN]);

/* The 48-bit millisecond timestamp of a UUIDv7. */
uint64_t uuid_v7_ms(const uint8_t id[UUID_LEN]);

/* The version nibble (7 for ids made here). */
int uuid_version(const uint8_t id[UUID_LEN]);

#endif
