#!/usr/bin/env python3
"""peakmem.py: run a command and report its peak memory, split by kind.

    peakmem.py --out FILE [--name COMM] -- CMD [ARGS...]

--name samples the process of that name among CMD's descendants instead of CMD itself,
so a wrapper such as `/usr/bin/time -v` can give the exact peak beside these figures.
The command's stdin, stdout and stderr pass through and its exit code is returned. FILE
gets one JSON object:
    peak_rss_kb   the kernel's peak resident set of the program (VmHWM, read with every
                  sample; wait4's ru_maxrss would include the forked Python before exec)
    peak_anon_kb  the largest anonymous part seen: heap, stacks, libraries' writable data;
                  memory that is the process's own
    peak_file_kb  the largest file-backed part seen: program and shared-library pages
                  mapped in (code and read-only data), which the kernel can share with any
                  other process that maps the same libraries and drop under pressure
    samples       how many times /proc/PID/smaps_rollup was read (every 5 ms)
The two sampled parts can miss a peak shorter than 5 ms, so they are lower bounds; their
sum at any one moment is at most peak_rss_kb.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def fields(path, vals):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                vals[parts[0][:-1]] = int(parts[1])


def rollup(pid):
    vals = {}
    try:
        fields(f"/proc/{pid}/status", vals)  # VmHWM
        fields(f"/proc/{pid}/smaps_rollup", vals)  # Rss, Anonymous
    except OSError:
        return None
    return vals


def find(pid, comm):
    """pid, or its first descendant whose comm is comm (None while there is none). Before
    exec the child is still (a copy of) this Python, whose figures are not the program's."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == comm:
                return pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return None
    for k in kids:
        found = find(k, comm)
        if found:
            return found
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval-ms", type=float, default=5)
    ap.add_argument("--name")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    comm = (a.name or os.path.basename(cmd[0]))[:15]  # the kernel keeps 15 characters
    p = subprocess.Popen(cmd)
    hwm = anon = filed = samples = 0
    status = None
    while status is None:
        target = find(p.pid, comm)
        v = rollup(target) if target else None
        if v and "Rss" in v and "VmHWM" in v:
            samples += 1
            hwm = max(hwm, v["VmHWM"])
            a_kb = v.get("Anonymous", 0)
            anon = max(anon, a_kb)
            filed = max(filed, v["Rss"] - a_kb)
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            status = (st, ru)
            break
        time.sleep(a.interval_ms / 1000.0)
    st, _ = status
    code = os.waitstatus_to_exitcode(st)
    with open(a.out, "w") as f:
        json.dump({"peak_rss_kb": hwm, "peak_anon_kb": anon, "peak_file_kb": filed,
                   "samples": samples}, f)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
