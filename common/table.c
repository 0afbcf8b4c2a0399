/*
 * table.c: aligned text tables for people, shared by the gridsync and gridsync-admin CLIs.
 * Alignment counts display columns, not bytes: Chinese characters take two columns in a
 * terminal, so "王秀英" is 6 wide, and cells are padded accordingly (East Asian Width W/F
 * ranges; combining marks count 0). Cells wider than the limit are cut at a character
 * boundary and end with "…"; a cell is always one line.
 */
#define _POSIX_C_SOURCE 200809L
#include "table.h"

#include "alloc.h"
#include "rc.h"

#include <stdlib.h> /* free() of open_memstream buffers */
#include <string.h>

struct table {
    size_t n_cols;   /* cells per row */
    size_t n_rows;   /* rows added */
    size_t cap;      /* rows allocated */
    char **cells;    /* n_rows * n_cols copies (NULL: empty) */
};

/* Decodes one UTF-8 sequence at s (already known valid or at worst mis-encoded); returns
 * its length and the code point in *cp (U+FFFD for a bad byte). */
static size_t decode(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
              (s[3] & 0x3Fu);
        return 4;
    }
    *cp = 0xFFFD;
    return 1;
}

static unsigned cp_width(unsigned cp)
{
    if (cp == 0 || (cp >= 0x300 && cp <= 0x36F) || cp == 0x200B || (cp >= 0xFE00 && cp <= 0xFE0F))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
        (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t table_width(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t w = 0;

    while (*s) {
        unsigned cp;
        s += decode(s, &cp);
        w += cp_width(cp);
    }
    return w;
}

void table_print_cell(FILE *f, const char *str, size_t width)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t w = table_width((const char *)s);

    if (w <= width) {
        fputs((const char *)s, f);
        for (; w < width; w++)
            fputc(' ', f);
        return;
    }
    /* cut: keep characters while they fit in width - 1, then the ellipsis */
    w = 0;
    while (*s) {
        unsigned cp;
        size_t n = decode(s, &cp);
        unsigned cw = cp_width(cp);
        if (w + cw + 1 > width)
            break;
        /* newlines and tabs inside a cell would break the table */
        if (cp == '\n' || cp == '\t' || cp == '\r')
            fputc(' ', f);
        else
            fwrite(s, 1, n, f);
        w += cw;
        s += n;
    }
    fputs("…", f);
    for (w++; w < width; w++)
        fputc(' ', f);
}

int table_new(table **out, size_t n_cols)
{
    table *t = gs_calloc(1, sizeof(*t));
    if (!t)
        return GS_E_NOMEM;
    t->n_cols = n_cols;
    *out = t;
    return GS_OK;
}

int table_add(table *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = gs_realloc(t->cells, cap * t->n_cols * sizeof(char *));
        if (!p)
            return GS_E_NOMEM;
        t->cells = p;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        char *copy = NULL;
        if (cells[i]) {
            copy = gs_strdup(cells[i]);
            if (!copy) {
                for (size_t k = 0; k < i; k++)
                    gs_free(t->cells[t->n_rows * t->n_cols + k]);
                return GS_E_NOMEM;
            }
            /* a cell is one line */
            for (char *p = copy; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                    *p = ' ';
        }
        t->cells[t->n_rows * t->n_cols + i] = copy;
    }
    t->n_rows++;
    return GS_OK;
}

void table_print(const table *t, FILE *f, size_t max_width)
{
    size_t *widths = gs_calloc(t->n_cols ? t->n_cols : 1, sizeof(size_t));
    char *line = NULL;
    size_t line_len = 0;

    if (!widths)
        return;
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];
            size_t w = cell ? table_width(cell) : 0;
            if (w > widths[c])
                widths[c] = w > max_width ? max_width : w;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        /* each row goes through memory so trailing padding can be dropped */
        FILE *m = open_memstream(&line, &line_len);
        if (!m)
            break;
        for (size_t c = 0; c < t->n_cols; c++) {
            table_print_cell(m, t->cells[r * t->n_cols + c], widths[c]);
            if (c + 1 < t->n_cols)
                fputs("  ", m);
        }
        fclose(m);
        while (line_len && line[line_len - 1] == ' ')
            line[--line_len] = '\0';
        fputs(line, f);
        fputc('\n', f);
        free(line);
        line = NULL;
    }
    gs_free(widths);
}

void table_free(table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        gs_free(t->cells[i]);
    gs_free(t->cells);
    gs_free(t);
}

