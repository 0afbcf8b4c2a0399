/*
 * cli.h: the `gridsync` command line program, over the public API of gridsync.h plus the
 * record schema (proto/schema.h), which drives every per-type command: the flags of
 * `<type> add` / `<type> update`, the columns of `list`, the lines of `show` and the help
 * texts all come from the schema's fields, so a new record type needs no CLI code.
 *
 * Exit codes and how errors are printed are common/cmdline.h, shared with gridsync-admin
 * (README "Exit codes"): 0 ok, 1 runtime failure, 2 bad usage, input or configuration,
 * 3 not found, 4 server unreachable, 5 authentication refused, 6 changes rejected,
 * 7 wiped (revoked with a wipe: the device's files are deleted).
 * 8 the database key is wrong or missing.
 */
#ifndef GS_CLIENT_CLI_H
#define GS_CLIENT_CLI_H

#include <stdio.h>

#include "common/cmdline.h"
#include "common/table.h"
#include "proto/schema.h"
#include "client/gridsync.h"

/* Short names for the commands' returns; the numbers are common/cmdline.h's. */
#define CLI_OK GS_EXIT_OK
#define CLI_FAIL GS_EXIT_FAIL
#define CLI_USAGE GS_EXIT_USAGE
#define CLI_NOTFOUND GS_EXIT_NOTFOUND

/* One parsed command line's shared state. */
typedef struct cli {
    const char *prog;     /* argv[0] for messages */
    const char *db_path;  /* --db, else $GRIDSYNC_DB */
    int json;             /* --json: machine-readable output */
    int help;             /* --help given */
    gs_db *db;            /* opened by cli_open */
    char **args;          /* the command's words and flags after the command name(s) */
    int n_args;           /* entries in args */
} cli;

/* An option as parsed by cli_next_opt: "--name value", "--name=value" or a positional. */
typedef struct cli_opt {
    const char *name;     /* without the dashes; NULL for a positional word */
    char name_buf[64];    /* storage for name when it came as --name=value */
    const char *value;    /* the value, or the positional word; NULL for a flag */
} cli_opt;

/* Walks c->args from *i. Handles the global options (--db, --json, --help) itself.
 * takes_value(name, ud) says whether an option wants a value. Returns 1 with *opt filled,
 * 0 at the end, -1 on a usage error (already reported). */
typedef int cli_takes_value_fn(const char *name, void *ud);
int cli_next_opt(cli *c, int *i, cli_opt *opt, cli_takes_value_fn *takes_value, void *ud);

/* Opens c->db_path, with GRIDSYNC_KEY_FILE's key when that is set (cli_key.c); reports
 * and returns an exit code on failure. */
int cli_open(cli *c);
/* Reports the handle's last error for rc (cmdline_fail: text on stderr; with --json also
 * an error object on stdout) and returns the exit code for rc. */
int cli_fail(cli *c, int rc);
/* Reports a usage problem (cmdline_usage_error) and returns CLI_USAGE. */
int cli_usage_error(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Commands. */
int cli_cmd_init(cli *c);
int cli_cmd_enroll(cli *c);
int cli_cmd_status(cli *c);
int cli_cmd_sync(cli *c);
int cli_cmd_rekey(cli *c); /* cli_key.c, with cli_open and GRIDSYNC_KEY_FILE */
int cli_cmd_import(cli *c);
int cli_cmd_add(cli *c, const schema_table *t);
int cli_cmd_update(cli *c, const schema_table *t);
int cli_cmd_show(cli *c);
int cli_cmd_list(cli *c);
int cli_cmd_delete(cli *c);
int cli_cmd_retry(cli *c);
int cli_cmd_drop(cli *c);
int cli_cmd_warnings(cli *c);
int cli_cmd_warning_ack(cli *c);
int cli_cmd_attach(cli *c);
int cli_cmd_attachments(cli *c);
int cli_cmd_attachment_get(cli *c);

/* JSON output (cli_record.c): a record as gs_record_to_json writes it, one line on stdout;
 * the records of a list as one JSON array of those. An exit code. */
int cli_record_json(cli *c, gs_record *rec);
int cli_list_json(cli *c, gs_list *list);

/* Output helpers (cli_table.c). */

/* Aligned tables: common/table.h. */

/* Prints a record's value of field for people (local times, "yes"/"no"); "" when none.
 * buf has room for cap bytes. */
const char *cli_field_text(gs_record *rec, const schema_field *f, char *buf, size_t cap);
/* Local time for people, "2026-11-27 09:30". */
void cli_local_time(int64_t ms, char *buf, size_t cap);

#endif
