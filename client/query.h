/*
 * query.h: what other modules of the library may do to a gs_list (query.c) beyond the
 * public calls: give it a fixed condition and an order of their own, for lists whose order
 * is part of their meaning (warnings: the most pressing first, warning.c).
 *
 * Invariant: the SQL given here is built by the library from the schema (field and enum
 * names, which are identifiers), never from a caller's or the network's text: values a
 * caller gives go through gs_list_where, which binds them.
 */
#ifndef GS_CLIENT_QUERY_H
#define GS_CLIENT_QUERY_H

#include "gridsync.h"

/* Sets a condition ANDed to the list's others (where, an SQL expression over the table's
 * columns; NULL: none) and the ORDER BY terms that replace "id DESC" (order; NULL: keep
 * it). Both are copied. Only before the first gs_list_next (GS_E_STATE after). */
int list_set_sql(gs_list *l, const char *where, const char *order);

#endif
