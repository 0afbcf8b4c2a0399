#!/usr/bin/env bash
# proto_vectors.sh: checks the protocol test vectors with python3-msgpack, a MessagePack
# implementation independent of msgpack-c: every valid and lax vector (proto/vectors/) must
# decode to the meaning in its .json, and every valid one must be exactly what python's
# packer writes for that meaning (the canonical form of PROTOCOL.md section 7).
# Prints "ok NAME" / "not ok NAME: why" per vector; GS_PROTO_VECTORS overrides the folder.
set -u
dir=${GS_PROTO_VECTORS:-proto/vectors}
py=
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import msgpack' 2>/dev/null; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "skip proto_vectors: no python3 with the msgpack module (apt-get install python3-msgpack)"
    exit 0
fi
exec "$py" - "$dir" <<'PY'
import json, math, os, sys
import msgpack

vec = sys.argv[1]


def meaning(o):
    """What a decoder makes of a message: bin as {"$bin": hex}, optional keys that carry
    nothing (max 0, min_v 0, an empty lost) dropped, as PROTOCOL.md says."""
    if isinstance(o, bytes):
        return {"$bin": o.hex()}
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            if (k in ("max", "min_v") and v == 0) or (k == "lost" and v == {}):
                continue
            out[k] = meaning(v)
        return out
    if isinstance(o, list):
        return [meaning(x) for x in o]
    return o


def wire(j):
    if isinstance(j, dict):
        if list(j) == ["$bin"]:
            return bytes.fromhex(j["$bin"])
        return {k: wire(v) for k, v in j.items()}
    if isinstance(j, list):
        return [wire(x) for x in j]
    return j


def same(a, b, path="$"):
    """Strict equality: types must match (1 is not 1.0, true is not 1); reals bit for bit."""
    if type(a) is not type(b):
        return "%s: %s vs %s" % (path, type(a).__name__, type(b).__name__)
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys %s vs %s" % (path, sorted(a), sorted(b))
        for k in a:
            r = same(a[k], b[k], path + "." + k)
            if r:
                return r
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d entries" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    if isinstance(a, float):
        if math.copysign(1, a) != math.copysign(1, b) or not (a == b or (a != a and b != b)):
            return "%s: %r vs %r" % (path, a, b)
        return None
    return None if a == b else "%s: %r vs %r" % (path, a, b)


failed = 0
count = 0
for sub in ("valid", "lax"):
    d = os.path.join(vec, sub)
    if not os.path.isdir(d):
        print("not ok %s: no folder %s" % (sub, d))
        failed += 1
        continue
    for f in sorted(os.listdir(d)):
        if not f.endswith(".msgpack"):
            continue
        name = sub + "/" + f[:-8]
        count += 1
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        with open(os.path.join(d, f[:-8] + ".json"), encoding="utf-8") as fh:
            want = json.load(fh)
        try:
            got = msgpack.unpackb(data, raw=False, strict_map_key=True)
        except Exception as e:  # any refusal is a failure of the vector
            print("not ok %s: python msgpack refused it: %s" % (name, e))
            failed += 1
            continue
        why = same(meaning(got), want)
        if not why and sub == "valid":
            if msgpack.packb(wire(want), use_bin_type=True) != data:
                why = "not the canonical encoding of its meaning"
        if not why and sub == "lax" and msgpack.packb(wire(want), use_bin_type=True) == data:
            why = "canonical: belongs in valid/"
        if why:
            print("not ok %s: %s" % (name, why))
            failed += 1
        else:
            print("ok %s" % name)
if count < 10:
    print("not ok count: only %d vectors found in %s" % (count, vec))
    failed += 1
sys.exit(1 if failed else 0)
PY
