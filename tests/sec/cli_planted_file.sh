#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_planted_file.sh -- a file named like the key's URI, planted in a
# directory others can write (a shared project directory, /tmp), does not
# replace the token key in `csr`, `devcert` and `check`, whether the URI is
# given on the command line or inside a key-reference file: the CLI reaches
# the key through hsmkey.so's own decoder, never through OpenSSL's file
# scheme, and refuses any key that is not the provider's.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

U=$(uri ec-key)
token_pub 02 "$T/ec.token.pub"
spki() { # a public key (PEM) or certificate's, as one hex line
    ossl_sw pkey -pubin -in "$1" -outform DER | od -An -tx1 | tr -d ' \n'
}
want=$(spki "$T/ec.token.pub")

# Someone else's key, under the URI's name, where the operator works.
W=$T/shared
mkdir -m 1777 "$W"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$U"
ossl_sw pkey -in "$W/$U" -pubout -out "$T/planted.pub"
planted=$(spki "$T/planted.pub")
[ "$want" != "$planted" ] || die "the planted key is the token key"
cd "$W"

say "devcert certifies the token key, not the planted file"
hk_ok --pin-source "file:$TOKEN_PIN_FILE" devcert --ca-dir "$T/devca" \
    --key "$U" --cn node1.example --out "$T/node1.pem"
ossl_sw x509 -in "$T/node1.pem" -noout -pubkey >"$T/node1.pub"
assert_eq "$(spki "$T/node1.pub")" "$want" "devcert certified another key"

say "csr is signed by the token key"
hk_ok --pin-source "file:$TOKEN_PIN_FILE" csr --key "$U" \
    --subject /CN=node1.example --out "$T/node1.csr"
ossl_sw req -in "$T/node1.csr" -noout -pubkey >"$T/csr.pub"
assert_eq "$(spki "$T/csr.pub")" "$want" "csr holds another key"
ossl_sw req -in "$T/node1.csr" -noout -verify 2>&1 | grep -q 'verify OK' ||
    die "the CSR does not verify"

say "a key-reference file holding the URI: the same"
hk_ok keyref --key "$U" --out "$T/ec.ref"
hk_ok --pin-source "file:$TOKEN_PIN_FILE" csr --key "$T/ec.ref" \
    --subject /CN=node1.example --out "$T/ref.csr"
ossl_sw req -in "$T/ref.csr" -noout -pubkey >"$T/ref.pub"
assert_eq "$(spki "$T/ref.pub")" "$want" "csr via key reference"

say "check: a certificate for the planted key fails key-match and key-proof"
make_ca evil
ossl_sw req -new -key "$W/$U" -subj /CN=node1.example -out "$T/evil.csr"
ossl_sw x509 -req -in "$T/evil.csr" -CA "$T/evil.pem" \
    -CAkey "$T/secret/evil.key" -CAcreateserial -days 2 \
    -out "$T/evil-node.pem" 2>/dev/null
_hk --pin-source "file:$TOKEN_PIN_FILE" check --cert "$T/evil-node.pem" \
    --ca "$T/evil.pem" --key "$U"
assert_eq "$HK_RC" 1 "check of a certificate for the planted key"
assert_file_match '^FAIL key-match' "$HK_OUT"
assert_file_match '^FAIL key-proof' "$HK_OUT"
say "check: the token's own certificate passes with the file still there"
hk_ok --pin-source "file:$TOKEN_PIN_FILE" check --cert "$T/node1.pem" \
    --ca "$T/devca/ca.pem" --key "$U"
assert_file_match '^PASS key-match' "$HK_OUT"
assert_file_match '^PASS key-proof' "$HK_OUT"
