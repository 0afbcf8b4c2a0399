#!/usr/bin/env python3
"""gen_visits.py: the bench data set, as JSON Lines for `gridsync import`.

    gen_visits.py N [--seed S] [--residents R] [--start-ms T]

Prints R residents, then N visits shaped like real ones: UUIDv7 ids 20-60 s apart (the id's
time is the visit's time), one grid and one worker (the device's), kind 60% routine / 20%
elderly_checkin / 10% dispute / 10% safety_hazard, notes of 40-120 characters mostly
Chinese (a few digits and Latin letters, as workers type them), a follow-up flag (about 1 in
5), latitude and longitude inside Xihua county. Everything comes from a fixed seed, so every
run imports and sends the same bytes; different seeds give disjoint ids.
"""
import json
import random
import sys

PHRASES = [
    "老人身体状况良好", "血压偏高", "已提醒按时服药", "家中卫生整洁", "子女在外打工",
    "邻居反映夜间无人照看", "厨房燃气管道老化", "已联系村委会维修", "宣传新农合缴费政策",
    "询问低保申请进度", "院墙有裂缝需要加固", "两户因宅基地边界发生争执", "已现场调解",
    "双方同意下周再谈", "冬季取暖用煤充足", "电线私拉乱接存在隐患", "已告知危险并登记",
    "老人行动不便", "需要上门送餐服务", "孙子在镇上读初中", "今年收成不错", "情绪稳定",
    "血压140/90", "已拨打12345反映", "约好3天后复查", "WiFi已开通",
]
KINDS = ["routine"] * 6 + ["elderly_checkin"] * 2 + ["dispute", "safety_hazard"]


def uuid7(rng, ms):
    rand = rng.getrandbits(74)
    v = (ms & ((1 << 48) - 1)) << 80
    v |= 0x7 << 76
    v |= (rand >> 62) << 64          # 12 bits rand_a
    v |= 0x2 << 62                   # variant 10
    v |= rand & ((1 << 62) - 1)      # 62 bits rand_b
    h = "%032x" % v
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def notes(rng):
    want = rng.randint(40, 120)
    out = ""
    while len(out) < want:
        out += rng.choice(PHRASES)
        out += "，" if len(out) < want - 1 else "。"
    return out[:want]


def main():
    args = sys.argv[1:]
    n = int(args[0])
    seed, residents, start = 20261127, 50, 1795743000000
    i = 1
    while i < len(args):
        if args[i] == "--seed":
            seed = int(args[i + 1])
        elif args[i] == "--residents":
            residents = int(args[i + 1])
        elif args[i] == "--start-ms":
            start = int(args[i + 1])
        i += 2
    rng = random.Random(seed)
    out = sys.stdout
    rids = []
    ms = start - 86400000
    for k in range(residents):
        ms += rng.randint(20000, 60000)
        rid = uuid7(rng, ms)
        rids.append(rid)
        out.write(json.dumps({"type": "resident", "id": rid, "name": "居民%03d" % k,
                              "address": "东关村%d组%d号" % (k % 9 + 1, k + 1),
                              "born": 1930 + k % 60}, ensure_ascii=False) + "\n")
    ms = start
    for _ in range(n):
        ms += rng.randint(20000, 60000)
        out.write(json.dumps({
            "type": "visit", "id": uuid7(rng, ms), "resident": rng.choice(rids),
            "visited_at": ms, "kind": rng.choice(KINDS), "notes": notes(rng),
            "follow_up": rng.random() < 0.2,
            "lat": round(33.70 + rng.random() * 0.2, 6),
            "lon": round(114.40 + rng.random() * 0.3, 6)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
