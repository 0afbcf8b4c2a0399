/*
 * transport.c: see transport.h. Request bodies are deflated (common/zbody.c, zlib format,
 * RFC 1950) because the handheld's link is the scarcest thing in the system; curl inflates
 * responses itself.
 */
#include "transport.h"

#include "common/alloc.h"
#include "common/zbody.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* Bodies shorter than this are sent as they are: deflate would save nothing worth a header. */
#define COMPRESS_MIN 512

struct transport {
    CURL *curl;                  /* one easy handle: keeps the connection and TLS session */
    struct curl_slist *headers;  /* Authorization etc.; rebuilt per request for the type */
    char *base_url;              /* without trailing slash */
    char *auth_header;           /* "Authorization: Bearer ..." */
    int compress;                /* see transport_opts */
    transport_stats stats;       /* counts since transport_new */
    char errbuf[CURL_ERROR_SIZE]; /* curl's own message for the last failure */
};

/* Write callback state: the response buffer and whether it overflowed its cap. */
typedef struct sink {
    gs_buf *buf;      /* where the body goes */
    int overflow;     /* set when buf refused bytes */
} sink;

/* Counts the HTTP bytes each way as curl sends and receives them: headers, and bodies
 * before content decoding. The getinfo counters cannot give this: CURLINFO_REQUEST_SIZE
 * includes a small POST body that curl sent with the headers, which CURLINFO_SIZE_UPLOAD
 * counts again. curl only calls this with CURLOPT_VERBOSE on; its text lines are dropped. */
static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *ud)
{
    transport_stats *st = ud;

    (void)curl;
    (void)data;
    if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
        st->bytes_up += size;
    else if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN)
        st->bytes_down += size;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    if (buf_add(s->buf, data, len) != GS_OK) {
        s->overflow = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return len;
}

int transport_new(transport **out, const transport_opts *opts, gs_err *err)
{
    transport *t;
    struct curl_blob ca;
    CURLcode cc;
    size_t n;
    int rc = GS_OK;

    if (!opts->base_url || !opts->ca_pem || (!opts->token && !opts->anonymous))
        return gs_err_set(err, GS_E_CONFIG, "server URL, CA and token are all needed to sync");
    if (strncmp(opts->base_url, "https://", 8) != 0)
        return gs_err_set(err, GS_E_CONFIG, "server URL must start with https:// (got '%s')",
                          opts->base_url);
    t = gs_calloc(1, sizeof(*t));
    if (!t)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    t->compress = opts->compress;
    n = strlen(opts->base_url);
    while (n > 0 && opts->base_url[n - 1] == '/')
        n--;
    t->base_url = gs_strndup(opts->base_url, n);
    /* anonymous: no Authorization at all (the enrolment call), a harmless header instead */
    n = strlen("Authorization: Bearer ") + (opts->anonymous ? 0 : strlen(opts->token)) + 1;
    t->auth_header = gs_malloc(n);
    t->curl = curl_easy_init();
    if (!t->base_url || !t->auth_header || !t->curl) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory setting up the connection");
        goto out;
    }
    if (opts->anonymous)
        snprintf(t->auth_header, n, "Authorization:");
    else
        snprintf(t->auth_header, n, "Authorization: Bearer %s", opts->token);

    ca.data = (void *)opts->ca_pem;
    ca.len = opts->ca_pem_len;
    ca.flags = CURL_BLOB_COPY;
    /* Verification on, both peer and host: there is deliberately no option to disable it. */
    if (curl_easy_setopt(t->curl, CURLOPT_CAINFO_BLOB, &ca) != CURLE_OK ||
        curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(t->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) !=
            CURLE_OK) {
        rc = gs_err_set(err, GS_E_TLS, "this libcurl cannot verify against an in-memory CA");
        goto out;
    }
    /* The enrolment CA alone: next to a CA blob libcurl still loads its built-in CApath
     * (Debian: /etc/ssl/certs, every public root), so any publicly trusted certificate for
     * the server's name would pass. Cleared, and the built-in bundle file with it (the blob
     * overrides that today). A TLS backend without CApath answers CURLE_NOT_BUILT_IN: then
     * there is none to clear. */
    cc = curl_easy_setopt(t->curl, CURLOPT_CAPATH, NULL);
    if ((cc != CURLE_OK && cc != CURLE_NOT_BUILT_IN) ||
        curl_easy_setopt(t->curl, CURLOPT_CAINFO, NULL) != CURLE_OK) {
        rc = gs_err_set(err, GS_E_TLS, "cannot stop libcurl from trusting its own CA store");
        goto out;
    }
    curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 20000L);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS,
                     opts->total_timeout_ms > 0 ? opts->total_timeout_ms : 600000L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_LIMIT, 16L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_TIME,
                     opts->stall_timeout_s > 0 ? opts->stall_timeout_s : 60L);
    curl_easy_setopt(t->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "gridsync/" GS_VERSION);
    curl_easy_setopt(t->curl, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(t->curl, CURLOPT_DEBUGDATA, &t->stats);
    curl_easy_setopt(t->curl, CURLOPT_VERBOSE, 1L);
    if (t->compress)
        curl_easy_setopt(t->curl, CURLOPT_ACCEPT_ENCODING, "deflate");
    *out = t;
    return GS_OK;
out:
    transport_free(t);
    return rc;
}

void transport_free(transport *t)
{
    if (!t)
        return;
    if (t->curl)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    gs_free(t->base_url);
    gs_free(t->auth_header);
    gs_free(t);
}

const transport_stats *transport_get_stats(const transport *t)
{
    return &t->stats;
}

static int map_curl(const char *errbuf, CURLcode cc, const sink *s, gs_err *err)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

    if (s->overflow)
        return gs_err_set(err, GS_E_TOO_LARGE, "server answer larger than %zu bytes",
                          s->buf->max);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return gs_err_set(err, GS_E_TIMEOUT, "server did not answer in time: %s", detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    /* a handshake cut by the link or a restarting server; a certificate that fails
     * verification is CURLE_PEER_FAILED_VERIFICATION, below */
    case CURLE_SSL_CONNECT_ERROR:
        return gs_err_set(err, GS_E_NETWORK, "server unreachable or connection lost: %s",
                          detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return gs_err_set(err, GS_E_TLS,
                          "cannot verify the server (wrong CA or host name?): %s", detail);
    case CURLE_BAD_CONTENT_ENCODING:
        return gs_err_set(err, GS_E_PROTO, "server answer could not be decompressed: %s",
                          detail);
    default:
        return gs_err_set(err, GS_E_NETWORK, "transfer failed (curl %d): %s", (int)cc, detail);
    }
}

/* Deflates body into out when worthwhile: out's cap is one byte under the body, so
 * zbody_deflate gives up (GS_E_TOO_LARGE) once the stream is no smaller than the body,
 * which is then sent as it is. *used says whether out holds the body. */
static int maybe_deflate(const void *body, size_t len, gs_buf *out, int *used, gs_err *err)
{
    int rc;

    *used = 0;
    if (len < COMPRESS_MIN)
        return GS_OK;
    buf_init(out, len - 1);
    rc = zbody_deflate(body, len, ZBODY_LEVEL_FAST, out, err);
    if (rc == GS_E_TOO_LARGE)
        return GS_OK;
    if (rc)
        return rc;
    *used = 1;
    return GS_OK;
}

/* Appends one header line to *list. curl_slist_append returns NULL when it cannot
 * allocate and then leaves the list as it was: assigning that NULL to the list would leak
 * the lines before it and, worse, let later appends start a new list without them (a
 * request without its Authorization). */
static int add_header(struct curl_slist **list, const char *line, gs_err *err)
{
    struct curl_slist *grown = curl_slist_append(*list, line);

    if (!grown)
        return gs_err_set(err, GS_E_NOMEM, "out of memory building the request headers");
    *list = grown;
    return GS_OK;
}

static int perform(transport *t, const char *path, const char *content_type, const void *body,
                   size_t len, int post, long *status, gs_buf *resp, gs_err *err)
{ /* post: 0 GET, 1 POST, 2 PUT (never deflated: attachment chunks are JPEG or PDF) */
    char url[2048];
    char ctype[128];
    gs_buf packed;
    int deflated = 0;
    sink s = {resp, 0};
    CURLcode cc;
    long conns = 0, code = 0;
    int rc = GS_OK;

    buf_init(&packed, 0); /* maybe_deflate sets its cap */
    if ((size_t)snprintf(url, sizeof(url), "%s%s", t->base_url, path) >= sizeof(url))
        return gs_err_set(err, GS_E_CONFIG, "server URL too long");
    if ((size_t)snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                         post ? content_type : "") >= sizeof(ctype))
        return gs_err_set(err, GS_E_INVALID, "content type too long");
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    rc = add_header(&t->headers, t->auth_header, err);
    /* curl would otherwise wait a second for "100 Continue" on every larger POST */
    if (!rc)
        rc = add_header(&t->headers, "Expect:", err);
    if (!rc && post)
        rc = add_header(&t->headers, ctype, err);
    if (!rc && post == 1 && t->compress) {
        rc = maybe_deflate(body, len, &packed, &deflated, err);
        if (!rc && deflated)
            rc = add_header(&t->headers, "Content-Encoding: deflate", err);
    }
    if (rc)
        goto out;
    buf_reset(resp);
    t->errbuf[0] = '\0';
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &s);
    /* PUT (post 2) is a POST with another method name; it must not outlive its request */
    curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, post == 2 ? "PUT" : NULL);
    if (post) {
        curl_easy_setopt(t->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, deflated ? packed.ptr : body);
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(deflated ? packed.len : len));
    } else {
        curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(t->curl);
    curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &conns);
    t->stats.connects += (uint64_t)conns;
    if (cc != CURLE_OK) {
        rc = map_curl(t->errbuf, cc, &s, err);
        goto out;
    }
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    t->stats.requests++;
    t->stats.body_up_raw += len;
    t->stats.body_down_raw += resp->len;
    *status = code;
out:
    buf_free(&packed);
    return rc;
}

int transport_post(transport *t, const char *path, const char *content_type, const void *body,
                   size_t len, long *status, gs_buf *resp, gs_err *err)
{
    return perform(t, path, content_type, body, len, 1, status, resp, err);
}

int transport_put(transport *t, const char *path, const char *content_type, const void *body,
                  size_t len, long *status, gs_buf *resp, gs_err *err)
{
    return perform(t, path, content_type, body, len, 2, status, resp, err);
}

int transport_get(transport *t, const char *path, long *status, gs_buf *resp, gs_err *err)
{
    return perform(t, path, NULL, NULL, 0, 0, status, resp, err);
}

int transport_get_unverified(const char *base_url, const char *path, long timeout_ms,
                             long *status, gs_buf *resp, gs_err *err)
{
    char url[2048], errbuf[CURL_ERROR_SIZE] = "";
    sink s = {resp, 0};
    CURL *curl;
    CURLcode cc;
    long code = 0;
    int rc = GS_OK;

    if (strncmp(base_url, "https://", 8) != 0)
        return gs_err_set(err, GS_E_CONFIG, "server URL must start with https:// (got '%s')",
                          base_url);
    if ((size_t)snprintf(url, sizeof(url), "%s%s", base_url, path) >= sizeof(url))
        return gs_err_set(err, GS_E_CONFIG, "server URL too long");
    curl = curl_easy_init();
    if (!curl)
        return gs_err_set(err, GS_E_NOMEM, "out of memory setting up the connection");
    /* the one connection that is not verified: see transport.h */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 20000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 20000L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "gridsync/" GS_VERSION);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    buf_reset(resp);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        rc = map_curl(errbuf, cc, &s, err);
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        *status = code;
    }
    curl_easy_cleanup(curl);
    return rc;
}
