#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey import: RSA, EC and Ed25519 keys in PEM and DER, PKCS#8 and
# traditional, encrypted with --passin file:/env:; the token key is
# sensitive and not extractable, matches the file, signs; the file is left
# alone; refusals and errors.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
# Ed25519 keys through SoftHSM2 under leak checking (lib.sh).
full_unwind

K=$T/secret
ossl_sw genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" \
    2>/dev/null
ossl_sw rsa -in "$K/rsa.pem" -traditional -out "$K/rsa-trad.pem" 2>/dev/null
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -outform DER -out "$K/ec.der"
ossl_sw ec -inform DER -in "$K/ec.der" -out "$K/ec-trad.pem" 2>/dev/null
ossl_sw genpkey -algorithm ED25519 -out "$K/ed.pem"
printf 'a passphrase\n' >"$K/pass"
ossl_sw pkcs8 -topk8 -in "$K/rsa.pem" -v2 aes-256-cbc \
    -passout "file:$K/pass" -outform DER -out "$K/rsa-enc.p8.der"
ossl_sw ec -in "$K/ec-trad.pem" -aes128 -passout "file:$K/pass" \
    -out "$K/ec-trad-enc.pem" 2>/dev/null
echo "data to sign" >"$T/data"

# import_ok LABEL FILE [ARGS...]: import, then check it all independently.
import_ok() {
    local label=$1 file=$2
    shift 2
    local sum want uri
    sum=$(sha256sum <"$file")
    hk_ok import --token "$TOKEN_LABEL" --label "$label" --key "$file" \
        "${PIN_OPT[@]}" --out "$T/$label.ref" "$@"
    if grep -q '^{' "$HK_OUT"; then
        json_ok "$HK_OUT"
        uri=$(json_q "$HK_OUT" 'j["uri"]')
    else
        uri=$(cat "$HK_OUT")
    fi
    assert_match "^pkcs11:.*object=$label;type=private\$" "$uri"
    assert_file_match "^imported .* key pair '$label'" "$HK_ERR"
    assert_file_match "is left as it is" "$HK_ERR"
    assert_eq "$(sha256sum <"$file")" "$sum" "import changed $file"
    p11_objects privkey "$label" --login >"$T/out/p11.$label"
    assert_file_match "Access: +sensitive\$" "$T/out/p11.$label"
    assert_file_nomatch "extractable" "$T/out/p11.$label" \
        "$label: CKA_EXTRACTABLE is not false"
    token_pubkey "$label" "$T/$label.pub.pem"
    want=$(ski "$T/$label.pub.pem")
    case " $* " in *" --id "*) want=$(printf '%s\n' "$@" | grep -A1 -x -- --id | tail -1) ;; esac
    assert_eq "$(sed -n 's/^ *ID: *//p' "$T/out/p11.$label")" "$want" \
        "$label: CKA_ID"
    say "ok: imported $file as $label"
}

# expect_pub LABEL FILE [PASSIN]: the token's public key is the file's.
expect_pub() {
    ossl_sw pkey -in "$2" ${3:+-passin "$3"} -pubout -out "$T/$1.file.pub"
    assert_same_file "$T/$1.pub.pem" "$T/$1.file.pub"
}

import_ok i-rsa "$K/rsa.pem"
expect_pub i-rsa "$K/rsa.pem"
ossl dgst -sha256 -sign "$T/i-rsa.ref" -out "$T/sig" "$T/data"
ossl_sw dgst -sha256 -verify "$T/i-rsa.pub.pem" -signature "$T/sig" \
    "$T/data" >/dev/null
say "ok: the imported RSA key signs"

# The same key again: its derived id exists.
hk_exit 2 "already has a private key with id" import --token "$TOKEN_LABEL" \
    --label other --key "$K/rsa-trad.pem" "${PIN_OPT[@]}"
import_ok i-rsa-trad "$K/rsa-trad.pem" --id 7001
hk_exit 2 "already has a private key with label 'i-rsa'" import \
    --token "$TOKEN_LABEL" --label i-rsa --key "$K/rsa-trad.pem" --id 7002 \
    "${PIN_OPT[@]}"

import_ok i-ec "$K/ec.der" --json
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'j["type"]')" ec:P-384
assert_eq "$(json_q "$HK_OUT" 'j["keyref"]')" "$T/i-ec.ref"
expect_pub i-ec "$K/ec.der"
ossl dgst -sha384 -sign "$T/i-ec.ref" -out "$T/sig" "$T/data"
ossl_sw dgst -sha384 -verify "$T/i-ec.pub.pem" -signature "$T/sig" \
    "$T/data" >/dev/null
say "ok: the imported EC key signs"

import_ok i-ed "$K/ed.pem"
expect_pub i-ed "$K/ed.pem"

# Encrypted keys: --passin file: and env:.
import_ok i-rsa-enc "$K/rsa-enc.p8.der" --passin "file:$K/pass" --force \
    --id 7003
expect_pub i-rsa-enc "$K/rsa-enc.p8.der" "file:$K/pass"
HK_PASS='a passphrase' import_ok i-ec-enc "$K/ec-trad-enc.pem" \
    --passin env:HK_PASS --id 7004

# Refusals and errors.
hk_exit 2 "import: $K/ec-trad-enc.pem is encrypted: give its passphrase with --passin" \
    import --token "$TOKEN_LABEL" --label x --key "$K/ec-trad-enc.pem" --id 7005 \
    "${PIN_OPT[@]}"
printf 'not it\n' >"$K/badpass"
hk_exit 2 "import: cannot decrypt $K/ec-trad-enc.pem: wrong passphrase" \
    import --token "$TOKEN_LABEL" --label x --key "$K/ec-trad-enc.pem" \
    --passin "file:$K/badpass" --id 7005 "${PIN_OPT[@]}"
hk_exit 2 "--passin takes file:PATH or env:VAR" import --token "$TOKEN_LABEL" \
    --label x --key "$K/ec-trad-enc.pem" --passin "pass:a passphrase"
hk_exit 2 "import: cannot read --key $T/none.pem: No such file" \
    import --token "$TOKEN_LABEL" --label x --key "$T/none.pem" "${PIN_OPT[@]}"
hk_exit 2 "holds no private key" import --token "$TOKEN_LABEL" --label x \
    --key "$T/i-rsa.pub.pem" "${PIN_OPT[@]}"
hk_exit 2 "holds no private key" import --token "$TOKEN_LABEL" --label x \
    --key "$TOKEN_DIR/rsa-cert.pem" "${PIN_OPT[@]}"
hk_exit 2 "import: --key is required" import --token "$TOKEN_LABEL" --label x
hk_exit 3 "no token labelled 'nope'" import --token nope --label x \
    --key "$K/ed.pem" "${PIN_OPT[@]}"
hk_exit 3 "needs a PIN" import --token "$TOKEN_LABEL" --label x \
    --key "$K/ed.pem" --id 7006
p11_objects pubkey x >"$T/out/p11.x"
assert_eq "$(cat "$T/out/p11.x")" "" "a refused import left a key"
