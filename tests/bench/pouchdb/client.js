// client.js URL DIR FILE.jsonl: a device's PouchDB (LevelDB in DIR) gets every record of
// FILE (gen_visits.py's JSON Lines; "id" becomes "_id") in one bulkDocs, offline; then one
// timed replication to URL/grid. Prints one JSON line: wall seconds of the replication,
// HTTP requests made, bytes up and down (HTTP bodies and headers as node counts them).
'use strict';
const fs = require('fs');
const http = require('http');
const PouchDB = require('pouchdb-node');

const [url, dir, file] = process.argv.slice(2);
let requests = 0, up = 0, down = 0;
const agent = new http.Agent({keepAlive: true, maxSockets: 8});
const origRequest = http.request;
http.request = function (...args) {
    const req = origRequest.apply(this, args);
    requests++;
    const write = req.write, end = req.end;
    req.write = function (chunk, ...rest) { if (chunk) up += Buffer.byteLength(chunk); return write.call(this, chunk, ...rest); };
    req.end = function (chunk, ...rest) { if (chunk && typeof chunk !== 'function') up += Buffer.byteLength(chunk); return end.call(this, chunk, ...rest); };
    req.on('response', (res) => res.on('data', (d) => { down += d.length; }));
    return req;
};

(async () => {
    const local = new PouchDB(dir + '/device');
    const docs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
        const o = JSON.parse(l);
        o._id = o.id;
        delete o.id;
        return o;
    });
    await local.bulkDocs(docs);
    requests = up = down = 0;
    const remote = new PouchDB(url + '/grid', {fetch: (u, opts) => PouchDB.fetch(u, Object.assign({agent}, opts))});
    const t0 = process.hrtime.bigint();
    const res = await local.replicate.to(remote);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ok: res.ok, docs_written: res.docs_written, wall_s: +secs.toFixed(3),
                                requests, bytes_up: up, bytes_down: down}));
})().catch((e) => { console.error('pouchdb client:', e); process.exit(1); });
