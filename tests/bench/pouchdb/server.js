// server.js PORT DIR: express-pouchdb (CouchDB's replication protocol) on 127.0.0.1:PORT,
// databases in DIR (LevelDB, PouchDB's node default). Prints "listening PORT" when ready.
'use strict';
const express = require('express');
const PouchDB = require('pouchdb-node');

const port = Number(process.argv[2]);
const dir = process.argv[3];
const Pouch = PouchDB.defaults({prefix: dir + '/'});
const app = express();
app.use('/', require('express-pouchdb')(Pouch, {mode: 'minimumForPouchDB', logPath: dir + '/log.txt'}));
app.listen(port, '127.0.0.1', () => console.log('listening ' + port));
