/*
 * reject.c: the names of the rejection codes (proto_reject), written once for the server
 * that sends them and any code that reads them back.
 * Invariant: names[] has one entry per code, in enum order (a static assertion).
 */
#include "proto/proto.h"

static const char *const names[] = {
    [PROTO_REJ_NONE] = "",
    [PROTO_REJ_INVALID] = "invalid",
    [PROTO_REJ_CLOCK_AHEAD] = "clock_ahead",
    [PROTO_REJ_OUT_OF_SCOPE] = "out_of_scope",
    [PROTO_REJ_NOT_FOUND] = "not_found",
    [PROTO_REJ_IMMUTABLE] = "immutable",
    [PROTO_REJ_READ_ONLY] = "read_only",
    [PROTO_REJ_TRANSITION] = "transition",
    [PROTO_REJ_ID_TAKEN] = "id_taken",
};

_Static_assert(sizeof(names) / sizeof(names[0]) == PROTO_REJ_COUNT,
               "names must have one entry per proto_reject");

const char *proto_reject_name(proto_reject code)
{
    if ((unsigned)code >= PROTO_REJ_COUNT)
        return "";
    return names[code];
}

proto_reject proto_reject_parse(proto_str s)
{
    for (int i = PROTO_REJ_NONE + 1; i < PROTO_REJ_COUNT; i++)
        if (proto_str_eq(s, names[i]))
            return (proto_reject)i;
    return PROTO_REJ_NONE;
}
