#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_sign.sh -- sign through the provider with token keys, verify in
# software with the default provider only (public keys read off the token
# by pkcs11-tool): RSA PKCS#1 v1.5 and PSS, ECDSA on P-256/384/521, as
# digest-sign (openssl dgst) and as sign of a digest (openssl pkeyutl);
# a tampered message must fail verification. Also a CSR signed by the token.
. "$(dirname "$0")/lib.sh"

head -c 3000 /dev/urandom >"$T/msg"
cp "$T/msg" "$T/msg.bad"
printf 'X' | dd of="$T/msg.bad" bs=1 seek=1500 conv=notrunc status=none
cmp -s "$T/msg" "$T/msg.bad" && printf 'Y' |
    dd of="$T/msg.bad" bs=1 seek=1500 conv=notrunc status=none

token_pub 01 "$T/rsa.pub"
token_pub 02 "$T/ec256.pub"
token_pub 03 "$T/ec384.pub"
token_pub 04 "$T/ec521.pub"
token_pub 05 "$T/rsa-other.pub"

N=0
# dgst_case KEY PUB MD [SIGOPT...]: openssl dgst -sign through the provider,
# dgst -verify in software, and the tampered message refused.
dgst_case() {
    local key=$1 pub=$2 md=$3 sig opts=() vopts=() o
    shift 3
    N=$((N + 1))
    sig=$T/sig.$N
    for o in "$@"; do
        opts+=(-sigopt "$o")
    done
    vopts=("${opts[@]}")
    if [ -n "${VERIFY_SALT:-}" ]; then
        vopts+=(-sigopt "rsa_pss_saltlen:$VERIFY_SALT")
    fi
    ossl dgst "-$md" -sign "$(uri "$key")" ${opts[@]+"${opts[@]}"} \
        -out "$sig" "$T/msg"
    [ -s "$sig" ] || die "$key $md $*: empty signature"
    ossl_sw dgst "-$md" -verify "$pub" ${vopts[@]+"${vopts[@]}"} \
        -signature "$sig" "$T/msg" >"$sig.ok" 2>&1 ||
        { cat "$sig.ok" >&2; die "$key $md $*: signature does not verify"; }
    assert_file_match '^Verified OK$' "$sig.ok"
    if ossl_sw dgst "-$md" -verify "$pub" ${vopts[@]+"${vopts[@]}"} \
        -signature "$sig" "$T/msg.bad" >"$sig.bad" 2>&1; then
        die "$key $md $*: tampered message verifies"
    fi
    assert_file_match '^Verification failure' "$sig.bad"
    say "ok: dgst -$md -sign $key $*"
}

# pkeyutl_case KEY PUB MD [PKEYOPT...]: sign a digest with pkeyutl through
# the provider, verify it with pkeyutl in software.
pkeyutl_case() {
    local key=$1 pub=$2 md=$3 sig opts=() o
    shift 3
    N=$((N + 1))
    sig=$T/psig.$N
    for o in "$@"; do
        opts+=(-pkeyopt "$o")
    done
    ossl_sw dgst "-$md" -binary -out "$sig.dig" "$T/msg"
    ossl_sw dgst "-$md" -binary -out "$sig.dig.bad" "$T/msg.bad"
    ossl pkeyutl -sign -inkey "$(uri "$key")" -pkeyopt "digest:$md" \
        ${opts[@]+"${opts[@]}"} -in "$sig.dig" -out "$sig"
    ossl_sw pkeyutl -verify -pubin -inkey "$pub" -pkeyopt "digest:$md" \
        ${opts[@]+"${opts[@]}"} -in "$sig.dig" -sigfile "$sig" \
        >"$sig.ok" 2>&1 ||
        { cat "$sig.ok" >&2; die "pkeyutl $key $md $*: does not verify"; }
    assert_file_match 'Signature Verified Successfully' "$sig.ok"
    if ossl_sw pkeyutl -verify -pubin -inkey "$pub" -pkeyopt "digest:$md" \
        ${opts[@]+"${opts[@]}"} -in "$sig.dig.bad" -sigfile "$sig" \
        >"$sig.bad" 2>&1; then
        die "pkeyutl $key $md $*: tampered digest verifies"
    fi
    assert_file_match 'Signature Verification Failure' "$sig.bad"
    say "ok: pkeyutl -sign $key $md $*"
}

MDS="sha1 sha224 sha256 sha384 sha512"
declare -A HLEN=([sha1]=20 [sha224]=28 [sha256]=32 [sha384]=48 [sha512]=64)

say "RSA PKCS#1 v1.5"
for md in $MDS; do
    dgst_case rsa-key "$T/rsa.pub" "$md"
    # deterministic: pkeyutl on the digest gives the same bytes
    s1=$T/sig.$N
    pkeyutl_case rsa-key "$T/rsa.pub" "$md"
    assert_same_file "$s1" "$T/psig.$N" "PKCS#1 v1.5 $md: dgst vs pkeyutl"
    dgst_case rsa-key "$T/rsa.pub" "$md" rsa_padding_mode:pkcs1
done

say "RSA-PSS, salt lengths digest/max/auto/32, MGF1 digests"
for md in $MDS; do
    h=${HLEN[$md]}
    VERIFY_SALT=$h dgst_case rsa-key "$T/rsa.pub" "$md" \
        rsa_padding_mode:pss rsa_pss_saltlen:digest
    VERIFY_SALT=$((256 - h - 2)) dgst_case rsa-key "$T/rsa.pub" "$md" \
        rsa_padding_mode:pss rsa_pss_saltlen:max
    VERIFY_SALT=auto dgst_case rsa-key "$T/rsa.pub" "$md" \
        rsa_padding_mode:pss rsa_pss_saltlen:auto
    VERIFY_SALT=32 dgst_case rsa-key "$T/rsa.pub" "$md" \
        rsa_padding_mode:pss rsa_pss_saltlen:32
    pkeyutl_case rsa-key "$T/rsa.pub" "$md" rsa_padding_mode:pss \
        rsa_pss_saltlen:digest
done
VERIFY_SALT=0 dgst_case rsa-key "$T/rsa.pub" sha256 rsa_padding_mode:pss \
    rsa_pss_saltlen:0
VERIFY_SALT=48 dgst_case rsa-key "$T/rsa.pub" sha384 rsa_padding_mode:pss \
    rsa_pss_saltlen:48 rsa_mgf1_md:sha384
pkeyutl_case rsa-key "$T/rsa.pub" sha512 rsa_padding_mode:pss \
    rsa_pss_saltlen:32 rsa_mgf1_md:sha512

say "RSA-PSS with an MGF1 digest other than the message digest"
# SoftHSM2 refuses CKM_RSA_PKCS_PSS / CKM_SHAxxx_RSA_PKCS_PSS whose MGF1
# differs from the hash (token.vars: TOKEN_PSS_MGF1_SAME_HASH_ONLY). There
# the provider must fail cleanly, naming the mechanism; elsewhere it signs.
mgf1_case() { # MD MGF1-MD SALT
    if [ "${TOKEN_PSS_MGF1_SAME_HASH_ONLY:-0}" = 1 ]; then
        should_fail ':hsmkey:.*(PSS|MGF|CKR_[A-Z_]+)' ossl dgst "-$1" \
            -sign "$(uri rsa-key)" -sigopt rsa_padding_mode:pss \
            -sigopt "rsa_pss_saltlen:$3" -sigopt "rsa_mgf1_md:$2" \
            -out "$T/sig.mgf1" "$T/msg"
        ossl_sw dgst "-$1" -binary -out "$T/dig.mgf1" "$T/msg"
        should_fail ':hsmkey:.*(PSS|MGF|CKR_[A-Z_]+)' ossl pkeyutl -sign \
            -inkey "$(uri rsa-key)" -pkeyopt "digest:$1" \
            -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$3" \
            -pkeyopt "rsa_mgf1_md:$2" -in "$T/dig.mgf1" -out "$T/sig.mgf1"
    else
        VERIFY_SALT=$3 dgst_case rsa-key "$T/rsa.pub" "$1" \
            rsa_padding_mode:pss "rsa_pss_saltlen:$3" "rsa_mgf1_md:$2"
        pkeyutl_case rsa-key "$T/rsa.pub" "$1" rsa_padding_mode:pss \
            "rsa_pss_saltlen:$3" "rsa_mgf1_md:$2"
    fi
}
mgf1_case sha256 sha384 32
mgf1_case sha384 sha1 48
mgf1_case sha256 sha512 20

say "PSS salt length is really the one asked for"
N=$((N + 1))
ossl dgst -sha256 -sign "$(uri rsa-key)" -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -out "$T/sig.salt" "$T/msg"
if ossl_sw dgst -sha256 -verify "$T/rsa.pub" -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:222 -signature "$T/sig.salt" "$T/msg" \
    >"$T/sig.salt.out" 2>&1; then
    die "PSS saltlen:digest signature verifies with salt length 222"
fi

say "the second RSA key signs with its own key"
dgst_case rsa-other "$T/rsa-other.pub" sha256
if ossl_sw dgst -sha256 -verify "$T/rsa.pub" -signature "$T/sig.$N" \
    "$T/msg" >/dev/null 2>&1; then
    die "rsa-other's signature verifies with rsa-key's public key"
fi

say "ECDSA"
for k in ec-key:ec256 ec384-key:ec384 ec521-key:ec521; do
    IFS=: read -r name pub <<<"$k"
    for md in $MDS; do
        dgst_case "$name" "$T/$pub.pub" "$md"
        # DER SEQUENCE { r INTEGER, s INTEGER }
        ossl_sw asn1parse -inform DER -in "$T/sig.$N" >"$T/sig.$N.asn1"
        assert_eq "$(grep -c 'prim: INTEGER' "$T/sig.$N.asn1")" 2 \
            "$name $md: ECDSA signature is not DER r,s"
        pkeyutl_case "$name" "$T/$pub.pub" "$md"
    done
done

say "CSR signed by the token key verifies in software"
for k in rsa-key:rsa ec-key:ec256 ec384-key:ec384 ec521-key:ec521; do
    IFS=: read -r name pub <<<"$k"
    ossl req -new -key "$(uri "$name")" -subj "/CN=$name.example.com" \
        -out "$T/$name.csr"
    ossl_sw req -in "$T/$name.csr" -verify -noout >"$T/$name.csr.ok" 2>&1 ||
        { cat "$T/$name.csr.ok" >&2; die "$name: CSR signature"; }
    assert_file_match 'verify OK' "$T/$name.csr.ok"
    ossl_sw req -in "$T/$name.csr" -noout -pubkey >"$T/$name.csr.pub"
    assert_same_file "$T/$pub.pub" "$T/$name.csr.pub" "$name: CSR public key"
    ossl_sw req -in "$T/$name.csr" -noout -text >"$T/$name.csr.txt"
    case $name in
    ec*)
        assert_file_match 'ASN1 OID: (prime256v1|secp384r1|secp521r1)' \
            "$T/$name.csr.txt" "$name: CSR without a named curve"
        ;;
    esac
done
say "CSR with RSA-PSS signature"
ossl req -new -key "$(uri rsa-key)" -subj "/CN=pss.example.com" -sha384 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -out "$T/pss.csr"
ossl_sw req -in "$T/pss.csr" -verify -noout >"$T/pss.csr.ok" 2>&1 ||
    { cat "$T/pss.csr.ok" >&2; die "RSA-PSS CSR signature"; }
assert_file_match 'verify OK' "$T/pss.csr.ok"
