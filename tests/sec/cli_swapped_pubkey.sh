#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_swapped_pubkey.sh -- whoever can open a read/write session on the
# token (no PIN needed on SoftHSM2) may delete and write public key
# objects.  An EC private key object carries no public point, so hsmkey
# takes it from the public key object beside it: only one that matches on
# id, label, key type and curve, never when two disagree, and only after
# the private key proved it (one signature verified with that public key).
# So a swapped public key object never reaches `openssl pkey -pubout`, a
# dev certificate or a PASS of `hsmkey check`.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

spki() {
    ossl_sw pkey -pubin -in "$1" -outform DER | od -An -tx1 | tr -d ' \n'
}

U=$(uri ec-key)
say "before: the public key through the provider is the token's"
token_pub 02 "$T/ec.token.pub"
ossl pkey -in "$U" -pubout -out "$T/ec.prov.pub"
assert_eq "$(spki "$T/ec.prov.pub")" "$(spki "$T/ec.token.pub")"
make_ca cluster
make_cert cluster node1 "$U" node1.example

say "a public session replaces the public key object (no PIN)"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/attacker.pem"
ossl_sw pkey -in "$T/secret/attacker.pem" -pubout -outform DER \
    -out "$T/attacker.pub.der"
ossl_sw pkey -in "$T/secret/attacker.pem" -pubout -out "$T/attacker.pub"
p11 --delete-object --type pubkey --id 02 >/dev/null 2>&1
p11 --write-object "$T/attacker.pub.der" --type pubkey --id 02 \
    --label ec-key >/dev/null 2>&1
p11 --list-objects --type pubkey --id 02 >"$T/out/swapped" 2>&1
assert_file_match 'label: +ec-key' "$T/out/swapped"

say "openssl pkey -pubout refuses instead of printing the attacker's key"
should_fail 'does not hold its public key' \
    ossl pkey -in "$U" -pubout -out "$T/swapped.pub"
[ ! -s "$T/swapped.pub" ] || die "a public key was written"

say "devcert refuses: no certificate for the attacker's key"
hk_exit 3 'does not hold its public key' --pin-source "file:$TOKEN_PIN_FILE" \
    devcert --ca-dir "$T/devca" --key "$U" --cn node1.example \
    --out "$T/dev.pem"
[ ! -e "$T/dev.pem" ] || die "devcert wrote a certificate"

say "check: a certificate for the attacker's key never passes key-match"
ossl_sw req -new -key "$T/secret/attacker.pem" -subj /CN=node1.example \
    -out "$T/att.csr"
ossl_sw x509 -req -in "$T/att.csr" -CA "$T/cluster.pem" \
    -CAkey "$T/secret/cluster.key" -CAcreateserial -days 2 \
    -out "$T/att-node.pem" 2>/dev/null
_hk --pin-source "file:$TOKEN_PIN_FILE" check --cert "$T/att-node.pem" \
    --ca "$T/cluster.pem" --key "$U"
[ "$HK_RC" -ne 0 ] || die "check passed with a swapped public key"
if grep -q '^PASS key-match' "$HK_OUT"; then
    die "check: PASS key-match for the attacker's key"
fi
assert_file_match 'does not hold its public key' "$HK_ERR"

say "public key objects with the id but another curve or label: no partner"
token_pub 03 "$T/ec384.token.pub"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -out "$T/secret/att384.pem"
ossl_sw pkey -in "$T/secret/att384.pem" -pubout -outform DER \
    -out "$T/att384.pub.der"
p11 --write-object "$T/attacker.pub.der" --type pubkey --id 03 \
    --label ec384-key >/dev/null 2>&1 # a P-256 point: another curve
p11 --write-object "$T/att384.pub.der" --type pubkey --id 03 \
    --label decoy >/dev/null 2>&1     # another label
ossl pkey -in "$(uri ec384-key)" -pubout -out "$T/ec384.prov.pub"
assert_eq "$(spki "$T/ec384.prov.pub")" "$(spki "$T/ec384.token.pub")" \
    "the matching public key object was not the one taken"

say "two public key objects that match and disagree: refused, never a guess"
p11 --write-object "$T/att384.pub.der" --type pubkey --id 03 \
    --label ec384-key >/dev/null 2>&1
should_fail 'several public keys claim to be its public half' \
    ossl pkey -in "$(uri ec384-key)" -pubout

say "a key that may derive but not sign: proved by ECDH, swapped refused too"
preloaded "$HSMKEY_SEC_BIN/derive_key" "$TOKEN_MODULE" "$TOKEN_LABEL" \
    "$TOKEN_PIN_FILE" dh-key "$T/dh.pub" >"$T/out/dh.out" 2>&1 ||
    die "derive_key: $(cat "$T/out/dh.out")"
ossl pkey -in "$(uri dh-key)" -pubout -out "$T/dh.prov.pub"
assert_eq "$(spki "$T/dh.prov.pub")" "$(spki "$T/dh.pub")" \
    "the derive-only key's public half"
p11 --delete-object --type pubkey --id 0d >/dev/null 2>&1
p11 --write-object "$T/attacker.pub.der" --type pubkey --id 0d \
    --label dh-key >/dev/null 2>&1
should_fail 'does not hold its public key' \
    ossl pkey -in "$(uri dh-key)" -pubout

