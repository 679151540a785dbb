#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Keys restricted by CKA_ALLOWED_MECHANISMS, as HSM policies make them:
#  - a key allowed only a hash-and-sign mechanism signs through it, the
#    message streamed to the token (openssl dgst: update/final) or given
#    whole (EVP_DigestSign: pkeyutl -rawin, CSRs, TLS), and the signature
#    verifies with the default provider alone;
#  - a digest made in software is refused with the reason;
#  - a key allowed only PSS is an RSA-PSS key: its CSR carries the rsassaPss
#    key type, and openssl s_server accepts it with an rsassaPss certificate
#    for a TLS 1.3 handshake;
#  - raw RSA (pad-mode none) takes only modulus-sized input.
. "$(dirname "$0")/interop.sh"

head -c 100000 /dev/urandom >"$T/msg.bin" # several reads of openssl dgst

# ---------------------------------------------------------------- PKCS#1 v1.5
keygen_allowed 11 pkcs1-hashed rsa:2048 SHA256-RSA-PKCS
K=$(uri pkcs1-hashed)
token_pub 11 "$T/out/token.pub.pem"
sign_verify "$K" "$T/msg.bin"
say "ok: a key allowed only CKM_SHA256_RSA_PKCS signs a streamed message"

ossl pkeyutl -sign -rawin -digest sha256 -inkey "$K" -in "$T/msg.bin" \
    -out "$T/out/oneshot.sig"
ossl_sw dgst -sha256 -verify "$T/out/token.pub.pem" \
    -signature "$T/out/oneshot.sig" "$T/msg.bin" >/dev/null
say "ok: ... and a message given whole (EVP_DigestSign)"

ossl_sw dgst -sha256 -binary -out "$T/out/msg.sha256" "$T/msg.bin"
should_fail 'CKA_ALLOWED_MECHANISMS refuses CKM_RSA_PKCS: the key signs whole messages only \(CKM_SHA256_RSA_PKCS\)' \
    ossl pkeyutl -sign -inkey "$K" -pkeyopt digest:sha256 \
    -in "$T/out/msg.sha256" -out "$T/out/refused.sig"

# ---------------------------------------------------------------- ECDSA
# SoftHSM2 2.6 offers no CKM_ECDSA_SHA*: the hash-and-sign mechanism is
# chosen (not the raw CKM_ECDSA the key refuses) and the token says so.
keygen_allowed 12 ecdsa-hashed EC:prime256v1 ECDSA-SHA256
should_fail 'does not offer CKM_ECDSA_SHA256' \
    ossl dgst -sha256 -sign "$(uri ecdsa-hashed)" -out "$T/out/ec.sig" \
    "$T/msg.bin"

# ---------------------------------------------------------------- RSA-PSS
keygen_allowed 10 pss-only rsa:2048 SHA256-RSA-PKCS-PSS
P=$(uri pss-only)
token_pub 10 "$T/out/token.pub.pem"
# PSS is what an RSA-PSS key signs with, unasked
sign_verify "$P" "$T/msg.bin" rsa_padding_mode:pss
ossl dgst -sha256 -sign "$P" -out "$T/out/sig.bin" "$T/msg.bin"
ossl_sw dgst -sha256 -verify "$T/out/token.pub.pem" \
    -sigopt rsa_padding_mode:pss -signature "$T/out/sig.bin" "$T/msg.bin" \
    >/dev/null
say "ok: a key allowed only CKM_SHA256_RSA_PKCS_PSS signs, PSS by default"
should_fail 'RSA-PSS key signs with PSS padding only' \
    ossl dgst -sha256 -sign "$P" -sigopt rsa_padding_mode:pkcs1 \
    -out "$T/out/pkcs1.sig" "$T/msg.bin"

# Presented as an RSA-PSS key: public key and CSR carry rsassaPss.
ossl pkey -in "$P" -pubout -out "$T/out/pss.pub.pem"
ossl_sw asn1parse -in "$T/out/pss.pub.pem" >"$T/out/pss.pub.asn1"
assert_file_match 'OBJECT +:rsassaPss' "$T/out/pss.pub.asn1"
ossl req -new -key "$P" -subj "/CN=pss-node" -out "$T/pss.csr"
ossl_sw req -in "$T/pss.csr" -noout -verify -text >"$T/out/pss.csr.txt" 2>&1
assert_file_match 'Public Key Algorithm: rsassaPss' "$T/out/pss.csr.txt"
assert_file_match 'verify OK' "$T/out/pss.csr.txt"
say "ok: the PSS-only key is an RSA-PSS key (public key, CSR)"

# An rsassaPss certificate, made without the provider: the token's public
# key (pkcs11-tool) with its algorithm turned into id-RSASSA-PSS.
python3 - "$T/out/token.pub.pem" "$T/out/rsassapss.pub.der" <<'PY'
import base64, sys
pem = open(sys.argv[1]).read().split('-----')[2]
der = base64.b64decode(pem)
def value(d, at):  # where the value of the element at `at` starts, ends
    n, at = d[at + 1], at + 2
    if n & 0x80:
        k = n & 0x7f
        n, at = int.from_bytes(d[at:at + k], 'big'), at + k
    return at, at + n
def enc(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([tag]) + ln + body
s, e = value(der, 0)
a_s, a_e = value(der, s)           # AlgorithmIdentifier (rsaEncryption, NULL)
bits = der[a_e:e]                  # the BIT STRING, as it is
pss = enc(0x30, bytes.fromhex('06092a864886f70d01010a'))
open(sys.argv[2], 'wb').write(enc(0x30, pss + bits))
PY
ossl_sw pkey -pubin -inform DER -in "$T/out/rsassapss.pub.der" \
    -out "$T/out/rsassapss.pub.pem"
make_ca ca
ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/secret/throwaway.key" -subj "/CN=localhost" \
    -out "$T/out/throwaway.csr" 2>/dev/null
ossl_sw x509 -req -in "$T/out/throwaway.csr" -CA "$T/ca.pem" \
    -CAkey "$T/secret/ca.key" -set_serial 16 -days 30 \
    -force_pubkey "$T/out/rsassapss.pub.pem" -out "$T/pss-cert.pem" 2>/dev/null
ossl_sw x509 -in "$T/pss-cert.pem" -noout -text >"$T/out/pss-cert.txt"
assert_file_match 'Public Key Algorithm: rsassaPss' "$T/out/pss-cert.txt"
cert_to_token "$T/pss-cert.pem" 10 pss-cert

PORT=$(free_port)
start_bg server preloaded openssl s_server -accept "127.0.0.1:$PORT" \
    -naccept 1 -tls1_3 -key "$P" -cert "$T/pss-cert.pem" -www
wait_port "$PORT"
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/client.in"
start_bg client env OPENSSL_CONF="$SW_CNF" openssl s_client \
    -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$T/ca.pem" \
    -verify_return_error -servername localhost -ign_eof
wait_bg client 60
assert_eq "$BG_STATUS" 0 "s_client against the RSA-PSS key"
assert_file_match 'Peer signature type: RSA-PSS' "$T/client.out"
assert_file_match 'Verify return code: 0 \(ok\)' "$T/client.out"
assert_file_match 'New, TLSv1.3' "$T/client.out"
wait_bg server 30
assert_eq "$BG_STATUS" 0 "s_server with the RSA-PSS key"
assert_file_nomatch 'does not match' "$T/server.err"
say "ok: s_server takes the RSA-PSS key with its rsassaPss certificate (TLS 1.3)"

# ---------------------------------------------------------------- raw RSA
R=$(uri rsa-key)
token_pub 01 "$T/out/rsa.pub.pem"
# (pkeyutl takes at most 64 bytes to sign; rsautl takes any length)
head -c 32 /dev/urandom >"$T/out/short.bin"
should_fail 'raw RSA input of 32 bytes: data too small for key size \(256 bytes\)' \
    ossl pkeyutl -sign -inkey "$R" -pkeyopt rsa_padding_mode:none \
    -in "$T/out/short.bin" -out "$T/out/short.sig"
head -c 255 /dev/urandom >"$T/out/short255.bin"
should_fail 'raw RSA input of 255 bytes: data too small for key size' \
    ossl rsautl -sign -raw -inkey "$R" -in "$T/out/short255.bin" \
    -out "$T/out/short255.sig"
{ printf '\0'; head -c 255 /dev/urandom; } >"$T/out/block.bin"
ossl rsautl -sign -raw -inkey "$R" -in "$T/out/block.bin" \
    -out "$T/out/block.sig"
ossl_sw pkeyutl -verifyrecover -pubin -inkey "$T/out/rsa.pub.pem" \
    -pkeyopt rsa_padding_mode:none -in "$T/out/block.sig" \
    -out "$T/out/block.back"
assert_same_file "$T/out/block.back" "$T/out/block.bin" "raw RSA round trip"
say "ok: raw RSA takes a modulus-sized block and refuses a shorter one"
