#!/usr/bin/python3
"""seed.py: plays handheld devices against a real gridsyncd for the console's browser test.

It speaks the sync protocol itself (proto/PROTOCOL.md: MessagePack over HTTPS, verified
against the server's CA), so the test needs no client library:

  seed.py seed  --url URL --ca CA --token ADMIN_TOKEN --db DB --state OUT.json
      adds three devices through the admin API, records a resident, a care request and a
      visit on device A, pulls them to device B, then makes A and B edit the same fields
      while "offline" so the server records three conflicts: the resident's name (B's value
      carries <script> and an <img onerror>: it must show as text), the care request's status
      (status policy) and the visit's notes (last writer wins). Device C is made silent for
      five days by moving its last sync back in the store (the only fake in the test).
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
    t0 = hlc_now(-60000)
    A.sync([
        ('resident', res, {'name': '王秀英', 'grid': '城关-1', 'address': '城关镇东街 12 号',
                           'born': 1941, 'tags': ['lives_alone', 'elderly']}, t0),
        ('care', care, {'resident': res, 'grid': '城关-1', 'category': 'meal',
                        'priority': 'urgent', 'status': 'in_progress',
                        'requested_at': int(time.time() * 1000) - 86400000,
                        'notes': '每天中午送餐'}, t0 + 1),
        ('visit', visit, {'resident': res, 'grid': '城关-1', 'worker': '张伟',
                          'visited_at': int(time.time() * 1000) - 3600000,
                          'kind': 'elderly_checkin', 'notes': '老人精神不错。'}, t0 + 2),
    ])
    C.sync([('resident', other, {'name': '赵大山', 'grid': '城关-2'}, t0 + 3)])
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
    # C last synced five days ago: it must stand out on the devices page
    db = sqlite3.connect(a.db, timeout=10)
    db.execute('UPDATE devices SET last_sync = last_sync - ? WHERE id = ?', (5 * 86400000, C.id))
    db.commit()
    db.close()
    out = {'devices': {k: d.state() for k, d in devs.items()},
           'resident': str(uuid.UUID(bytes=res)), 'care': str(uuid.UUID(bytes=care)),
           'visit': str(uuid.UUID(bytes=visit)), 'script_name': SCRIPT_NAME,
           'conflicts': {c['table']: c['id'] for c in conflicts}, 'lost_by_b': lost}
    with open(a.state, 'w') as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print('seeded 3 devices, 4 records, conflicts %s' % out['conflicts'])


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
