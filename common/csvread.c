/*
 * csvread.c: see csvread.h. A small state machine over the bytes of one record:
 *
 *   FIELD_START --'"'--> QUOTED --'"'--> QUOTE_SEEN --'"'--> QUOTED (a literal quote)
 *       |                  ^  \--other: kept     |--','--> FIELD_START
 *       \--other--> PLAIN  |                     |--CR/LF/end--> record done
 *             ',' -> FIELD_START, CR/LF/end -> record done; anything else -> error
 */
#include "csvread.h"

#include <string.h>

void csv_init(csv_reader *r, const char *text, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->text = text;
    r->len = len;
    r->next_line = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
}

/* Ends the record at the line end at p (CR, LF or CRLF) or at the end of the text. */
static size_t after_line_end(const csv_reader *r, size_t p)
{
    if (p < r->len && r->text[p] == '\r')
        p++;
    if (p < r->len && r->text[p] == '\n')
        p++;
    return p;
}

int csv_next(csv_reader *r, const char **fields, size_t max, size_t *n, gs_err *err)
{
    enum { FIELD_START, PLAIN, QUOTED, QUOTE_SEEN } state = FIELD_START;
    size_t p = r->pos, o = 0, count = 0;

    if (p >= r->len)
        return 0;
    r->line = r->next_line;
    if (max == 0 || max > CSV_FIELDS_MAX)
        max = CSV_FIELDS_MAX;
    fields[count++] = r->buf;
    for (;; p++) {
        int end = p >= r->len;
        char c = end ? '\n' : r->text[p];
        int eol = c == '\n' || c == '\r';

        if (state == QUOTED) {
            if (end)
                return gs_err_set(err, GS_E_INVALID, "line %zu: a quoted field never ends",
                                  r->line);
            if (c == '"') {
                state = QUOTE_SEEN;
                continue;
            }
            if (c == '\n' || (c == '\r' && (p + 1 >= r->len || r->text[p + 1] != '\n')))
                r->next_line++;
        } else if (state == QUOTE_SEEN && c == '"') {
            state = QUOTED; /* "" inside quotes: one quote */
        } else if (state == QUOTE_SEEN && c != ',' && !eol) {
            return gs_err_set(err, GS_E_INVALID,
                              "line %zu: text after a closing quote (a quote inside a field is "
                              "written \"\")",
                              r->line);
        } else if (c == ',' || eol) {
            if (o + 1 > sizeof(r->buf))
                break;
            r->buf[o++] = '\0';
            if (eol) {
                r->pos = end ? r->len : after_line_end(r, p);
                r->next_line++;
                *n = count;
                return 1;
            }
            if (count == max)
                return gs_err_set(err, GS_E_INVALID, "line %zu: more than %zu fields", r->line,
                                  max);
            fields[count++] = r->buf + o;
            state = FIELD_START;
            continue;
        } else if (state == FIELD_START && c == '"') {
            state = QUOTED;
            continue;
        } else if (state == FIELD_START) {
            state = PLAIN;
        }
        if (o + 2 > sizeof(r->buf)) /* room for this byte and the field's NUL */
            break;
        r->buf[o++] = c;
    }
    return gs_err_set(err, GS_E_INVALID, "line %zu: a record longer than %d bytes", r->line,
                      CSV_RECORD_MAX);
}
