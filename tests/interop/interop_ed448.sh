#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ed448 on SoftHSM2 (2.6 signs with it): a key imported with the hsmkey CLI
# signs through the provider (CKM_EDDSA with CK_EDDSA_PARAMS, as PKCS#11 3.0
# has Ed448 take), a CSR carries it, and the default provider alone
# verifies both.
. "$(dirname "$0")/interop.sh"

ossl_sw genpkey -algorithm ED448 -out "$T/secret/ed448.pem"
ossl_sw pkey -in "$T/secret/ed448.pem" -pubout -out "$T/out/sw.pub.pem"
preloaded "$HSMKEY_BUILD/tool/hsmkey" import --module "$TOKEN_MODULE" \
    --pin-source "file:$TOKEN_PIN_FILE" --token "$TOKEN_LABEL" \
    --label ed448-key --id 48 --key "$T/secret/ed448.pem" \
    >"$T/out/import.out" 2>&1 ||
    die "hsmkey import of an Ed448 key failed: $(cat "$T/out/import.out")"
K=$(uri ed448-key)

ossl pkey -in "$K" -pubout -out "$T/out/token.pub.pem"
assert_same_file "$T/out/token.pub.pem" "$T/out/sw.pub.pem" "Ed448 public key"
for size in 1 200 5000; do
    head -c "$size" /dev/urandom >"$T/msg.$size"
    ossl pkeyutl -sign -rawin -inkey "$K" -in "$T/msg.$size" \
        -out "$T/out/sig.$size"
    assert_eq "$(wc -c <"$T/out/sig.$size")" 114 "Ed448 signature size"
    ossl_sw pkeyutl -verify -rawin -pubin -inkey "$T/out/sw.pub.pem" \
        -in "$T/msg.$size" -sigfile "$T/out/sig.$size" >/dev/null ||
        die "the token's Ed448 signature of $size bytes does not verify"
done
ossl req -new -key "$K" -subj "/CN=ed448-node" -out "$T/ed448.csr"
ossl_sw req -in "$T/ed448.csr" -noout -verify -text >"$T/out/csr.txt" 2>&1
assert_file_match 'Public Key Algorithm: ED448' "$T/out/csr.txt"
assert_file_match 'verify OK' "$T/out/csr.txt"
say "ok: an Ed448 key on SoftHSM2 signs; the default provider verifies"
