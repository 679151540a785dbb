#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_decrypt.sh -- software encrypts with the public key read off the
# token (default provider only); the provider decrypts with the token key:
# PKCS#1 v1.5 and OAEP with SHA-1 and SHA-256. Wrong key or wrong OAEP
# digest must fail cleanly.
. "$(dirname "$0")/lib.sh"

token_pub 01 "$T/rsa.pub"
head -c 48 /dev/urandom >"$T/secret/plain"

N=0
# decrypt_case NAME PKEYOPT...: encrypt in software, decrypt on the token.
decrypt_case() {
    local name=$1 opts=() o
    shift
    N=$((N + 1))
    for o in "$@"; do
        opts+=(-pkeyopt "$o")
    done
    ossl_sw pkeyutl -encrypt -pubin -inkey "$T/rsa.pub" \
        ${opts[@]+"${opts[@]}"} -in "$T/secret/plain" -out "$T/ct.$N"
    ossl pkeyutl -decrypt -inkey "$(uri rsa-key)" ${opts[@]+"${opts[@]}"} \
        -in "$T/ct.$N" -out "$T/secret/dec.$N"
    assert_same_file "$T/secret/plain" "$T/secret/dec.$N" \
        "$name: decrypted text differs"
    say "ok: decrypt $name"
}

decrypt_case "default padding"
decrypt_case "PKCS#1 v1.5" rsa_padding_mode:pkcs1
decrypt_case "OAEP SHA-1" rsa_padding_mode:oaep rsa_oaep_md:sha1 \
    rsa_mgf1_md:sha1
decrypt_case "OAEP SHA-256" rsa_padding_mode:oaep rsa_oaep_md:sha256 \
    rsa_mgf1_md:sha256
decrypt_case "OAEP SHA-256 (MGF1 defaults to the OAEP digest)" \
    rsa_padding_mode:oaep rsa_oaep_md:sha256

say "ciphertext for rsa-key does not decrypt with rsa-other"
ossl_sw pkeyutl -encrypt -pubin -inkey "$T/rsa.pub" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
    -in "$T/secret/plain" -out "$T/ct.other"
should_fail 'CKR_[A-Z_]+|[Dd]ecrypt' ossl pkeyutl -decrypt \
    -inkey "$(uri rsa-other)" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -in "$T/ct.other" -out "$T/secret/dec.other"
[ ! -s "$T/secret/dec.other" ] || die "wrong key produced plaintext"

say "OAEP-SHA-256 ciphertext does not decrypt as OAEP-SHA-1"
should_fail 'CKR_[A-Z_]+|[Dd]ecrypt' ossl pkeyutl -decrypt \
    -inkey "$(uri rsa-key)" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha1 -in "$T/ct.other" -out "$T/secret/dec.md"
[ ! -s "$T/secret/dec.md" ] || die "wrong OAEP digest produced plaintext"

say "an EC token key cannot decrypt"
should_fail 'not supported|decrypt|operation' ossl pkeyutl -decrypt \
    -inkey "$(uri ec-key)" -in "$T/ct.other" -out "$T/secret/dec.ec"
