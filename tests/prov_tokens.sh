#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_tokens.sh -- two tokens in one SoftHSM2 store, each with its own PIN:
# a URI's pin-source wins for its token, a PIN meant for one token fails on
# the other with CKR_PIN_INCORRECT, a URI matching keys on both tokens is
# ambiguous, and public keys and certificates load without any PIN.
. "$(dirname "$0")/lib.sh"

b_pin=86420-second-token-pin
secret "$b_pin"
printf '%s\n' "$b_pin" >"$T/secret/b.pin"
chmod 0600 "$T/secret/b.pin"
OPENSSL_CONF=$SW_CNF softhsm2-util --init-token --free --label node-b \
    --so-pin 11111-so-b --pin "$b_pin" >"$T/out/init-b.log" 2>&1 ||
    die "softhsm2-util --init-token node-b: $(cat "$T/out/init-b.log")"
keygen_b() { # ID LABEL TYPE
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label node-b --login --pin "$b_pin" --keypairgen --id "$1" \
        --label "$2" --key-type "$3" >"$T/out/keygen-b.log" 2>&1 ||
        die "pkcs11-tool keygen on node-b: $(cat "$T/out/keygen-b.log")"
}
keygen_b 21 b-key EC:prime256v1
keygen_b 22 rsa-key rsa:2048 # same label as a key on the first token
echo "message" >"$T/msg"

b_uri="pkcs11:token=node-b;object=b-key;type=private"

say "key on the second token, PIN from the URI's pin-source"
ossl dgst -sha256 -sign "$b_uri?pin-source=file:$T/secret/b.pin" \
    -out "$T/b.sig" "$T/msg"
ossl pkey -pubin -in "pkcs11:token=node-b;object=b-key;type=public" \
    -pubout -out "$T/b.pub"
ossl_sw dgst -sha256 -verify "$T/b.pub" -signature "$T/b.sig" "$T/msg" \
    >"$T/b.ok"
assert_file_match '^Verified OK$' "$T/b.ok"

say "the first token's PIN (openssl.cnf) is wrong for the second token"
should_fail 'CKR_PIN_INCORRECT' ossl dgst -sha256 -sign "$b_uri" \
    -out "$T/out/b2.sig" "$T/msg"
assert_file_match ":hsmkey:.*node-b.*CKR_PIN_INCORRECT" "$LAST_ERR" \
    "the error names the token"

say "and the first token still works with its own PIN afterwards"
ossl dgst -sha256 -sign "$(uri rsa-key)" -out "$T/a.sig" "$T/msg"

say "a label on both tokens without token= is ambiguous"
should_fail ':hsmkey:.*([Ss]everal|[Mm]ultiple|[Aa]mbiguous|[2-9] (private )?(keys|objects)|more than one)' \
    ossl pkey -in "pkcs11:object=rsa-key;type=public" -pubin -pubout
should_fail ':hsmkey:.*([Ss]everal|[Mm]ultiple|[Aa]mbiguous|[2-9] (private )?(keys|objects)|more than one)' \
    ossl pkey -in "pkcs11:object=rsa-key;type=private" -pubout
say "and names one key with token="
ossl pkey -in "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=public" -pubin \
    -pubout -out "$T/a.rsa.pub"
token_pub 01 "$T/a.rsa.ref"
assert_same_file "$T/a.rsa.ref" "$T/a.rsa.pub" "rsa-key on the first token"

say "public keys and certificates load with no PIN available at all"
sed "s|^pin-source.*|pin-source = file:$T/no-such.pin|" "$OPENSSL_CONF" \
    >"$T/nopin.cnf"
export OPENSSL_CONF=$T/nopin.cnf
ossl pkey -pubin -in "$(uri ec-key public)" -pubout -out "$T/ec.pub"
token_pub 02 "$T/ec.ref"
assert_same_file "$T/ec.ref" "$T/ec.pub" "public key without a PIN"
ossl pkey -pubin -in "pkcs11:token=node-b;object=b-key;type=public" -pubout \
    -out "$T/b2.pub"
assert_same_file "$T/b.pub" "$T/b2.pub" "second token's public key"
ossl storeutl -certs "$(uri rsa-cert cert)" >"$T/cert.out"
assert_file_match '^Total found: 1$' "$T/cert.out" "certificate without a PIN"
say "while a private key needs the PIN, and the error names the file"
should_fail "$T/no-such\\.pin" ossl dgst -sha256 -sign "$(uri ec-key)" \
    -out "$T/out/ec.sig" "$T/msg"
