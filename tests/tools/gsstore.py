#!/usr/bin/env python3
"""gsstore.py: gridsyncd's SQLite store (schema 3) read by an independent implementation,
for tests: python3-msgpack decodes what server/store_rec.c and server/sval.c wrote.

    gsstore.py field STORE RECORD-ID FIELD    prints the field's value (JSON), or nothing
    (STORE: the SQLite file, or a postgresql:// URL)
    gsstore.py record STORE.db RECORD-ID         prints the whole record (JSON)

As a module: records(path, grids=None) yields every record as a dict
{"tbl", "id", "grid", "deleted", "created", "updated", "version",
 "fields": {name: {"value", "version", "hlc", "writer"}}}; values as msgpack decodes them
(bin 16 for references).
"""
import json
import sqlite3
import subprocess
import sys
import uuid

import msgpack


def _record(row):
    tbl, rid, grid, deleted, created, updated, version, blob = row
    fields = {}
    for name, value, ver, hlc, writer in msgpack.unpackb(blob, raw=False):
        fields[name] = {"value": value, "version": ver, "hlc": hlc, "writer": writer}
    return {"tbl": tbl, "id": str(uuid.UUID(bytes=rid)), "grid": grid, "deleted": bool(deleted),
            "created": created, "updated": updated, "version": version, "fields": fields}


COLS = "tbl, id, grid, deleted, created_hlc, updated_hlc, version, fields"


def _pg_rows(url, where):
    """The rows through psql, blobs as hex (the test needs no PostgreSQL driver)."""
    sql = ("SELECT tbl, encode(id, 'hex'), grid, deleted, created_hlc, updated_hlc, version, "
           "encode(fields, 'hex') FROM records " + where)
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", url,
                          "-c", sql], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        tbl, rid, grid, deleted, created, updated, version, blob = line.split("\t")
        yield (tbl, bytes.fromhex(rid), grid, int(deleted), int(created), int(updated),
               int(version), bytes.fromhex(blob))


def _quote(s):
    return "'" + s.replace("'", "''") + "'"


def records(path, grids=None):
    """path: a SQLite store, or the postgresql:// URL of one (GS_TEST_STORE=pg)."""
    if path.startswith("postgresql://"):
        where = "" if grids is None else "WHERE grid IN (%s)" % ",".join(map(_quote, grids))
        for row in _pg_rows(path, where):
            yield _record(row)
        return
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    sql = "SELECT " + COLS + " FROM records"
    args = ()
    if grids is not None:
        sql += " WHERE grid IN (%s)" % ",".join("?" * len(grids))
        args = tuple(grids)
    try:
        for row in db.execute(sql, args):
            yield _record(row)
    finally:
        db.close()


def record(path, rid):
    if path.startswith("postgresql://"):
        rows = list(_pg_rows(path, "WHERE id = '\\x%s'" % uuid.UUID(rid).hex))
        return _record(rows[0]) if rows else None
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        row = db.execute("SELECT " + COLS + " FROM records WHERE id = ?",
                         (uuid.UUID(rid).bytes,)).fetchone()
    finally:
        db.close()
    return _record(row) if row else None


def _jsonable(v):
    if isinstance(v, bytes):
        return str(uuid.UUID(bytes=v)) if len(v) == 16 else v.hex()
    return v


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "field":
        r = record(sys.argv[2], sys.argv[3])
        f = r and r["fields"].get(sys.argv[4])
        if f is not None:
            v = _jsonable(f["value"])
            print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        r = record(sys.argv[2], sys.argv[3])
        if r:
            for f in r["fields"].values():
                f["value"] = _jsonable(f["value"])
            print(json.dumps(r, ensure_ascii=False))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
