#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_csr.sh -- `hsmkey csr`: requests signed on the token verify with the
# default provider alone, carry the token key's public key, the subject,
# SAN, EKU serverAuth+clientAuth and a Key Usage that fits the key.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

# req_text CSR: the request, verified by openssl without hsmkey.
req_text() {
    ossl_sw req -in "$1" -noout -verify -text >"$1.txt" 2>&1 ||
        die "openssl req -verify refuses $1: $(cat "$1.txt")"
    assert_file_match 'verify OK' "$1.txt"
}

say "RSA: subject, SAN, EKU, Key Usage; verified without hsmkey"
hk 0 csr --key "$(uri rsa-key)" \
    --subject "/CN=node1.example.com/O=Example Org/OU=ops" \
    --san "DNS:node1.example.com,IP:10.0.0.1,URI:spiffe://example/node1" \
    --out "$T/rsa.csr"
assert_file_match '^subject: CN=node1.example.com, O=Example Org, OU=ops$' "$HK_OUT"
assert_file_match '^eku: serverAuth,clientAuth$' "$HK_OUT"
req_text "$T/rsa.csr"
assert_file_match 'Subject: CN ?= ?node1.example.com, O ?= ?Example Org, OU ?= ?ops' "$T/rsa.csr.txt"
assert_file_match 'TLS Web Server Authentication, TLS Web Client Authentication' "$T/rsa.csr.txt"
assert_file_match 'Digital Signature, Key Encipherment' "$T/rsa.csr.txt"
assert_file_match 'DNS:node1.example.com, IP Address:10.0.0.1, URI:spiffe://example/node1' "$T/rsa.csr.txt"
assert_file_match 'sha256WithRSAEncryption' "$T/rsa.csr.txt"

say "the request holds the token's public key (read by pkcs11-tool)"
token_pub 01 "$T/rsa.pub.pem"
ossl_sw req -in "$T/rsa.csr" -noout -pubkey >"$T/rsa.req.pub.pem"
assert_same_file "$T/rsa.pub.pem" "$T/rsa.req.pub.pem" "CSR public key"

say "EC P-256 and P-384: ECDSA, named curve, digitalSignature only"
for k in ec-key:02:P-256 ec384-key:03:P-384; do
    IFS=: read -r name id curve <<<"$k"
    hk 0 csr --key "$(uri "$name")" --subject "/CN=$name" --out "$T/$name.csr"
    req_text "$T/$name.csr"
    assert_file_match "NIST CURVE: $curve" "$T/$name.csr.txt"
    assert_file_match 'ecdsa-with-SHA256' "$T/$name.csr.txt"
    assert_file_match '^ +Digital Signature$' "$T/$name.csr.txt"
    token_pub "$id" "$T/$name.pub.pem"
    ossl_sw req -in "$T/$name.csr" -noout -pubkey >"$T/$name.req.pub.pem"
    assert_same_file "$T/$name.pub.pem" "$T/$name.req.pub.pem" "$name"
done

say "a key-reference file as --key, --json, --eku"
hk 0 keyref --key "$(uri ec-key)" --out "$T/ec-ref.pem"
hk 0 --json csr --key "$T/ec-ref.pem" --subject /CN=n2 --eku serverAuth \
    --out "$T/ref.csr"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["out"].endswith("ref.csr") and d["subject"] == "CN=n2" and d["eku"] == "serverAuth" and d["san"] is None, d' \
    "$HK_OUT" || die "csr --json: $(cat "$HK_OUT")"
req_text "$T/ref.csr"
assert_file_match 'TLS Web Server Authentication$' "$T/ref.csr.txt"
hk 0 csr --key "$T/ec-ref.pem" --subject /CN=n3 --eku none --out "$T/none.csr"
req_text "$T/none.csr"
assert_file_nomatch 'Extended Key Usage' "$T/none.csr.txt"

say "a CSR from hsmkey makes a certificate that hsmkey check passes"
ca_make root
ISSUE_KU=digitalSignature issue root "$T/ec-key.csr" "$T/ec.pem" "" "" "" \
    DNS:ec-key
hk 0 check --cert "$T/ec.pem" --ca "$T/root.pem" --key "$(uri ec-key)"

say "exit 2: bad subject, SAN, EKU, missing options"
bad() {
    hk 2 csr "$@"
    assert_file_match "^hsmkey: .*$RE" "$HK_ERR"
    [ ! -e "$T/bad.csr" ] || die "a request was written for bad input"
}
KEY=(--key "$(uri rsa-key)")
RE="expected the /CN=name/O=org form" bad "${KEY[@]}" --subject CN=x --out "$T/bad.csr"
RE="'CN' is not TYPE=value" bad "${KEY[@]}" --subject /CN --out "$T/bad.csr"
RE="unknown attribute type" bad "${KEY[@]}" --subject /XX=y --out "$T/bad.csr"
RE="'IP:10.0.0.300' is not a valid IP name" bad "${KEY[@]}" --subject /CN=x \
    --san DNS:a,IP:10.0.0.300 --out "$T/bad.csr"
RE="'node1' has no known type" bad "${KEY[@]}" --subject /CN=x --san node1 \
    --out "$T/bad.csr"
RE="--eku 'fastAuth'" bad "${KEY[@]}" --subject /CN=x --eku fastAuth \
    --out "$T/bad.csr"
RE="--out is required" bad "${KEY[@]}" --subject /CN=x
RE="--subject is required" bad "${KEY[@]}" --out "$T/bad.csr"
RE="objekt" bad --key "pkcs11:objekt=x" --subject /CN=x --out "$T/bad.csr"

say "exit 3: no such key"
hk 3 csr --key "pkcs11:token=$TOKEN_LABEL;object=nope;type=private" \
    --subject /CN=x --out "$T/bad.csr"
assert_file_match '^hsmkey: ' "$HK_ERR"
[ ! -e "$T/bad.csr" ] || die "a request was written without a key"

say "--help has examples"
hk 0 csr --help
assert_file_match '^Examples:' "$HK_OUT"
