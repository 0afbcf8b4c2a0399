#!/usr/bin/env python3
"""proto_annotate.py FILE.msgpack: prints a MessagePack body byte by byte with what each
header and value means, one object per line, indented by nesting. It made the examples in
proto/PROTOCOL.md section 7 and helps when a client's bytes differ from a vector's.
Needs nothing but the standard library (it is its own small MessagePack reader)."""
import struct
import sys


def annotate(data):
    out = []
    pos = 0

    def line(start, end, depth, text):
        chunk = data[start:end]
        for i in range(0, max(len(chunk), 1), 12):
            hexs = " ".join("%02x" % b for b in chunk[i:i + 12])
            out.append(("%-36s %s%s" % (hexs, "  " * depth, text if i == 0 else "")).rstrip())

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated at byte %d" % pos)
        b = data[pos:pos + n]
        pos += n
        return b

    def obj(depth, label=""):
        nonlocal pos
        start = pos
        b = take(1)[0]
        lab = label + ": " if label else ""
        if b <= 0x7f:
            line(start, pos, depth, "%spositive fixint %d" % (lab, b))
            return b
        if b >= 0xe0:
            line(start, pos, depth, "%snegative fixint %d" % (lab, b - 256))
            return b - 256
        if 0x80 <= b <= 0x8f or b in (0xde, 0xdf):
            n = b & 0x0f if b <= 0x8f else struct.unpack(">H" if b == 0xde else ">I", take(2 if b == 0xde else 4))[0]
            kind = "fixmap" if b <= 0x8f else ("map 16" if b == 0xde else "map 32")
            line(start, pos, depth, "%s%s, %d entries" % (lab, kind, n))
            for _ in range(n):
                key = obj(depth + 1, "key")
                obj(depth + 2, "%s" % key if isinstance(key, str) else "value")
            return None
        if 0x90 <= b <= 0x9f or b in (0xdc, 0xdd):
            n = b & 0x0f if b <= 0x9f else struct.unpack(">H" if b == 0xdc else ">I", take(2 if b == 0xdc else 4))[0]
            kind = "fixarray" if b <= 0x9f else ("array 16" if b == 0xdc else "array 32")
            line(start, pos, depth, "%s%s, %d entries" % (lab, kind, n))
            for i in range(n):
                obj(depth + 1, "[%d]" % i)
            return None
        if 0xa0 <= b <= 0xbf or b in (0xd9, 0xda, 0xdb):
            if b <= 0xbf:
                n, kind = b & 0x1f, "fixstr"
            else:
                w = {0xd9: 1, 0xda: 2, 0xdb: 4}[b]
                n = int.from_bytes(take(w), "big")
                kind = "str %d" % (8 * w)
            s = take(n).decode("utf-8", "replace")
            shown = s if len(s) <= 40 else s[:37] + "..."
            line(start, pos, depth, '%s%s "%s" (%d bytes)' % (lab, kind, shown, n))
            return s
        if b in (0xc4, 0xc5, 0xc6):
            w = {0xc4: 1, 0xc5: 2, 0xc6: 4}[b]
            n = int.from_bytes(take(w), "big")
            v = take(n)
            line(start, pos, depth, "%sbin %d, %d bytes" % (lab, 8 * w, n))
            return v
        if b == 0xc0:
            line(start, pos, depth, lab + "nil")
            return None
        if b in (0xc2, 0xc3):
            line(start, pos, depth, lab + ("true" if b == 0xc3 else "false"))
            return b == 0xc3
        if b in (0xca, 0xcb):
            v = struct.unpack(">f" if b == 0xca else ">d", take(4 if b == 0xca else 8))[0]
            line(start, pos, depth, "%sfloat %d %r" % (lab, 32 if b == 0xca else 64, v))
            return v
        if 0xcc <= b <= 0xd3:
            fmt = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}[b]
            v = struct.unpack(fmt, take(struct.calcsize(fmt)))[0]
            name = ("uint %d" if b <= 0xcf else "int %d") % (8 * struct.calcsize(fmt))
            line(start, pos, depth, "%s%s %d" % (lab, name, v))
            return v
        if 0xd4 <= b <= 0xd8 or b in (0xc7, 0xc8, 0xc9):
            if b >= 0xd4:
                n = 1 << (b - 0xd4)
            else:
                n = int.from_bytes(take({0xc7: 1, 0xc8: 2, 0xc9: 4}[b]), "big")
            t = struct.unpack(">b", take(1))[0]
            take(n)
            line(start, pos, depth, "%sext type %d, %d bytes" % (lab, t, n))
            return None
        raise ValueError("byte 0x%02x at %d is not MessagePack" % (b, start))

    obj(0)
    if pos != len(data):
        out.append("(%d bytes follow the message)" % (len(data) - pos))
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        print(annotate(f.read()))
