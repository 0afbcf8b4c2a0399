/*
 * schema.c: the declarations of every record type, and the value checks that the client
 * (before writing) and the server (before merging) both apply.
 *
 * To add a record type: declare its enums and fields, add one schema_table row. Field and
 * enum names are wire names and must never be renamed or reused.
 */
#include "schema.h"

#include "proto.h"
#include "common/isotime.h"
#include "common/limits.h"
#include "common/realfmt.h"
#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const schema_enum resident_tags[] = {
    {"lives_alone", "独居", "Lives alone", 0},
    {"elderly", "高龄", "Elderly (80+)", 0},
    {"disabled", "残疾", "Disabled", 0},
    {"low_income", "低收入", "Low income", 0},
    {"chronic_illness", "慢性病", "Chronic illness", 0},
    {"veteran", "退役军人", "Veteran", 0},
    {"left_behind_child", "留守儿童", "Left-behind child", 0},
    {"special_care", "特殊关爱", "Special care", 0},
};

static const schema_enum visit_kinds[] = {
    {"routine", "常规走访", "Routine visit", 0},
    {"elderly_checkin", "独居老人探访", "Elderly check-in", 0},
    {"dispute", "矛盾纠纷", "Dispute", 0},
    {"safety_hazard", "安全隐患", "Safety hazard", 0},
    {"policy_outreach", "政策宣传", "Policy outreach", 0},
    {"service", "便民服务", "Service", 0},
};

static const schema_enum care_categories[] = {
    {"meal", "助餐", "Meal", 0},
    {"health_check", "健康检查", "Health check", 0},
    {"utility_payment", "代缴水电费", "Utility payment", 0},
    {"home_repair", "居家维修", "Home repair", 0},
    {"companionship", "陪伴", "Companionship", 0},
    {"transport", "出行协助", "Transport", 0},
    {"other", "其他", "Other", 0},
};

static const schema_enum care_priorities[] = {
    {"low", "低", "Low", 0},
    {"normal", "普通", "Normal", 0},
    {"urgent", "紧急", "Urgent", 0},
};

static const schema_enum care_statuses[] = {
    {"open", "待处理", "Open", SEF_REOPEN},
    {"assigned", "已分派", "Assigned", 0},
    {"in_progress", "处理中", "In progress", 0},
    {"done", "已完成", "Done", SEF_TERMINAL},
    {"cancelled", "已取消", "Cancelled", SEF_TERMINAL},
};

static const schema_enum warning_rules[] = {
    {"unvisited_vulnerable", "重点人员未走访", "Vulnerable resident not visited", 0},
    {"care_overdue", "服务需求超时", "Care request overdue", 0},
    {"dispute_open", "纠纷未化解", "Dispute not closed", 0},
    {"dispute_repeated", "纠纷反复", "Repeated disputes", 0},
    {"hazard_open", "隐患未整改", "Safety hazard not closed", 0},
    {"device_silent", "设备未同步", "Device silent", 0},
};

static const schema_enum warning_subjects[] = {
    {"resident", "居民", "Resident", 0},
    {"care", "养老服务需求", "Care request", 0},
    {"visit", "走访", "Visit", 0},
    {"device", "设备", "Device", 0},
};

/* mildest first: devices list the most urgent first by this order (client/warning.c) */
static const schema_enum warning_levels[] = {
    {"notice", "提示", "Notice", 0},
    {"attention", "关注", "Attention", 0},
    {"urgent", "紧急", "Urgent", 0},
};

/* cleared is final: a worker's acknowledgement that crosses the server's clearing leaves it
 * cleared (SP_STATUS); a condition that returns opens a new warning, never reopens one.
 * Declared in the order devices list them: open, then acknowledged, then cleared. */
static const schema_enum warning_states[] = {
    {"open", "待处理", "Open", 0},
    {"acknowledged", "已确认", "Acknowledged", SEF_DEVICE},
    {"cleared", "已解除", "Cleared", SEF_TERMINAL},
};

/* 矛盾纠纷. A dispute's status follows a declared path (schema_enum.next): registered, in
 * mediation, then closed one of three ways. A closed case is reopened only explicitly, back
 * to reported, which no writer reaches any other way (it is the first state): so an edit
 * concurrent with a closing, whose writer never saw the case closed, can never count as a
 * reopen (SP_STATUS keeps the closing), and a reopen is always a transition someone chose. */
static const schema_enum dispute_categories[] = {
    {"neighbour", "邻里纠纷", "Neighbours", 0},
    {"family", "婚姻家庭", "Marriage and family", 0},
    {"land_contract", "土地承包", "Land contract", 0},
    {"homestead", "宅基地", "Homestead", 0},
    {"labour", "劳资", "Labour and wages", 0},
    {"property", "物业", "Property management", 0},
    {"other", "其他", "Other", 0},
};

static const schema_enum dispute_statuses[] = {
    {"reported", "已登记", "Reported", SEF_REOPEN},
    {"mediating", "调解中", "Mediating", 0},
    {"resolved", "已化解", "Resolved", SEF_TERMINAL},
    {"failed", "调解不成", "Failed", SEF_TERMINAL},
    {"referred", "已移交", "Referred", SEF_TERMINAL},
};

/* dispute_statuses' paths, in their order */
static const char *const dispute_paths[] = {
    "mediating resolved failed referred", "resolved failed referred", "reported",
    "reported referred", "reported",
};
_Static_assert(N(dispute_paths) == N(dispute_statuses), "one path per dispute status");

static const schema_enum dispute_referrals[] = {
    {"judicial_office", "司法所", "Judicial office", 0},
    {"police_station", "派出所", "Police station", 0},
    {"court", "法院", "Court", 0},
    {"petition_office", "信访办", "Letters and visits office", 0},
    {"labour_inspection", "劳动监察", "Labour inspection", 0},
    {"other", "其他", "Other", 0},
};

/* 帮办代办. The same shape as a dispute's path: requested is the first state and the
 * explicit reopen, reached from nothing but the two final states. */
static const schema_enum errand_matters[] = {
    {"social_security_card", "社保卡办理", "Social security card", 0},
    {"medical_claim", "医保报销", "Medical insurance claim", 0},
    {"senior_card", "老年人优待证", "Senior citizen card", 0},
    {"subsistence_allowance", "低保申请", "Subsistence allowance", 0},
    {"newborn_registration", "新生儿落户", "Newborn registration", 0},
    {"disability_card", "残疾人证", "Disability card", 0},
    {"other", "其他", "Other", 0},
};

static const schema_enum errand_materials[] = {
    {"id_card", "身份证", "ID card", 0},
    {"household_register", "户口本", "Household register", 0},
    {"photo", "证件照", "Photo", 0},
    {"bank_card", "银行卡", "Bank card", 0},
    {"medical_receipts", "医疗票据", "Medical receipts", 0},
    {"medical_records", "病历", "Medical records", 0},
    {"birth_certificate", "出生医学证明", "Birth certificate", 0},
    {"disability_assessment", "残疾评定", "Disability assessment", 0},
    {"application_form", "申请表", "Application form", 0},
    {"income_proof", "收入证明", "Proof of income", 0},
    {"other", "其他", "Other", 0},
};

static const schema_enum errand_statuses[] = {
    {"requested", "已受理", "Requested", SEF_REOPEN},
    {"materials_collected", "材料已收齐", "Materials collected", 0},
    {"submitted", "已递交", "Submitted", 0},
    {"done", "已办结", "Done", 0},
    {"delivered", "已送达", "Delivered", SEF_TERMINAL},
    {"cancelled", "已取消", "Cancelled", SEF_TERMINAL},
};

/* errand_statuses' paths, in their order */
static const char *const errand_paths[] = {
    "materials_collected cancelled", "submitted cancelled", "done cancelled", "delivered",
    "requested", "requested",
};
_Static_assert(N(errand_paths) == N(errand_statuses), "one path per errand status");

/* 2000-01-01 and 2100-01-01 in ms: the range of any timestamp a grid worker records. */
#define T_MIN 946684800000.0
#define T_MAX 4102444800000.0

#define GRID_FIELD                                                                         \
    {.name = "grid", .type = ST_TEXT, .flags = SF_REQUIRED | SF_SCOPE | SF_FROM_DEVICE,    \
     .policy = SP_LWW, .max_len = GS_LIMIT_NAME, .cli_flag = "grid", .label_zh = "网格",   \
     .label_en = "Grid"}

static const schema_field resident_fields[] = {
    {.name = "name", .type = ST_TEXT, .flags = SF_REQUIRED, .policy = SP_LWW, .max_len = 200,
     .cli_flag = "name", .label_zh = "姓名", .label_en = "Name"},
    {.name = "address", .type = ST_TEXT, .policy = SP_LWW, .max_len = 400,
     .cli_flag = "address", .label_zh = "住址", .label_en = "Address"},
    {.name = "phone", .type = ST_TEXT, .policy = SP_LWW, .max_len = 40, .cli_flag = "phone",
     .label_zh = "电话", .label_en = "Phone"},
    {.name = "born", .type = ST_INT, .policy = SP_LWW, .min = 1900, .max = 2100,
     .cli_flag = "born", .label_zh = "出生年份", .label_en = "Birth year"},
    GRID_FIELD,
    {.name = "tags", .type = ST_TAGS, .policy = SP_LWW, .max_len = 16, .enums = resident_tags,
     .n_enums = N(resident_tags), .cli_flag = "tag", .label_zh = "标签", .label_en = "Tags"},
};

static const schema_field visit_fields[] = {
    {.name = "resident", .type = ST_REF, .flags = SF_REQUIRED, .policy = SP_LWW,
     .ref_table = "resident", .cli_flag = "resident", .label_zh = "居民", .label_en = "Resident"},
    GRID_FIELD,
    {.name = "worker", .type = ST_TEXT, .flags = SF_REQUIRED | SF_FROM_DEVICE, .policy = SP_LWW,
     .max_len = GS_LIMIT_NAME, .cli_flag = "worker", .label_zh = "网格员", .label_en = "Worker"},
    {.name = "visited_at", .type = ST_TIME, .flags = SF_REQUIRED | SF_DEFAULT_NOW,
     .policy = SP_LWW, .min = T_MIN, .max = T_MAX, .cli_flag = "at", .label_zh = "走访时间",
     .label_en = "Visited at"},
    {.name = "kind", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = visit_kinds, .n_enums = N(visit_kinds), .cli_flag = "kind", .label_zh = "走访类型",
     .label_en = "Kind"},
    {.name = "notes", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "notes", .label_zh = "走访记录", .label_en = "Notes"},
    {.name = "follow_up", .type = ST_BOOL, .policy = SP_LWW, .cli_flag = "follow-up",
     .label_zh = "需要跟进", .label_en = "Follow-up"},
    {.name = "lat", .type = ST_REAL, .policy = SP_LWW, .min = -90, .max = 90, .cli_flag = "lat",
     .label_zh = "纬度", .label_en = "Latitude"},
    {.name = "lon", .type = ST_REAL, .policy = SP_LWW, .min = -180, .max = 180,
     .cli_flag = "lon", .label_zh = "经度", .label_en = "Longitude"},
};

static const schema_field care_fields[] = {
    {.name = "resident", .type = ST_REF, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .ref_table = "resident", .cli_flag = "resident", .label_zh = "居民", .label_en = "Resident"},
    GRID_FIELD,
    {.name = "category", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = care_categories, .n_enums = N(care_categories), .cli_flag = "category",
     .label_zh = "服务类别", .label_en = "Category"},
    {.name = "priority", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = care_priorities, .n_enums = N(care_priorities), .def = "normal",
     .cli_flag = "priority", .label_zh = "优先级", .label_en = "Priority"},
    {.name = "status", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_STATUS,
     .enums = care_statuses, .n_enums = N(care_statuses), .def = "open", .cli_flag = "status",
     .label_zh = "状态", .label_en = "Status"},
    {.name = "assignee", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_NAME,
     .cli_flag = "assignee", .label_zh = "负责人", .label_en = "Assignee"},
    {.name = "requested_at", .type = ST_TIME, .flags = SF_REQUIRED | SF_DEFAULT_NOW,
     .policy = SP_LWW, .min = T_MIN, .max = T_MAX, .cli_flag = "at", .label_zh = "提出时间",
     .label_en = "Requested at"},
    {.name = "due_at", .type = ST_TIME, .policy = SP_LWW, .min = T_MIN, .max = T_MAX,
     .cli_flag = "due", .label_zh = "截止时间", .label_en = "Due at"},
    {.name = "notes", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "notes", .label_zh = "备注", .label_en = "Notes"},
    {.name = "resolution", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "resolution", .label_zh = "处理结果", .label_en = "Resolution"},
};

/* Written by the server's rules (server/rules.c); a device may acknowledge one with a note. */
static const schema_field warning_fields[] = {
    {.name = "rule", .type = ST_ENUM, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .enums = warning_rules, .n_enums = N(warning_rules), .label_zh = "预警规则",
     .label_en = "Rule"},
    GRID_FIELD,
    {.name = "subject_type", .type = ST_ENUM, .flags = SF_REQUIRED | SF_IMMUTABLE,
     .policy = SP_LWW, .enums = warning_subjects, .n_enums = N(warning_subjects),
     .label_zh = "对象类型", .label_en = "Subject type"},
    {.name = "subject", .type = ST_TEXT, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .max_len = GS_LIMIT_NAME, .label_zh = "对象", .label_en = "Subject"},
    {.name = "level", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = warning_levels, .n_enums = N(warning_levels), .label_zh = "级别",
     .label_en = "Level"},
    {.name = "title", .type = ST_TEXT, .flags = SF_REQUIRED, .policy = SP_LWW, .max_len = 400,
     .label_zh = "标题", .label_en = "Title"},
    {.name = "since", .type = ST_TIME, .flags = SF_REQUIRED, .policy = SP_LWW, .min = T_MIN,
     .max = T_MAX, .label_zh = "开始时间", .label_en = "Since"},
    {.name = "state", .type = ST_ENUM, .flags = SF_REQUIRED | SF_DEVICE_EDIT,
     .policy = SP_STATUS, .enums = warning_states, .n_enums = N(warning_states), .def = "open",
     .cli_flag = "state", .label_zh = "状态", .label_en = "State"},
    {.name = "cleared_at", .type = ST_TIME, .policy = SP_LWW, .min = T_MIN, .max = T_MAX,
     .label_zh = "解除时间", .label_en = "Cleared at"},
    {.name = "note", .type = ST_TEXT, .flags = SF_DEVICE_EDIT, .policy = SP_LWW,
     .max_len = GS_LIMIT_TEXT, .cli_flag = "note", .label_zh = "处置说明", .label_en = "Note"},
    {.name = "ack_by", .type = ST_TEXT, .flags = SF_DEVICE_EDIT, .policy = SP_LWW,
     .max_len = GS_LIMIT_NAME, .label_zh = "确认人", .label_en = "Acknowledged by"},
    {.name = "ack_at", .type = ST_TIME, .flags = SF_DEVICE_EDIT, .policy = SP_LWW,
     .min = T_MIN, .max = T_MAX, .label_zh = "确认时间", .label_en = "Acknowledged at"},
};

/* Parties: two references to residents cover the two sides of almost every case; further
 * people, and outsiders who are no residents, go in the text of outsiders. A list of
 * references would be a new kind of value on the wire, in both stores and in the CLI. */
static const schema_field dispute_fields[] = {
    {.name = "party", .type = ST_REF, .flags = SF_REQUIRED | SF_REF_SCOPED, .policy = SP_LWW,
     .ref_table = "resident", .cli_flag = "party", .label_zh = "当事人", .label_en = "Party"},
    {.name = "other_party", .type = ST_REF, .flags = SF_REF_SCOPED, .policy = SP_LWW,
     .ref_table = "resident", .cli_flag = "other-party", .label_zh = "另一方当事人",
     .label_en = "Other party"},
    {.name = "outsiders", .type = ST_TEXT, .policy = SP_LWW, .max_len = 400,
     .cli_flag = "outsiders", .label_zh = "其他当事人", .label_en = "Other parties"},
    GRID_FIELD,
    {.name = "category", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = dispute_categories, .n_enums = N(dispute_categories), .cli_flag = "category",
     .label_zh = "纠纷类别", .label_en = "Category"},
    {.name = "summary", .type = ST_TEXT, .flags = SF_REQUIRED, .policy = SP_LWW,
     .max_len = GS_LIMIT_TEXT, .cli_flag = "summary", .label_zh = "纠纷概要",
     .label_en = "Summary"},
    {.name = "reported_at", .type = ST_TIME, .flags = SF_REQUIRED | SF_DEFAULT_NOW,
     .policy = SP_LWW, .min = T_MIN, .max = T_MAX, .cli_flag = "at", .label_zh = "登记时间",
     .label_en = "Reported at"},
    {.name = "mediator", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_NAME,
     .cli_flag = "mediator", .label_zh = "调解员", .label_en = "Mediator"},
    {.name = "status", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_STATUS,
     .enums = dispute_statuses, .n_enums = N(dispute_statuses), .def = "reported",
     .next = dispute_paths,
     .cli_flag = "status", .label_zh = "状态", .label_en = "Status"},
    {.name = "referred_to", .type = ST_ENUM, .policy = SP_LWW, .enums = dispute_referrals,
     .n_enums = N(dispute_referrals), .cli_flag = "referred-to", .label_zh = "移交单位",
     .label_en = "Referred to"},
    {.name = "outcome", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "outcome", .label_zh = "调解结果", .label_en = "Outcome"},
    {.name = "agreement", .type = ST_BOOL, .policy = SP_LWW, .cli_flag = "agreement",
     .label_zh = "签订调解协议", .label_en = "Written agreement"},
    {.name = "closed_at", .type = ST_TIME, .policy = SP_LWW, .min = T_MIN, .max = T_MAX,
     .cli_flag = "closed", .label_zh = "结案时间", .label_en = "Closed at"},
};

static const schema_field mediation_fields[] = {
    {.name = "dispute", .type = ST_REF, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .ref_table = "dispute", .cli_flag = "dispute", .label_zh = "纠纷", .label_en = "Dispute"},
    GRID_FIELD,
    {.name = "held_at", .type = ST_TIME, .flags = SF_REQUIRED | SF_DEFAULT_NOW,
     .policy = SP_LWW, .min = T_MIN, .max = T_MAX, .cli_flag = "at", .label_zh = "调解时间",
     .label_en = "Held at"},
    {.name = "worker", .type = ST_TEXT, .flags = SF_REQUIRED | SF_FROM_DEVICE, .policy = SP_LWW,
     .max_len = GS_LIMIT_NAME, .cli_flag = "worker", .label_zh = "记录人", .label_en = "Worker"},
    {.name = "participants", .type = ST_TEXT, .policy = SP_LWW, .max_len = 400,
     .cli_flag = "participants", .label_zh = "参加人员", .label_en = "Participants"},
    {.name = "agreed", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "agreed", .label_zh = "达成事项", .label_en = "Agreed"},
    {.name = "next_step", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "next-step", .label_zh = "下一步", .label_en = "Next step"},
};

static const schema_field errand_fields[] = {
    {.name = "resident", .type = ST_REF, .flags = SF_REQUIRED | SF_IMMUTABLE | SF_REF_SCOPED,
     .policy = SP_LWW, .ref_table = "resident", .cli_flag = "resident", .label_zh = "居民",
     .label_en = "Resident"},
    GRID_FIELD,
    {.name = "matter", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_LWW,
     .enums = errand_matters, .n_enums = N(errand_matters), .cli_flag = "matter",
     .label_zh = "代办事项", .label_en = "Matter"},
    {.name = "materials", .type = ST_TAGS, .policy = SP_LWW, .max_len = 16,
     .enums = errand_materials, .n_enums = N(errand_materials), .cli_flag = "material",
     .label_zh = "已收材料", .label_en = "Materials collected"},
    {.name = "status", .type = ST_ENUM, .flags = SF_REQUIRED, .policy = SP_STATUS,
     .enums = errand_statuses, .n_enums = N(errand_statuses), .def = "requested",
     .next = errand_paths,
     .cli_flag = "status", .label_zh = "状态", .label_en = "Status"},
    {.name = "requested_at", .type = ST_TIME, .flags = SF_REQUIRED | SF_DEFAULT_NOW,
     .policy = SP_LWW, .min = T_MIN, .max = T_MAX, .cli_flag = "at", .label_zh = "受理时间",
     .label_en = "Requested at"},
    {.name = "due_at", .type = ST_TIME, .policy = SP_LWW, .min = T_MIN, .max = T_MAX,
     .cli_flag = "due", .label_zh = "办结期限", .label_en = "Due at"},
    {.name = "assignee", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_NAME,
     .cli_flag = "assignee", .label_zh = "经办人", .label_en = "Handled by"},
    {.name = "notes", .type = ST_TEXT, .policy = SP_LWW, .max_len = GS_LIMIT_TEXT,
     .cli_flag = "notes", .label_zh = "备注", .label_en = "Notes"},
};

/* Issue 19: a photo or scanned document attached to a record of any table. The bytes travel
 * apart (PROTOCOL.md "Attachments"); this record is what says they exist, made in the same
 * transaction as the bytes are stored on the device, and deleted with the record it belongs
 * to. The grid is the record's grid, so the attachment is seen where the record is. */
static const schema_enum attachment_mimes[] = {
    {"image/jpeg", "照片", "Photo", 0},
    {"application/pdf", "PDF文件", "PDF document", 0},
};

static const schema_field attachment_fields[] = {
    GRID_FIELD,
    {.name = "record", .type = ST_TEXT, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .max_len = 36, .label_zh = "所属记录", .label_en = "Record"},
    {.name = "record_type", .type = ST_TEXT, .flags = SF_REQUIRED | SF_IMMUTABLE,
     .policy = SP_LWW, .max_len = GS_LIMIT_NAME, .label_zh = "记录类型",
     .label_en = "Record type"},
    {.name = "mime", .type = ST_ENUM, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .enums = attachment_mimes, .n_enums = N(attachment_mimes), .label_zh = "类型",
     .label_en = "Type"},
    {.name = "sha256", .type = ST_TEXT, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .max_len = 64, .label_zh = "内容摘要", .label_en = "SHA-256"},
    {.name = "bytes", .type = ST_INT, .flags = SF_REQUIRED | SF_IMMUTABLE, .policy = SP_LWW,
     .min = 1, .max = 33554432, .label_zh = "大小", .label_en = "Bytes"},
    {.name = "width", .type = ST_INT, .flags = SF_IMMUTABLE, .policy = SP_LWW, .min = 0,
     .max = 16384, .label_zh = "宽", .label_en = "Width"},
    {.name = "height", .type = ST_INT, .flags = SF_IMMUTABLE, .policy = SP_LWW, .min = 0,
     .max = 16384, .label_zh = "高", .label_en = "Height"},
    {.name = "thumb_sha256", .type = ST_TEXT, .flags = SF_IMMUTABLE, .policy = SP_LWW,
     .max_len = 64, .label_zh = "缩略图摘要", .label_en = "Thumbnail SHA-256"},
    {.name = "thumb_bytes", .type = ST_INT, .flags = SF_IMMUTABLE, .policy = SP_LWW, .min = 0,
     .max = 33554432, .label_zh = "缩略图大小", .label_en = "Thumbnail bytes"},
    {.name = "caption", .type = ST_TEXT, .policy = SP_LWW, .max_len = 400,
     .cli_flag = "caption", .label_zh = "说明", .label_en = "Caption"},
};

const schema_table schema_tables[] = {
    {.name = "resident", .cli_name = "resident", .cli_plural = "residents", .label_zh = "居民",
     .label_en = "Resident", .fields = resident_fields, .n_fields = N(resident_fields),
     .title = "name"},
    {.name = "visit", .cli_name = "visit", .cli_plural = "visits", .label_zh = "走访",
     .label_en = "Visit", .fields = visit_fields, .n_fields = N(visit_fields)},
    {.name = "care", .cli_name = "care", .cli_plural = "care", .label_zh = "养老服务需求",
     .label_en = "Care request", .fields = care_fields, .n_fields = N(care_fields)},
    {.name = "warning", .cli_name = "warning", .cli_plural = "warnings", .label_zh = "预警",
     .label_en = "Warning", .fields = warning_fields, .n_fields = N(warning_fields),
     .title = "title", .server_only = 1},
    {.name = "dispute", .cli_name = "dispute", .cli_plural = "disputes", .label_zh = "矛盾纠纷",
     .label_en = "Dispute", .fields = dispute_fields, .n_fields = N(dispute_fields),
     .title = "summary"},
    {.name = "mediation", .cli_name = "mediation", .cli_plural = "mediations",
     .label_zh = "调解记录", .label_en = "Mediation session", .fields = mediation_fields,
     .n_fields = N(mediation_fields)},
    {.name = "errand", .cli_name = "errand", .cli_plural = "errands", .label_zh = "帮办代办",
     .label_en = "Errand", .fields = errand_fields, .n_fields = N(errand_fields)},
    {.name = "attachment", .cli_name = "attachment", .cli_plural = "attachments",
     .label_zh = "附件", .label_en = "Attachment", .fields = attachment_fields,
     .n_fields = N(attachment_fields), .title = "caption"},
};

const size_t schema_n_tables = N(schema_tables);

/* The tombstone, shared by every table; not listed in the tables' fields. */
static const schema_field deleted_field = {
    .name = SCHEMA_DELETED_FIELD, .type = ST_BOOL, .policy = SP_DELETE, .label_zh = "已删除",
    .label_en = "Deleted"};

static int name_eq(const char *a, const char *b, size_t blen)
{
    return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

const schema_table *schema_table_find(const char *name, size_t len)
{
    for (size_t i = 0; i < schema_n_tables; i++)
        if (name_eq(schema_tables[i].name, name, len))
            return &schema_tables[i];
    return NULL;
}

const schema_table *schema_table_by_cli(const char *cli)
{
    for (size_t i = 0; i < schema_n_tables; i++)
        if (strcmp(schema_tables[i].cli_name, cli) == 0 ||
            strcmp(schema_tables[i].cli_plural, cli) == 0)
            return &schema_tables[i];
    return NULL;
}

const schema_field *schema_field_find(const schema_table *t, const char *name, size_t len)
{
    if (name_eq(SCHEMA_DELETED_FIELD, name, len))
        return &deleted_field;
    for (size_t i = 0; i < t->n_fields; i++)
        if (name_eq(t->fields[i].name, name, len))
            return &t->fields[i];
    return NULL;
}

size_t schema_field_index(const schema_table *t, const schema_field *f)
{
    return (size_t)(f - t->fields);
}

const schema_field *schema_title_field(const schema_table *t)
{
    return t->title ? schema_field_find(t, t->title, strlen(t->title)) : NULL;
}

int schema_device_may_create(const schema_table *t, gs_err *err)
{
    if (!t->server_only)
        return GS_OK;
    return gs_err_set(err, GS_E_READ_ONLY, "%s records are written by the server only",
                      t->name);
}

int schema_device_may_write(const schema_table *t, const schema_field *f,
                            const proto_value *v, gs_err *err)
{
    const schema_enum *e;

    if (!t->server_only)
        return GS_OK;
    if (!(f->flags & SF_DEVICE_EDIT))
        return gs_err_set(err, GS_E_READ_ONLY, "%s.%s is set by the server only", t->name,
                          f->name);
    if (f->type != ST_ENUM || !v || v->type != PV_STR)
        return GS_OK; /* nil is refused, when it must be, by the field's own checks */
    e = schema_enum_find(f, v->u.s.ptr, v->u.s.len);
    if (e && !(e->flags & SEF_DEVICE))
        return gs_err_set(err, GS_E_READ_ONLY, "%s.%s: a device may not set '%s'", t->name,
                          f->name, e->name);
    return GS_OK;
}

const schema_field *schema_scope_field(const schema_table *t)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (t->fields[i].flags & SF_SCOPE)
            return &t->fields[i];
    return NULL;
}

const schema_enum *schema_enum_find(const schema_field *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->n_enums; i++)
        if (name_eq(f->enums[i].name, name, len))
            return &f->enums[i];
    return NULL;
}

static int bad_enum(const schema_table *t, const schema_field *f, proto_str s, gs_err *err)
{
    char list[256];
    size_t n = 0;

    list[0] = '\0';
    for (size_t i = 0; i < f->n_enums && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                              f->enums[i].name);
    return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.*s' is not one of %s", t->name, f->name,
                      (int)(s.len > 64 ? 64 : s.len), s.ptr ? s.ptr : "", list);
}

static int check_text(const schema_table *t, const schema_field *f, proto_str s, uint32_t max,
                      gs_err *err)
{
    if (s.len > max)
        return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %u bytes, at most %u allowed", t->name,
                          f->name, s.len, max);
    if (!utf8_valid(s.ptr, s.len))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: not valid UTF-8 text", t->name, f->name);
    return GS_OK;
}

/* x as a person reads it for field f: an ISO time for ST_TIME (ms since 1970, and the ms
 * in brackets), else the shortest number that reads back. */
static void range_text(const schema_field *f, double x, char out[REALFMT_MAX + ISOTIME_MAX])
{
    char iso[ISOTIME_MAX], num[REALFMT_MAX];

    realfmt_shortest(x, num);
    if (f->type == ST_TIME && x >= -9e15 && x <= 9e15 &&
        isotime_format((int64_t)x, iso) == GS_OK)
        snprintf(out, REALFMT_MAX + ISOTIME_MAX, "%s", iso);
    else
        snprintf(out, REALFMT_MAX + ISOTIME_MAX, "%s", num);
}

static int check_range(const schema_table *t, const schema_field *f, double x, gs_err *err)
{
    if (isnan(x) || isinf(x))
        return gs_err_set(err, GS_E_INVALID, "%s.%s: not a finite number", t->name, f->name);
    if ((f->min != 0 || f->max != 0) && (x < f->min || x > f->max)) {
        /* in the field's own terms: times as dates, numbers as they read back */
        char a[REALFMT_MAX + ISOTIME_MAX], lo[REALFMT_MAX + ISOTIME_MAX],
            hi[REALFMT_MAX + ISOTIME_MAX];
        range_text(f, x, a);
        range_text(f, f->min, lo);
        range_text(f, f->max, hi);
        return gs_err_set(err, GS_E_INVALID, "%s.%s: %s is outside %s..%s", t->name, f->name,
                          a, lo, hi);
    }
    return GS_OK;
}

static const char *type_name(schema_type type)
{
    switch (type) {
    case ST_TEXT: return "text";
    case ST_INT: return "an integer";
    case ST_BOOL: return "true or false";
    case ST_REAL: return "a number";
    case ST_TIME: return "a time (ms since 1970)";
    case ST_ENUM: return "a name";
    case ST_REF: return "a record id";
    case ST_TAGS: return "a list of tags";
    }
    return "?";
}

int schema_check_value(const schema_table *t, const schema_field *f, const proto_value *v,
                       gs_err *err)
{
    int rc;

    if (v->type == PV_NIL) {
        if (f->flags & SF_REQUIRED)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: is required and cannot be cleared",
                              t->name, f->name);
        return GS_OK;
    }
    switch (f->type) {
    case ST_TEXT:
        if (v->type != PV_STR)
            break;
        return check_text(t, f, v->u.s, f->max_len ? f->max_len : GS_LIMIT_TEXT, err);
    case ST_INT:
    case ST_TIME:
        if (v->type != PV_INT)
            break;
        return check_range(t, f, (double)v->u.i, err);
    case ST_BOOL:
        if (v->type != PV_BOOL)
            break;
        return GS_OK;
    case ST_REAL:
        if (v->type == PV_INT)
            return check_range(t, f, (double)v->u.i, err);
        if (v->type != PV_REAL)
            break;
        return check_range(t, f, v->u.r, err);
    case ST_ENUM:
        if (v->type != PV_STR)
            break;
        if (!schema_enum_find(f, v->u.s.ptr, v->u.s.len))
            return bad_enum(t, f, v->u.s, err);
        return GS_OK;
    case ST_REF:
        if (v->type != PV_BIN)
            break;
        if (v->u.s.len != 16)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: a record id is 16 bytes, not %u",
                              t->name, f->name, v->u.s.len);
        return GS_OK;
    case ST_TAGS:
        if (v->type != PV_STRLIST)
            break;
        if (v->u.list.n > f->max_len)
            return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %u tags, at most %u allowed",
                              t->name, f->name, v->u.list.n, f->max_len);
        for (uint32_t i = 0; i < v->u.list.n; i++) {
            proto_str s = v->u.list.items[i];
            if (!schema_enum_find(f, s.ptr, s.len))
                return bad_enum(t, f, s, err);
            for (uint32_t j = 0; j < i; j++) {
                proto_str o = v->u.list.items[j];
                if (o.len == s.len && memcmp(o.ptr, s.ptr, s.len) == 0)
                    return gs_err_set(err, GS_E_INVALID, "%s.%s: '%.*s' given twice", t->name,
                                      f->name, (int)s.len, s.ptr);
            }
        }
        return GS_OK;
    }
    rc = gs_err_set(err, GS_E_INVALID, "%s.%s: must be %s", t->name, f->name,
                    type_name(f->type));
    return rc;
}

int schema_check_change(const proto_change *c, int creating, gs_err *err)
{
    const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
    int rc;

    if (!t)
        return gs_err_set(err, GS_E_INVALID, "unknown record type '%.*s'",
                          (int)(c->table.len > 64 ? 64 : c->table.len),
                          c->table.ptr ? c->table.ptr : "");
    for (uint32_t i = 0; i < c->n_fields; i++) {
        const proto_field *pf = &c->fields[i];
        const schema_field *f = schema_field_find(t, pf->name.ptr, pf->name.len);
        if (!f)
            return gs_err_set(err, GS_E_INVALID, "%s: unknown field '%.*s'", t->name,
                              (int)(pf->name.len > 64 ? 64 : pf->name.len),
                              pf->name.ptr ? pf->name.ptr : "");
        for (uint32_t j = 0; j < i; j++)
            if (proto_str_eq(c->fields[j].name, f->name))
                return gs_err_set(err, GS_E_INVALID, "%s.%s: given twice", t->name, f->name);
        rc = schema_check_value(t, f, &pf->value, err);
        if (rc)
            return rc;
    }
    if (!creating)
        return GS_OK;
    for (size_t k = 0; k < t->n_fields; k++) {
        const schema_field *f = &t->fields[k];
        int present = 0;
        if (!(f->flags & SF_REQUIRED))
            continue;
        for (uint32_t i = 0; i < c->n_fields && !present; i++)
            present = proto_str_eq(c->fields[i].name, f->name);
        if (!present)
            return gs_err_set(err, GS_E_INVALID, "%s.%s: is required", t->name, f->name);
    }
    return GS_OK;
}

void schema_value_normal(const schema_field *f, const proto_value *v, proto_value *out)
{
    *out = *v;
    if (f->type == ST_REAL && v->type == PV_INT) {
        out->type = PV_REAL;
        out->u.r = (double)v->u.i;
    } else if (f->policy == SP_DELETE && v->type == PV_NIL) {
        out->type = PV_BOOL;
        out->u.b = 0;
    }
}

int schema_value_eq(const schema_field *f, const proto_value *a, const proto_value *b)
{
    proto_value x, y;

    schema_value_normal(f, a, &x);
    schema_value_normal(f, b, &y);
    return proto_value_eq(&x, &y);
}

/* Whether word is one of the space-separated words of list. */
static int in_words(const char *list, const char *word, size_t len)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, word, len) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

int schema_transition_ok(const schema_table *t, const schema_field *f, const proto_value *from,
                         const proto_value *to, gs_err *err)
{
    const schema_enum *e;
    const char *next;

    if (f->type != ST_ENUM || !f->next || !from || from->type != PV_STR || !to ||
        to->type != PV_STR)
        return GS_OK;
    e = schema_enum_find(f, from->u.s.ptr, from->u.s.len);
    next = e ? f->next[e - f->enums] : NULL;
    if (!next || proto_str_eq(to->u.s, e->name) || in_words(next, to->u.s.ptr, to->u.s.len))
        return GS_OK;
    {
        char list[256];
        size_t n = 0;
        for (const char *p = next; *p && n + 3 < sizeof(list); p++) {
            if (*p == ' ') {
                list[n++] = ',';
            }
            list[n++] = *p;
        }
        list[n] = '\0';
        return gs_err_set(err, GS_E_INVALID, "%s.%s: %s may become %s, not %.*s", t->name,
                          f->name, e->name, list, (int)(to->u.s.len > 64 ? 64 : to->u.s.len), to->u.s.ptr);
    }
}

size_t schema_max_request_objects(void)
{
    /* top map: itself and 7 keys with their values (v dev cur low now max ch) */
    const size_t top = 1 + 2 * 7;
    /* a change: its map, 6 keys, 5 scalar values (seq t id hlc ct) and the "f" map */
    const size_t change = 1 + 6 + 5 + 1;
    /* a field: name, [value, ver, hlc] array, the three; a tag list adds its entries */
    const size_t field = 1 + 1 + 3;
    size_t widest = 0;

    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *t = &schema_tables[i];
        size_t n = 0;
        for (size_t j = 0; j < t->n_fields; j++)
            n += field + (t->fields[j].type == ST_TAGS ? t->fields[j].max_len : 0);
        if (!schema_field_find(t, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD)))
            n += field;
        if (n > widest)
            widest = n;
    }
    return top + 1 + (size_t)PROTO_MAX_CHANGES * (change + widest);
}
