/*
 * proto.h: the gridsync sync protocol, version 2, as C types, and its MessagePack codec.
 * PROTOCOL.md beside this file is the normative description; this header mirrors it.
 *
 * One sync exchange is one HTTPS request and its response:
 *
 *   device                                         server
 *     | POST /v1/sync  SyncRequest{v,dev,cur,low,now,ch[]} |
 *     |---------------------------------------------------->|  apply ch[] atomically,
 *     |                                                     |  exactly once per (dev, seq)
 *     |  200 SyncResponse{v,now,ack[],ch[],cur,more,clk,fix[]}
 *     |<----------------------------------------------------|
 *     | repeat while the outbox is not empty or more        |
 *
 * Version 2 added one clock per field (a change's fields may carry the HLCs of different
 * edits: [value, ver, hlc]), the record's creation HLC in pulled changes (ct), the server's
 * wall clock (clk) and the server's state of every record whose change it refused (fix).
 * The encoders write the form of the version they are given (PROTOCOL.md 7.6): a version 1
 * encoding has one clock per change, the greatest of its fields'.
 *
 * Decoding borrows: every proto_str in a decoded message points into the input buffer or
 * into the message's own arena, so the input must outlive the message. Decoders check the
 * shape, types and protocol limits; schema rules (known table, enum values, required
 * fields) are checked by schema_check_* in schema.c, because a server must answer a change
 * that breaks them with a per-change rejection, not a 400 for the whole batch.
 */
#ifndef GS_PROTO_PROTO_H
#define GS_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/limits.h"
#include "common/rc.h"

#define PROTO_VERSION 3     /* the version this code speaks (3: "ep", PROTOCOL.md 2.9) */
#define PROTO_MIN_VERSION 1 /* the oldest version a server built from this code accepts */

#define PROTO_CONTENT_TYPE "application/vnd.msgpack"
#define PROTO_SYNC_PATH "/v1/sync"
#define PROTO_SCHEMA_PATH "/v1/schema" /* the record schema for devices (schema_wire.h) */

/* Hard limits (PROTOCOL.md "Limits"; the same in versions 1 and 2). Those the schema, the
 * stores and the device share are common/limits.h's, here under the codec's names. */
#define PROTO_MAX_BODY (8u * 1024 * 1024) /* bytes of a decoded (inflated) body */
#define PROTO_MAX_CHANGES 5000u           /* changes in one request or response */
#define PROTO_MAX_FIELDS ((unsigned)GS_LIMIT_FIELDS) /* fields in one change */
#define PROTO_MAX_STR ((unsigned)GS_LIMIT_TEXT)      /* bytes in one string value */
#define PROTO_MAX_NAME ((unsigned)GS_LIMIT_NAME)     /* bytes of a table, field, device or
                                                        error name */
#define PROTO_MAX_TAGS ((unsigned)GS_LIMIT_TAGS)     /* strings in one string-list value */
#define PROTO_MAX_DEPTH 6u                /* nesting of arrays and maps, the top map being 1 */
#define PROTO_DECODE_ARENA_MAX (64u * 1024 * 1024) /* bytes a decoded message may take */

typedef struct proto_str {
    const char *ptr; /* not NUL-terminated; may be NULL when len is 0 */
    uint32_t len;    /* bytes */
} proto_str;

typedef enum proto_vtype {
    PV_NIL = 0,     /* nil: the field is cleared */
    PV_BOOL = 1,    /* bool */
    PV_INT = 2,     /* positive or negative int, fits int64 */
    PV_REAL = 3,    /* float 32 or 64 */
    PV_STR = 4,     /* str */
    PV_BIN = 5,     /* bin (record references: exactly 16 bytes) */
    PV_STRLIST = 6, /* array of str */
} proto_vtype;

typedef struct proto_value {
    proto_vtype type; /* selects the member of u */
    union {
        int b;       /* PV_BOOL: 0 or 1 */
        int64_t i;   /* PV_INT */
        double r;    /* PV_REAL */
        proto_str s; /* PV_STR, PV_BIN */
        struct {
            proto_str *items; /* PV_STRLIST */
            uint32_t n;       /* entries in items */
        } list;
    } u;
} proto_value;

/* One field of a change. In a pushed change, ver is the base: the server version of this
 * field the device last saw (0: never saw one). In a pulled change, an ack's lost list and
 * a record state, ver is the server version of this value. */
typedef struct proto_field {
    proto_str name;    /* field name from the schema, or "deleted" */
    proto_value value; /* the new value */
    uint64_t ver;      /* base (push) or version (pull, lost, state) */
    uint64_t hlc;      /* HLC of the edit that gave this value. Decoders fill it in: the
                          third element of the pair, else the change's hlc (0 in lost when
                          the server did not say). Encoders write it when it is not 0 and
                          differs from the change's hlc */
} proto_field;

/* Kinds of change map (proto_encode_change). */
#define PROTO_CH_PULLED 0 /* in a response's "ch": no seq, optional ct */
#define PROTO_CH_PUSHED 1 /* in a request's "ch": seq, no ct */
#define PROTO_CH_STATE 2  /* in a response's "fix": t, id, ct, f of [value, ver, hlc] */

/* The fields of one record, grouped so id and clock are not repeated per field: a pushed
 * or pulled change, or (in "fix") the server's whole state of a record. */
typedef struct proto_change {
    uint64_t seq;        /* push: the device's sequence number (>= 1); else 0, not sent */
    proto_str table;     /* "resident", "visit", "care", ... */
    uint8_t id[16];      /* record UUID */
    uint64_t hlc;        /* push: HLC of the change's first edit (each field carries its
                            own when later); pull: the greatest HLC among the fields;
                            state: 0, not sent */
    proto_field *fields; /* push and pull: at least one; state: any number */
    uint32_t n_fields;   /* entries in fields */
    uint64_t created;    /* "ct", pull and state (v2): HLC of the record's creation; 0 when
                            not sent (a state without ct: the server has no such record
                            for this device) */
    const void *f_raw;   /* push, version 2 only: "f" already encoded (proto_encode_fields
                            with this change's hlc), written as it is instead of fields;
                            the bytes are the caller's, which checked them */
    size_t f_raw_len;    /* bytes at f_raw */
} proto_change;

typedef struct proto_sync_req {
    uint32_t version;       /* "v": protocol version of the sender */
    proto_str device;       /* "dev": device id; must match the token's device */
    uint64_t cursor;        /* "cur": highest server version already pulled (0 at first) */
    uint64_t low;           /* "low": every seq below this is settled on the device */
    uint64_t now;           /* "now": the device's HLC when sending */
    uint32_t pull_max;      /* "max": most changes wanted back (0: server's choice) */
    proto_change *changes;  /* "ch": pending changes, seq strictly increasing */
    uint32_t n_changes;     /* entries in changes */
    gs_arena arena;         /* owned storage of a decoded message; empty (zeroed) when
                               built by hand */
} proto_sync_req;

/* Why the server refused a change: the codes of an ack's "err" (PROTOCOL.md 2.5). A peer
 * may send a code this list does not know (a newer server); it is kept as text. */
typedef enum proto_reject {
    PROTO_REJ_NONE = 0,     /* not a code: accepted, or a code not in this list */
    PROTO_REJ_INVALID,      /* "invalid": fails the schema or the batch's rules */
    PROTO_REJ_CLOCK_AHEAD,  /* "clock_ahead": its HLC is beyond the allowed drift */
    PROTO_REJ_OUT_OF_SCOPE, /* "out_of_scope": a grid that is not the device's */
    PROTO_REJ_NOT_FOUND,    /* "not_found": a reference to a record the server lacks */
    PROTO_REJ_IMMUTABLE,    /* "immutable": changes a field fixed at creation */
    PROTO_REJ_READ_ONLY,    /* "read_only": creates, deletes or changes what only the server
                               writes (a warning, but for its state and note) */
    PROTO_REJ_TRANSITION,   /* "transition": sets a status its declared path does not allow
                               from the value the writer saw (schema_enum.next) */
    PROTO_REJ_ID_TAKEN,     /* "id_taken": creates a record with an id that names a record of
                               another table (ids are unique across all types) */
    PROTO_REJ_COUNT         /* not a code: one past the last */
} proto_reject;

/* The wire name of code ("out_of_scope"); "" for PROTO_REJ_NONE or out of range. */
const char *proto_reject_name(proto_reject code);
/* The code named s, PROTO_REJ_NONE when s is not one of them. */
proto_reject proto_reject_parse(proto_str s);

typedef struct proto_ack {
    uint64_t seq;        /* "seq": the change acknowledged */
    int ok;              /* "ok": 1 accepted, 0 rejected */
    uint64_t version;    /* "ver": server version given to the change (ok only) */
    proto_field *lost;   /* "lost": fields where the server kept another value, with that
                            value and its version (ok only; may be empty) */
    uint32_t n_lost;     /* entries in lost */
    proto_str err;       /* "err": rejection code, proto_reject_name (rejected only) */
    proto_str msg;       /* "msg": rejection reason a person can read (rejected only) */
} proto_ack;

typedef struct proto_sync_resp {
    uint32_t version;       /* "v": protocol version of the server */
    uint64_t now;           /* "now": the server's HLC */
    proto_ack *acks;        /* "ack": one per pushed change, in request order */
    uint32_t n_acks;        /* entries in acks */
    proto_change *changes;  /* "ch": changes for the device's grids after its cursor */
    uint32_t n_changes;     /* entries in changes */
    uint64_t cursor;        /* "cur": the cursor to send next time */
    int more;               /* "more": 1 if more changes wait to be pulled */
    uint64_t clock_ms;      /* "clk" (v2, required there): the server's wall clock, ms
                               since 1970, when it answered; 0 from a version 1 server */
    uint64_t epoch;         /* "ep" (v3, required there): the store's identity, never 0;
                               a new one means the server was restored (PROTOCOL.md 2.9);
                               0 from an older server */
    proto_change *fixes;    /* "fix" (v2, optional): the server's state of each record
                               whose change this answer rejects (PROTO_CH_STATE) */
    uint32_t n_fixes;       /* entries in fixes */
    gs_arena arena;         /* owned storage of a decoded message */
} proto_sync_resp;

/* The body of every non-200 answer to /v1/sync. */
typedef struct proto_error {
    proto_str code;       /* "err": stable lower-case code ("too_large", "upgrade_required") */
    proto_str msg;        /* "msg": what went wrong, for people */
    uint32_t min_version; /* "min_v": oldest protocol version the server accepts (426 only) */
    gs_arena arena;       /* owned storage of a decoded message */
} proto_error;

/* Decoders: on success *out is a new message to release with the matching _free; on failure
 * *out is untouched and err names the problem and where ("ch[3].f.kind: expected str").
 * Error codes: GS_E_PROTO (not MessagePack), GS_E_PROTO_TYPE, GS_E_PROTO_MISSING,
 * GS_E_PROTO_UNKNOWN, GS_E_PROTO_LIMIT, GS_E_PROTO_TRUNCATED, GS_E_PROTO_TRAILING,
 * GS_E_PROTO_DEPTH, GS_E_PROTO_VERSION (v below PROTO_MIN_VERSION), GS_E_TOO_LARGE,
 * GS_E_NOMEM, GS_E_INVALID (buf NULL with len > 0). A v above PROTO_VERSION is decoded by
 * this version's rules (PROTOCOL.md 7.6). _free(NULL) is a no-op, and so is _free of a
 * message built by hand (arena zeroed), which belongs to whoever built it. */
int proto_decode_sync_req(const void *buf, size_t len, proto_sync_req **out, gs_err *err);
/* The server's decode of a request: as proto_decode_sync_req, and a pushed change's field map
 * stops at the first name that is no field of its table in this schema (kept by name with a
 * nil value, for the merge's `invalid`; nothing after it decoded). */
int proto_decode_sync_req_screened(const void *buf, size_t len, proto_sync_req **out,
                                   gs_err *err);
int proto_decode_sync_resp(const void *buf, size_t len, proto_sync_resp **out, gs_err *err);
int proto_decode_error(const void *buf, size_t len, proto_error **out, gs_err *err);
void proto_sync_req_free(proto_sync_req *m);
void proto_sync_resp_free(proto_sync_resp *m);
void proto_error_free(proto_error *m);

/* Encoders append to out (whose cap bounds the message), in the form of the message's own
 * version (m->version; 1 or 2). Whole messages: */
int proto_encode_sync_req(gs_buf *out, const proto_sync_req *m);
int proto_encode_sync_resp(gs_buf *out, const proto_sync_resp *m);
int proto_encode_error(gs_buf *out, const char *code, const char *msg, uint32_t min_version);

/* Streaming encoders, so neither side holds a whole batch of changes as structs: the head
 * (every field of m except its changes/acks) announces n items, then exactly n
 * proto_encode_change (request) or n acks followed by a changes head and changes. kind is
 * a PROTO_CH_* and version the message's: version 1 writes one clock per change (the
 * greatest of its fields') and no ct. */
int proto_encode_sync_req_head(gs_buf *out, const proto_sync_req *m, uint32_t n_changes);
int proto_encode_change(gs_buf *out, const proto_change *c, int kind, uint32_t version);
/* A change's "f" map alone, as version 2 writes it for a change whose clock is ctx_hlc
 * (a field's own hlc only where it differs): what a device keeps in its outbox, so that
 * sending a change copies these bytes (proto_change.f_raw). Names unique, at most
 * PROTO_MAX_FIELDS fields. */
int proto_encode_fields(gs_buf *out, const proto_field *fields, uint32_t n, uint64_t ctx_hlc);
/* Reads such a map (exactly one, nothing after it): each field without its own clock gets
 * dflt_hlc. The bytes are copied into a first; *out and every name and value point into a.
 * The codes of the message decoders; err may be NULL. */
int proto_decode_fields(const void *buf, size_t len, uint64_t dflt_hlc, gs_arena *a,
                        proto_field **out, uint32_t *n_out, gs_err *err);
/* A response streams as: proto_encode_sync_resp_head (v, now, and "ack" announcing n_acks;
 * the map's size follows m->version and m->n_fixes), n_acks proto_encode_ack,
 * proto_encode_sync_resp_mid ("ch" announcing n_changes), n_changes proto_encode_change
 * (PROTO_CH_PULLED), proto_encode_sync_resp_tail ("cur", "more" from m, and in version 2
 * "clk" and, when m->n_fixes, "fix" announcing them), then m->n_fixes proto_encode_change
 * (PROTO_CH_STATE). The streaming encoders cannot check order across calls: acks must
 * follow the request's order and pushed changes must have rising seq, as the whole-message
 * encoders check. Every encoder leaves out as it was when it fails. */
int proto_encode_sync_resp_head(gs_buf *out, const proto_sync_resp *m, uint32_t n_acks);
int proto_encode_ack(gs_buf *out, const proto_ack *a, uint32_t version);
int proto_encode_sync_resp_mid(gs_buf *out, uint32_t n_changes);
int proto_encode_sync_resp_tail(gs_buf *out, const proto_sync_resp *m);

/* Value helpers. */
int proto_str_eq(proto_str s, const char *cstr);
proto_str proto_cstr(const char *cstr);
/* 1 if the two values are the same, else 0: the one equality of gridsync (value.c). An
 * equivalence relation, so a value always equals itself:
 *  - the types must match: int 1 and real 1.0 differ (schema_value_eq compares the field's
 *    normal forms, where an int given for a real field is a real);
 *  - reals compare as numbers (0.0 equals -0.0), and NaN equals NaN;
 *  - bools by truth; str and bin byte for byte;
 *  - tag lists as sets: order and repeats do not matter. */
int proto_value_eq(const proto_value *a, const proto_value *b);

#endif
