/*
 * conf.h: the one reader of the `key = value` files that `gridsyncd init` writes:
 * gridsyncd.conf (server/config.c) and admin.conf (gridsync-admin). The reader knows the
 * syntax and the mistakes every such file can have; what a value means is the caller's,
 * through a callback per key.
 *
 * Syntax (docs/SERVER.md section 2):
 *   - one `key = value` per line; the first '=' separates them; blanks (spaces, tabs)
 *     around keys and values are trimmed, and so is a CR before the line end (CRLF files);
 *   - '#' starts a comment that runs to the end of the line when it is the first thing on
 *     the line or follows a blank; elsewhere it is part of the text (a token or a path may
 *     hold a '#': `ca = /srv/town#2/ca.pem`);
 *   - blank lines and comment lines are ignored.
 *
 * Invariants: every mistake fails the whole read with GS_E_CONFIG and a message
 * "FILE:LINE: ..." naming it, so a typo never silently keeps a default: a line without
 * '=', a key the caller does not know, a key given twice, an empty value, a value the
 * callback refuses; a file with a NUL byte or over CONF_FILE_MAX bytes, or one that cannot
 * be read, too. The callback sees each key at most once, in file order, and nothing after
 * the first mistake. Nothing is allocated except the file's text in conf_load.
 */
#ifndef GS_COMMON_CONF_H
#define GS_COMMON_CONF_H

#include <stddef.h>

#include "common/rc.h"

#define CONF_FILE_MAX (64 * 1024) /* a config file is a few hundred bytes */
#define CONF_KEYS_MAX 64          /* most keys one kind of file may have */

/* Takes the value of keys[key]. Returns GS_OK, or GS_E_CONFIG with why (a NUL-terminated
 * phrase such as "expected a whole number, got \"x\"") filled in; the reader adds the file,
 * line and key. */
typedef int conf_set_fn(void *ud, size_t key, const char *value, char *why, size_t why_cap);

/* Reads text[0..len) (changed in place: keys and values are NUL-terminated in it), calling
 * set for each line that sets one of keys[0..n_keys). file names the text in messages.
 * text may be NULL when len is 0. */
int conf_parse(char *text, size_t len, const char *file, const char *const *keys,
               size_t n_keys, conf_set_fn *set, void *ud, gs_err *err);

/* Reads the file at path (at most CONF_FILE_MAX bytes) with conf_parse. A file that is
 * missing, unreadable or too large is GS_E_CONFIG too, with the reason in err. */
int conf_load(const char *path, const char *const *keys, size_t n_keys, conf_set_fn *set,
              void *ud, gs_err *err);

#endif
