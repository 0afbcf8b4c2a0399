/*
 * cli_key.c: the database key on the command line (README "Encryption at rest").
 *
 *   GRIDSYNC_KEY_FILE=FILE      every command opens the database with FILE's key
 *   GRIDSYNC_NEW_KEY_FILE=FILE  `gridsync rekey` (or --new-key-file FILE): the new key
 *
 * A key file holds the key's bytes, 1..GS_DB_KEY_MAX of them; one final newline ("\n" or
 * "\r\n") is not part of the key, so `echo secret > key` and a 32-byte random file both
 * work. Keys are never taken from the command line or the environment's value itself:
 * both are visible to other users of the machine (ps, /proc/PID/environ of root).
 * The buffers holding a key are wiped before they are released.
 */
#include "cli.h"

#include "common/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct cli_key {
    unsigned char bytes[GS_DB_KEY_MAX + 2]; /* the file's content, +2: "\r\n" past the cap */
    size_t len;                             /* the key's length without the final newline */
} cli_key;

/* Reads the key file named by the environment variable var (or path when not NULL).
 * 0 with *k filled, or an exit code already reported. */
static int key_read(cli *c, const char *var, const char *path, cli_key *k)
{
    FILE *f;
    size_t n;
    int overflow;

    if (!path)
        path = getenv(var);
    if (!path || !*path)
        return cmdline_fail("gridsync", c->json, GS_E_CONFIG, "no key file: set the variable");
    f = fopen(path, "rb");
    if (!f) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%s=%s: cannot read the key file: %s", var, path,
                 strerror(errno));
        return cmdline_fail("gridsync", c->json, GS_E_CONFIG, msg);
    }
    n = fread(k->bytes, 1, sizeof(k->bytes), f);
    overflow = n == sizeof(k->bytes) && fgetc(f) != EOF;
    fclose(f);
    if (n && k->bytes[n - 1] == '\n') {
        n--;
        if (n && k->bytes[n - 1] == '\r')
            n--;
    }
    if (overflow || n > GS_DB_KEY_MAX || n == 0) {
        char msg[600];
        explicit_bzero(k->bytes, sizeof(k->bytes));
        snprintf(msg, sizeof(msg), "%s=%s: a key file holds 1 to %d bytes (one final newline "
                 "is not counted)", var, path, GS_DB_KEY_MAX);
        return cmdline_fail("gridsync", c->json, n == 0 ? GS_E_CONFIG : GS_E_TOO_LARGE, msg);
    }
    k->len = n;
    return CLI_OK;
}

int cli_open(cli *c)
{
    const char *key_file = getenv("GRIDSYNC_KEY_FILE");
    cli_key k = {.len = 0};
    int rc;

    if (!c->db_path || !*c->db_path)
        return cli_usage_error(c, "no database: give --db PATH or set GRIDSYNC_DB");
    if (key_file && *key_file) {
        rc = key_read(c, "GRIDSYNC_KEY_FILE", NULL, &k);
        if (rc)
            return rc;
    }
    rc = gs_db_open_key(c->db_path, k.len ? k.bytes : NULL, k.len, &c->db);
    explicit_bzero(k.bytes, sizeof(k.bytes));
    if (rc) {
        int code = cli_fail(c, rc);
        gs_db_close(c->db);
        c->db = NULL;
        return code;
    }
    return CLI_OK;
}

static int takes_new_key_file(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "new-key-file") == 0;
}

static void rekey_usage(FILE *f)
{
    fputs("usage: GRIDSYNC_NEW_KEY_FILE=NEW gridsync rekey [--new-key-file NEW]\n"
          "\n"
          "Re-encrypts the device database under the key in NEW. The current key is\n"
          "GRIDSYNC_KEY_FILE's (unset: a plain database, which this encrypts). Atomic: after\n"
          "a crash the database opens with exactly one of the two keys. Keep NEW, then point\n"
          "GRIDSYNC_KEY_FILE at it. Needs a gridsync built with make SQLCIPHER=1.\n",
          f);
}

int cli_cmd_rekey(cli *c)
{
    const char *new_path = NULL;
    cli_key nk = {.len = 0};
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, takes_new_key_file, NULL)) == 1) {
        if (opt.name && strcmp(opt.name, "new-key-file") == 0)
            new_path = opt.value;
        else
            return cli_usage_error(c, "rekey: unexpected %s%.60s", opt.name ? "--" : "",
                                   opt.name ? opt.name : opt.value);
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        rekey_usage(stdout);
        return CLI_OK;
    }
    if (!new_path && !(getenv("GRIDSYNC_NEW_KEY_FILE") && *getenv("GRIDSYNC_NEW_KEY_FILE")))
        return cli_usage_error(c, "rekey: no new key: set GRIDSYNC_NEW_KEY_FILE or give "
                                  "--new-key-file FILE");
    code = key_read(c, "GRIDSYNC_NEW_KEY_FILE", new_path, &nk);
    if (code)
        return code;
    code = cli_open(c);
    if (code == CLI_OK) {
        rc = gs_db_rekey(c->db, nk.bytes, nk.len);
        if (rc)
            code = cli_fail(c, rc);
        else if (c->json)
            printf("{\"rekeyed\":true}\n");
        else
            printf("re-encrypted %s under the new key: use it as GRIDSYNC_KEY_FILE from now on\n",
                   c->db_path);
    }
    explicit_bzero(nk.bytes, sizeof(nk.bytes));
    return code;
}
