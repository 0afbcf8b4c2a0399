/*
 * cli_record.c: the record commands, one generic implementation for every table:
 *   <type> add [--FLAG VALUE]...        <type> update ID [--FLAG VALUE]...
 *   show ID      list <types> [--FLAG VALUE]... [--limit N]      delete ID
 * A field's flag is its schema cli_flag. Boolean fields are switches (--follow-up, and
 * --no-follow-up on update); a tags field's flag may repeat (--tag a --tag b, or a,b);
 * every other flag takes one value, given once; an empty value clears the field on update.
 */
#include "cli.h"

#include "common/alloc.h"

#include "common/isotime.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Widest cell in a list table before it is cut with "…". */
#define LIST_CELL_MAX 36 /* a whole id */

static const schema_field *field_by_flag(const schema_table *t, const char *flag, int *negated)
{
    *negated = 0;
    for (size_t i = 0; i < t->n_fields; i++)
        if (t->fields[i].cli_flag && strcmp(t->fields[i].cli_flag, flag) == 0)
            return &t->fields[i];
    if (strncmp(flag, "no-", 3) == 0)
        for (size_t i = 0; i < t->n_fields; i++)
            if (t->fields[i].type == ST_BOOL && t->fields[i].cli_flag &&
                strcmp(t->fields[i].cli_flag, flag + 3) == 0) {
                *negated = 1;
                return &t->fields[i];
            }
    return NULL;
}

/* takes_value for record flags: everything but switches (and --limit is a value too). */
static int record_takes_value(const char *name, void *ud)
{
    const schema_table *t = ud;
    int negated;
    const schema_field *f = field_by_flag(t, name, &negated);

    if (strcmp(name, "limit") == 0)
        return 1;
    return f && f->type != ST_BOOL;
}

static const char *type_hint(const schema_field *f)
{
    switch (f->type) {
    case ST_TEXT: return "TEXT";
    case ST_INT: return "N";
    case ST_BOOL: return "";
    case ST_REAL: return "X";
    case ST_TIME: return "ISO8601";
    case ST_ENUM: return "NAME";
    case ST_REF: return "ID";
    case ST_TAGS: return "TAG";
    }
    return "VALUE";
}

/* Help generated from the schema: every flag, its label, its values, whether required. */
static void record_help(const schema_table *t, const char *verb)
{
    int add = strcmp(verb, "add") == 0;

    if (add && t->server_only) {
        /* gs_db_add refuses it (read_only): say what to do instead */
        printf("%s records (%s) are written by the town server only: this device receives\n"
               "them with gridsync sync and lists them with gridsync %s.\n",
               t->label_en, t->label_zh, t->cli_plural);
        if (strcmp(t->name, "warning") == 0)
            printf("To acknowledge one: gridsync warning ack ID [--note TEXT]\n");
        return;
    }
    printf("usage: gridsync %s %s%s [options]\n\n%s %s (%s)\n\noptions:\n", t->cli_name, verb,
           add ? "" : " ID", add ? "Records a" : "Changes a", t->label_en, t->label_zh);
    for (size_t i = 0; i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        char flag[96];
        if (!f->cli_flag)
            continue;
        snprintf(flag, sizeof(flag), "--%s%s%s", f->cli_flag, f->type == ST_BOOL ? "" : " ",
                 type_hint(f));
        printf("  %-22s %s %s", flag, f->label_zh, f->label_en);
        if (strcmp(verb, "add") == 0 && (f->flags & SF_REQUIRED) &&
            !(f->flags & (SF_FROM_DEVICE | SF_DEFAULT_NOW)) && !f->def)
            printf(" (required)");
        if (f->flags & SF_FROM_DEVICE)
            printf(" (default: from gridsync init)");
        if (f->flags & SF_DEFAULT_NOW)
            printf(" (default: now)");
        if (f->def)
            printf(" (default: %s)", f->def);
        if (f->flags & SF_IMMUTABLE)
            printf(" (cannot change later)");
        if (f->type == ST_TAGS)
            printf(" (repeat for several)");
        if (f->type == ST_BOOL && strcmp(verb, "update") == 0)
            printf(" (--no-%s to unset)", f->cli_flag);
        putchar('\n');
        if (f->n_enums) {
            printf("  %-22s ", "");
            for (size_t k = 0; k < f->n_enums; k++)
                printf("%s%s (%s)", k ? ", " : "", f->enums[k].name, f->enums[k].label_zh);
            putchar('\n');
        }
    }
    printf("\ntimes: 2026-11-27T09:30 (Beijing time), 2026-11-27T01:30:00Z, 2026-11-27\n");
    if (strcmp(verb, "update") == 0)
        printf("an empty value (--notes \"\") clears an optional field\n");
}

int cli_record_json(cli *c, gs_record *rec)
{
    char *json;
    int rc = gs_record_to_json(rec, &json);
    if (rc)
        return cli_fail(c, rc);
    printf("%s\n", json);
    gs_free(json);
    return CLI_OK;
}

/* Applies the record flags of the command line to rec. */
static int apply_flags(cli *c, const schema_table *t, gs_record *rec, int is_update,
                       const char **id_out)
{
    unsigned char seen[128] = {0};
    cli_opt opt;
    int i = 0, r, rc;

    while ((r = cli_next_opt(c, &i, &opt, record_takes_value, (void *)t)) > 0) {
        const schema_field *f;
        size_t idx;
        int negated;

        if (!opt.name) {
            if (is_update && id_out && !*id_out) {
                *id_out = opt.value;
                continue;
            }
            return cli_usage_error(c, "unexpected '%.60s'", opt.value);
        }
        f = field_by_flag(t, opt.name, &negated);
        if (!f)
            return cli_usage_error(c, "%s %s: unknown option --%.60s (see --help)", t->cli_name,
                                   is_update ? "update" : "add", opt.name);
        idx = (size_t)(f - t->fields);
        if (negated && !is_update)
            return cli_usage_error(c, "--%s is for update", opt.name);
        if (idx < sizeof(seen) && seen[idx] && f->type != ST_TAGS)
            return cli_usage_error(c, "--%s given twice", f->cli_flag);
        if (idx < sizeof(seen))
            seen[idx] = 1;
        if (f->type == ST_BOOL) {
            rc = gs_record_set_bool(rec, f->name, !negated);
        } else if (f->type == ST_TAGS) {
            /* each --tag adds; "a,b" adds both; an empty --tag "" clears (update) */
            if (!*opt.value) {
                rc = gs_record_clear(rec, f->name);
            } else {
                char *copy = gs_strdup(opt.value), *p = copy, *comma;
                if (!copy)
                    return cli_fail(c, GS_E_NOMEM);
                rc = GS_OK;
                while (rc == GS_OK && p) {
                    comma = strchr(p, ',');
                    if (comma)
                        *comma = '\0';
                    if (*p)
                        rc = gs_record_add_tag(rec, f->name, p);
                    p = comma ? comma + 1 : NULL;
                }
                gs_free(copy);
            }
        } else {
            rc = gs_record_set_text(rec, f->name, opt.value);
        }
        if (rc)
            return cli_fail(c, rc);
    }
    if (r < 0)
        return CLI_USAGE;
    return CLI_OK;
}

/* What `<type> add` and `<type> update` do before their flags: answer --help given
 * anywhere (scanning first, so nothing is opened), open the database, make an empty record.
 * Returns 1 with *code set when the command is over, 0 with *rec made otherwise. */
static int record_begin(cli *c, const schema_table *t, const char *verb, gs_record **rec,
                        int *code)
{
    cli_opt opt;
    int i = 0, r, rc;

    while ((r = cli_next_opt(c, &i, &opt, record_takes_value, (void *)t)) > 0)
        ;
    if (c->help) {
        record_help(t, verb);
        *code = CLI_OK;
        return 1;
    }
    if (r < 0) {
        *code = CLI_USAGE;
        return 1;
    }
    *code = cli_open(c);
    if (*code)
        return 1;
    rc = gs_record_new(c->db, t->name, rec);
    if (rc) {
        *code = cli_fail(c, rc);
        return 1;
    }
    return 0;
}

int cli_cmd_add(cli *c, const schema_table *t)
{
    gs_record *rec = NULL;
    int code, rc;

    if (record_begin(c, t, "add", &rec, &code))
        return code;
    code = apply_flags(c, t, rec, 0, NULL);
    if (code == CLI_OK) {
        rc = gs_db_add(c->db, rec);
        if (rc)
            code = cli_fail(c, rc);
        else if (c->json)
            code = cli_record_json(c, rec);
        else
            printf("%s\n", gs_record_id(rec));
    }
    fflush(stdout);
    gs_record_free(rec);
    return code;
}

int cli_cmd_update(cli *c, const schema_table *t)
{
    gs_record *rec = NULL, *after = NULL;
    const char *id = NULL;
    int code, rc;

    if (record_begin(c, t, "update", &rec, &code))
        return code;
    code = apply_flags(c, t, rec, 1, &id);
    if (code == CLI_OK && !id)
        code = cli_usage_error(c, "%s update: which record? give its ID", t->cli_name);
    if (code == CLI_OK) {
        rc = gs_record_set_id(rec, id);
        if (rc == GS_OK)
            rc = gs_db_update(c->db, rec);
        if (rc == GS_OK)
            rc = gs_db_get(c->db, id, &after);
        if (rc)
            code = cli_fail(c, rc);
        else if (c->json)
            code = cli_record_json(c, after);
        else
            printf("%s\n", gs_record_id(after));
    }
    gs_record_free(after);
    gs_record_free(rec);
    return code;
}

static int takes_none(const char *name, void *ud)
{
    (void)name;
    (void)ud;
    return 0;
}

/* Takes exactly one positional ID; -1 after printing --help. */
static int one_id(cli *c, const char *cmd, const char **id)
{
    cli_opt opt;
    int i = 0, r;

    *id = NULL;
    while ((r = cli_next_opt(c, &i, &opt, takes_none, NULL)) > 0) {
        if (opt.name)
            return cli_usage_error(c, "%s: unknown option --%.60s", cmd, opt.name);
        if (*id)
            return cli_usage_error(c, "%s: one ID only", cmd);
        *id = opt.value;
    }
    if (r < 0)
        return CLI_USAGE;
    if (c->help) {
        printf("usage: gridsync %s ID\n", cmd);
        return -1;
    }
    if (!*id)
        return cli_usage_error(c, "%s: which record? give its ID", cmd);
    return CLI_OK;
}

/* The first required text field of a table ("name"): how a reference is shown. */
int cli_cmd_show(cli *c)
{
    gs_record *rec = NULL;
    const schema_table *t;
    const char *id;
    char buf[8192], when[64];
    int code, rc;

    code = one_id(c, "show", &id);
    if (code)
        return code < 0 ? CLI_OK : code;
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_get(c->db, id, &rec);
    if (rc)
        return cli_fail(c, rc);
    if (c->json) {
        code = cli_record_json(c, rec);
        gs_record_free(rec);
        return code;
    }
    t = schema_table_find(gs_record_table(rec), strlen(gs_record_table(rec)));
    printf("%s %s  %s\n", t->label_zh, t->label_en, gs_record_id(rec));
    for (size_t i = 0; i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        char label[160];
        snprintf(label, sizeof(label), "%s %s", f->label_zh, f->name);
        printf("  ");
        if (!gs_record_has(rec, f->name)) {
            printf("%s\n", label);
            continue;
        }
        table_print_cell(stdout, label, 24);
        printf("  %s", cli_field_text(rec, f, buf, sizeof(buf)));
        if (f->type == ST_ENUM && gs_record_has(rec, f->name)) {
            const char *name;
            const schema_enum *e = gs_record_get_str(rec, f->name, &name) == GS_OK
                                       ? schema_enum_find(f, name, strlen(name))
                                       : NULL;
            if (e)
                printf("  (%s)", e->label_zh);
        }
        if (f->type == ST_REF && gs_record_has(rec, f->name)) {
            /* name the record referred to, when this device has it */
            const char *ref;
            gs_record *target = NULL;
            if (gs_record_get_ref(rec, f->name, &ref) == GS_OK &&
                gs_db_get(c->db, ref, &target) == GS_OK) {
                const schema_table *rt =
                    schema_table_find(gs_record_table(target), strlen(gs_record_table(target)));
                const schema_field *tf = schema_title_field(rt);
                const char *title = tf ? gs_record_text(target, tf->name) : NULL;
                if (title)
                    printf("  (%s)", title);
            }
            gs_record_free(target);
        }
        putchar('\n');
    }
    printf("  ");
    table_print_cell(stdout, "创建 created", 24);
    cli_local_time((int64_t)(gs_record_created(rec) >> 16), when, sizeof(when));
    printf("  %s\n  ", when);
    table_print_cell(stdout, "修改 updated", 24);
    cli_local_time((int64_t)(gs_record_updated(rec) >> 16), when, sizeof(when));
    printf("  %s\n", when);
    gs_record_free(rec);
    return CLI_OK;
}

int cli_cmd_delete(cli *c)
{
    const char *id;
    int code, rc;

    code = one_id(c, "delete", &id);
    if (code)
        return code < 0 ? CLI_OK : code;
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_db_delete(c->db, id);
    if (rc)
        return cli_fail(c, rc);
    if (c->json) {
        json_t *o = json_pack("{s:s,s:b}", "id", id, "deleted", 1);
        rc = o ? cmdline_print_json(o, CMDLINE_JSON_FLAGS) : GS_E_NOMEM;
        json_decref(o);
        return rc ? cli_fail(c, rc) : CLI_OK;
    }
    printf("deleted %s\n", id);
    return CLI_OK;
}

/* Appends rec, as the library writes it (gs_record_to_json), to the JSON array arr, so a
 * list is one document made by jansson rather than texts joined by hand. */
static int append_json(json_t *arr, gs_record *rec)
{
    json_error_t jerr;
    json_t *j;
    char *text;
    int rc = gs_record_to_json(rec, &text);

    if (rc)
        return rc;
    j = json_loads(text, 0, &jerr);
    gs_free(text);
    /* the library's own JSON always parses: a failure here is jansson out of memory */
    if (!j || json_array_append_new(arr, j) != 0)
        return GS_E_NOMEM;
    return GS_OK;
}

static void list_help(void)
{
    printf("usage: gridsync list TYPE [--FIELD VALUE]... [--assigned-to-me] [--limit N]\n\nTYPE:");
    for (size_t i = 0; i < schema_n_tables; i++)
        printf(" %s", schema_tables[i].cli_plural);
    printf("\n\nLists live records, newest first. Each --FIELD VALUE keeps the records whose\n"
           "field equals VALUE (any add option works: --status open, --resident ID,\n"
           "--tag elderly, --kind dispute); --assigned-to-me keeps those whose assignee\n"
           "is this device's worker (care, errands); --limit N shows at most N.\n");
}

/* The TYPE of `list TYPE`, which comes first (after any global options) because the
 * other options depend on it. CLI_OK with *out set, -1 when help was printed, else an exit
 * code. */
static int list_type(cli *c, const schema_table **out)
{
    const schema_table *t = NULL;
    int k;

    for (k = 0; k < c->n_args; k++) {
        const char *a = c->args[k];
        if (strcmp(a, "--json") == 0 || strcmp(a, "--help") == 0 || strncmp(a, "--db=", 5) == 0)
            continue;
        if (strcmp(a, "--db") == 0) {
            k++;
            continue;
        }
        if (a[0] != '-') {
            t = schema_table_by_cli(a);
            if (!t)
                return cli_usage_error(c, "list: unknown type '%.60s' (gridsync list --help)",
                                       a);
        }
        break;
    }
    if (!t) {
        for (k = 0; k < c->n_args && strcmp(c->args[k], "--help") != 0; k++)
            ;
        if (k < c->n_args || c->help) {
            list_help();
            return -1;
        }
        return cli_usage_error(c, "list what? (gridsync list --help names the types)");
    }
    *out = t;
    return CLI_OK;
}

/* The --FIELD VALUE filters and --limit, onto list. An exit code. */
static int list_filters(cli *c, const schema_table *t, gs_list *list)
{
    cli_opt opt;
    int i = 0, r, rc = GS_OK;

    while (rc == GS_OK && (r = cli_next_opt(c, &i, &opt, record_takes_value, (void *)t)) > 0) {
        const schema_field *f;
        int negated;
        if (!opt.name) {
            if (schema_table_by_cli(opt.value) == t)
                continue;
            return cli_usage_error(c, "list: unexpected '%.60s'", opt.value);
        }
        if (strcmp(opt.name, "limit") == 0) {
            char *end;
            int64_t limit = strtoll(opt.value, &end, 10);
            if (*end || end == opt.value || limit < 0)
                return cli_usage_error(c, "--limit: '%.40s' is not a count", opt.value);
            rc = gs_list_limit(list, limit);
            continue;
        }
        if (strcmp(opt.name, "assigned-to-me") == 0) {
            /* the town's work for this worker: assignee is the worker name given at init */
            gs_status st;
            if (!schema_field_find(t, "assignee", strlen("assignee")))
                return cli_usage_error(c, "list %s: --assigned-to-me: %s have no assignee",
                                       t->cli_plural, t->cli_plural);
            rc = gs_db_status(c->db, &st);
            if (rc == GS_OK)
                rc = gs_list_where(list, "assignee", st.worker);
            continue;
        }
        f = field_by_flag(t, opt.name, &negated);
        if (!f)
            return cli_usage_error(c, "list %s: no field --%.60s", t->cli_plural, opt.name);
        rc = gs_list_where(list, f->name, f->type == ST_BOOL ? (negated ? "false" : "true")
                                                            : opt.value);
    }
    return rc ? cli_fail(c, rc) : CLI_OK;
}

int cli_list_json(cli *c, gs_list *list)
{
    json_t *records = json_array();
    gs_record *rec = NULL;
    int rc = records ? GS_OK : GS_E_NOMEM;

    while (rc == GS_OK && (rc = gs_list_next(list, &rec)) == GS_OK && rec) {
        rc = append_json(records, rec);
        gs_record_free(rec);
        rec = NULL;
    }
    if (rc == GS_OK)
        rc = cmdline_print_json(records, CMDLINE_JSON_FLAGS);
    json_decref(records);
    return rc ? cli_fail(c, rc) : CLI_OK;
}

/* The records as a table of every field, cells cut at LIST_CELL_MAX; "no TYPE" for none. */
static int list_table(cli *c, const schema_table *t, gs_list *list)
{
    const size_t cap = LIST_CELL_MAX * 4 + 64;
    const char **cells = gs_calloc(t->n_fields + 1, sizeof(char *));
    char *bufs = gs_malloc(t->n_fields * cap);
    gs_record *rec = NULL;
    table *tab = NULL;
    int rc = GS_OK, any = 0;

    if (!cells || !bufs || table_new(&tab, t->n_fields + 1)) {
        rc = GS_E_NOMEM;
        goto out;
    }
    cells[0] = "id";
    for (size_t k = 0; k < t->n_fields; k++)
        cells[k + 1] = t->fields[k].name;
    rc = table_add(tab, cells) ? GS_E_NOMEM : GS_OK;
    while (rc == GS_OK && (rc = gs_list_next(list, &rec)) == GS_OK && rec) {
        cells[0] = gs_record_id(rec);
        for (size_t k = 0; k < t->n_fields; k++)
            cells[k + 1] = cli_field_text(rec, &t->fields[k], bufs + k * cap, cap);
        if (table_add(tab, cells))
            rc = GS_E_NOMEM;
        any = 1;
        gs_record_free(rec);
        rec = NULL;
    }
    if (rc == GS_OK && !any)
        printf("no %s\n", t->cli_plural);
    else if (rc == GS_OK)
        table_print(tab, stdout, LIST_CELL_MAX);
out:
    table_free(tab);
    gs_free(bufs);
    gs_free(cells);
    return rc ? cli_fail(c, rc) : CLI_OK;
}

int cli_cmd_list(cli *c)
{
    const schema_table *t = NULL;
    gs_list *list = NULL;
    cli_opt opt;
    int i = 0, r, code, rc;

    code = list_type(c, &t);
    if (code)
        return code < 0 ? CLI_OK : code;
    while ((r = cli_next_opt(c, &i, &opt, record_takes_value, (void *)t)) > 0)
        ; /* every option is checked before the database is opened */
    if (c->help) {
        list_help();
        return CLI_OK;
    }
    if (r < 0)
        return CLI_USAGE;
    code = cli_open(c);
    if (code)
        return code;
    rc = gs_list_new(c->db, t->name, &list);
    if (rc)
        return cli_fail(c, rc);
    code = list_filters(c, t, list);
    if (code == CLI_OK)
        code = c->json ? cli_list_json(c, list) : list_table(c, t, list);
    gs_list_free(list);
    return code;
}
