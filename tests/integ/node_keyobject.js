// SPDX-License-Identifier: Apache-2.0
// node_keyobject.js -- what a Node.js program asks of a token key's
// KeyObject: node node_keyobject.js CERT.pem KEYREF.pem STEP
//   details   asymmetricKeyDetails, then the JWK of its public half, each
//             compared with the certificate's public key; then a signature
//             with the same KeyObject, verified with the certificate's key
//   pkcs8     export({type:'pkcs8', format:'pem'}) printed
//   jwk       export({format:'jwk'}) of the private KeyObject
// Prints name=value lines; exits 1 on a mismatch.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const [certFile, keyFile, step, out] = process.argv.slice(2);
const certKey = new crypto.X509Certificate(fs.readFileSync(certFile)).publicKey;
const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
const same = (what, a, b) => {
  const ja = JSON.stringify(a, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const jb = JSON.stringify(b, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
  console.log(`${what}=${ja}`);
  if (ja !== jb) {
    console.log(`mismatch=${what}: ${ja} != ${jb}`);
    process.exitCode = 1;
  }
};

console.log(`type=${key.type} ${key.asymmetricKeyType}`);
if (step === 'details') {
  same('details', key.asymmetricKeyDetails, certKey.asymmetricKeyDetails);
  same('jwk.public', crypto.createPublicKey(key).export({ format: 'jwk' }),
    certKey.export({ format: 'jwk' }));
  const data = Buffer.from(`hsmkey ${process.pid} ${Date.now()}`);
  const sig = crypto.sign('sha256', data, key);
  const ok = crypto.verify('sha256', data, certKey, sig);
  console.log(`sign=${ok ? 'verified' : 'BAD'} ${sig.length}`);
  if (!ok) process.exitCode = 1;
  fs.writeFileSync(out, key.export({ type: 'pkcs8', format: 'pem' }));
} else if (step === 'jwk') {
  try {
    console.log(`jwk=${JSON.stringify(key.export({ format: 'jwk' }))}`);
  } catch (e) {
    console.log(`threw=${e.code} ${e.message}`);
  }
}
