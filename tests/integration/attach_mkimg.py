#!/usr/bin/env python3
"""attach_mkimg.py: test images for attach_cli.sh (issue 19).

  camera OUT [ORIENTATION]   a 4000x3000 camera-like JPEG (noise + gradients, ~3 MB at q92)
                             with EXIF: GPS position, camera serial, make/model, orientation
  png OUT W H                a real PNG of W x H
  bomb OUT W H               a PNG whose header says W x H, with a tiny (bogus) IDAT
  fake OUT                   bytes that start like a JPEG and are not one
  exif FILE                  prints the EXIF tags left in FILE as JSON ({} when none)
  size FILE                  prints "W H" of an image
  diff A B [ORIENTATION]     mean absolute RGB difference of B against A turned upright by
                             ORIENTATION, both scaled to B's size (0..255)
"""
import io
import json
import random
import struct
import sys
import zlib

from PIL import Image, ImageOps


def camera(out, orientation=1):
    w, h = 4000, 3000
    random.seed(7)
    # a gradient with a bright corner block (to check orientation) and noise (so the JPEG
    # is camera-sized, not a few kB)
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    noise = Image.effect_noise((w, h), 40).convert("RGB")
    img = Image.blend(base, noise, 0.5)
    img.paste((255, 0, 0), (0, 0, 800, 600))  # red top-left as stored
    exif = Image.Exif()
    exif[0x010F] = "GridCam"            # Make
    exif[0x0110] = "GC-1 Rugged"        # Model
    exif[0xA431] = "SN-0042-SECRET"     # BodySerialNumber (in the Exif IFD on real cameras)
    exif[0x0112] = orientation          # Orientation
    gps = {1: "N", 2: (34.0, 45.0, 12.5), 3: "E", 4: (113.0, 37.0, 40.2)}
    exif[0x8825] = gps                  # GPSInfo IFD
    img.save(out, "JPEG", quality=92, exif=exif.tobytes())


def png(out, w, h):
    img = Image.effect_noise((w, h), 60).convert("RGB")
    img.save(out, "PNG")


def bomb(out, w, h):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 100000, 9)
    with open(out, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) +
                chunk(b"IEND", b""))


def fake(out):
    with open(out, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + b"this is not a jpeg at all " * 200)


def exif_of(path):
    img = Image.open(path)
    tags = {str(k): str(v) for k, v in img.getexif().items()}
    gps = img.getexif().get_ifd(0x8825)
    if gps:
        tags["gps"] = str(dict(gps))
    for key in ("exif", "xmp", "icc_profile", "comment"):
        if key in img.info:
            tags["info." + key] = len(img.info[key])
    print(json.dumps(tags))


def diff(a, b, orientation=1):
    ia = Image.open(a).convert("RGB")
    ib = Image.open(b).convert("RGB")
    # what a correct viewer shows for A: PIL's transpose for the EXIF value
    ops = {2: [Image.FLIP_LEFT_RIGHT], 3: [Image.ROTATE_180], 4: [Image.FLIP_TOP_BOTTOM],
           5: [Image.TRANSPOSE], 6: [Image.ROTATE_270], 7: [Image.TRANSVERSE],
           8: [Image.ROTATE_90]}
    for op in ops.get(orientation, []):
        ia = ia.transpose(op)
    ia = ia.resize(ib.size)
    pa, pb = ia.tobytes(), ib.tobytes()
    print("%.2f" % (sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)))


def main():
    cmd = sys.argv[1]
    if cmd == "camera":
        camera(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif cmd == "png":
        png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "bomb":
        bomb(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "fake":
        fake(sys.argv[2])
    elif cmd == "exif":
        exif_of(sys.argv[2])
    elif cmd == "size":
        print("%d %d" % Image.open(sys.argv[2]).size)
    elif cmd == "diff":
        diff(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
