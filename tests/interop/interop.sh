# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/interop/interop.sh -- sourced by the tests in tests/interop/: what
# applications and tokens written for other PKCS#11 providers
# (latchset/pkcs11-provider) expect of hsmkey.
#
# Builds on tests/lib.sh (private SoftHSM2 token, OPENSSL_CONF, asserts) and
# prepares token objects the way such users do, with pkcs11-tool (OpenSC):
#   p11tool ARGS...            pkcs11-tool on the test token, logged in
#   keygen_allowed ID LABEL TYPE MECHS
#                              a key pair whose private key has
#                              CKA_ALLOWED_MECHANISMS MECHS (pkcs11-tool
#                              names, comma-separated)
#   cert_to_token PEM ID LABEL a certificate object on the token
#   sign_verify URI MSG [SIGOPT...]
#                              openssl dgst -sha256 -sign (update/final,
#                              streamed) through the provider, verified
#                              with the token's public key by the default
#                              provider alone
#   nopin_cnf                  $T/nopin.cnf: the test config without a PIN

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# pkcs11-tool reads OPENSSL_CONF too: keep hsmkey out of it.
p11tool() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" "$@"
}

keygen_allowed() { # ID LABEL TYPE MECHS
    p11tool --keypairgen --id "$1" --label "$2" --key-type "$3" \
        --allowed-mechanisms "$4" >"$T/secret/keygen.$2.log" 2>&1 ||
        die "pkcs11-tool cannot make $3 key $2: $(cat "$T/secret/keygen.$2.log")"
    p11tool --list-objects --type privkey --label "$2" 2>/dev/null |
        grep -q "Allowed mechanisms: $4" ||
        die "pkcs11-tool did not set CKA_ALLOWED_MECHANISMS $4 on $2"
}

cert_to_token() { # PEM ID LABEL
    ossl_sw x509 -in "$1" -outform DER -out "$T/out/$3.der"
    p11tool --write-object "$T/out/$3.der" --type cert --id "$2" \
        --label "$3" >"$T/secret/cert.$3.log" 2>&1 ||
        die "pkcs11-tool cannot write certificate $3: $(cat "$T/secret/cert.$3.log")"
}

sign_verify() { # URI MSG [SIGOPT...]
    local key=$1 msg=$2 opts=() o
    shift 2
    for o in "$@"; do
        opts+=(-sigopt "$o")
    done
    ossl dgst -sha256 -sign "$key" ${opts[@]+"${opts[@]}"} \
        -out "$T/out/sig.bin" "$msg" >"$T/out/sign.log" 2>&1 ||
        die "openssl dgst -sign $key failed: $(cat "$T/out/sign.log")"
    ossl_sw dgst -sha256 -verify "$T/out/token.pub.pem" \
        ${opts[@]+"${opts[@]}"} -signature "$T/out/sig.bin" "$msg" \
        >"$T/out/verify.log" 2>&1 ||
        die "signature by $key does not verify: $(cat "$T/out/verify.log")"
}

nopin_cnf() {
    grep -v '^pin-source' "$TOKEN_OPENSSL_CNF" >"$T/nopin.cnf"
    assert_file_nomatch 'pin-source' "$T/nopin.cnf"
}
