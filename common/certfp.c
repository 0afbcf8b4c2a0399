/*
 * certfp.c: see certfp.h. Mbed TLS parses the PEM (it wants the text NUL-terminated, with
 * the NUL counted, so the text is copied); the DER it keeps in crt.raw is what is hashed.
 */
#include "certfp.h"

#include "alloc.h"

#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <string.h>

int certfp_of_pem(const char *pem, size_t len, char hex[SHA256_HEX_LEN + 1], gs_err *err)
{
    mbedtls_x509_crt crt;
    uint8_t sum[SHA256_LEN];
    char *text = gs_malloc(len + 1);
    int r, rc = GS_OK;

    if (!text)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    memcpy(text, pem, len);
    text[len] = '\0';
    mbedtls_x509_crt_init(&crt);
    r = mbedtls_x509_crt_parse(&crt, (const unsigned char *)text, len + 1);
    /* r > 0: some certificates of a bundle did not parse; the first one did */
    if (r < 0 || crt.raw.len == 0) {
        rc = gs_err_set(err, GS_E_INVALID, "not a PEM certificate (mbedtls -0x%04x)",
                        (unsigned)(r < 0 ? -r : 0));
        goto out;
    }
    rc = sha256_of(crt.raw.p, crt.raw.len, sum);
    if (rc) {
        gs_err_set(err, rc, "cannot hash the certificate");
        goto out;
    }
    sha256_hex(sum, hex);
out:
    mbedtls_x509_crt_free(&crt);
    gs_free(text);
    return rc;
}
