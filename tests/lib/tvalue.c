/* tvalue.c: see tvalue.h. */
#include "tvalue.h"

#include <string.h>

proto_value tv_nil(void)
{
    proto_value v = TV_NIL;
    return v;
}

proto_value tv_bool(int b)
{
    proto_value v = TV_BOOL(b);
    return v;
}

proto_value tv_int(int64_t i)
{
    proto_value v = TV_INT(i);
    return v;
}

proto_value tv_real(double r)
{
    proto_value v = TV_REAL(r);
    return v;
}

proto_value tv_str(const char *s)
{
    return tv_strn(s, (uint32_t)strlen(s));
}

proto_value tv_strn(const char *s, uint32_t len)
{
    proto_value v = TV_STRN(s, len);
    return v;
}

proto_value tv_bin(const void *p, uint32_t len)
{
    proto_value v = TV_BIN((const char *)p, len);
    return v;
}

proto_value tv_ref(const uint8_t id[16])
{
    proto_value v = TV_REF(id);
    return v;
}

proto_value tv_tags(proto_str *items, uint32_t n)
{
    proto_value v = TV_TAGS(items, n);
    return v;
}

proto_field tv_field(const char *name, proto_value v, uint64_t ver)
{
    proto_field f;
    memset(&f, 0, sizeof(f));
    f.name = proto_cstr(name);
    f.value = v;
    f.ver = ver;
    return f;
}
