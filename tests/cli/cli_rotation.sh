#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key rotation of docs/ROTATION.md, end to end with hsmkey commands
# only: from an empty SoftHSM2 store to a node serving TLS with a token
# key, then a new key under a new label, its CSR and certificate, a check,
# the certificate and key-reference file switched, the server restarted on
# the new key, and the old key deleted.  A TLS handshake (openssl s_server
# and s_client, the client verifying the server) before and after.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
. "$HSMKEY_SRC/tests/tls_lib.sh"

# A store with no token at all, as on a new machine.
E=$T/hsm
mkdir -p "$E/tokens"
sed "s|@TOKDIR@|$E/tokens|" "$HSMKEY_SRC/softhsm-conf/softhsm2.conf.in" \
    >"$E/softhsm2.conf"
export SOFTHSM2_CONF=$E/softhsm2.conf
ETC=$T/etc
mkdir -m 0755 "$ETC"
SO=62831-rotation-so-pin
PIN=57721-rotation-user-pin
printf '%s\n' "$SO" >"$T/secret/so.pin"
# The PIN file lives with the secrets (lib.sh scans every other file for
# the PIN); a real node has it as /etc/hsmkey/node.pin, mode 0600.
printf '%s\n' "$PIN" >"$T/secret/node.pin"
secret "$SO"
secret "$PIN"
H=(--pin-source "file:$T/secret/node.pin")

# The server's view: the certificate it presented, as PEM.
served_cert() { # NAME OUT
    sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' \
        "$T/$1.cli.out" | head -n "$(sed -n '/^-----END CERTIFICATE-----$/{=;q}' "$T/$1.cli.out")" \
        >"$2"
    [ -s "$2" ] || die "$1: s_client printed no server certificate"
}

say "1. a token, a key, a certificate, a provider configuration"
hk_ok init-token --label node1 --so-pin-source "file:$T/secret/so.pin" "${H[@]}"
hk_ok keygen --token node1 --label node-key-1 --type ec:P-256 "${H[@]}" \
    --out "$ETC/node1.key.pem"
OLD=$(cat "$HK_OUT")
hk_ok devcert --ca-dir "$T/devca" --key "$ETC/node1.key.pem" \
    --cn server.test --san DNS:server.test "${H[@]}" --out "$T/node1.pem"
cp "$T/devca/ca.pem" "$T/ca.pem"
hk_ok config "${H[@]}" --out "$ETC/openssl.cnf"
export OPENSSL_CONF=$ETC/openssl.cnf
hk_ok check --cert "$T/node1.pem" --ca "$T/ca.pem" --key "$ETC/node1.key.pem" \
    --host server.test "${H[@]}"

say "2. the node serves TLS with node-key-1"
handshake before node1 "$ETC/node1.key.pem" -- -tls1_3
expect_ok before TLSv1.3 ECDSA
served_cert before "$T/served.before.pem"
cp "$T/node1.pem" "$T/node1-old.pem"
assert_same_file "$T/node1-old.pem" "$T/served.before.pem" "served certificate"
cp "$ETC/node1.key.pem" "$T/old.key.pem"

say "3. a new key under a new label (the old one keeps serving)"
hk_ok keygen --token node1 --label node-key-2 --type ec:P-256 "${H[@]}"
NEW=$(cat "$HK_OUT")
[ "$NEW" != "$OLD" ] || die "the new key has the old key's URI"

say "4. its CSR, and the certificate from the CA"
hk_ok csr --key "$NEW" --subject "CN=server.test" --san DNS:server.test \
    "${H[@]}" --out "$T/node1-2.csr"
ossl_sw req -in "$T/node1-2.csr" -noout -verify >/dev/null 2>&1 ||
    die "the CSR of the new key does not verify"
hk_ok devcert --ca-dir "$T/devca" --key "$NEW" --cn server.test \
    --san DNS:server.test "${H[@]}" --out "$T/node1-2.pem"

say "5. the new pair checked before anything is switched"
hk_ok check --cert "$T/node1-2.pem" --ca "$T/ca.pem" --key "$NEW" \
    --host server.test "${H[@]}"

say "6. switch: the certificate, then the key reference (renamed over)"
hk_ok devcert --ca-dir "$T/devca" --key "$NEW" --cn server.test \
    --san DNS:server.test "${H[@]}" --out "$T/node1.pem"
hk_ok keyref --key "$NEW" --out "$ETC/node1.key.pem"
hk_ok keyref --show "$ETC/node1.key.pem"
assert_eq "$(cat "$HK_OUT")" "pkcs11:token=node1;id=$(sed 's/.*;id=\([^;]*\);.*/\1/' <<<"$NEW");object=node-key-2;type=private"
hk_ok check --cert "$T/node1.pem" --ca "$T/ca.pem" --key "$ETC/node1.key.pem" \
    --host server.test "${H[@]}"
[ -z "$(find "$ETC" "$T" -maxdepth 1 -name '*.tmp')" ] || die "temp files left"

say "7. restart: the node serves TLS with node-key-2"
handshake after node1 "$ETC/node1.key.pem" -- -tls1_3
expect_ok after TLSv1.3 ECDSA
served_cert after "$T/served.after.pem"
assert_same_file "$T/node1.pem" "$T/served.after.pem" "served certificate"
ossl_sw x509 -in "$T/served.after.pem" -noout -pubkey >"$T/served.pub"
ossl pkey -in "$ETC/node1.key.pem" -pubout -out "$T/new.pub"
assert_same_file "$T/new.pub" "$T/served.pub" "the server's key"
cmp -s "$T/served.before.pem" "$T/served.after.pem" &&
    die "the server still presents the old certificate"

say "8. the old key deleted"
hk_ok delete --key "pkcs11:token=node1;object=node-key-1;type=private" --yes \
    "${H[@]}"
assert_file_match "deleted 2 of 2 objects from token 'node1'" "$HK_ERR"
hk_ok --json keys --token node1 "${H[@]}"
assert_eq "$(json_q "$HK_OUT" 'sorted(set(o["label"] for o in j))')" '["node-key-2"]'
should_fail "node-key-1|no private key|matches" ossl pkey -in "$T/old.key.pem" -pubout
# The old certificate no longer matches the node's key.
_hk check --cert "$T/node1-old.pem" --ca "$T/ca.pem" --key "$ETC/node1.key.pem" "${H[@]}"
assert_eq "$HK_RC" 1 "check of the old certificate with the new key"
assert_file_match "^FAIL key-match: the certificate's EC point differs" "$HK_OUT"
handshake last node1 "$ETC/node1.key.pem" -- -tls1_3
expect_ok last TLSv1.3 ECDSA
say "ok: rotated from an empty token with hsmkey commands only"
