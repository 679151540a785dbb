#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ECDH with a token key into a buffer shorter than the field: the first
# bytes of the secret, as OpenSSL's default provider gives them (not an
# error).  The whole secret is what the peer derives with the default
# provider alone.
. "$(dirname "$0")/interop.sh"

HELPER=${HSMKEY_ECDH_SHORT:?tests/interop/meson.build sets HSMKEY_ECDH_SHORT}
K=$(uri ec-key)
ossl pkey -in "$K" -pubout -out "$T/out/token.pub.pem"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/peer.key"
ossl_sw pkey -in "$T/secret/peer.key" -pubout -out "$T/out/peer.pub.pem"
ossl_sw pkeyutl -derive -inkey "$T/secret/peer.key" \
    -peerkey "$T/out/token.pub.pem" -out "$T/secret/whole.bin"
whole=$(od -An -tx1 -v "$T/secret/whole.bin" | tr -d ' \n')
assert_eq "${#whole}" 64 "a P-256 secret is 32 bytes"

run_helper() { # N
    preloaded "$HELPER" "$K" "$T/out/peer.pub.pem" "$1" \
        >"$T/out/ecdh.$1.out" 2>"$T/out/ecdh.$1.err" ||
        die "ECDH into $1 bytes failed: $(cat "$T/out/ecdh.$1.err")"
    _status_check 0 "$T/out/ecdh.$1.err" "ecdh_short $1"
    cat "$T/out/ecdh.$1.out"
}

assert_eq "$(run_helper 32)" "$whole" "ECDH into 32 bytes"
assert_eq "$(run_helper 16)" "${whole:0:32}" "ECDH into 16 bytes"
assert_eq "$(run_helper 1)" "${whole:0:2}" "ECDH into 1 byte"
assert_eq "$(run_helper 48)" "$whole" "ECDH into a larger buffer"
say "ok: ECDH into 16 bytes gives the first 16 bytes of the secret"
