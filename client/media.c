/*
 * media.c: see media.h. libjpeg-turbo (TurboJPEG API) decodes and encodes JPEG; libpng reads
 * PNG. libpng over libspng: both are in Debian 12, libpng is the reference implementation,
 * already on every system that has a browser, and has the two limits we need
 * (png_set_user_limits on the header's size, png_set_chunk_malloc_max on ancillary chunks);
 * we only read PNG, so libspng's nicer API buys nothing worth a less common dependency.
 *
 * Memory: a pixel buffer is allocated only after the header's dimensions passed the caps; a
 * JPEG is decoded at the smallest libjpeg-turbo scale that still gives at least the wanted
 * long side, so a 12 MP camera photo is decoded at 1/2 (2000x1500, 9 MB of RGB).
 */
#include "media.h"

#include "common/alloc.h"
#include "exif.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>
#include <turbojpeg.h>

typedef struct rgb {
    uint8_t *px; /* 3 bytes per pixel, rows packed; gs_malloc'd */
    int w, h;
} rgb;

static void rgb_free(rgb *im)
{
    gs_free(im->px);
    im->px = NULL;
}

static int rgb_alloc(rgb *im, int w, int h, gs_err *err)
{
    im->px = gs_malloc((size_t)w * (size_t)h * 3);
    if (!im->px)
        return gs_err_set(err, GS_E_NOMEM, "out of memory for a %dx%d image", w, h);
    im->w = w;
    im->h = h;
    return GS_OK;
}

/* The size that fits (w, h) into a long side of side pixels, never enlarging. */
static void fit(int w, int h, int side, int *ow, int *oh)
{
    int lng = w > h ? w : h;

    if (lng <= side) {
        *ow = w;
        *oh = h;
        return;
    }
    *ow = (int)(((int64_t)w * side + lng / 2) / lng);
    *oh = (int)(((int64_t)h * side + lng / 2) / lng);
    if (*ow < 1)
        *ow = 1;
    if (*oh < 1)
        *oh = 1;
}

/* Area-average downscale of src to (w, h) (w <= src->w, h <= src->h): each output pixel is
 * the mean of the source pixels its area covers, in 16.16 fixed point. */
static int shrink(const rgb *src, int w, int h, rgb *dst, gs_err *err)
{
    int rc = rgb_alloc(dst, w, h, err);

    if (rc)
        return rc;
    for (int y = 0; y < h; y++) {
        int y0 = (int)((int64_t)y * src->h / h), y1 = (int)((int64_t)(y + 1) * src->h / h);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < w; x++) {
            int x0 = (int)((int64_t)x * src->w / w), x1 = (int)((int64_t)(x + 1) * src->w / w);
            uint32_t sum[3] = {0, 0, 0}, cnt;
            if (x1 <= x0)
                x1 = x0 + 1;
            for (int sy = y0; sy < y1; sy++) {
                const uint8_t *p = src->px + ((size_t)sy * src->w + x0) * 3;
                for (int sx = x0; sx < x1; sx++, p += 3) {
                    sum[0] += p[0];
                    sum[1] += p[1];
                    sum[2] += p[2];
                }
            }
            cnt = (uint32_t)((y1 - y0) * (x1 - x0));
            uint8_t *o = dst->px + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++)
                o[c] = (uint8_t)((sum[c] + cnt / 2) / cnt);
        }
    }
    return GS_OK;
}

/* src turned as EXIF orientation o (1..8) says, so it displays upright. */
static int orient(const rgb *src, int o, rgb *dst, gs_err *err)
{
    int w = src->w, h = src->h, swap = o >= 5;
    int rc = rgb_alloc(dst, swap ? h : w, swap ? w : h, err);

    if (rc)
        return rc;
    for (int y = 0; y < dst->h; y++)
        for (int x = 0; x < dst->w; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            case 8: sx = w - 1 - y; sy = x; break;
            default: sx = x; sy = y; break;
            }
            memcpy(dst->px + ((size_t)y * dst->w + x) * 3, src->px + ((size_t)sy * w + sx) * 3,
                   3);
        }
    return GS_OK;
}

static int check_dims(const char *what, int w, int h, uint64_t max_pixels, gs_err *err)
{
    if (w < 1 || h < 1)
        return gs_err_set(err, GS_E_INVALID, "not a valid %s: its header gives no size", what);
    if (w > MEDIA_MAX_SIDE || h > MEDIA_MAX_SIDE || (uint64_t)w * (uint64_t)h > max_pixels)
        return gs_err_set(err, GS_E_TOO_LARGE,
                          "the %s is %dx%d pixels: over the limit of %d per side and %llu "
                          "megapixels (refused before decoding)",
                          what, w, h, MEDIA_MAX_SIDE,
                          (unsigned long long)(max_pixels / 1000000u));
    return GS_OK;
}

static int decode_jpeg(const uint8_t *in, size_t n, int want_side, rgb *out, gs_err *err)
{
    tjhandle tj = tjInitDecompress();
    int w = 0, h = 0, sub = 0, cs = 0, nsf = 0, sw = 0, sh = 0, rc = GS_OK;
    tjscalingfactor *sf, best = {1, 1};

    if (!tj)
        return gs_err_set(err, GS_E_NOMEM, "cannot start the JPEG decoder");
    if (n > 0xffffffffu ||
        tjDecompressHeader3(tj, in, (unsigned long)n, &w, &h, &sub, &cs) != 0) {
        rc = gs_err_set(err, GS_E_INVALID, "not a valid JPEG: %s", tjGetErrorStr2(tj));
        goto out;
    }
    rc = check_dims("JPEG", w, h, MEDIA_MAX_JPEG_PIXELS, err);
    if (rc)
        goto out;
    /* the smallest scale whose long side still reaches want_side */
    sf = tjGetScalingFactors(&nsf);
    for (int i = 0; sf && i < nsf; i++) {
        int tw = TJSCALED(w, sf[i]), th = TJSCALED(h, sf[i]);
        if (sf[i].num > sf[i].denom)
            continue;
        if ((tw > th ? tw : th) >= want_side &&
            (uint64_t)tw * th < (uint64_t)TJSCALED(w, best) * TJSCALED(h, best))
            best = sf[i];
    }
    sw = TJSCALED(w, best);
    sh = TJSCALED(h, best);
    rc = rgb_alloc(out, sw, sh, err);
    if (rc)
        goto out;
    /* warnings are errors: a truncated or doctored file is refused, not half-shown */
    if (tjDecompress2(tj, in, (unsigned long)n, out->px, sw, 0, sh, TJPF_RGB,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
        rc = gs_err_set(err, GS_E_INVALID, "the JPEG does not decode: %s", tjGetErrorStr2(tj));
        rgb_free(out);
    }
out:
    tjDestroy(tj);
    return rc;
}

typedef struct png_src {
    const uint8_t *p;
    size_t n, at;
} png_src;

static void png_read_mem(png_structp png, png_bytep data, png_size_t len)
{
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->at)
        png_error(png, "the PNG ends early");
    memcpy(data, s->p + s->at, len);
    s->at += len;
}

static void png_err(png_structp png, png_const_charp msg)
{
    gs_err *err = png_get_error_ptr(png);
    if (!err->rc)
        gs_err_set(err, GS_E_INVALID, "not a valid PNG: %s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int decode_png(const uint8_t *in, size_t n, rgb *out, gs_err *err)
{
    png_structp png;
    png_infop info = NULL;
    png_src src = {in, n, 0};
    gs_err perr;
    rgb im = {NULL, 0, 0};
    png_bytep *volatile rows = NULL;
    int rc = GS_OK;

    /* IHDR is always first, at a fixed place: refuse a bomb before libpng reads a byte */
    if (n >= 24 && memcmp(in + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)in[16] << 24 | (uint32_t)in[17] << 16 | (uint32_t)in[18] << 8 |
                     in[19];
        uint32_t h = (uint32_t)in[20] << 24 | (uint32_t)in[21] << 16 | (uint32_t)in[22] << 8 |
                     in[23];
        if (w > INT32_MAX || h > INT32_MAX)
            return gs_err_set(err, GS_E_TOO_LARGE, "the PNG says it is %ux%u pixels",
                              (unsigned)w, (unsigned)h);
        rc = check_dims("PNG", (int)w, (int)h, MEDIA_MAX_PNG_PIXELS, err);
        if (rc)
            return rc;
    }
    gs_err_clear(&perr);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &perr, png_err, png_warn);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return gs_err_set(err, GS_E_NOMEM, "cannot start the PNG decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = perr.rc ? perr.rc : GS_E_INVALID;
        gs_err_set(err, rc, "%s", perr.rc ? perr.msg : "not a valid PNG");
        goto out;
    }
    /* libpng's own ceiling as a backstop; check_dims says "too large" with the numbers */
    png_set_user_limits(png, PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX);
    png_set_chunk_malloc_max(png, 8u * 1024u * 1024u);
    png_set_read_fn(png, &src, png_read_mem);
    png_read_info(png, info);
    {
        int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
        int ctype = png_get_color_type(png, info);
        png_color_16 white = {0, 0xffff, 0xffff, 0xffff, 0xffff};

        rc = check_dims("PNG", w, h, MEDIA_MAX_PNG_PIXELS, &perr);
        if (rc) {
            gs_err_set(err, rc, "%s", perr.msg);
            goto out;
        }
        png_set_strip_16(png);
        png_set_packing(png);
        if (ctype == PNG_COLOR_TYPE_PALETTE)
            png_set_palette_to_rgb(png);
        if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
            png_set_gray_to_rgb(png);
        if (png_get_valid(png, info, PNG_INFO_tRNS))
            png_set_tRNS_to_alpha(png);
        /* transparency over white, as a document scan is read */
        png_set_background(png, &white, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        if (png_get_rowbytes(png, info) != (size_t)w * 3) {
            rc = gs_err_set(err, GS_E_INVALID, "the PNG's pixel format is not supported");
            goto out;
        }
        rc = rgb_alloc(&im, w, h, err);
        if (rc)
            goto out;
        rows = gs_malloc((size_t)h * sizeof(*rows));
        if (!rows) {
            rc = gs_err_set(err, GS_E_NOMEM, "out of memory for a %dx%d image", w, h);
            goto out;
        }
        for (int y = 0; y < h; y++)
            rows[y] = im.px + (size_t)y * w * 3;
        png_read_image(png, rows);
    }
out:
    png_destroy_read_struct(&png, &info, NULL);
    gs_free(rows);
    if (rc)
        rgb_free(&im);
    else
        *out = im;
    return rc;
}

/* im as a JPEG at quality q into gs_malloc'd *out. */
static int encode_jpeg(const rgb *im, int q, uint8_t **out, size_t *len, gs_err *err)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long jlen = 0;
    int rc = GS_OK;

    if (!tj)
        return gs_err_set(err, GS_E_NOMEM, "cannot start the JPEG encoder");
    if (tjCompress2(tj, im->px, im->w, 0, im->h, TJPF_RGB, &jpg, &jlen, TJSAMP_420, q, 0) != 0) {
        rc = gs_err_set(err, GS_E_NOMEM, "cannot encode the JPEG: %s", tjGetErrorStr2(tj));
        goto out;
    }
    *out = gs_malloc(jlen);
    if (!*out) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, jpg, jlen);
    *len = jlen;
out:
    tjFree(jpg);
    tjDestroy(tj);
    return rc;
}

void media_out_free(media_out *out)
{
    if (!out)
        return;
    gs_free(out->full);
    gs_free(out->thumb);
    memset(out, 0, sizeof(*out));
}

static int prepare_image(const uint8_t *in, size_t n, int is_jpeg, const media_opts *o,
                         media_out *res, gs_err *err)
{
    rgb dec = {NULL, 0, 0}, small = {NULL, 0, 0}, up = {NULL, 0, 0}, th = {NULL, 0, 0};
    int orientation = is_jpeg ? exif_orientation(in, n) : 1;
    int w, h, rc;

    rc = is_jpeg ? decode_jpeg(in, n, o->long_side, &dec, err) : decode_png(in, n, &dec, err);
    if (rc)
        return rc;
    fit(dec.w, dec.h, o->long_side, &w, &h);
    if (w != dec.w || h != dec.h) {
        rc = shrink(&dec, w, h, &small, err);
        rgb_free(&dec);
    } else {
        small = dec;
    }
    if (rc == GS_OK && orientation != 1) {
        rc = orient(&small, orientation, &up, err);
        rgb_free(&small);
    } else {
        up = small;
    }
    if (rc == GS_OK)
        rc = encode_jpeg(&up, o->quality, &res->full, &res->full_len, err);
    if (rc == GS_OK) {
        fit(up.w, up.h, o->thumb_side, &w, &h);
        rc = shrink(&up, w, h, &th, err);
    }
    if (rc == GS_OK)
        rc = encode_jpeg(&th, o->quality, &res->thumb, &res->thumb_len, err);
    if (rc == GS_OK) {
        res->kind = MEDIA_JPEG;
        res->width = up.w;
        res->height = up.h;
        res->thumb_width = th.w;
        res->thumb_height = th.h;
    }
    rgb_free(&up);
    rgb_free(&th);
    return rc;
}

int media_prepare(const uint8_t *in, size_t n, const media_opts *opts, media_out *out,
                  gs_err *err)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    media_out res;
    int rc;

    memset(&res, 0, sizeof(res));
    if (!in || !opts || !out)
        return gs_err_set(err, GS_E_INVALID, "media_prepare: missing argument");
    if (opts->long_side < 16 || opts->long_side > MEDIA_MAX_SIDE || opts->thumb_side < 16 ||
        opts->thumb_side > opts->long_side || opts->quality < 1 || opts->quality > 100)
        return gs_err_set(err, GS_E_INVALID,
                          "attachment settings out of range: long side %d (16..%d), thumbnail "
                          "%d (16..long side), quality %d (1..100)",
                          opts->long_side, MEDIA_MAX_SIDE, opts->thumb_side, opts->quality);
    if (n > MEDIA_MAX_INPUT)
        return gs_err_set(err, GS_E_TOO_LARGE, "the file is %zu bytes, over the limit of %u",
                          n, MEDIA_MAX_INPUT);
    if (n >= 3 && in[0] == 0xFF && in[1] == 0xD8 && in[2] == 0xFF) {
        rc = prepare_image(in, n, 1, opts, &res, err);
    } else if (n >= 8 && memcmp(in, png_sig, 8) == 0) {
        rc = prepare_image(in, n, 0, opts, &res, err);
    } else if (n >= 5 && memcmp(in, "%PDF-", 5) == 0) {
        res.kind = MEDIA_PDF;
        res.full = gs_malloc(n);
        rc = res.full ? GS_OK : gs_err_set(err, GS_E_NOMEM, "out of memory");
        if (rc == GS_OK) {
            memcpy(res.full, in, n);
            res.full_len = n;
        }
    } else {
        rc = gs_err_set(err, GS_E_INVALID, "not a JPEG, PNG or PDF file");
    }
    if (rc) {
        media_out_free(&res);
        return rc;
    }
    *out = res;
    return GS_OK;
}
