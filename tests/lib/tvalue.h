/*
 * tvalue.h: field values and fields for tests, built by hand (borrowed: they point at the
 * caller's strings, which must outlive them; never passed to pval_free).
 *
 * Two forms of each: TV_* initialisers for static tables of cases, and tv_* functions for
 * values made at run time. TV_STR takes a string literal (its length from sizeof, so it may
 * hold NUL bytes), tv_str a C string (strlen).
 */
#ifndef GS_TESTS_TVALUE_H
#define GS_TESTS_TVALUE_H

#include <stdint.h>

#include "proto/proto.h"

#define TV_NIL {.type = PV_NIL}
#define TV_BOOL(x) {.type = PV_BOOL, .u.b = (x)}
#define TV_INT(x) {.type = PV_INT, .u.i = (x)}
#define TV_REAL(x) {.type = PV_REAL, .u.r = (x)}
#define TV_STR(lit) {.type = PV_STR, .u.s = {(lit), sizeof(lit) - 1}}
#define TV_STRN(p, n) {.type = PV_STR, .u.s = {(p), (n)}}
#define TV_BIN(p, n) {.type = PV_BIN, .u.s = {(p), (n)}}
#define TV_REF(id) {.type = PV_BIN, .u.s = {(const char *)(id), 16}}
#define TV_TAGS(items, n) {.type = PV_STRLIST, .u.list = {(items), (n)}}

proto_value tv_nil(void);
proto_value tv_bool(int b);
proto_value tv_int(int64_t i);
proto_value tv_real(double r);
/* A C string, length by strlen. */
proto_value tv_str(const char *s);
/* len bytes at s (NUL bytes included). */
proto_value tv_strn(const char *s, uint32_t len);
proto_value tv_bin(const void *p, uint32_t len);
/* A reference: the 16 bytes of a record id. */
proto_value tv_ref(const uint8_t id[16]);
proto_value tv_tags(proto_str *items, uint32_t n);

/* A field named name holding v, with base version ver and no clock of its own (hlc 0). */
proto_field tv_field(const char *name, proto_value v, uint64_t ver);

#endif
