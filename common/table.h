/* table.h: aligned text tables for people (display-width aware, for Chinese text). */
#ifndef GS_COMMON_TABLE_H
#define GS_COMMON_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* Display columns of UTF-8 text: East Asian wide characters count 2. */
size_t table_width(const char *s);
/* Prints s padded with spaces to width columns (or cut with "…" when wider). */
void table_print_cell(FILE *f, const char *s, size_t width);

typedef struct table table;
int table_new(table **out, size_t n_cols);
/* Appends one row of n_cols cells (copied); NULL cells print empty. */
int table_add(table *t, const char *const *cells);
/* Prints aligned, every column at most max_width wide, two spaces between columns. */
void table_print(const table *t, FILE *f, size_t max_width);
void table_free(table *t);

#endif
