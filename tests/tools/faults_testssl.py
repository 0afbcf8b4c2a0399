#!/usr/bin/env python3
"""faults_testssl: judge a testssl.sh JSON report (--jsonfile-pretty).

usage: faults_testssl.py REPORT.json SUMMARY.txt

Prints "ok"/"not ok" lines for: the scan ran (has findings), no HIGH or CRITICAL finding,
no protocol below TLS 1.2 offered (SSLv2, SSLv3, TLS1, TLS1_1 each "not offered"), TLS 1.2
offered. Writes a short human summary (protocols, ciphers, certificate, severities) to
SUMMARY.txt for docs/RELIABILITY.md. testssl itself always exits 0, so this is the judge.
"""
import collections
import json
import sys

report = json.load(open(sys.argv[1]))
findings = []
for scan in report.get("scanResult", []):
    for key, val in scan.items():
        if isinstance(val, list):
            for f in val:
                if isinstance(f, dict) and "id" in f:
                    findings.append(f)
fails = 0


def result(name, good, why=""):
    global fails
    print(("ok tls_%s" % name) if good else ("not ok tls_%s: %s" % (name, why)))
    fails += 0 if good else 1


by_id = {f["id"]: f for f in findings}
sev = collections.Counter(f.get("severity", "?") for f in findings)
result("scan_ran", len(findings) > 20 and "TLS1_2" in by_id,
       "%d findings, scan errors: %s" % (len(findings),
       [f["finding"] for f in findings if f.get("severity") in ("FATAL", "ERROR")][:3]))
bad = [f for f in findings if f.get("severity") in ("HIGH", "CRITICAL")]
result("no_high_or_critical", not bad,
       "; ".join("%s %s: %s" % (f["severity"], f["id"], f["finding"]) for f in bad))
old = [p for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1")
       if "not offered" not in by_id.get(p, {}).get("finding", "missing")]
result("nothing_below_tls_1_2", not old, "offered or unknown: %s" % old)
result("tls_1_2_offered", "offered" in by_id.get("TLS1_2", {}).get("finding", "")
       and "not" not in by_id.get("TLS1_2", {}).get("finding", ""), by_id.get("TLS1_2"))

with open(sys.argv[2], "w") as out:
    out.write("severity counts: %s\n" % ", ".join("%s %d" % kv for kv in sorted(sev.items())))
    for i in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cipherlist_NULL",
              "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA",
              "cipherlist_OBSOLETED", "cipherlist_STRONG_NOFS", "cipherlist_STRONG_FS", "FS",
              "cert_keySize", "cert_signatureAlgorithm", "cert_trust", "cert_chain_of_trust",
              "cert_crlDistributionPoints", "cert_ocspURL", "cert_revocation", "overall_grade",
              "heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
              "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL", "SWEET32",
              "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"):
        if i in by_id:
            out.write("%-26s %-8s %s\n" % (i, by_id[i].get("severity", ""), by_id[i]["finding"]))
    for f in findings:
        if f.get("severity") in ("MEDIUM", "LOW", "HIGH", "CRITICAL") and f["id"] not in ():
            out.write("finding: %-8s %s: %s\n" % (f["severity"], f["id"], f["finding"]))
sys.exit(1 if fails else 0)
