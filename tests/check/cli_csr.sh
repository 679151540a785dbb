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

say "the subject as hsmkey and openssl print it: the same name"
hk 0 csr --key "$(uri rsa-key)" \
    --subject "CN=node1.example.com, O=Example Org, OU=ops" --out "$T/comma.csr"
assert_file_match '^subject: CN=node1.example.com, O=Example Org, OU=ops$' "$HK_OUT"
ossl_sw req -in "$T/rsa.csr" -noout -subject -nameopt RFC2253 >"$T/out/slash.subj"
ossl_sw req -in "$T/comma.csr" -noout -subject -nameopt RFC2253 >"$T/out/comma.subj"
assert_same_file "$T/out/slash.subj" "$T/out/comma.subj" "comma form subject"
# openssl's own print ("CN = a, O = b"), a quoted value with a comma.
hk 0 csr --key "$(uri rsa-key)" \
    --subject 'CN = node1.example.com, O = "Example, Inc.", OU=ops' \
    --out "$T/quoted.csr"
assert_file_match '^subject: CN=node1.example.com, O="Example, Inc.", OU=ops$' "$HK_OUT"
ossl_sw req -in "$T/quoted.csr" -noout -subject -nameopt RFC2253 >"$T/out/q.subj"
assert_file_match '^subject=OU=ops,O=Example\\, Inc\.,CN=node1.example.com$' "$T/out/q.subj"

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
RE="expected the /CN=name/O=org or 'CN=name, O=org' form" bad "${KEY[@]}" \
    --subject node1 --out "$T/bad.csr"
RE="'CN' is not TYPE=value" bad "${KEY[@]}" --subject /CN --out "$T/bad.csr"
RE="unknown attribute type" bad "${KEY[@]}" --subject /XX=y --out "$T/bad.csr"
RE="'IP:10.0.0.300' is not a valid IP name" bad "${KEY[@]}" --subject /CN=x \
    --san DNS:a,IP:10.0.0.300 --out "$T/bad.csr"
RE="'node1' has no known type" bad "${KEY[@]}" --subject /CN=x --san node1 \
    --out "$T/bad.csr"
RE="--eku: 'fastAuth' is not an Extended Key Usage name or OID" bad \
    "${KEY[@]}" --subject /CN=x --eku fastAuth --out "$T/bad.csr"
# The entry that is wrong is named, with the spelling meant.
RE="--eku: 'serverauth' is not an Extended Key Usage name: did you mean serverAuth\? \(names are case-sensitive\)" \
    bad "${KEY[@]}" --subject /CN=x --eku serverauth --out "$T/bad.csr"
RE="--eku: 'clientauth' is not .* did you mean clientAuth\?" bad "${KEY[@]}" \
    --subject /CN=x --eku serverAuth,clientauth --out "$T/bad.csr"
RE="--out is required" bad "${KEY[@]}" --subject /CN=x
RE="--subject is required" bad "${KEY[@]}" --out "$T/bad.csr"
RE="objekt" bad --key "pkcs11:objekt=x" --subject /CN=x --out "$T/bad.csr"

say "exit 3: a refused PIN is the one message (no 'no private key' on top)"
printf 'not-the-pin\n' >"$T/secret/wrong.pin"
HSMKEY_PIN_SOURCE=file:$T/secret/wrong.pin hk 3 csr --key "$(uri rsa-key)" \
    --subject /CN=x --out "$T/bad.csr"
assert_file_match "^hsmkey: token '$TOKEN_LABEL': C_Login: CKR_PIN_INCORRECT" "$HK_ERR"
assert_file_nomatch "no private key" "$HK_ERR"
assert_eq "$(grep -c '^hsmkey: ' "$HK_ERR")" 1 "one message after a refused PIN"
[ ! -e "$T/bad.csr" ] || die "a request was written without a login"

say "exit 2: an on-disk key or a certificate as --key gets a hint"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/disk.key"
hk 2 csr --key "$T/secret/disk.key" --subject /CN=x --out "$T/bad.csr"
assert_file_match "^hsmkey: --key $T/secret/disk.key is a private key on disk, not a token key: move it into the token with \`hsmkey import --token LABEL --label NAME --key $T/secret/disk.key --out REF.pem\`" "$HK_ERR"
assert_file_nomatch "PKCS#11 PROVIDER URI" "$HK_ERR"
ossl_sw pkcs8 -topk8 -nocrypt -in "$T/secret/disk.key" -outform DER \
    -out "$T/secret/disk.p8.der"
hk 2 csr --key "$T/secret/disk.p8.der" --subject /CN=x --out "$T/bad.csr"
assert_file_match "disk.p8.der is a private key on disk" "$HK_ERR"
hk 2 csr --key "$TOKEN_DIR/rsa-cert.pem" --subject /CN=x --out "$T/bad.csr"
assert_file_match "^hsmkey: --key $TOKEN_DIR/rsa-cert.pem is a certificate, not a key: --key wants the token key, as a pkcs11: URI \(see hsmkey keys\) or a key-reference file" "$HK_ERR"
echo 'just text' >"$T/text.pem"
hk 2 csr --key "$T/text.pem" --subject /CN=x --out "$T/bad.csr"
assert_file_match 'no "PKCS#11 PROVIDER URI" PEM block' "$HK_ERR"

say "exit 2: pin-value among the path attributes says where it goes"
hk 2 csr --key "pkcs11:token=$TOKEN_LABEL;object=rsa-key;pin-value=123456" \
    --subject /CN=x --out "$T/bad.csr"
assert_file_match "'pin-value' is a query attribute: it goes after '\?'.*pin-source \(file:PATH\)" "$HK_ERR"
assert_file_nomatch "123456" "$HK_ERR"
assert_file_nomatch "unknown path attribute" "$HK_ERR"

say "exit 3: no such key"
hk 3 csr --key "pkcs11:token=$TOKEN_LABEL;object=nope;type=private" \
    --subject /CN=x --out "$T/bad.csr"
assert_file_match '^hsmkey: ' "$HK_ERR"
[ ! -e "$T/bad.csr" ] || die "a request was written without a key"

say "--help has examples"
hk 0 csr --help
assert_file_match '^Examples:' "$HK_OUT"
