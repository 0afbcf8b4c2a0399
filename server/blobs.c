/*
 * blobs.c: see blobs.h. Every chunk is written with pwrite at the part's end and fsynced
 * before blobs_write returns; the hash is taken by reading the part back (the bytes on
 * disk are what becomes visible, not what passed through memory).
 */
#define _POSIX_C_SOURCE 200809L
#include "blobs.h"

#include "common/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA_START(c) mbedtls_sha256_starts((c), 0)
#define SHA_UPDATE(c, p, n) mbedtls_sha256_update((c), (p), (n))
#define SHA_FINISH(c, o) mbedtls_sha256_finish((c), (o))
#else
#define SHA_START(c) mbedtls_sha256_starts_ret((c), 0)
#define SHA_UPDATE(c, p, n) mbedtls_sha256_update_ret((c), (p), (n))
#define SHA_FINISH(c, o) mbedtls_sha256_finish_ret((c), (o))
#endif

#define BLOBS_ROOT_MAX 1100 /* ROOT's bytes, the NUL included */
#define BLOBS_PATH_MAX 1200 /* ROOT + /tmp/ + 64 hex + .part */

struct blobs {
    char root[BLOBS_ROOT_MAX]; /* ROOT, without a trailing slash */
    pthread_mutex_t lock;      /* serialises writes and removals */
};

static int valid_hex(const char *hex)
{
    for (int i = 0; i < 64; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    return hex[64] == '\0';
}

static int mkdir_p1(const char *path, gs_err *err)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return GS_OK;
    return gs_err_set(err, GS_E_IO, "cannot make the folder %s: %s", path, strerror(errno));
}

int blobs_open(blobs **out, const char *root, gs_err *err)
{
    char tmp[BLOBS_PATH_MAX + 8];
    blobs *b;
    int rc;

    if (strlen(root) >= BLOBS_ROOT_MAX)
        return gs_err_set(err, GS_E_CONFIG, "the blob folder path %.60s... is too long", root);
    b = gs_calloc(1, sizeof(*b));
    if (!b)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    snprintf(b->root, sizeof(b->root), "%s", root);
    snprintf(tmp, sizeof(tmp), "%s/tmp", root);
    rc = mkdir_p1(b->root, err);
    if (!rc)
        rc = mkdir_p1(tmp, err);
    if (rc) {
        gs_free(b);
        return rc;
    }
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return GS_OK;
}

void blobs_close(blobs *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    gs_free(b);
}

int blobs_path(const blobs *b, const char *hex, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%.2s/%s", b->root, hex, hex + 2);
    return n < 0 || (size_t)n >= cap ? GS_E_TOO_LARGE : GS_OK;
}

static void part_path(const blobs *b, const char *hex, char *out, size_t cap)
{
    snprintf(out, cap, "%s/tmp/%s.part", b->root, hex);
}

/* Size of path in *size; 0 and *exists 0 when absent. */
static int file_size(const char *path, uint64_t *size, int *exists, gs_err *err)
{
    struct stat sb;

    if (stat(path, &sb) == 0) {
        *size = (uint64_t)sb.st_size;
        *exists = 1;
        return GS_OK;
    }
    *size = 0;
    *exists = 0;
    if (errno == ENOENT)
        return GS_OK;
    return gs_err_set(err, GS_E_IO, "cannot stat %s: %s", path, strerror(errno));
}

static int stat_locked(blobs *b, const char *hex, uint64_t *committed, int *done, gs_err *err)
{
    char path[BLOBS_PATH_MAX];
    int exists, rc;

    blobs_path(b, hex, path, sizeof(path));
    rc = file_size(path, committed, &exists, err);
    if (rc || exists) {
        *done = exists;
        return rc;
    }
    *done = 0;
    part_path(b, hex, path, sizeof(path));
    return file_size(path, committed, &exists, err);
}

int blobs_stat(blobs *b, const char *hex, uint64_t *committed, int *done, gs_err *err)
{
    int rc;

    if (!valid_hex(hex))
        return gs_err_set(err, GS_E_INVALID, "not a SHA-256 in hex");
    pthread_mutex_lock(&b->lock);
    rc = stat_locked(b, hex, committed, done, err);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int fsync_dir(const char *dir, gs_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY), rc = GS_OK;

    if (fd < 0)
        return gs_err_set(err, GS_E_IO, "cannot open %s: %s", dir, strerror(errno));
    if (fsync(fd) != 0)
        rc = gs_err_set(err, GS_E_IO, "cannot fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* The SHA-256 of the open file fd (read from its start) is hex. */
static int hash_matches(int fd, const char *hex, int *match, gs_err *err)
{
    static const char digits[] = "0123456789abcdef";
    mbedtls_sha256_context c;
    unsigned char buf[65536], sum[32];
    char got[65];
    off_t at = 0;
    ssize_t n;
    int rc = GS_OK;

    mbedtls_sha256_init(&c);
    if (SHA_START(&c) != 0)
        rc = GS_E_CRYPTO;
    while (rc == GS_OK && (n = pread(fd, buf, sizeof(buf), at)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = gs_err_set(err, GS_E_IO, "cannot read an upload back: %s", strerror(errno));
            break;
        }
        if (SHA_UPDATE(&c, buf, (size_t)n) != 0)
            rc = GS_E_CRYPTO;
        at += n;
    }
    if (rc == GS_OK && SHA_FINISH(&c, sum) != 0)
        rc = GS_E_CRYPTO;
    mbedtls_sha256_free(&c);
    if (rc == GS_E_CRYPTO)
        return gs_err_set(err, rc, "cannot compute a SHA-256");
    if (rc)
        return rc;
    for (int i = 0; i < 32; i++) {
        got[2 * i] = digits[sum[i] >> 4];
        got[2 * i + 1] = digits[sum[i] & 15];
    }
    got[64] = '\0';
    *match = memcmp(got, hex, 64) == 0;
    return GS_OK;
}

/* The complete part at part (fd open) becomes the blob, or goes when its hash is wrong. */
static int finish(blobs *b, const char *hex, int fd, const char *part, gs_err *err)
{
    char final[BLOBS_PATH_MAX], dir[BLOBS_PATH_MAX];
    int match = 0, rc = hash_matches(fd, hex, &match, err);

    if (rc)
        return rc;
    if (!match) {
        unlink(part);
        return gs_err_set(err, GS_E_CRYPTO,
                          "the bytes sent do not have the SHA-256 %.16s...: the upload is "
                          "discarded, send it again from offset 0",
                          hex);
    }
    snprintf(dir, sizeof(dir), "%s/%.2s", b->root, hex);
    rc = mkdir_p1(dir, err);
    if (rc)
        return rc;
    blobs_path(b, hex, final, sizeof(final));
    if (rename(part, final) != 0)
        return gs_err_set(err, GS_E_IO, "cannot move an upload to %s: %s", final,
                          strerror(errno));
    rc = fsync_dir(dir, err);
    if (rc == GS_OK) {
        char tmp[BLOBS_PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s/tmp", b->root);
        rc = fsync_dir(tmp, err);
    }
    return rc;
}

static int write_locked(blobs *b, const char *hex, uint64_t size, uint64_t offset,
                        const void *p, size_t n, uint64_t *committed, int *done, gs_err *err)
{
    char part[BLOBS_PATH_MAX];
    const unsigned char *bytes = p;
    uint64_t have = 0;
    int fd = -1, rc;

    rc = stat_locked(b, hex, &have, done, err);
    if (rc)
        return rc;
    if (*done) {
        *committed = have;
        return GS_OK;
    }
    if (offset > size || n > size - offset)
        return gs_err_set(err, GS_E_INVALID,
                          "bytes %llu..%llu are beyond the end of a blob of %llu bytes",
                          (unsigned long long)offset, (unsigned long long)(offset + n),
                          (unsigned long long)size);
    if (offset > have)
        return gs_err_set(err, GS_E_STATE,
                          "offset %llu is past the %llu bytes the server holds: resume there",
                          (unsigned long long)offset, (unsigned long long)have);
    if (have > size) { /* a part longer than its blob can only be garbage: start over */
        part_path(b, hex, part, sizeof(part));
        unlink(part);
        return gs_err_set(err, GS_E_STATE, "the upload is started again from 0");
    }
    part_path(b, hex, part, sizeof(part));
    fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return gs_err_set(err, GS_E_IO, "cannot open %s: %s", part, strerror(errno));
    /* the bytes before `have` are held already: a retried chunk adds only its tail */
    if (offset + n > have) {
        size_t skip = (size_t)(have - offset), left = n - skip;
        off_t at = (off_t)have;
        while (left > 0) {
            ssize_t w = pwrite(fd, bytes + skip, left, at);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = gs_err_set(err, GS_E_IO, "cannot write %s: %s", part, strerror(errno));
                break;
            }
            skip += (size_t)w;
            left -= (size_t)w;
            at += w;
        }
        if (rc == GS_OK && fsync(fd) != 0)
            rc = gs_err_set(err, GS_E_IO, "cannot fsync %s: %s", part, strerror(errno));
        if (rc == GS_OK)
            have = offset + n;
    }
    if (rc == GS_OK && have == size) {
        int rfd = open(part, O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            rc = gs_err_set(err, GS_E_IO, "cannot open %s: %s", part, strerror(errno));
        else {
            rc = finish(b, hex, rfd, part, err);
            close(rfd);
        }
        if (rc == GS_OK)
            *done = 1;
    }
    close(fd);
    if (rc == GS_OK)
        *committed = have;
    return rc;
}

int blobs_write(blobs *b, const char *hex, uint64_t size, uint64_t offset, const void *p,
                size_t n, uint64_t *committed, int *done, gs_err *err)
{
    int rc;

    if (!valid_hex(hex))
        return gs_err_set(err, GS_E_INVALID, "not a SHA-256 in hex");
    if (!p && n)
        return gs_err_set(err, GS_E_INVALID, "no bytes");
    pthread_mutex_lock(&b->lock);
    rc = write_locked(b, hex, size, offset, p, n, committed, done, err);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

int blobs_read(blobs *b, const char *hex, uint64_t offset, size_t max, gs_buf *out,
               uint64_t *size, gs_err *err)
{
    char path[BLOBS_PATH_MAX];
    uint64_t have;
    size_t want, got = 0;
    int fd, rc;

    if (!valid_hex(hex))
        return gs_err_set(err, GS_E_INVALID, "not a SHA-256 in hex");
    blobs_path(b, hex, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return gs_err_set(err, GS_E_NOTFOUND, "the server does not hold these bytes yet");
        return gs_err_set(err, GS_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    {
        struct stat sb;
        if (fstat(fd, &sb) != 0) {
            close(fd);
            return gs_err_set(err, GS_E_IO, "cannot stat %s: %s", path, strerror(errno));
        }
        have = (uint64_t)sb.st_size;
    }
    if (offset > have) {
        close(fd);
        return gs_err_set(err, GS_E_INVALID, "offset %llu is beyond the end (%llu bytes)",
                          (unsigned long long)offset, (unsigned long long)have);
    }
    want = have - offset < max ? (size_t)(have - offset) : max;
    rc = buf_reserve(out, want);
    if (rc) {
        close(fd);
        return gs_err_set(err, rc, "no room for %zu bytes", want);
    }
    while (got < want) {
        ssize_t r = pread(fd, out->ptr + out->len + got, want - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return gs_err_set(err, GS_E_IO, "cannot read %s: %s", path,
                              r < 0 ? strerror(errno) : "it got shorter");
        }
        got += (size_t)r;
    }
    out->len += got;
    out->ptr[out->len] = '\0';
    close(fd);
    *size = have;
    return GS_OK;
}

int blobs_remove(blobs *b, const char *hex, gs_err *err)
{
    char path[BLOBS_PATH_MAX];
    int rc = GS_OK;

    if (!valid_hex(hex))
        return gs_err_set(err, GS_E_INVALID, "not a SHA-256 in hex");
    pthread_mutex_lock(&b->lock);
    blobs_path(b, hex, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        rc = gs_err_set(err, GS_E_IO, "cannot remove %s: %s", path, strerror(errno));
    part_path(b, hex, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT && rc == GS_OK)
        rc = gs_err_set(err, GS_E_IO, "cannot remove %s: %s", path, strerror(errno));
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void blobs_parts_prune(blobs *b, blobs_part_fn *doomed, void *ud)
{
    char dir[BLOBS_PATH_MAX];
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/tmp", b->root);
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char hex[65];
        if (strlen(e->d_name) != 69 || strcmp(e->d_name + 64, ".part") != 0)
            continue;
        memcpy(hex, e->d_name, 64);
        hex[64] = '\0';
        if (valid_hex(hex) && doomed(ud, hex)) {
            char path[BLOBS_PATH_MAX];
            pthread_mutex_lock(&b->lock);
            part_path(b, hex, path, sizeof(path));
            unlink(path);
            pthread_mutex_unlock(&b->lock);
        }
    }
    closedir(d);
}
