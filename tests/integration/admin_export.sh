#!/usr/bin/env bash
# admin_export.sh: the town admin's morning against a real gridsyncd over TLS, with devices
# of two grids syncing known records: `gridsync-admin dashboard` (table and --json, one
# grid, --days), `warnings` and `warning ack`, and `export` to .xlsx (read back with
# python3-openpyxl: sheet names, the schema's Chinese headers, rows per type, readable
# values, and the summary sheet's figures equal to GET /v1/admin/dashboard's for the same
# range) and to .csv (UTF-8 BOM, header, rows, --type); other extensions refused with exit 2
# and nothing written. The server runs two days ahead (libfaketime) so that its first sweep
# opens one warning: the urgent care request's.
. "$(dirname "$0")/lib.sh"
t_setup admin_export
if ! "$PY" -c 'import openpyxl' 2>/dev/null; then
    skip admin_export "python3-openpyxl is not installed (scripts/install-deps.sh test)"
    exit 0
fi
t_server_init
printf 'rules_sweep_s = 1\nrules_disabled = device_silent\n' >>"$TOWN/gridsyncd.conf"
t_server_start
t_enroll "$T/a.db" 东关 王芳
t_enroll "$T/b.db" 西街 李强
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- known records: 4 residents, 5 visits (3 disputes, 2 closed), 3 care requests
wang=$(t_gs "$T/a.db" resident add --name 王秀英 --tag lives_alone --tag elderly --phone 13800000001)
li=$(t_gs "$T/a.db" resident add --name 李大爷 --tag elderly)
zhao=$(t_gs "$T/a.db" resident add --name 赵六 --address '东关村3组, 12号')
sun=$(t_gs "$T/b.db" resident add --name 孙奶奶 --tag disabled)
t_gs "$T/a.db" visit add --resident "$wang" --kind routine --notes '=1+1 身体好' >/dev/null
t_gs "$T/a.db" visit add --resident "$wang" --kind elderly_checkin >/dev/null
t_gs "$T/a.db" visit add --resident "$li" --kind dispute --follow-up --notes '宅基地边界' >/dev/null
sleep 0.01
t_gs "$T/a.db" visit add --resident "$li" --kind dispute --notes '已调解' >/dev/null
t_gs "$T/b.db" visit add --resident "$sun" --kind dispute --follow-up >/dev/null
t_gs "$T/a.db" care add --resident "$zhao" --category meal --priority urgent >/dev/null
done_care=$(t_gs "$T/a.db" care add --resident "$wang" --category health_check)
t_gs "$T/a.db" care update "$done_care" --status done >/dev/null
t_gs "$T/b.db" care add --resident "$sun" --category home_repair --priority low >/dev/null
t_gs "$T/a.db" sync >/dev/null 2>"$T/err" && t_gs "$T/b.db" sync >/dev/null 2>>"$T/err" \
    || notok setup_sync "$(cat "$T/err")"

# ---- two days on: the urgent request is overdue
t_server_stop
if [ -n "$T_FAKETIME_LIB" ]; then
    T_SERVER_EXEC=$(t_faketime_exec +2d) t_server_start
    for _ in $(seq 1 100); do
        [ "$(t_sql "$SRV_STORE" "SELECT count(*) FROM watch WHERE warning IS NOT NULL")" = 1 ] && break
        sleep 0.05
    done
    WARNINGS=1
else
    t_server_start
    WARNINGS=0
    skip warning_opened "libfaketime is not installed: no warning to list"
fi
api() { curl -sf --cacert "$CA" -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/v1/admin/$1"; }

# ---- dashboard
d=$(t_admin --json dashboard) || notok dashboard_json "exit $?"
[ "$(json 'd["visits"]["total"]' <<<"$d")" = 5 ] && [ "$(json 'd["coverage"]["vulnerable"]' <<<"$d")" = 3 ] &&
    [ "$(json 'd["disputes"]["total"], d["disputes"]["closed"], sep="|"' <<<"$d")" = "3|2" ] &&
    [ "$(json 'd["care_open"]["total"]' <<<"$d")" = 2 ] &&
    [ "$(json 'd["residents"]["by_tag"]["elderly"]' <<<"$d")" = 2 ] &&
    [ "$(json '*[g["grid"] for g in d["grids"]], sep="|"' <<<"$d")" = "东关|西街" ] &&
    ok dashboard_json_figures || notok dashboard_json_figures "$d"
[ "$(json 'd["warnings_open"]["by_rule"]["care_overdue"]["urgent"]' <<<"$d")" = "$WARNINGS" ] &&
    ok dashboard_counts_the_warning || notok dashboard_counts_the_warning "$d"
out=$(t_admin dashboard) && grep -q 重点人员走访覆盖率 <<<"$out" && grep -q 各网格 <<<"$out" &&
    grep -q "紧急" <<<"$out" && grep -q "化解率 66.7%" <<<"$out" && grep -q "独居、特殊关爱 7 天内，高龄、残疾 14 天内" <<<"$out" && ok dashboard_table \
    || notok dashboard_table "$out"
g=$(t_admin --json dashboard --grid 西街 --days 7)
[ "$(json 'd["grid"], d["visits"]["total"], len(d["visits"]["by_day"]), len(d["grids"]), sep="|"' <<<"$g")" = "西街|1|7|1" ] &&
    ok dashboard_one_grid_days || notok dashboard_one_grid_days "$g"
t_admin dashboard --days 0 >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok dashboard_bad_days_exit_2 || notok dashboard_bad_days_exit_2 "exit $rc"

# ---- warnings
if [ "$WARNINGS" = 1 ]; then
    out=$(t_admin warnings) && grep -q 紧急 <<<"$out" && grep -q 赵六 <<<"$out" && ok warnings_table \
        || notok warnings_table "$out"
    W=$(t_admin --json warnings | json 'd["warnings"][0]["id"]')
    t_admin warning ack "$W" --note 已电话联系 >/dev/null && ok warning_ack || notok warning_ack "exit $?"
    w=$(t_admin --json warnings | json 'd["warnings"][0]["state"], d["warnings"][0]["note"], sep="|"')
    [ "$w" = "acknowledged|已电话联系" ] && ok warning_acked_listed || notok warning_acked_listed "$w"
    t_admin warning ack 0190f5a4-7b3c-7def-8a12-3456789abcde >/dev/null 2>&1; rc=$?
    [ $rc = 3 ] && ok warning_ack_unknown_exit_3 || notok warning_ack_unknown_exit_3 "exit $rc"
    t_gs "$T/a.db" sync >/dev/null 2>&1
    [ "$(t_sql "$T/a.db" "SELECT state || '|' || note FROM warning")" = "acknowledged|已电话联系" ] &&
        ok warning_ack_reaches_device || notok warning_ack_reaches_device "$(t_sql "$T/a.db" "SELECT state, note FROM warning")"
fi

# ---- export: the range is today (Beijing) to two days on, whole days
FROM=$(TZ=Asia/Shanghai date +%F)
TO=$(TZ=Asia/Shanghai date -d '+2 days' +%F)
read -r FROM_MS TO_MS < <("$PY" -c "
import datetime as dt, sys
bj = dt.timezone(dt.timedelta(hours=8))
f = dt.datetime.fromisoformat(sys.argv[1]).replace(tzinfo=bj)
t = dt.datetime.fromisoformat(sys.argv[2]).replace(tzinfo=bj) + dt.timedelta(days=1)
print(int(f.timestamp() * 1000), int(t.timestamp() * 1000) - 1)" "$FROM" "$TO")
t_admin export --from "$FROM" --to "$TO" --out "$T/report.xlsx" >"$T/export.out" 2>&1 \
    && ok export_xlsx || notok export_xlsx "$(cat "$T/export.out")"
api "dashboard?from=$FROM_MS&to=$TO_MS" >"$T/dash.json" || notok dashboard_range "curl failed"
api schema >"$T/schema.json"
"$PY" - "$T/report.xlsx" "$T/dash.json" "$T/schema.json" "$WARNINGS" <<'PY' || T_FAILS=$((T_FAILS + 1))
import datetime, json, sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
dash = json.load(open(sys.argv[2]))
schema = {t["name"]: t for t in json.load(open(sys.argv[3]))["tables"]}
warnings = int(sys.argv[4])
fails = 0

def check(name, cond, why):
    global fails
    if cond:
        print("ok", name)
    else:
        print("not ok %s: %s" % (name, why))
        fails += 1

labels = [schema[t]["label"]["zh"] for t in ("resident", "visit", "care", "warning")]
# one sheet per record type of the schema, in its order (the casework types have none here)
check("xlsx_sheet_names", wb.sheetnames == ["汇总"] + [t["label"]["zh"] for t in schema.values()],
      wb.sheetnames)
want_rows = {"resident": 4, "visit": 5, "care": 3, "warning": warnings}
for t, label in zip(("resident", "visit", "care", "warning"), labels):
    ws = wb[label]
    rows = list(ws.iter_rows(values_only=True))
    head = ["编号"] + [f["label"]["zh"] for f in schema[t]["fields"] if not f["implicit"]] + ["录入时间"]
    check("xlsx_headers_" + t, list(rows[0]) == head, "%s != %s" % (rows[0], head))
    check("xlsx_rows_" + t, len(rows) - 1 == want_rows[t], "%d rows" % (len(rows) - 1))

def col(t, label):
    ws = wb[schema[t]["label"]["zh"]]
    rows = list(ws.iter_rows(values_only=True))
    i = rows[0].index(label)
    return [r[i] for r in rows[1:]]

check("xlsx_ref_as_name", sorted(col("visit", "居民")) == sorted(["王秀英", "王秀英", "李大爷", "李大爷", "孙奶奶"]),
      col("visit", "居民"))
check("xlsx_enum_label", "常规走访" in col("visit", "走访类型"), col("visit", "走访类型"))
check("xlsx_bool_label", col("visit", "需要跟进").count("是") == 2, col("visit", "需要跟进"))
check("xlsx_tags_labels", "独居、高龄" in col("resident", "标签"), col("resident", "标签"))
check("xlsx_formula_kept_as_text", "=1+1 身体好" in col("visit", "走访记录"), col("visit", "走访记录"))
at = [x for x in col("visit", "走访时间")]
now_bj = datetime.datetime.utcnow() + datetime.timedelta(hours=8)
check("xlsx_time_beijing", all(isinstance(x, datetime.datetime) and abs((now_bj - x).total_seconds()) < 600 for x in at), at)
check("xlsx_care_status", sorted(col("care", "状态")) == sorted(["待处理", "已完成", "待处理"]), col("care", "状态"))

# the summary: label -> value in columns A and B, then the grids' table
ws = wb["汇总"]
rows = [r for r in ws.iter_rows(values_only=True)]
fig = {r[0]: r[1] for r in rows if r and r[0] is not None}
def near(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)
pairs = [("重点人员", dash["coverage"]["vulnerable"]), ("按时走访", dash["coverage"]["visited"]),
         ("走访覆盖率", dash["coverage"]["ratio"]), ("走访次数", dash["visits"]["total"]),
         ("待办服务需求", dash["care_open"]["total"]),
         ("其中紧急", dash["care_open"]["by_priority"]["urgent"]["total"]),
         ("矛盾纠纷", dash["disputes"]["total"]), ("已化解", dash["disputes"]["closed"]),
         ("化解率", dash["disputes"]["ratio"]), ("未解除预警", dash["warnings_open"]["total"]),
         ("未同步设备", dash["devices_silent"]["total"])]
bad = [(k, fig.get(k), v) for k, v in pairs if not near(fig.get(k), v)]
check("xlsx_summary_equals_api", not bad, bad)
check("xlsx_summary_known_figures", fig.get("走访次数") == 5 and fig.get("矛盾纠纷") == 3, fig)
tags = {f["label"]["zh"]: f["name"] for f in schema["resident"]["fields"] if f["name"] == "tags"}
tag_field = [f for f in schema["resident"]["fields"] if f["name"] == "tags"][0]
bad = [(e["label"]["zh"], fig.get(e["label"]["zh"]), dash["residents"]["by_tag"][e["name"]])
       for e in tag_field["enums"] if fig.get(e["label"]["zh"]) != dash["residents"]["by_tag"][e["name"]]]
check("xlsx_summary_tags", not bad, bad)
start = [i for i, r in enumerate(rows) if r[0] == "网格"][0]
grid_rows = {r[0]: r for r in rows[start + 1:] if r[0]}
keys = ["vulnerable", "visited", "coverage", "visits", "care_open", "disputes", "disputes_closed",
        "dispute_ratio", "warnings_open", "devices_silent"]
bad = [(g["grid"], k) for g in dash["grids"] for i, k in enumerate(keys)
       if not near(grid_rows.get(g["grid"], [None] * 11)[i + 1], g[k])]
check("xlsx_summary_grids_equal_api", not bad and len(grid_rows) == len(dash["grids"]), bad)
sys.exit(1 if fails else 0)
PY

# ---- export: CSV
t_admin export --from "$FROM" --to "$TO" --out "$T/visits.csv" >/dev/null 2>"$T/err" \
    && ok export_csv || notok export_csv "$(cat "$T/err")"
[ "$(head -c 3 "$T/visits.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] && ok csv_bom || notok csv_bom "$(head -c 3 "$T/visits.csv" | od -An -tx1)"
"$PY" - "$T/visits.csv" "$T/schema.json" <<'PY' && ok csv_rows || notok csv_rows "see above"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
schema = {t["name"]: t for t in json.load(open(sys.argv[2]))["tables"]}
head = ["编号"] + [f["label"]["zh"] for f in schema["visit"]["fields"] if not f["implicit"]] + ["录入时间"]
assert rows[0] == head, rows[0]
assert len(rows) == 6, len(rows)
notes = [r[head.index("走访记录")] for r in rows[1:]]
assert "'=1+1 身体好" in notes, notes  # a formula-looking text is not a formula in Excel
kinds = sorted(r[head.index("走访类型")] for r in rows[1:])
assert kinds.count("矛盾纠纷") == 3, kinds
PY
t_admin --json export --from "$FROM" --to "$TO" --out "$T/res.csv" --type residents >"$T/out.json" 2>"$T/err"
[ "$(json 'd["records"]' <"$T/out.json")" = "{'resident': 4}" ] &&
    [ "$(wc -l <"$T/res.csv")" = 5 ] && grep -q '"东关村3组, 12号"' "$T/res.csv" && ok csv_type_resident \
    || notok csv_type_resident "$(cat "$T/out.json" "$T/err")"
t_admin export --from "$FROM" --to "$TO" --out "$T/report.pdf" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && [ ! -e "$T/report.pdf" ] && grep -q '.xlsx or .csv' "$T/err" && ok export_other_extension_exit_2 \
    || notok export_other_extension_exit_2 "exit $rc: $(cat "$T/err")"
t_admin export --from "$FROM" --to "$TO" --out "$T/r2.xlsx" --type visit >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && [ ! -e "$T/r2.xlsx" ] && ok export_type_with_xlsx_exit_2 || notok export_type_with_xlsx_exit_2 "exit $rc"
t_admin export --from 2026-13-01 --to "$TO" --out "$T/r3.csv" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok export_bad_date_exit_2 || notok export_bad_date_exit_2 "exit $rc"
t_admin export --from 2020-01-01 --to "$TO" --out "$T/r4.xlsx" >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && [ -z "$(ls "$T" | grep -e '^r4')" ] && ok export_range_too_long_leaves_nothing \
    || notok export_range_too_long_leaves_nothing "exit $rc: $(ls "$T")"
t_done
