#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The pkcs11: store as X509_STORE-style lookups and PIN-less listings use it:
#  - OSSL_STORE_find: certificates on the token by subject, by issuer and
#    serial number, by fingerprint, and objects by alias (label);
#  - with no PIN configured, a URI that names no class still gives the
#    public key and the certificate, which need no login; a PIN that is
#    configured but wrong is still an error.
. "$(dirname "$0")/interop.sh"

make_ca Issuer
make_cert Issuer node "$(uri ec-key)" node.example
cert_to_token "$T/Issuer.pem" 42 issuer-cert
cert_to_token "$T/node.pem" 02 ec-cert
base="pkcs11:token=$TOKEN_LABEL"

# storeutl_finds WANT-PEM ARGS...: storeutl finds exactly the one
# certificate WANT-PEM
storeutl_finds() {
    local want=$1
    shift
    ossl storeutl -certs "$@" >"$T/out/found.pem" 2>"$T/out/found.err" ||
        die "storeutl $* failed: $(cat "$T/out/found.err")"
    assert_file_match '^Total found: 1$' "$T/out/found.pem" "storeutl $*"
    ossl_sw x509 -in "$T/out/found.pem" -noout -fingerprint -sha256 \
        >"$T/out/found.fp"
    ossl_sw x509 -in "$want" -noout -fingerprint -sha256 >"$T/out/want.fp"
    assert_same_file "$T/out/found.fp" "$T/out/want.fp" "storeutl $*"
}

storeutl_finds "$T/Issuer.pem" -subject "/O=hsmkey tests/CN=Issuer" \
    "$base;type=cert"
storeutl_finds "$T/node.pem" -subject "/CN=node.example" "$base"
say "ok: certificates on the token are found by subject"

serial=$(ossl_sw x509 -in "$T/node.pem" -noout -serial | cut -d= -f2)
storeutl_finds "$T/node.pem" -issuer "/O=hsmkey tests/CN=Issuer" \
    -serial "0x$serial" "$base"
fp=$(ossl_sw x509 -in "$T/Issuer.pem" -noout -fingerprint -sha256 |
    cut -d= -f2)
storeutl_finds "$T/Issuer.pem" -sha256 -fingerprint "$fp" "$base"
storeutl_finds "$TOKEN_DIR/rsa-cert.pem" -alias rsa-cert "$base"
say "ok: ... by issuer and serial, by fingerprint, by alias"

ossl storeutl -certs -subject "/CN=nobody" "$base" >"$T/out/none.out"
assert_file_match '^Total found: 0$' "$T/out/none.out"

# ---------------------------------------------------------------- no PIN
nopin_cnf
nopin() { # a shell function or a program, with no PIN anywhere
    OPENSSL_CONF="$T/nopin.cnf" HSMKEY_PIN_SOURCE= "$@"
}
nopin ossl storeutl "$base;id=%02" >"$T/out/nopin.out" 2>"$T/out/nopin.err" ||
    die "storeutl without a PIN failed: $(cat "$T/out/nopin.err")"
assert_file_match '^[0-9]+: Public key$' "$T/out/nopin.out"
assert_file_match '^[0-9]+: Certificate$' "$T/out/nopin.out"
assert_file_nomatch ': Pkey$' "$T/out/nopin.out"
assert_file_match '^Total found: 2$' "$T/out/nopin.out"
token_pub 02 "$T/out/token.pub.pem"
sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$T/out/nopin.out" \
    >"$T/out/nopin.pub.only.pem"
assert_same_file "$T/out/nopin.pub.only.pem" "$T/out/token.pub.pem" \
    "the public key found without a PIN"
# A second token with one key pair and its certificate: its base URI.
OPENSSL_CONF=$SW_CNF softhsm2-util --init-token --free --label single --so-pin "$TOKEN_SO_PIN" \
    --pin "$TOKEN_PIN" >"$T/secret/single.log" 2>&1 ||
    die "cannot make a second token: $(cat "$T/secret/single.log")"
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" --token-label single \
    --login --pin "$TOKEN_PIN" --keypairgen --id 07 --label one \
    --key-type EC:prime256v1 >"$T/secret/single.keygen.log" 2>&1 ||
    die "cannot make a key on the second token"
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" --token-label single \
    --login --pin "$TOKEN_PIN" --write-object "$T/out/issuer-cert.der" \
    --type cert --id 07 --label one >"$T/secret/single.cert.log" 2>&1 ||
    die "cannot write a certificate on the second token"
nopin ossl storeutl "pkcs11:token=single" >"$T/out/single.out" \
    2>"$T/out/single.err" ||
    die "storeutl pkcs11:token=single without a PIN failed: $(cat "$T/out/single.err")"
assert_file_match '^0: Public key$' "$T/out/single.out"
assert_file_match '^1: Certificate$' "$T/out/single.out"
assert_file_match '^Total found: 2$' "$T/out/single.out"
say "ok: without a PIN a base URI gives the public key and the certificate"

# A private key asked for by name still needs the PIN, and says so.
should_fail 'needs a PIN and none is configured' \
    nopin ossl pkey -in "$base;id=%02;type=private" -noout
# A PIN that is there but wrong is an error, not a quiet omission (the
# search fails whole: nothing is listed).
(umask 077 && printf 'not-the-pin\n' >"$T/secret/wrong.pin")
sed "s|^pin-source.*|pin-source = file:$T/secret/wrong.pin|" \
    "$TOKEN_OPENSSL_CNF" >"$T/wrongpin.cnf"
OPENSSL_CONF="$T/wrongpin.cnf" HSMKEY_PIN_SOURCE= ossl storeutl "$base;id=%02" \
    >"$T/out/wrongpin.out" 2>"$T/out/wrongpin.err" || true
assert_file_match 'C_Login: CKR_PIN_INCORRECT' "$T/out/wrongpin.err"
assert_file_match '^Total found: 0$' "$T/out/wrongpin.out"
