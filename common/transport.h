/*
 * transport.h: the HTTPS link to gridsyncd, over libcurl, for every program that talks to
 * it: the device library (client/csync.c, the sync) and gridsync-admin (the admin API). It
 * lives in common/ so that gridsync-admin links it without the device library.
 *
 * One transport = one curl easy handle, so the TCP connection and the TLS session are reused
 * across the requests of a sync (and across syncs while the handle lives). The server
 * certificate is always verified, against the CA PEM given at enrolment (held in memory, so
 * the device database is self-contained) and nothing else, not the system's CA store, and
 * the host name in the URL: there is no switch to turn verification off. The one exception
 * is transport_get_unverified, a separate call for the enrolment's CA fetch, whose answer
 * the caller checks against a fingerprint it got out of band before trusting it.
 *
 * Errors map to gs_rc: no route, refused, DNS failure -> GS_E_NETWORK; connect or transfer
 * timeout, stalled link -> GS_E_TIMEOUT; certificate or handshake failure -> GS_E_TLS; an
 * answer over the response buffer's cap -> GS_E_TOO_LARGE; out of memory (ours or curl's,
 * headers included) -> GS_E_NOMEM. HTTP statuses are returned to the caller, which owns
 * their meaning.
 */
#ifndef GS_COMMON_TRANSPORT_H
#define GS_COMMON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rc.h"

typedef struct transport transport;

typedef struct transport_opts {
    const char *base_url;    /* "https://town.example:8443", no trailing slash needed */
    const char *ca_pem;      /* CA certificate(s) in PEM */
    size_t ca_pem_len;       /* bytes in ca_pem */
    const char *token;       /* bearer token; copied */
    long connect_timeout_ms; /* TCP + TLS connect; 0: 20 s */
    long stall_timeout_s;    /* abort when under 16 bytes/s for this long; 0: 60 s */
    long total_timeout_ms;   /* whole request; 0: 10 minutes (2G links are slow) */
    int compress;            /* deflate request bodies over 512 bytes, accept deflate */
    int anonymous;           /* no token, no Authorization (POST /v1/enroll); token unused */
} transport_opts;

/* Byte and request counts since transport_new, for progress and benchmarks. */
typedef struct transport_stats {
    uint64_t requests;       /* HTTP requests completed (any status) */
    uint64_t bytes_up;       /* request bytes on the wire (headers + body as sent) */
    uint64_t bytes_down;     /* response bytes (headers + body as received) */
    uint64_t body_up_raw;    /* request bodies before compression */
    uint64_t body_down_raw;  /* response bodies after decompression */
    uint64_t connects;       /* new connections made */
} transport_stats;

int transport_new(transport **out, const transport_opts *opts, gs_err *err);
void transport_free(transport *t);

/* POSTs body to base_url + path with the given content type. On GS_OK, *status is the
 * HTTP status and resp holds the (decompressed) body, capped by resp->max. */
int transport_post(transport *t, const char *path, const char *content_type, const void *body,
                   size_t len, long *status, gs_buf *resp, gs_err *err);

/* PUTs body to base_url + path, as transport_post but never deflated (attachment chunks,
 * PROTOCOL.md section 11: JPEG and PDF bytes gain nothing from it). */
int transport_put(transport *t, const char *path, const char *content_type, const void *body,
                  size_t len, long *status, gs_buf *resp, gs_err *err);

/* GETs base_url + path; as transport_post. */
int transport_get(transport *t, const char *path, long *status, gs_buf *resp, gs_err *err);

const transport_stats *transport_get_stats(const transport *t);

/* GETs base_url + path WITHOUT verifying the server's certificate or host name, sending no
 * token, on a connection of its own: the first step of an enrolment (PROTOCOL.md 11), which
 * fetches the CA it will verify with from then on. Nothing secret goes out; the answer is
 * untrusted until the caller has checked it against the fingerprint of the enrolment URI.
 * Errors as transport_post (resp->max caps the answer); timeout_ms 0: 20 s. */
int transport_get_unverified(const char *base_url, const char *path, long timeout_ms,
                             long *status, gs_buf *resp, gs_err *err);

#endif
