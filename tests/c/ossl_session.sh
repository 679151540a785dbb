#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ossl_session.sh MODE URI DIR - the real openssl CLI through the provider,
# as the integration tests use it, for tests/c/valgrind.sh (run through
# run.sh, which makes the token, the openssl.cnf and DIR):
#   self-signed certificate made with the token key (req -x509), a signature
#   (dgst -sign), RSA decryption (pkeyutl -decrypt, RSA keys), and one TLS
#   1.3 handshake with the key in s_server.
# Every openssl runs under whatever valgrind.sh wraps this script in
# (--trace-children=yes); MODE is "cli".
set -euo pipefail
[ "${1:-}" = cli ] && [ $# -eq 3 ] || { echo "usage: $0 cli URI DIR" >&2; exit 2; }
uri=$2 dir=$3
cd "$dir"
printf 'hsmkey valgrind run\n' >data
openssl req -new -x509 -key "$uri" -subj /CN=localhost -days 1 -out cert.pem
openssl x509 -in cert.pem -pubkey -noout >pub.pem
openssl dgst -sha256 -sign "$uri" -out data.sig data
openssl dgst -sha256 -verify pub.pem -signature data.sig data >/dev/null
case $uri in
*rsa*)
    openssl pkeyutl -encrypt -pubin -inkey pub.pem -in data -out data.enc
    openssl pkeyutl -decrypt -inkey "$uri" -in data.enc -out data.dec
    cmp data data.dec
    ;;
esac
port=$((20000 + RANDOM % 20000))
# -www: the server answers one GET with its status page, then exits.
openssl s_server -accept "127.0.0.1:$port" -cert cert.pem -key "$uri" \
    -naccept 1 -tls1_3 -www </dev/null >s_server.out 2>&1 &
server=$!
# Not a probe connection: it would be the one connection s_server accepts.
for _ in $(seq 600); do # valgrind starts openssl slowly
    grep -q '^ACCEPT' s_server.out && break
    sleep 0.1
done
printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$port" \
    -tls1_3 -CAfile cert.pem -verify_return_error -ign_eof >s_client.out 2>&1
wait "$server"
grep -q '^HTTP/1.0 200 ok' s_client.out
grep -q '^New, TLSv1.3' s_client.out
grep -q 'Verify return code: 0 (ok)' s_client.out
echo "openssl CLI through the provider: req, dgst, $(case $uri in *rsa*) echo 'pkeyutl, ' ;; esac)TLS 1.3 handshake: ok"
