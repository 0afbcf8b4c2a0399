/*
 * cli_warning.c: the warning commands (预警, issue 15), offline over gs_db_warnings_list and
 * gs_db_warning_ack:
 *   warnings [--all]                 the grid's open warnings, the most pressing first
 *   warning ack ID [--note TEXT]     acknowledge one
 * The table shows labels from the schema (紧急, 待处理), as a worker reads them; --json shows
 * the records as `list --json` does, in the same order as the table. Warnings are written by
 * the server: `warning add` and `delete` of one are refused by the library (exit 2).
 */
#include "cli.h"

#include <string.h>

/* Widest cell of the table: a whole id, and most titles ("独居老人王秀英已12天未走访"). */
#define WARN_CELL_MAX 48

static const char warnings_help[] =
    "usage: gridsync warnings [--all]\n"
    "\n"
    "Lists the warnings (预警) the town server raised for this device's grids, as of the\n"
    "last sync: open ones first (待处理 before 已确认), the most urgent first (紧急, 关注,\n"
    "提示), the oldest first. --all lists the cleared ones (已解除) too, at the end.\n"
    "Acknowledge one with gridsync warning ack ID.\n";

static const char ack_help[] =
    "usage: gridsync warning ack ID [--note TEXT]\n"
    "\n"
    "Acknowledges warning ID (from gridsync warnings): you have seen it and are on it. It\n"
    "is marked 已确认 with your name and the time, and --note TEXT (处置说明) if given; the\n"
    "acknowledgement syncs like any change. It stays open until the server clears it, when\n"
    "its condition ends (the visit is recorded, the request done). A cleared warning cannot\n"
    "be acknowledged (exit 1).\n";

static int takes_none(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return 0;
}

static int takes_note(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "note") == 0;
}

/* The Chinese label of the enum value rec holds in field, or its name when the schema does
 * not know it (a newer server), or "". */
static const char *enum_label(gs_record *rec, const schema_table *t, const char *field)
{
    const schema_field *f = schema_field_find(t, field, strlen(field));
    const schema_enum *e;
    const char *name = NULL;

    if (!f || gs_record_get_str(rec, field, &name) != GS_OK)
        return "";
    e = schema_enum_find(f, name, strlen(name));
    return e ? e->label_zh : name;
}

/* The warnings as a table: id, level, title, since, state; a line when there are none. */
static int warnings_table(cli *c, gs_list *list, int all)
{
    static const char *const head[] = {"id", "level", "title", "since", "state"};
    const schema_table *t = schema_table_find("warning", strlen("warning"));
    const schema_field *since = schema_field_find(t, "since", strlen("since"));
    char title[WARN_CELL_MAX * 4 + 64], when[64];
    gs_record *rec = NULL;
    table *tab = NULL;
    int rc, any = 0;

    rc = table_new(&tab, 5) || table_add(tab, head) ? GS_E_NOMEM : GS_OK;
    while (rc == GS_OK && (rc = gs_list_next(list, &rec)) == GS_OK && rec) {
        const char *cells[5];
        cells[0] = gs_record_id(rec);
        cells[1] = enum_label(rec, t, "level");
        cells[2] = cli_field_text(rec, schema_field_find(t, "title", strlen("title")), title,
                                  sizeof(title));
        cells[3] = cli_field_text(rec, since, when, sizeof(when));
        cells[4] = enum_label(rec, t, "state");
        if (table_add(tab, cells))
            rc = GS_E_NOMEM;
        any = 1;
        gs_record_free(rec);
        rec = NULL;
    }
    if (rc == GS_OK && !any)
        printf("no %swarnings\n", all ? "" : "open ");
    else if (rc == GS_OK)
        table_print(tab, stdout, WARN_CELL_MAX);
    table_free(tab);
    return rc ? cli_fail(c, rc) : CLI_OK;
}

int cli_cmd_warnings(cli *c)
{
    gs_list *list = NULL;
    cli_opt opt;
    int i = 0, r, all = 0, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, takes_none, NULL)) > 0) {
        if (opt.name && strcmp(opt.name, "all") == 0) {
            all = 1;
            continue;
        }
        if (opt.name)
            return cli_usage_error(c, "warnings: unknown option --%.60s (see --help)", opt.name);
        return cli_usage_error(c,
                               "warnings: unexpected '%.60s' (gridsync warning ack ID "
                               "acknowledges one)",
                               opt.value);
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(warnings_help, stdout);
        return CLI_OK;
    }
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_warnings_list(c->db, all ? GS_WARNINGS_ALL : 0, &list);
    if (rc)
        return cli_fail(c, rc);
    code = c->json ? cli_list_json(c, list) : warnings_table(c, list, all);
    gs_list_free(list);
    return code;
}

int cli_cmd_warning_ack(cli *c)
{
    const char *id = NULL, *note = NULL;
    gs_record *after = NULL;
    cli_opt opt;
    int i = 0, r, code, rc;

    while ((r = cli_next_opt(c, &i, &opt, takes_note, NULL)) > 0) {
        if (opt.name && strcmp(opt.name, "note") == 0) {
            if (note)
                return cli_usage_error(c, "--note given twice");
            note = opt.value;
        } else if (opt.name) {
            return cli_usage_error(c, "warning ack: unknown option --%.60s (see --help)", opt.name);
        } else if (id) {
            return cli_usage_error(c, "warning ack: one ID only");
        } else {
            id = opt.value;
        }
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        fputs(ack_help, stdout);
        return CLI_OK;
    }
    if (!id)
        return cli_usage_error(c, "warning ack: which warning? give its ID (gridsync warnings "
                                  "lists them)");
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_warning_ack(c->db, id, note);
    if (rc == GS_OK && c->json)
        rc = gs_db_get(c->db, id, &after);
    if (rc)
        return cli_fail(c, rc);
    if (c->json) {
        code = cli_record_json(c, after);
        gs_record_free(after);
        return code;
    }
    printf("acknowledged %s\n", id);
    return CLI_OK;
}
