/*
 * qr.h: a text as a QR code in the terminal (libqrencode, Debian libqrencode-dev), for
 * `gridsync-admin device add`: two module rows per line in UTF-8 half blocks, with the
 * four-module quiet zone the standard asks for. Light modules are drawn (as `qrencode -t
 * UTF8` does), so the code reads dark-on-light on the usual dark terminal; scanners read
 * either way round. Error correction M: a smudged screen still scans.
 */
#ifndef GS_ADMIN_QR_H
#define GS_ADMIN_QR_H

#include <stdio.h>

#include "common/rc.h"

/* Prints text as a QR code on f. GS_E_TOO_LARGE when it does not fit a QR code,
 * GS_E_NOMEM. */
int qr_print_utf8(FILE *f, const char *text, gs_err *err);

#endif
