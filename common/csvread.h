/*
 * csvread.h: a reader of CSV text (RFC 4180), one record at a time: what
 * `gridsync-admin grid import` reads a county office's registry with (a spreadsheet's
 * "save as CSV": UTF-8 with or without a byte-order mark, CRLF or LF line ends, fields in
 * double quotes where they hold a comma, a quote ("") or a line end).
 *
 * Invariants: the reader allocates nothing; a record is at most CSV_RECORD_MAX bytes and
 * CSV_FIELDS_MAX fields, and anything past either is an error naming the line, never a
 * record cut short; the line numbers are those a text editor shows (a quoted line end
 * counts), of the line where the record starts.
 */
#ifndef GS_COMMON_CSVREAD_H
#define GS_COMMON_CSVREAD_H

#include <stddef.h>

#include "common/rc.h"

#define CSV_RECORD_MAX 4096 /* bytes of one record's fields */
#define CSV_FIELDS_MAX 32   /* fields of one record */

typedef struct csv_reader {
    const char *text;          /* the whole text (not copied) */
    size_t len;                /* its bytes */
    size_t pos;                /* where the next record starts */
    size_t line;               /* the line the last record started on (1 = the first) */
    size_t next_line;          /* the line pos is on */
    char buf[CSV_RECORD_MAX];  /* the last record's fields, each NUL-terminated */
} csv_reader;

/* Reads text[0..len); a leading UTF-8 byte-order mark is skipped. */
void csv_init(csv_reader *r, const char *text, size_t len);

/* The next record: 1 with its fields in fields[0..*n) (valid until the next call; an empty
 * line is one empty field), 0 at the end, or GS_E_INVALID with "line N: why" in err (an
 * unterminated quote, text after a closing quote, too many fields, a record too long). */
int csv_next(csv_reader *r, const char **fields, size_t max, size_t *n, gs_err *err);

#endif
