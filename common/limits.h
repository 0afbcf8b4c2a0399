/*
 * limits.h: the sizes every layer agrees on, defined once. The protocol (PROTOCOL.md 3),
 * the schema, the server's store and the device all check against these names; the public
 * header repeats the two an app needs (GS_NAME_MAX, GS_GRIDS_MAX) and the client holds
 * them equal with static assertions.
 *
 * Limits that belong to one layer only stay there (PROTO_MAX_BODY, the HTTP header caps).
 */
#ifndef GS_COMMON_LIMITS_H
#define GS_COMMON_LIMITS_H

#define GS_LIMIT_NAME 64          /* bytes of a name: table, field, enum value, tag, device or
                                     admin id, grid, worker, error code */
#define GS_LIMIT_TEXT 4000        /* bytes of one text value */
#define GS_LIMIT_TAGS 32          /* entries of one tag-list value */
#define GS_LIMIT_FIELDS 64        /* fields of one change (and of one record type) */
#define GS_LIMIT_GRIDS 32         /* grids one device works in */
#define GS_LIMIT_DEVICE_NAME 200  /* bytes of a device's display name */

/* A name is a MessagePack str 8 at most, and a device's grid list (one line per grid)
 * stays a small stack buffer. */
_Static_assert(GS_LIMIT_NAME <= 255, "a name must fit a MessagePack str 8");
_Static_assert(GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1) <= 4096, "grid lists are stack buffers");
_Static_assert(GS_LIMIT_TEXT >= GS_LIMIT_NAME && GS_LIMIT_DEVICE_NAME >= GS_LIMIT_NAME,
               "a name fits wherever a text or a device name does");

#endif
