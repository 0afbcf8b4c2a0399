/*
 * test_table.c: the text tables of both CLIs (common/table.c), printed into memory:
 * - display width: ASCII 1, CJK, Hangul, full-width forms and emoji 2, combining marks and
 *   zero-width characters 0, a bad or cut-short UTF-8 byte 1 (and never read past the end);
 * - one cell: padded to its width in display columns; wider, cut at a character boundary
 *   with "…" so it takes exactly its width (a wide character that does not fit is not
 *   split), newlines and tabs in a cut cell printed as spaces;
 * - a table: every column starts at the same display column on every row, whatever mix of
 *   Chinese and ASCII is above it; two spaces between columns; no trailing spaces; cells
 *   cut at the width limit; empty (NULL) cells; a cell is one line; allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/rc.h"
#include "common/table.h"
#include "common/utf8.h"

/* What f printed, as a string (the caller frees it). */
typedef struct capture {
    FILE *f;     /* the stream to print to */
    char *text;  /* what was printed, after capture_end */
    size_t len;  /* its length */
} capture;

static void capture_start(capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static char *capture_end(capture *c)
{
    assert_int_equal(fclose(c->f), 0);
    return c->text;
}

static char *cell(const char *s, size_t width)
{
    capture c;
    capture_start(&c);
    table_print_cell(c.f, s, width);
    return capture_end(&c);
}

static void test_width_table(void **state)
{
    static const struct {
        const char *s; /* UTF-8 text */
        size_t width;  /* its display columns */
    } cases[] = {
        {"", 0},
        {"abc", 3},
        {"王秀英", 6},                 /* CJK unified ideographs: 2 each */
        {"张三abc", 7},
        {"东风村3组", 9},
        {"，。", 4},                   /* CJK punctuation (U+FF0C is full-width, U+3002 CJK) */
        {"ＡＢ", 4},                   /* full-width Latin */
        {"한국", 4},                   /* Hangul syllables */
        {"\xf0\x9f\x98\x80", 2},       /* U+1F600, an emoji */
        {"\xf0\xa0\x80\x80", 2},       /* U+20000, CJK extension B (4 bytes) */
        {"e\xcc\x81", 1},              /* e + combining acute: one column */
        {"a\xe2\x80\x8b" "b", 2},      /* a zero-width space between */
        {"…", 1},                      /* the ellipsis cut cells end with */
        {"\xff", 1},                   /* a byte that starts nothing: one replacement */
        {"\xe7\x8e", 2},               /* the first two bytes of 王, cut: each bad */
        {"\xf0\x9f\x98", 3},           /* an emoji cut after 3 of its 4 bytes */
        {"\xc3", 1},                   /* a lead byte at the very end */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = table_width(cases[i].s);
        if (got != cases[i].width)
            fail_msg("table_width of case %zu ('%s') is %zu, want %zu", i, cases[i].s, got,
                     cases[i].width);
    }
}

static void test_cell_padded_or_cut_to_its_width(void **state)
{
    static const struct {
        const char *s;    /* the cell */
        size_t width;     /* the column's width */
        const char *want; /* what is printed */
    } cases[] = {
        {"abc", 5, "abc  "},
        {"abc", 3, "abc"},
        {"abcdef", 4, "abc…"},
        {"王秀英", 8, "王秀英  "},   /* 6 columns, not 9 bytes, are padded to 8 */
        {"王秀英", 6, "王秀英"},
        {"王秀英", 5, "王秀…"},      /* 2 + 2 + 1 */
        {"王秀英", 4, "王… "},       /* 秀 would need 5: not split, a space instead */
        {"王秀英", 2, "… "},
        {"王", 1, "…"},
        {"ab王", 3, "ab…"},
        {"ab王c", 4, "ab… "},
        {"东风村3组 12号", 10, "东风村3组…"},
        {"a\nbcdefg", 4, "a b…"},    /* a cut cell stays one line */
        {"a\tb\rcdefg", 6, "a b c…"},
        {"", 3, "   "},
        {NULL, 2, "  "},             /* an empty cell */
        {"e\xcc\x81tude", 5, "e\xcc\x81tude"}, /* the combining mark takes no column */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = cell(cases[i].s, cases[i].width);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: '%s' in %zu columns printed '%s', want '%s'", i,
                     cases[i].s ? cases[i].s : "(null)", cases[i].width, got, cases[i].want);
        if (table_width(got) != cases[i].width)
            fail_msg("case %zu: '%s' takes %zu columns, not %zu", i, got, table_width(got),
                     cases[i].width);
        if (!utf8_valid(got, strlen(got)))
            fail_msg("case %zu: '%s' was cut inside a character", i, got);
        free(got);
    }
}

/* Every long Chinese text cut to every width from 1 to past its own: exactly that many
 * columns, valid UTF-8, and a prefix of the text followed by "…" when cut. */
static void test_cut_every_width(void **state)
{
    const char *text = "老人身体状况良好，血压偏高，已提醒按时服药。abc 邻居说昨晚没开灯";
    size_t full = table_width(text);
    (void)state;
    assert_int_equal(full, 2 * 30 + 4); /* 30 wide characters, "abc " */
    for (size_t w = 1; w <= full + 2; w++) {
        char *got = cell(text, w);
        size_t len = strlen(got);
        if (table_width(got) != w || !utf8_valid(got, len))
            fail_msg("width %zu: '%s' (%zu columns)", w, got, table_width(got));
        if (w < full) {
            const char *ell = strstr(got, "…");
            assert_non_null(ell);
            assert_memory_equal(got, text, (size_t)(ell - got));
        } else {
            assert_memory_equal(got, text, strlen(text));
        }
        free(got);
    }
}

/* The display column at which the byte offset off of line starts. */
static size_t column_at(const char *line, size_t off)
{
    char *prefix = strndup(line, off);
    size_t w;
    assert_non_null(prefix);
    w = table_width(prefix);
    free(prefix);
    return w;
}

static void test_table_columns_line_up(void **state)
{
    const char *rows[][3] = {
        {"id", "name", "grid"},
        {"1", "王秀英", "东风村3组"},
        {"22", "Li Jian", "西河村1组"},
        {"333", "李四", "g2"},
        {"4", NULL, "北街\n村2组"}, /* an empty cell, and a newline that must not split */
    };
    table *t;
    capture c;
    char *out, *line, *end;
    size_t n_lines = 0;
    (void)state;

    assert_int_equal(table_new(&t, 3), GS_OK);
    for (size_t r = 0; r < 5; r++)
        assert_int_equal(table_add(t, rows[r]), GS_OK);
    capture_start(&c);
    table_print(t, c.f, 40);
    out = capture_end(&c);
    table_free(t);

    /* name is 7 wide ("Li Jian"; 王秀英 is 6 wide in 9 bytes), so grid starts at
     * 3 + 2 + 7 + 2 = 14 everywhere */
    for (line = out; (end = strchr(line, '\n')); line = end + 1) {
        const char *grid, *at;
        *end = '\0';
        if (n_lines >= 5)
            fail_msg("more than 5 lines: '%s'", line);
        grid = rows[n_lines][2];
        at = n_lines == 4 ? strstr(line, "北街") : strstr(line, grid);
        assert_non_null(at);
        if (column_at(line, (size_t)(at - line)) != 14)
            fail_msg("line %zu '%s': grid starts at column %zu, not 14", n_lines, line,
                     column_at(line, (size_t)(at - line)));
        if (rows[n_lines][1] &&
            column_at(line, (size_t)(strstr(line, rows[n_lines][1]) - line)) != 5)
            fail_msg("line %zu '%s': name does not start at column 5", n_lines, line);
        if (line[strlen(line) - 1] == ' ')
            fail_msg("line %zu '%s' ends with a space", n_lines, line);
        n_lines++;
    }
    assert_int_equal(n_lines, 5); /* the newline inside a cell did not make a sixth */
    assert_string_equal(line, ""); /* and the last line ended with one */
    free(out);
}

static void test_table_cuts_at_the_width_limit(void **state)
{
    const char *head[] = {"name", "notes"};
    const char *row[] = {"王秀英", "老人身体状况良好，血压偏高"};
    const char *want = "name    notes\n"
                       "王秀英  老人身体…\n";
    table *t;
    capture c;
    char *out;
    (void)state;

    assert_int_equal(table_new(&t, 2), GS_OK);
    assert_int_equal(table_add(t, head), GS_OK);
    assert_int_equal(table_add(t, row), GS_OK);
    capture_start(&c);
    table_print(t, c.f, 9); /* notes are 26 wide: cut to 9, name (6) is under it */
    out = capture_end(&c);
    table_free(t);
    if (strcmp(out, want) != 0)
        fail_msg("printed\n%swant\n%s", out, want);
    free(out);
}

static void test_table_many_rows_and_empty(void **state)
{
    table *t;
    capture c;
    char *out, num[16];
    const char *row[2] = {num, "x"};
    size_t lines = 0;
    (void)state;

    /* no rows: nothing printed */
    assert_int_equal(table_new(&t, 2), GS_OK);
    capture_start(&c);
    table_print(t, c.f, 40);
    out = capture_end(&c);
    assert_string_equal(out, "");
    free(out);
    /* more rows than the first allocation holds */
    for (int i = 0; i < 100; i++) {
        snprintf(num, sizeof(num), "%d", i);
        assert_int_equal(table_add(t, row), GS_OK);
    }
    capture_start(&c);
    table_print(t, c.f, 40);
    out = capture_end(&c);
    table_free(t);
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 100);
    assert_non_null(strstr(out, "0   x\n"));
    assert_non_null(strstr(out, "99  x\n"));
    free(out);
    table_free(NULL); /* a no-op */
}

/* Allocation failure at every step of building a table: GS_E_NOMEM, nothing half-added
 * (the table prints what was added before), no leak (LeakSanitizer under make asan). */
static void test_table_allocation_failure(void **state)
{
    const char *row[3] = {"王秀英", NULL, "东风村3组"};
    int failures = 0, done = 0;
    (void)state;

    for (long n = 0; n < 200 && !done; n++) {
        table *t = NULL;
        int rc;
        gs_alloc_fail_after(n);
        rc = table_new(&t, 3);
        for (int i = 0; i < 20 && rc == GS_OK; i++)
            rc = table_add(t, row);
        gs_alloc_fail_after(-1);
        if (rc == GS_OK) {
            table_free(t);
            done = 1;
            continue;
        }
        assert_int_equal(rc, GS_E_NOMEM);
        failures++;
        if (t) {
            capture c;
            char *out;
            size_t lines = 0;
            capture_start(&c);
            table_print(t, c.f, 40);
            out = capture_end(&c);
            for (const char *p = out; *p; p++)
                lines += *p == '\n';
            /* the rows before the failed one, each whole */
            for (const char *p = out; (p = strstr(p, "王秀英")); p++)
                lines--;
            assert_int_equal(lines, 0);
            free(out);
            table_free(t);
        }
    }
    assert_true(done);
    assert_true(failures > 20); /* the table, two rows' storage, every cell's copy */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_width_table),
        cmocka_unit_test(test_cell_padded_or_cut_to_its_width),
        cmocka_unit_test(test_cut_every_width),
        cmocka_unit_test(test_table_columns_line_up),
        cmocka_unit_test(test_table_cuts_at_the_width_limit),
        cmocka_unit_test(test_table_many_rows_and_empty),
        cmocka_unit_test(test_table_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
