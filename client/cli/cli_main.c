/*
 * cli_main.c: main() of `gridsync`: global options, command dispatch, usage texts. How
 * errors become messages and exit codes is common/cmdline.c, shared with gridsync-admin.
 * Global options may come before or after the command words (`gridsync --json list
 * visits` = `gridsync list visits --json`).
 */
#include "cli.h"

#include "common/alloc.h"
#include "common/rc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The general help; the record types and their commands come from the schema. */
static void usage(FILE *f)
{
    fputs("usage: gridsync [--db PATH] [--json] COMMAND ...\n"
          "\n"
          "Records community grid work on this device, offline; syncs it later.\n"
          "\n"
          "commands:\n"
          "  init --device ID --token TOKEN --server URL --ca PEM --grid GRID [--grid G]...\n"
          "       [--worker NAME]             store this device's enrolment\n"
          "  enroll URI | enroll CODE --server URL --fingerprint HEX [--worker NAME]\n"
          "                                   enrol with the code of gridsync-admin device add\n"
          "                                   (its QR code holds the gridsync://enroll URI)\n",
          f);
    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *t = &schema_tables[i];
        char cmd[96];
        if (t->server_only || strcmp(t->name, "attachment") == 0)
            continue; /* the server writes warnings, attach makes attachments (below) */
        snprintf(cmd, sizeof(cmd), "%s add|update", t->cli_name);
        fprintf(f, "  %-32s record or change a %s (%s)\n", cmd, t->label_en, t->label_zh);
    }
    fputs("  show ID                          one record\n"
          "  list TYPE [--FIELD VALUE]... [--limit N]\n"
          "                                   records of a type, newest first; TYPE is",
          f);
    for (size_t i = 0; i < schema_n_tables; i++)
        fprintf(f, "%s %s", i ? "," : "", schema_tables[i].cli_plural);
    fputs("\n"
          "  delete ID                        delete a record (the deletion syncs)\n"
          "  attach ID FILE [--caption TEXT] attach a photo (JPEG, PNG) or a PDF to a record\n"
          "  attachments ID                   a record's attachments\n"
          "  attachment get ATT_ID --out FILE [--thumb]\n"
          "                                   write an attachment (or its thumbnail) to FILE\n"
          "  import FILE.jsonl                add records, one JSON object per line, all or none\n"
          "  warnings [--all]                 the grid's warnings (预警), most pressing first\n"
          "  warning ack ID [--note TEXT]     acknowledge a warning (you are on it)\n"
          "  status                           pending changes, last sync, rejected changes,\n"
          "                                   open warnings\n"
          "  retry SEQ                        send a rejected change again, as a new change\n"
          "  drop SEQ                         give a rejected change up\n"
          "  sync [--batch N]                 send pending changes, receive the grid's changes\n"
          "  rekey [--new-key-file FILE]      re-encrypt the database under a new key\n"
          "                                   (default: $GRIDSYNC_NEW_KEY_FILE)\n"
          "\n"
          "global options:\n"
          "  --db PATH    the device database (default: $GRIDSYNC_DB)\n"
          "  --json       machine-readable output\n"
          "  --help       help for any command (gridsync <type> add --help)\n"
          "\n"
          "environment: GRIDSYNC_DB (the database), GRIDSYNC_KEY_FILE (a file holding the\n"
          "database's key; a build with make SQLCIPHER=1 keeps it encrypted)\n"
          "\n"
          "exit codes: 0 ok, 1 failure, 2 bad usage, input or configuration, 3 not found,\n"
          "4 server unreachable (nothing lost), 5 authentication refused, 6 changes rejected,\n"
          "7 the device was revoked with a wipe: its data and token are deleted\n"
          "8 the database key is wrong or missing (nothing written)\n",
          f);
}

int cli_fail(cli *c, int rc)
{
    return cmdline_fail("gridsync", c->json, rc, c->db ? gs_db_errmsg(c->db) : NULL);
}

int cli_usage_error(cli *c, const char *fmt, ...)
{
    va_list ap;
    int code;

    va_start(ap, fmt);
    code = cmdline_usage_verror("gridsync", c->json, fmt, ap);
    va_end(ap);
    return code;
}

int cli_next_opt(cli *c, int *i, cli_opt *opt, cli_takes_value_fn *takes_value, void *ud)
{
    while (*i < c->n_args) {
        const char *a = c->args[(*i)++];
        const char *eq;
        const char *name;

        memset(opt, 0, sizeof(*opt));
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            opt->value = a;
            return 1;
        }
        name = a + 2;
        eq = strchr(name, '=');
        if (eq) {
            size_t n = (size_t)(eq - name);
            if (n >= sizeof(opt->name_buf)) {
                cli_usage_error(c, "unknown option %.60s", a);
                return -1;
            }
            memcpy(opt->name_buf, name, n);
            opt->name_buf[n] = '\0';
            name = opt->name_buf;
        }
        if (strcmp(name, "json") == 0 && !eq) {
            c->json = 1;
            continue;
        }
        if (strcmp(name, "help") == 0 && !eq) {
            c->help = 1;
            continue;
        }
        opt->name = name;
        if (strcmp(name, "db") == 0 || takes_value(name, ud)) {
            if (eq) {
                opt->value = eq + 1;
            } else {
                if (*i >= c->n_args) {
                    cli_usage_error(c, "--%s needs a value", name);
                    return -1;
                }
                opt->value = c->args[(*i)++];
            }
        } else if (eq) {
            cli_usage_error(c, "--%s takes no value", name);
            return -1;
        }
        if (strcmp(name, "db") == 0) {
            c->db_path = opt->value;
            continue;
        }
        return 1;
    }
    return 0;
}

static int takes_none(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return 0;
}

int main(int argc, char **argv)
{
    cli c;
    const char *words[2] = {NULL, NULL};
    char **rest;
    int n_words = 0, code, n_rest = 0;

    memset(&c, 0, sizeof(c));
    c.prog = argv[0];
    c.db_path = getenv("GRIDSYNC_DB");
    rest = gs_calloc((size_t)argc + 1, sizeof(char *));
    if (!rest) {
        fprintf(stderr, "gridsync: out of memory\n");
        return CLI_FAIL;
    }
    /* the command is the first one or two words that are not options; global options
       before it are taken here, everything after it goes to the command */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (n_words == 0 && strcmp(a, "--db") == 0 && i + 1 < argc) {
            c.db_path = argv[++i];
            continue;
        }
        if (n_words == 0 && strncmp(a, "--db=", 5) == 0) {
            c.db_path = a + 5;
            continue;
        }
        if (n_words == 0 && strcmp(a, "--json") == 0) {
            c.json = 1;
            continue;
        }
        if (n_words == 0 && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            c.help = 1;
            continue;
        }
        if (n_words == 0 && strcmp(a, "--version") == 0) {
            printf("gridsync %s\n", gs_version());
            gs_free(rest);
            return CLI_OK;
        }
        if (n_words == 0 && a[0] != '-') {
            words[n_words++] = a;
            /* nouns take a verb as their second word; "warnings" is a command of its own */
            if (schema_table_by_cli(a) && strcmp(a, "list") != 0 &&
                strcmp(a, "warnings") != 0 && strcmp(a, "attachments") != 0 && i + 1 < argc &&
                argv[i + 1][0] != '-')
                words[n_words++] = argv[++i];
            continue;
        }
        if (n_words == 0) {
            gs_free(rest);
            return cli_usage_error(&c, "unknown option %.60s before the command", a);
        }
        rest[n_rest++] = argv[i];
    }
    /* words after the command (ids, flags) are all the command's */
    c.args = rest;
    c.n_args = n_rest;
    if (n_words == 0) {
        usage(c.help ? stdout : stderr);
        gs_free(rest);
        return c.help ? CLI_OK : CLI_USAGE;
    }
    if (strcmp(words[0], "help") == 0) {
        usage(stdout);
        code = CLI_OK;
    } else if (strcmp(words[0], "init") == 0) {
        code = cli_cmd_init(&c);
    } else if (strcmp(words[0], "enroll") == 0) {
        code = cli_cmd_enroll(&c);
    } else if (strcmp(words[0], "sync") == 0) {
        code = cli_cmd_sync(&c);
    } else if (strcmp(words[0], "rekey") == 0) {
        code = cli_cmd_rekey(&c);
    } else if (strcmp(words[0], "status") == 0) {
        code = cli_cmd_status(&c);
    } else if (strcmp(words[0], "import") == 0) {
        code = cli_cmd_import(&c);
    } else if (strcmp(words[0], "show") == 0) {
        code = cli_cmd_show(&c);
    } else if (strcmp(words[0], "list") == 0) {
        code = cli_cmd_list(&c);
    } else if (strcmp(words[0], "delete") == 0) {
        code = cli_cmd_delete(&c);
    } else if (strcmp(words[0], "retry") == 0) {
        code = cli_cmd_retry(&c);
    } else if (strcmp(words[0], "drop") == 0) {
        code = cli_cmd_drop(&c);
    } else if (strcmp(words[0], "warnings") == 0) {
        code = cli_cmd_warnings(&c);
    } else if (strcmp(words[0], "warning") == 0 && words[1] && strcmp(words[1], "ack") == 0) {
        code = cli_cmd_warning_ack(&c);
    } else if (strcmp(words[0], "attach") == 0) {
        code = cli_cmd_attach(&c);
    } else if (strcmp(words[0], "attachments") == 0) {
        code = cli_cmd_attachments(&c);
    } else if (strcmp(words[0], "attachment") == 0 && words[1] && strcmp(words[1], "get") == 0) {
        code = cli_cmd_attachment_get(&c);
    } else if (schema_table_by_cli(words[0])) {
        const schema_table *t = schema_table_by_cli(words[0]);
        if (!words[1]) {
            int i = 0;
            cli_opt opt;
            /* "gridsync visit --help" */
            while (cli_next_opt(&c, &i, &opt, takes_none, NULL) > 0)
                ;
            if (c.help && t->server_only) {
                printf("usage: gridsync warning ack ID [--note TEXT] (gridsync warning ack "
                       "--help)\n       gridsync warnings [--all]\n");
                code = CLI_OK;
            } else if (c.help) {
                printf("usage: gridsync %s add|update ... (gridsync %s add --help)\n",
                       t->cli_name, t->cli_name);
                code = CLI_OK;
            } else {
                code = cli_usage_error(&c, "%s: say %s", words[0],
                                       t->server_only ? "ack" : "add or update");
            }
        } else if (strcmp(words[1], "add") == 0) {
            code = cli_cmd_add(&c, t);
        } else if (strcmp(words[1], "update") == 0) {
            code = cli_cmd_update(&c, t);
        } else if (t->server_only) {
            code = cli_usage_error(&c, "%s %s: unknown; say %s ack", words[0], words[1],
                                   t->cli_name);
        } else {
            code = cli_usage_error(&c, "%s %s: unknown; say %s add or %s update", words[0],
                                   words[1], words[0], words[0]);
        }
    } else {
        code = cli_usage_error(&c, "unknown command '%.60s'", words[0]);
    }
    gs_db_close(c.db);
    gs_free(rest);
    return code;
}
