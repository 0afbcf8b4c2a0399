/*
 * qr.c: see qr.h.
 */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>

#define QR_QUIET 4 /* modules of light border */

/* 1 when module (x, y) is dark; the quiet zone and beyond are light. */
static int dark(const QRcode *q, int x, int y)
{
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[y * q->width + x] & 1;
}

int qr_print_utf8(FILE *f, const char *text, gs_err *err)
{
    /* drawn cells are the light modules: index = top light + 2 * bottom light */
    static const char *const cell[4] = {" ", "\xe2\x96\x80", "\xe2\x96\x84", "\xe2\x96\x88"};
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);

    if (!q)
        return errno == ERANGE ? gs_err_set(err, GS_E_TOO_LARGE, "too long for a QR code")
                               : gs_err_set(err, GS_E_NOMEM, "cannot make the QR code");
    for (int y = -QR_QUIET; y < q->width + QR_QUIET; y += 2) {
        for (int x = -QR_QUIET; x < q->width + QR_QUIET; x++)
            fputs(cell[!dark(q, x, y) + 2 * !dark(q, x, y + 1)], f);
        fputc('\n', f);
    }
    QRcode_free(q);
    return GS_OK;
}
