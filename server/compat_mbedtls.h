/*
 * compat_mbedtls.h: the few Mbed TLS calls whose shape changed between 2.28 (Debian 12,
 * what gridsyncd is built and tested with) and 3.x, behind one name each, so that tls.c and
 * certgen.c read the same on both. Only 2.28 is tested; the 3.x branches follow the 3.6
 * documentation and are kept small so they are easy to check when the port happens.
 *
 * Differences that need no wrapper but matter on 3.x:
 *  - struct fields became private (MBEDTLS_PRIVATE): gridsyncd reads only fields of
 *    mbedtls_x509_crt that 3.x keeps public (raw, serial, valid_from, valid_to, subject,
 *    pk; certgen_info_of walks raw itself rather than v3_ext or subject_alt_names);
 *  - mbedtls_x509write_crt_set_serial (an mbedtls_mpi) is deprecated in 3.4 for
 *    mbedtls_x509write_crt_set_serial_raw (bytes): see COMPAT_SET_SERIAL;
 *  - 3.x can negotiate TLS 1.3 when MBEDTLS_SSL_PROTO_TLS1_3 is on; its suites then need
 *    adding to the list in tls.c (guarded there by the same macro);
 *  - 3.6.3+ clients must call mbedtls_ssl_set_hostname (servers are not affected).
 */
#ifndef GS_SERVER_COMPAT_MBEDTLS_H
#define GS_SERVER_COMPAT_MBEDTLS_H

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/build_info.h>
#else
#include <mbedtls/config.h>
#endif

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

/* 3.0 added an RNG to private-key parsing and pair checks (for blinding). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define COMPAT_PK_PARSE_KEYFILE(pk, path, rng, rng_ctx)                                            \
    mbedtls_pk_parse_keyfile((pk), (path), NULL, (rng), (rng_ctx))
#define COMPAT_PK_CHECK_PAIR(pub, prv, rng, rng_ctx)                                               \
    mbedtls_pk_check_pair((pub), (prv), (rng), (rng_ctx))
#else
#define COMPAT_PK_PARSE_KEYFILE(pk, path, rng, rng_ctx)                                            \
    ((void)(rng), (void)(rng_ctx), mbedtls_pk_parse_keyfile((pk), (path), NULL))
#define COMPAT_PK_CHECK_PAIR(pub, prv, rng, rng_ctx)                                               \
    ((void)(rng), (void)(rng_ctx), mbedtls_pk_check_pair((pub), (prv)))
#endif

/* 3.2 replaced (major, minor) version numbers by mbedtls_ssl_protocol_version. */
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
#define COMPAT_CONF_MIN_TLS12(conf)                                                                \
    mbedtls_ssl_conf_min_tls_version((conf), MBEDTLS_SSL_VERSION_TLS1_2)
#else
#define COMPAT_CONF_MIN_TLS12(conf)                                                                \
    mbedtls_ssl_conf_min_version((conf), MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
#endif

/* 3.1 replaced curve lists (mbedtls_ecp_group_id) by IANA group lists (uint16_t). */
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
typedef uint16_t compat_group_id;
#define COMPAT_GROUP_X25519 MBEDTLS_SSL_IANA_TLS_GROUP_X25519
#define COMPAT_GROUP_P256 MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1
#define COMPAT_GROUP_END MBEDTLS_SSL_IANA_TLS_GROUP_NONE
#define COMPAT_CONF_GROUPS(conf, list) mbedtls_ssl_conf_groups((conf), (list))
#else
typedef mbedtls_ecp_group_id compat_group_id;
#define COMPAT_GROUP_X25519 MBEDTLS_ECP_DP_CURVE25519
#define COMPAT_GROUP_P256 MBEDTLS_ECP_DP_SECP256R1
#define COMPAT_GROUP_END MBEDTLS_ECP_DP_NONE
#define COMPAT_CONF_GROUPS(conf, list) mbedtls_ssl_conf_curves((conf), (list))
#endif

/* 3.0 removed the per-hash list (signature algorithms are set by mbedtls_ssl_conf_sig_algs,
 * whose defaults are already SHA-256 or better). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define COMPAT_CONF_SIG_HASHES(conf, list) ((void)(conf), (void)(list))
#else
#define COMPAT_CONF_SIG_HASHES(conf, list) mbedtls_ssl_conf_sig_hashes((conf), (list))
#endif

/* 3.0 added the signature buffer's size to mbedtls_pk_sign (crl.c signs CRLs with it). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define COMPAT_PK_SIGN(pk, md, hash, hash_len, sig, sig_size, sig_len, rng, rng_ctx)               \
    mbedtls_pk_sign((pk), (md), (hash), (hash_len), (sig), (sig_size), (sig_len), (rng), (rng_ctx))
#else
#define COMPAT_PK_SIGN(pk, md, hash, hash_len, sig, sig_size, sig_len, rng, rng_ctx)               \
    ((void)(sig_size), mbedtls_pk_sign((pk), (md), (hash), (hash_len), (sig), (sig_len), (rng),   \
                                       (rng_ctx)))
#endif

/* 3.4 deprecated the MPI serial setter for a raw-bytes one. */
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
#define COMPAT_SET_SERIAL(crt, mpi, raw, raw_len)                                                  \
    ((void)(mpi), mbedtls_x509write_crt_set_serial_raw((crt), (raw), (raw_len)))
#else
#define COMPAT_SET_SERIAL(crt, mpi, raw, raw_len)                                                  \
    ((void)(raw), (void)(raw_len), mbedtls_x509write_crt_set_serial((crt), (mpi)))
#endif

#endif
