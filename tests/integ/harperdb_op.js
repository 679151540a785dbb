// SPDX-License-Identifier: Apache-2.0
// harperdb_op.js -- one HarperDB operations-API call over HTTPS, as an
// operator's script makes it: node harperdb_op.js PORT CA.pem JSON
// Basic auth from HDB_USER / HDB_PASSWORD. The server certificate is
// verified against CA.pem for the name 127.0.0.1. Prints `status=N` and the body;
// exits 0 on a 2xx answer, 1 on any other answer, 2 when none came.
'use strict';
const fs = require('fs');
const https = require('https');

const [port, caFile, body] = process.argv.slice(2);
const auth = Buffer.from(`${process.env.HDB_USER}:${process.env.HDB_PASSWORD}`)
  .toString('base64');
const req = https.request({
  host: '127.0.0.1',
  port: Number(port),
  method: 'POST',
  path: '/',
  ca: fs.readFileSync(caFile),
  headers: {
    'Content-Type': 'application/json',
    Authorization: `Basic ${auth}`,
  },
  timeout: 120000, // add_node waits for the other node
}, (res) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (c) => { data += c; });
  res.on('end', () => {
    console.log(`status=${res.statusCode}`);
    console.log(data);
    process.exitCode = res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1;
  });
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (e) => {
  console.log(`error=${e.code || ''} ${e.message}`);
  process.exitCode = 2;
});
req.end(body);
