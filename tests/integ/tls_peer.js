// SPDX-License-Identifier: Apache-2.0
// tls_peer.js -- an https server or client with mutual TLS on Node.js.
//
// The private key is fs.readFileSync(keyFile): in the tests a key-reference
// file, which the hsmkey provider (loaded by Node from the nodejs_conf
// section of OPENSSL_CONF, nothing else) turns into the token key. No hsmkey
// code here: this is what an application (a HarperDB node) already does.
//
//   node tls_peer.js server CERT KEY CA PORTFILE [TLSVERSION]
//       https on 127.0.0.1 (free port written to PORTFILE), requires a
//       client certificate from CA, answers one request, prints, exits.
//   node tls_peer.js client CERT KEY CA PORT HOST [TLSVERSION]
//       one https request; prints what it saw and the body.
//   node tls_peer.js load KEY
//       crypto.createPrivateKey() and tls.createSecureContext({key}) only,
//       for the configuration and error cases.
//
// Output lines are "key=value"; status 0 on success, 1 on an error
// (printed as "error=<code>: <message>" on stderr).
'use strict';
const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const tls = require('tls');

const TIMEOUT_MS = 30000;
const [mode, ...args] = process.argv.slice(2);

function fail(e) {
  console.error(`error=${e.code || e.name}: ${e.message}`);
  if (e.opensslErrorStack) console.error(`opensslErrorStack=${e.opensslErrorStack.join(' | ')}`);
  process.exitCode = 1;
}

function versions(v) {
  return v ? { minVersion: v, maxVersion: v } : {};
}

function report(role, sock) {
  const peer = sock.getPeerCertificate();
  console.log(`${role}.version=${sock.getProtocol()}`);
  console.log(`${role}.cipher=${sock.getCipher().standardName}`);
  console.log(`${role}.authorized=${sock.authorized}`);
  console.log(`${role}.peer=${peer.subject && peer.subject.CN}`);
  console.log(`${role}.peer_issuer=${peer.issuer && peer.issuer.CN}`);
}

function server([cert, key, ca, portFile, version]) {
  const srv = https.createServer({
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    ca: fs.readFileSync(ca),
    requestCert: true,
    rejectUnauthorized: true,
    ...versions(version),
  }, (req, res) => {
    report('server', req.socket);
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      console.log(`server.received=${body}`);
      res.setHeader('Connection', 'close');
      res.end(`echo:${[...body].reverse().join('')}\n`);
      srv.close();
    });
  });
  srv.on('tlsClientError', (e, sock) => {
    // rejectUnauthorized: Node drops the connection itself; the reason is
    // the socket's authorizationError
    if (sock && sock.authorizationError) console.error(`server.authorizationError=${sock.authorizationError}`);
    fail(e);
    srv.close();
  });
  const timer = setTimeout(() => { fail(new Error('no client in time')); srv.close(); }, TIMEOUT_MS);
  srv.on('close', () => clearTimeout(timer));
  srv.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(`${portFile}.tmp`, `${srv.address().port}\n`);
    fs.renameSync(`${portFile}.tmp`, portFile);
  });
}

function client([cert, key, ca, port, host, version]) {
  const message = process.env.PEER_MESSAGE || 'hello from node';
  const req = https.request({
    host: '127.0.0.1',
    port: Number(port),
    servername: host,
    method: 'POST',
    path: '/',
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    ca: fs.readFileSync(ca),
    checkServerIdentity: (h, c) => tls.checkServerIdentity(host, c),
    agent: false,
    timeout: TIMEOUT_MS,
    ...versions(version),
  }, (res) => {
    report('client', res.socket);
    console.log(`client.status=${res.statusCode}`);
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => console.log(`client.reply=${body.trimEnd()}`));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', fail);
  req.end(message);
}

function load([key]) {
  const pem = fs.readFileSync(key);
  const k = crypto.createPrivateKey(pem);
  console.log(`load.type=${k.asymmetricKeyType}`);
  tls.createSecureContext({ key: pem });
  console.log('load=ok');
}

console.log(`node=${process.versions.node} openssl=${process.versions.openssl}`);
try {
  ({ server, client, load })[mode](args);
} catch (e) {
  fail(e);
}
