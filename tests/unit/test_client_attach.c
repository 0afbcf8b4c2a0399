/*
 * test_client_attach.c: attachments on the device (issue 19), offline, on real SQLite files
 * and real libjpeg-turbo / libpng. Checked:
 *   - exif_orientation on hand-built JPEG headers: both byte orders, an APP0 first, fill
 *     bytes, and every malformed shape (bad offsets, counts past the end, wrong type, a
 *     value out of range, metadata after SOS) answers 1 without reading outside the input;
 *   - media_prepare: a JPEG with orientation 6 comes out rotated (the red left half on
 *     top), shrunk to the long side, with a thumbnail, and with no APP1 left; a JPEG or PNG
 *     whose header claims 60000 px is GS_E_TOO_LARGE; bytes that are nothing are
 *     GS_E_INVALID; a PDF is kept as is;
 *   - gs_db_attach / gs_db_attachments / gs_db_attachment_get / gs_db_delete: the record and
 *     its bytes in one outbox change, deletion cascades, a batch rolled back leaves nothing,
 *     and an allocation failure at any point of an attach writes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <turbojpeg.h>
#include <zlib.h>

#include "client/db.h"
#include "client/exif.h"
#include "client/media.h"
#include "common/alloc.h"
#include "tests/lib/tdevice.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tsql.h"

/* ---- EXIF ---------------------------------------------------------------------------- */

/* A JPEG header: SOI, optional APP0, APP1 "Exif\0\0" + tiff (tlen bytes), SOS. */
static size_t jpeg_with_tiff(uint8_t *out, const uint8_t *tiff, size_t tlen, int app0,
                             int sos_first)
{
    size_t n = 0;
    out[n++] = 0xFF;
    out[n++] = 0xD8;
    if (app0) {
        static const uint8_t a0[] = {0xFF, 0xE0, 0x00, 0x06, 'J', 'F', 'I', 'F'};
        memcpy(out + n, a0, sizeof(a0));
        n += sizeof(a0);
        out[n++] = 0xFF; /* a fill byte before the next marker */
    }
    if (sos_first) {
        out[n++] = 0xFF;
        out[n++] = 0xDA;
    }
    out[n++] = 0xFF;
    out[n++] = 0xE1;
    out[n++] = (uint8_t)((tlen + 8) >> 8);
    out[n++] = (uint8_t)(tlen + 8);
    memcpy(out + n, "Exif\0\0", 6);
    n += 6;
    memcpy(out + n, tiff, tlen);
    n += tlen;
    out[n++] = 0xFF;
    out[n++] = 0xDA;
    return n;
}

/* A TIFF with IFD0 at 8 holding one entry (tag, type, count, value). */
static size_t tiff_one(uint8_t *t, int little, unsigned tag, unsigned type, uint32_t count,
                       unsigned value)
{
    uint8_t *p = t;
#define P16(v) (little ? (*p++ = (uint8_t)(v), *p++ = (uint8_t)((v) >> 8)) \
                       : (*p++ = (uint8_t)((v) >> 8), *p++ = (uint8_t)(v)))
#define P32(v) (little ? (P16((v) & 0xffff), P16((v) >> 16)) : (P16((v) >> 16), P16((v) & 0xffff)))
    *p++ = little ? 'I' : 'M';
    *p++ = little ? 'I' : 'M';
    P16(42);
    P32(8u);
    P16(1);
    P16(tag);
    P16(type);
    P32(count);
    P16(value);
    P16(0);
    P32(0u);
#undef P16
#undef P32
    return (size_t)(p - t);
}

typedef struct exif_case {
    const char *name;
    int little, app0, sos_first;
    unsigned tag, type, value;
    uint32_t count;
    int cut;        /* bytes cut off the TIFF's end (the segment length follows) */
    int want;
} exif_case;

static void test_exif_table(void **state)
{
    static const exif_case cases[] = {
        {"little-endian 6", 1, 0, 0, 0x0112, 3, 6, 1, 0, 6},
        {"big-endian 8", 0, 0, 0, 0x0112, 3, 8, 1, 0, 8},
        {"after APP0 and a fill byte", 1, 1, 0, 0x0112, 3, 3, 1, 0, 3},
        {"value out of range", 1, 0, 0, 0x0112, 3, 9, 1, 0, 1},
        {"value 0", 0, 0, 0, 0x0112, 3, 0, 1, 0, 1},
        {"type LONG, not SHORT", 1, 0, 0, 0x0112, 4, 6, 1, 0, 1},
        {"count 0", 1, 0, 0, 0x0112, 3, 6, 0, 0, 1},
        {"another tag", 1, 0, 0, 0x010F, 3, 6, 1, 0, 1},
        {"entry cut short", 1, 0, 0, 0x0112, 3, 6, 1, 10, 1},
        {"after SOS", 1, 0, 1, 0x0112, 3, 6, 1, 0, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const exif_case *c = &cases[i];
        uint8_t tiff[64], jpg[128];
        size_t tl = tiff_one(tiff, c->little, c->tag, c->type, c->count, c->value);
        size_t n = jpeg_with_tiff(jpg, tiff, tl - (size_t)c->cut, c->app0, c->sos_first);
        /* a heap copy of exactly n bytes, so ASan sees any read past the end */
        uint8_t *heap = malloc(n);
        assert_non_null(heap);
        memcpy(heap, jpg, n);
        int got = exif_orientation(heap, n);
        free(heap);
        if (got != c->want)
            fail_msg("%s: orientation %d, wanted %d", c->name, got, c->want);
    }
}

static void test_exif_hostile(void **state)
{
    uint8_t tiff[64], jpg[128];
    size_t tl, n;
    (void)state;
    /* IFD offset past the segment */
    tl = tiff_one(tiff, 1, 0x0112, 3, 6, 1);
    tiff[4] = 0xF0;
    n = jpeg_with_tiff(jpg, tiff, tl, 0, 0);
    assert_int_equal(exif_orientation(jpg, n), 1);
    /* an entry count of 65535 over one real entry */
    tl = tiff_one(tiff, 1, 0x0112, 3, 1, 6);
    tiff[8] = 0xFF;
    tiff[9] = 0xFF;
    n = jpeg_with_tiff(jpg, tiff, tl, 0, 0);
    assert_int_equal(exif_orientation(jpg, n), 6);
    /* a segment length past the end of the file */
    n = jpeg_with_tiff(jpg, tiff, tl, 0, 0);
    assert_int_equal(exif_orientation(jpg, 12), 1);
    /* not a marker, not a JPEG, nothing */
    assert_int_equal(exif_orientation((const uint8_t *)"\xFF\xD8\x00\x00", 4), 1);
    assert_int_equal(exif_orientation((const uint8_t *)"GIF89a", 6), 1);
    assert_int_equal(exif_orientation(NULL, 0), 1);
    /* only fill bytes */
    assert_int_equal(exif_orientation((const uint8_t *)"\xFF\xD8\xFF\xFF\xFF", 5), 1);
}

/* ---- media --------------------------------------------------------------------------- */

/* A w x h JPEG: left half red, right half blue; with an EXIF orientation when o > 0. */
static uint8_t *make_jpeg(int w, int h, int o, size_t *len)
{
    uint8_t *px = malloc((size_t)w * h * 3), *jpg = NULL, *out;
    unsigned long jl = 0;
    tjhandle tj = tjInitCompress();
    uint8_t tiff[64], app[128];
    size_t an = 0;

    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = x < w / 2 ? 255 : 0;
            p[1] = 0;
            p[2] = x < w / 2 ? 0 : 255;
        }
    assert_int_equal(tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpg, &jl, TJSAMP_444, 95, 0), 0);
    if (o > 0) { /* APP1 right after SOI: the SOI and the SOS from jpeg_with_tiff dropped */
        size_t tl = tiff_one(tiff, 1, 0x0112, 3, 1, (unsigned)o);
        an = jpeg_with_tiff(app, tiff, tl, 0, 0) - 4;
        memmove(app, app + 2, an);
    }
    out = malloc(jl + an);
    assert_non_null(out);
    memcpy(out, jpg, 2);
    memcpy(out + 2, app, an);
    memcpy(out + 2 + an, jpg + 2, jl - 2);
    *len = jl + an;
    tjFree(jpg);
    tjDestroy(tj);
    free(px);
    return out;
}

static void pixel(const uint8_t *jpg, size_t n, int x, int y, uint8_t rgb[3], int *w, int *h)
{
    tjhandle tj = tjInitDecompress();
    int sub, cs;
    uint8_t *px;
    assert_int_equal(tjDecompressHeader3(tj, jpg, n, w, h, &sub, &cs), 0);
    px = malloc((size_t)*w * *h * 3);
    assert_int_equal(tjDecompress2(tj, jpg, n, px, *w, 0, *h, TJPF_RGB, 0), 0);
    memcpy(rgb, px + ((size_t)y * *w + x) * 3, 3);
    free(px);
    tjDestroy(tj);
}

static void test_media_orientation(void **state)
{
    const media_opts o = {32, 90, 16};
    media_out m;
    gs_err err;
    size_t n;
    uint8_t c[3];
    int w, h;
    uint8_t *jpg = make_jpeg(64, 32, 6, &n);
    (void)state;
    assert_int_equal(exif_orientation(jpg, n), 6);
    assert_int_equal(media_prepare(jpg, n, &o, &m, &err), GS_OK);
    assert_int_equal(m.kind, MEDIA_JPEG);
    assert_int_equal(m.width, 16);
    assert_int_equal(m.height, 32);
    assert_int_equal(m.thumb_width, 8);
    assert_int_equal(m.thumb_height, 16);
    /* turned clockwise: the left (red) half is now on top */
    pixel(m.full, m.full_len, 8, 4, c, &w, &h);
    assert_int_equal(w, 16);
    assert_true(c[0] > 200 && c[2] < 60);
    pixel(m.full, m.full_len, 8, 28, c, &w, &h);
    assert_true(c[2] > 200 && c[0] < 60);
    /* no APP1 (EXIF) segment in what is stored */
    assert_int_equal(exif_orientation(m.full, m.full_len), 1);
    for (size_t i = 0; i + 1 < m.full_len; i++)
        if (m.full[i] == 0xFF && m.full[i + 1] == 0xE1)
            fail_msg("APP1 at %zu of the stored JPEG", i);
    media_out_free(&m);
    free(jpg);
}

static void test_media_refusals(void **state)
{
    const media_opts o = {1600, 80, 320};
    media_out m;
    gs_err err;
    size_t n;
    uint8_t *jpg = make_jpeg(64, 32, 0, &n);
    int rc;
    (void)state;
    /* the SOF's height and width bytes set to 60000 x 60000 */
    for (size_t i = 0; i + 9 < n; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 5] = 0xEA; jpg[i + 6] = 0x60; jpg[i + 7] = 0xEA; jpg[i + 8] = 0x60;
            break;
        }
    rc = media_prepare(jpg, n, &o, &m, &err);
    if (rc != GS_E_TOO_LARGE || !strstr(err.msg, "60000x60000"))
        fail_msg("a 60000x60000 JPEG header: %s (%s)", gs_strerror(rc), err.msg);
    free(jpg);

    /* a PNG header for 50000 x 50000 and nothing behind it */
    uint8_t png[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                       'I', 'H', 'D', 'R', 0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50, 8, 2, 0, 0, 0};
    uLong crc = crc32(0, png + 12, 17);
    png[29] = (uint8_t)(crc >> 24); png[30] = (uint8_t)(crc >> 16);
    png[31] = (uint8_t)(crc >> 8); png[32] = (uint8_t)crc;
    assert_int_equal(media_prepare(png, 33, &o, &m, &err), GS_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "50000x50000"));
    /* a PNG cut inside its header */
    assert_int_equal(media_prepare(png, 20, &o, &m, &err), GS_E_INVALID);

    assert_int_equal(media_prepare((const uint8_t *)"\xFF\xD8\xFFjunk", 7, &o, &m, &err),
                     GS_E_INVALID);
    assert_int_equal(media_prepare((const uint8_t *)"<svg/>", 6, &o, &m, &err), GS_E_INVALID);
    assert_int_equal(media_prepare((const uint8_t *)"%PDF-1.7\n", 9, &o, &m, &err), GS_OK);
    assert_int_equal(m.kind, MEDIA_PDF);
    assert_int_equal(m.full_len, 9);
    assert_null(m.thumb);
    media_out_free(&m);
    const media_opts bad = {1600, 0, 320};
    assert_int_equal(media_prepare((const uint8_t *)"%PDF-", 5, &bad, &m, &err), GS_E_INVALID);
}

/* ---- the library ----------------------------------------------------------------------- */

typedef struct fx {
    char dir[TDIR_MAX];
    char path[TDEVICE_PATH_MAX];
    gs_db *db;
    char resident[TDEVICE_ID_MAX];
    uint8_t *jpg;
    size_t jpg_len;
} fx;

static int setup(void **state)
{
    static const char *const grids[] = {"g1"};
    fx *f = calloc(1, sizeof(*f));
    if (!f || tdevice_db_open(f->dir, f->path, &f->db, "attach"))
        return -1;
    tdevice_init(f->db, grids, 1, NULL);
    tdevice_add_resident(f->db, "王秀英", 1948, f->resident);
    f->jpg = make_jpeg(800, 400, 6, &f->jpg_len); /* over 320: a thumbnail of its own */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    free(f->jpg);
    tdevice_db_close(f->db, f->dir);
    free(f);
    return 0;
}

static int count_cb(void *ud, const gs_attachment_info *a)
{
    int *n = ud;
    assert_string_equal(a->mime, "image/jpeg");
    assert_true(a->have_full && a->have_thumb);
    (*n)++;
    return 0;
}

static int n_attachments(fx *f)
{
    int n = 0;
    assert_int_equal(gs_db_attachments(f->db, f->resident, count_cb, &n), GS_OK);
    return n;
}

static void test_attach_roundtrip(void **state)
{
    fx *f = *state;
    char id[GS_ID_TEXT_LEN + 1];
    int64_t before = tdevice_pending(f->db);
    void *data;
    size_t len;

    assert_int_equal(gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, "门口", NULL, id),
                     GS_OK);
    assert_int_equal(tdevice_pending(f->db), before + 1);
    assert_int_equal(n_attachments(f), 1);
    assert_int_equal(gs_db_attachment_get(f->db, id, GS_ATT_FULL, &data, &len), GS_OK);
    assert_true(len > 100 && ((uint8_t *)data)[0] == 0xFF);
    gs_free(data);
    assert_int_equal(gs_db_attachment_get(f->db, id, GS_ATT_ORIGINAL, &data, &len),
                     GS_E_NOTFOUND);
    assert_int_equal(gs_db_attachment_get(f->db, f->resident, GS_ATT_FULL, &data, &len),
                     GS_E_NOTFOUND);
    /* the same photo again: a second attachment, the bytes stored once */
    assert_int_equal(gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, NULL, NULL, NULL),
                     GS_OK);
    assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment_blob"), 2);
    /* deleting the resident deletes both, and their bytes */
    assert_int_equal(gs_db_delete(f->db, f->resident), GS_OK);
    assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment WHERE deleted=1"), 2);
    assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment_blob"), 0);
    assert_int_equal(gs_db_attachment_get(f->db, id, GS_ATT_FULL, &data, &len), GS_E_NOTFOUND);
    assert_int_equal(gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, NULL, NULL, NULL),
                     GS_E_NOTFOUND);
}

static void test_attach_refused(void **state)
{
    fx *f = *state;
    gs_record *rec;
    int64_t before = tdevice_pending(f->db);

    assert_int_equal(gs_db_attach(f->db, f->resident, "nope", 4, NULL, NULL, NULL),
                     GS_E_INVALID);
    assert_int_equal(gs_db_attach(f->db, "not-an-id", f->jpg, f->jpg_len, NULL, NULL, NULL),
                     GS_E_INVALID);
    char cap[500];
    memset(cap, 'x', sizeof(cap) - 1);
    cap[sizeof(cap) - 1] = '\0';
    assert_int_equal(gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, cap, NULL, NULL),
                     GS_E_TOO_LARGE);
    assert_int_equal(gs_record_new(f->db, "attachment", &rec), GS_OK);
    assert_int_equal(gs_db_add(f->db, rec), GS_E_INVALID);
    gs_record_free(rec);
    assert_int_equal(tdevice_pending(f->db), before);
    assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment_blob"), 0);
}

static void test_attach_batch_rollback(void **state)
{
    fx *f = *state;
    int64_t before = tdevice_pending(f->db);

    assert_int_equal(gs_db_begin(f->db), GS_OK);
    assert_int_equal(gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, NULL, NULL, NULL),
                     GS_OK);
    /* a refused attach inside the batch leaves the batch usable */
    assert_int_equal(gs_db_attach(f->db, f->resident, "x", 1, NULL, NULL, NULL), GS_E_INVALID);
    assert_int_equal(gs_db_rollback(f->db), GS_OK);
    assert_int_equal(tdevice_pending(f->db), before);
    assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment_blob"), 0);
    assert_int_equal(n_attachments(f), 0);
}

static void test_attach_alloc_failures(void **state)
{
    fx *f = *state;
    int64_t before = tdevice_pending(f->db);
    int rc = GS_E_NOMEM, n;

    for (n = 0; n < 2000; n++) {
        gs_alloc_fail_after(n);
        rc = gs_db_attach(f->db, f->resident, f->jpg, f->jpg_len, "x", NULL, NULL);
        gs_alloc_fail_after(-1);
        if (rc == GS_OK)
            break;
        if (rc != GS_E_NOMEM && rc != GS_E_DB)
            fail_msg("allocation %d: %s (%s)", n, gs_strerror(rc), gs_db_errmsg(f->db));
        assert_int_equal(tdevice_pending(f->db), before);
        assert_int_equal(tsql_int(f->db->sql, "SELECT count(*) FROM attachment_blob"), 0);
    }
    assert_int_equal(rc, GS_OK);
    assert_true(n > 3);
    assert_int_equal(n_attachments(f), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exif_table),
        cmocka_unit_test(test_exif_hostile),
        cmocka_unit_test(test_media_orientation),
        cmocka_unit_test(test_media_refusals),
        cmocka_unit_test_setup_teardown(test_attach_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_batch_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
