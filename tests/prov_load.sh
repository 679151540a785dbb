#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_load.sh -- the provider loads (from openssl.cnf and from the command
# line), and keys and certificates come off the token through it equal to
# what an independent tool (pkcs11-tool) reads.
. "$(dirname "$0")/lib.sh"

version=$(sed -n "s/^project('hsmkey'.*//;s/^ *version *: *'\([^']*\)'.*/\1/p" \
    "$HSMKEY_SRC/meson.build" | head -1)
[ -n "$version" ] || die "cannot read the project version from meson.build"

# provider_block FILE: the lines of `openssl list -providers -verbose`
# that describe the hsmkey provider.
provider_block() {
    awk '/^  [^ ]/ { p = ($1 == "hsmkey") } p' "$1"
}

check_listed() {
    provider_block "$1" >"$1.hsmkey"
    assert_file_match '^  hsmkey$' "$1.hsmkey" "hsmkey not listed"
    assert_file_match '^ +name: .*[^ ]' "$1.hsmkey" "no provider name"
    assert_file_match "^ +version: $version\$" "$1.hsmkey" "wrong/no version"
    assert_file_match '^ +status: active$' "$1.hsmkey" "provider not active"
}

say "listed with name, version, status (openssl.cnf)"
ossl list -providers -verbose >"$T/list.cnf"
check_listed "$T/list.cnf"
assert_file_match '^  default$' "$T/list.cnf" "default provider not listed"

say "listed with -provider-path/-provider (environment config)"
OPENSSL_CONF=$SW_CNF HSMKEY_PKCS11_MODULE=$TOKEN_MODULE \
    HSMKEY_PIN_SOURCE=file:$TOKEN_PIN_FILE \
    ossl list -providers -verbose -provider-path "$(dirname "$HSMKEY_SO")" \
    -provider hsmkey -provider default >"$T/list.cli"
check_listed "$T/list.cli"

# Public key of every key pair: through the provider from the private key,
# from the public key object, by id, and read by pkcs11-tool.
for k in rsa-key:01:2048 ec-key:02:256 ec384-key:03:384 ec521-key:04:521 \
    rsa-other:05:2048; do
    IFS=: read -r name id bits <<<"$k"
    say "$name: public key through the provider equals pkcs11-tool's"
    token_pub "$id" "$T/$name.ref.pem"
    ossl pkey -in "$(uri "$name")" -pubout -out "$T/$name.priv.pub.pem"
    assert_same_file "$T/$name.ref.pem" "$T/$name.priv.pub.pem" \
        "$name: public key of the private key object"
    ossl pkey -pubin -in "$(uri "$name" public)" -pubout \
        -out "$T/$name.pub.pub.pem"
    assert_same_file "$T/$name.ref.pem" "$T/$name.pub.pub.pem" \
        "$name: public key object"
    ossl pkey -in "pkcs11:token=$TOKEN_LABEL;id=%$id;type=private" -pubout \
        -out "$T/$name.id.pub.pem"
    assert_same_file "$T/$name.ref.pem" "$T/$name.id.pub.pem" \
        "$name: by id"
    # no type: a private-key load finds the private key
    ossl pkey -in "pkcs11:token=$TOKEN_LABEL;object=$name" -pubout \
        -out "$T/$name.notype.pub.pem"
    assert_same_file "$T/$name.ref.pem" "$T/$name.notype.pub.pem" \
        "$name: no type attribute"

    ossl pkey -in "$(uri "$name")" -text_pub -noout >"$T/$name.text"
    assert_file_match "Public-Key: \($bits bit\)" "$T/$name.text" \
        "$name: key size"
    case $name in
    ec*)
        # named curve, never explicit parameters
        assert_file_match 'ASN1 OID: (prime256v1|secp384r1|secp521r1)' \
            "$T/$name.text" "$name: EC key without a named curve"
        assert_file_nomatch 'Field Type|Generator' "$T/$name.text" \
            "$name: explicit EC parameters"
        ;;
    esac
done

say "certificate on the token loads as X509 (storeutl)"
ossl storeutl -certs "$(uri rsa-cert cert)" >"$T/storeutl.out"
assert_file_match '^Total found: 1$' "$T/storeutl.out" "storeutl -certs"
sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' \
    "$T/storeutl.out" >"$T/token-cert.pem"
assert_same_file "$TOKEN_DIR/rsa-cert.pem" "$T/token-cert.pem" \
    "certificate read through the provider"

say "certificate on the token loads with x509 -in"
ossl x509 -in "$(uri rsa-cert cert)" -out "$T/x509-cert.pem"
assert_same_file "$TOKEN_DIR/rsa-cert.pem" "$T/x509-cert.pem" \
    "openssl x509 -in pkcs11:"

say "the token certificate matches the token key (x509 -noout -pubkey)"
ossl_sw x509 -in "$T/token-cert.pem" -noout -pubkey >"$T/cert.pub.pem"
assert_same_file "$T/rsa-key.ref.pem" "$T/cert.pub.pem" "certificate key"

say "storeutl lists the rsa-key objects by label"
ossl storeutl "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=public" \
    >"$T/storeutl.pub"
assert_file_match '^Total found: 1$' "$T/storeutl.pub" "storeutl public key"
assert_file_match '^[0-9]+: (Public key|Pkey)' "$T/storeutl.pub" \
    "storeutl public key type"
