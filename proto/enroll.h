/*
 * enroll.h: the enrolment code and the enrolment URI (PROTOCOL.md 11), the one parser and
 * the one formatter of both, for gridsyncd (which hashes the code), gridsync-admin (which
 * prints the URI as a QR code) and the device (`gridsync enroll CODE-OR-URI`).
 *
 *   code   16 characters of Crockford's base32 (80 random bits), shown in groups of four:
 *          "7K3M-Q9XT-4DRA-VW2N". Read back case-insensitively, dashes and blanks dropped,
 *          O read as 0 and I, L as 1. Its canonical form (16 upper-case characters, no
 *          dash) is what the server hashes.
 *   URI    gridsync://enroll?u=SERVER&c=CODE&fp=SHA256HEX
 *          u   the server's https:// URL, percent-encoded where RFC 3986 wants it
 *          c   the code (either form)
 *          fp  the SHA-256 of the CA certificate's DER, 64 hex digits
 *          Parameters in any order; an unknown one is ignored (later versions may add
 *          some); each of u, c, fp exactly once.
 *
 * Pure text in, text out: no allocation, no I/O.
 */
#ifndef GS_PROTO_ENROLL_H
#define GS_PROTO_ENROLL_H

#include <stddef.h>

#include "common/rc.h"

#define ENROLL_CODE_LEN 16                       /* canonical characters */
#define ENROLL_CODE_SHOWN (ENROLL_CODE_LEN + 3)  /* with the three dashes */
#define ENROLL_CODE_BYTES 10                     /* random bytes behind a code */
#define ENROLL_FP_HEX 64                         /* hex digits of the fingerprint */
#define ENROLL_URL_MAX 1000                      /* bytes of the server URL */
#define ENROLL_URI_MAX 4096                      /* bytes of a whole URI */
#define ENROLL_URI_SCHEME "gridsync://enroll?"

/* What a URI carries. */
typedef struct enroll_uri {
    char server[ENROLL_URL_MAX + 1];      /* "https://host:port", decoded */
    char code[ENROLL_CODE_LEN + 1];       /* canonical */
    char fp[ENROLL_FP_HEX + 1];           /* lower-case hex */
} enroll_uri;

/* The shown form of the code made of bytes[0..ENROLL_CODE_BYTES) into out. */
void enroll_code_format(const unsigned char bytes[ENROLL_CODE_BYTES],
                        char out[ENROLL_CODE_SHOWN + 1]);
/* The canonical form of a code as a person or a URI gave it into out; GS_E_INVALID with a
 * message saying what is wrong (a character outside the alphabet, too short or long). */
int enroll_code_canon(const char *text, char out[ENROLL_CODE_LEN + 1], gs_err *err);
/* 1 when text starts with the URI scheme. */
int enroll_is_uri(const char *text);
/* Parses a URI; GS_E_INVALID naming the part that is wrong. out is written on success. */
int enroll_uri_parse(const char *text, enroll_uri *out, gs_err *err);
/* Formats the URI for server, code (either form) and fp into out (cap bytes);
 * GS_E_TOO_LARGE when it does not fit, GS_E_INVALID for a bad code or fingerprint. */
int enroll_uri_format(const char *server, const char *code, const char *fp, char *out,
                      size_t cap, gs_err *err);

#endif
