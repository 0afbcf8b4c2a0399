#!/usr/bin/python3
"""seed.py: plays handheld devices against a real gridsyncd for the console's browser test.

It speaks the sync protocol itself (proto/PROTOCOL.md: MessagePack over HTTPS, verified
against the server's CA), so the test needs no client library:

  seed.py seed  --url URL --ca CA --token ADMIN_TOKEN --db DB --state OUT.json
      adds three devices through the admin API, records a resident, a care request and a
      visit on device A, pulls them to device B, then makes A and B edit the same fields
      while "offline" so the server records three conflicts: the resident's name (B's value
      carries <script> and an <img onerror>: it must show as text), the care request's status
      (status policy) and the visit's notes (last writer wins). Then what the warning rules
      and the overview (概览) work on: a second resident (elderly, disabled, visited today)
      with an urgent and a low-priority care request, a normal one for the first resident
      four days old, a safety hazard with follow-up two days old, and on device C three
      dispute visits of one resident in 20 days (one settled by the next). Device C is made
      silent by moving its last sync back SILENT_DAYS days in the store (the only fake in
      the test besides the clock: console_browser.sh restarts the server two days ahead
      under libfaketime, where the rules open their warnings).
  seed.py pull  --url URL --ca CA --state STATE.json --device A|B
      one sync of that device with nothing to push, from its saved cursor; prints the pulled
      changes as JSON lines {"t","id","f":{name:[value, version]}}.

Prints what it did; exits non-zero with a message on any unexpected answer.
"""
import argparse
import http.client
import json
import os
import sqlite3
import ssl
import sys
import time
import urllib.parse
import uuid

import msgpack

SCRIPT_NAME = '王秀英<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
DAY_MS = 86400000
# Device C's last sync goes back this many days; the server then runs 2 days ahead, so the
# devices page shows it 5 days silent.
SILENT_DAYS = 3


def die(msg):
    print('seed.py: ' + msg, file=sys.stderr)
    sys.exit(1)


class Server:
    def __init__(self, url, ca):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=20)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def admin(self, token, method, path, obj=None):
        h = {'Authorization': 'Bearer ' + token}
        body = None
        if obj is not None:
            h['Content-Type'] = 'application/json'
            body = json.dumps(obj).encode()
        status, data = self.call(method, path, body, h)
        if status >= 300:
            die('%s %s: %d %s' % (method, path, status, data[:300]))
        return json.loads(data)


def hlc_now(offset_ms=0):
    return ((int(time.time() * 1000) + offset_ms) << 16)


def uuid7():
    ms = int(time.time() * 1000)
    b = bytearray(os.urandom(16))
    b[0:6] = ms.to_bytes(6, 'big')
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


class Device:
    def __init__(self, srv, info):
        self.srv = srv
        self.id = info['id']
        self.token = info['token']
        self.cur = info.get('cur', 0)
        self.seq = info.get('seq', 0)
        self.versions = {}  # (table, id hex, field) -> server version last seen

    def sync(self, changes):
        """changes: [(table, id bytes, {field: value}, hlc)]; returns the decoded response."""
        ch = []
        for table, rid, fields, hlc in changes:
            self.seq += 1
            f = {}
            for name, value in fields.items():
                f[name] = [value, self.versions.get((table, rid.hex(), name), 0)]
            ch.append({'seq': self.seq, 't': table, 'id': rid, 'hlc': hlc, 'f': f})
        low = ch[0]['seq'] if ch else self.seq + 1
        req = {'v': 1, 'dev': self.id, 'cur': self.cur, 'low': low, 'now': hlc_now(), 'ch': ch}
        status, data = self.srv.call('POST', '/v1/sync', msgpack.packb(req, use_bin_type=True), {
            'Authorization': 'Bearer ' + self.token, 'Content-Type': 'application/vnd.msgpack'})
        if status != 200:
            die('sync of %s: %d %r' % (self.id, status, msgpack.unpackb(data, raw=False)))
        resp = msgpack.unpackb(data, raw=False)
        for c, a in zip(ch, resp['ack']):
            if not a['ok']:
                die('change %d of %s rejected: %s' % (c['seq'], self.id, a.get('msg')))
            for name in c['f']:
                self.versions[(c['t'], c['id'].hex(), name)] = a['ver']
            for name, (value, ver) in a.get('lost', {}).items():
                self.versions[(c['t'], c['id'].hex(), name)] = ver
        for c in resp['ch']:
            for name, (value, ver) in c['f'].items():
                self.versions[(c['t'], c['id'].hex(), name)] = ver
        self.cur = resp['cur']
        return resp

    def state(self):
        return {'id': self.id, 'token': self.token, 'cur': self.cur, 'seq': self.seq}


def seed(a):
    srv = Server(a.url, a.ca)
    devs = {}
    for key, name, grids in (('A', '张伟', ['城关-1']), ('B', '李娜', ['城关-1']),
                             ('C', '王芳', ['城关-2'])):
        devs[key] = Device(srv, srv.admin(a.token, 'POST', '/v1/admin/devices',
                                          {'grids': grids, 'name': name}))
    A, B, C = devs['A'], devs['B'], devs['C']
    res, care, visit = uuid7(), uuid7(), uuid7()
    other = uuid7()
    res2, care2, care3, care4, hazard = uuid7(), uuid7(), uuid7(), uuid7(), uuid7()
    disputes = [uuid7(), uuid7(), uuid7()]
    now = int(time.time() * 1000)
    t0 = hlc_now(-60000)
    A.sync([
        ('resident', res, {'name': '王秀英', 'grid': '城关-1', 'address': '城关镇东街 12 号',
                           'born': 1941, 'tags': ['lives_alone', 'elderly']}, t0),
        # 20 h old: the urgent window (24 h) does not end while the test runs
        ('care', care, {'resident': res, 'grid': '城关-1', 'category': 'meal',
                        'priority': 'urgent', 'status': 'in_progress',
                        'requested_at': now - 20 * 3600000,
                        'notes': '每天中午送餐'}, t0 + 1),
        ('visit', visit, {'resident': res, 'grid': '城关-1', 'worker': '张伟',
                          'visited_at': now - 3600000,
                          'kind': 'elderly_checkin', 'notes': '老人精神不错。'}, t0 + 2),
        # for the warnings and the overview
        ('resident', res2, {'name': '李桂兰', 'grid': '城关-1', 'address': '城关镇西街 8 号',
                            'phone': '13800000001', 'born': 1938,
                            'tags': ['elderly', 'disabled']}, t0 + 3),
        ('visit', uuid7(), {'resident': res2, 'grid': '城关-1', 'worker': '张伟',
                            'visited_at': now - 2 * 3600000, 'kind': 'routine'}, t0 + 4),
        ('care', care2, {'resident': res2, 'grid': '城关-1', 'category': 'health_check',
                         'priority': 'urgent', 'status': 'open',
                         'requested_at': now - 3600000, 'notes': '血压偏高，需上门测量'}, t0 + 5),
        ('care', care3, {'resident': res2, 'grid': '城关-1', 'category': 'transport',
                         'priority': 'low', 'status': 'open',
                         'requested_at': now - 2 * DAY_MS}, t0 + 6),
        ('care', care4, {'resident': res, 'grid': '城关-1', 'category': 'home_repair',
                         'priority': 'normal', 'status': 'assigned',
                         'requested_at': now - 4 * DAY_MS, 'notes': '厨房水管漏水'}, t0 + 7),
        ('visit', hazard, {'resident': res, 'grid': '城关-1', 'worker': '张伟',
                           'visited_at': now - 2 * DAY_MS, 'kind': 'safety_hazard',
                           'follow_up': True, 'notes': '电线老化'}, t0 + 8),
    ])
    # three disputes of one resident within 30 days: the second settles the first
    C.sync([('resident', other, {'name': '赵大山', 'grid': '城关-2', 'phone': '13900000002'},
             t0 + 9)] + [
        ('visit', vid, {'resident': other, 'grid': '城关-2', 'worker': '王芳',
                        'visited_at': now - days * DAY_MS, 'kind': 'dispute',
                        'follow_up': follow_up, 'notes': note}, t0 + 10 + i)
        for i, (vid, days, follow_up, note) in enumerate(zip(
            disputes, (20, 12, 1), (True, False, True),
            ('邻里宅基地纠纷', '已调解，双方签字', '纠纷再起')))])
    B.sync([])  # pulls the three records and their versions
    # offline, both edit the same fields; B's edits are later, except where a rule decides
    ta, tb = hlc_now(-30000), hlc_now(-10000)
    A.sync([('resident', res, {'name': '王秀瑛'}, ta),
            ('care', care, {'status': 'done', 'resolution': '已送餐'}, ta + 1),
            ('visit', visit, {'notes': '老人身体状况良好，已送米面油。'}, ta + 2)])
    resp = B.sync([('resident', res, {'name': SCRIPT_NAME}, tb),
                   ('care', care, {'status': 'in_progress'}, tb + 1),
                   ('visit', visit, {'notes': '老人血压偏高，已联系村医上门。'}, tb + 2)])
    lost = [a.get('lost', {}) for a in resp['ack']]
    conflicts = srv.admin(a.token, 'GET', '/v1/admin/conflicts?state=open')['conflicts']
    if len(conflicts) != 3:
        die('expected 3 open conflicts, got %d: %s' % (len(conflicts), conflicts))
    # C's last sync goes back: it must stand out on the devices page
    db = sqlite3.connect(a.db, timeout=10)
    db.execute('UPDATE devices SET last_sync = last_sync - ? WHERE id = ?',
               (SILENT_DAYS * DAY_MS, C.id))
    db.commit()
    db.close()
    out = {'devices': {k: d.state() for k, d in devs.items()},
           'resident': str(uuid.UUID(bytes=res)), 'care': str(uuid.UUID(bytes=care)),
           'visit': str(uuid.UUID(bytes=visit)), 'script_name': SCRIPT_NAME,
           'resident2': str(uuid.UUID(bytes=res2)), 'resident3': str(uuid.UUID(bytes=other)),
           'care_urgent': str(uuid.UUID(bytes=care2)), 'hazard': str(uuid.UUID(bytes=hazard)),
           'conflicts': {c['table']: c['id'] for c in conflicts}, 'lost_by_b': lost}
    with open(a.state, 'w') as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print('seeded 3 devices, 13 records, conflicts %s' % out['conflicts'])


def pull(a):
    srv = Server(a.url, a.ca)
    with open(a.state) as f:
        st = json.load(f)
    d = Device(srv, st['devices'][a.device])
    resp = d.sync([])
    for c in resp['ch']:
        f = {}
        for name, (value, ver) in c['f'].items():
            if isinstance(value, bytes):
                value = str(uuid.UUID(bytes=value))
            f[name] = [value, ver]
        print(json.dumps({'t': c['t'], 'id': str(uuid.UUID(bytes=c['id'])), 'f': f},
                         ensure_ascii=False))
    st['devices'][a.device] = d.state()
    with open(a.state, 'w') as f:
        json.dump(st, f, ensure_ascii=False, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('cmd', choices=['seed', 'pull'])
    p.add_argument('--url', required=True)
    p.add_argument('--ca', required=True)
    p.add_argument('--token')
    p.add_argument('--db')
    p.add_argument('--state', required=True)
    p.add_argument('--device', default='A')
    a = p.parse_args()
    if a.cmd == 'seed':
        seed(a)
    else:
        pull(a)


if __name__ == '__main__':
    main()
