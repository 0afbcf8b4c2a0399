/*
 * conf.c: see conf.h. One pass over the text, line by line; a line is cut at its comment,
 * then split at its first '='. Which keys were seen is kept as the line that set them, so
 * the "given twice" message can name both lines.
 */
#include "conf.h"

#include "buf.h"

#include <stdio.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks (and a CR at the end) around s[0..end) and NUL-terminates it. */
static char *trim(char *s, char *end)
{
    while (s < end && is_blank(*s))
        s++;
    while (end > s && (is_blank(end[-1]) || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

/* Where the comment of line[0..end) begins, or end: a '#' first on the line or after a
 * blank. */
static char *comment_start(char *line, char *end)
{
    for (char *p = line; p < end; p++)
        if (*p == '#' && (p == line || is_blank(p[-1])))
            return p;
    return end;
}

/* 1 with *out set when key is one of keys[0..n_keys). */
static int key_index(const char *const *keys, size_t n_keys, const char *key, size_t *out)
{
    for (size_t i = 0; i < n_keys; i++)
        if (strcmp(keys[i], key) == 0) {
            *out = i;
            return 1;
        }
    return 0;
}

int conf_parse(char *text, size_t len, const char *file, const char *const *keys,
               size_t n_keys, conf_set_fn *set, void *ud, gs_err *err)
{
    int seen_line[CONF_KEYS_MAX] = {0};
    char *p, *end;
    int line_no = 0;

    if (n_keys > CONF_KEYS_MAX)
        return gs_err_set(err, GS_E_INVALID, "%s: more than %d keys to read", file,
                          CONF_KEYS_MAX);
    if (len == 0) /* text may then be NULL (an empty file): no pointer arithmetic on it */
        return GS_OK;
    if (memchr(text, '\0', len))
        return gs_err_set(err, GS_E_CONFIG, "%s: contains a NUL byte; not a text file", file);
    p = text;
    end = text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = comment_start(p, nl ? nl : end);
        char *eq = memchr(p, '=', (size_t)(line_end - p));
        char *key, *value, why[256];
        size_t k;

        line_no++;
        if (!eq) {
            key = trim(p, line_end);
            if (*key)
                return gs_err_set(err, GS_E_CONFIG,
                                  "%s:%d: expected \"key = value\", got \"%.60s\"", file,
                                  line_no, key);
            p = nl ? nl + 1 : end;
            continue;
        }
        key = trim(p, eq);
        value = trim(eq + 1, line_end);
        if (!key_index(keys, n_keys, key, &k))
            return gs_err_set(err, GS_E_CONFIG, "%s:%d: unknown key \"%.60s\"", file, line_no,
                              key);
        if (seen_line[k])
            return gs_err_set(err, GS_E_CONFIG, "%s:%d: \"%s\" already set on line %d", file,
                              line_no, key, seen_line[k]);
        seen_line[k] = line_no;
        if (!*value)
            return gs_err_set(err, GS_E_CONFIG, "%s:%d: \"%s\" has no value", file, line_no,
                              key);
        why[0] = '\0';
        if (set(ud, k, value, why, sizeof(why)) != GS_OK)
            return gs_err_set(err, GS_E_CONFIG, "%s:%d: %s: %s", file, line_no, key,
                              why[0] ? why : "bad value");
        p = nl ? nl + 1 : end;
    }
    return GS_OK;
}

int conf_load(const char *path, const char *const *keys, size_t n_keys, conf_set_fn *set,
              void *ud, gs_err *err)
{
    gs_buf text;
    int rc;

    buf_init(&text, CONF_FILE_MAX);
    rc = buf_read_file(&text, path, err);
    if (rc) {
        /* missing, unreadable or too large: to the person, all a setting to fix */
        if (err)
            err->rc = GS_E_CONFIG;
        rc = GS_E_CONFIG;
        goto out;
    }
    rc = conf_parse(text.ptr, text.len, path, keys, n_keys, set, ud, err);
out:
    buf_free(&text);
    return rc;
}
