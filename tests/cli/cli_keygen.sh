#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey keygen: every key type, attributes checked with pkcs11-tool, the id
# derived from the public key, key-reference files that the provider loads
# and signs with, --id, --force, --json, and the refusals.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

echo "the data a token key signs" >"$T/data"

# SoftHSM 2.6.1 leaks an ASN1_STRING in C_SignInit for EdDSA (inside
# libsofthsm2.so): under the asan setup that one call gets a suppression.
ED_LSAN=${LSAN_OPTIONS:-}
if [ -n "$ED_LSAN" ]; then
    { cat "$HSMKEY_SRC/tests/lsan.supp"; echo "leak:libsofthsm2.so"; } \
        >"$T/lsan.supp"
    ED_LSAN="suppressions=$T/lsan.supp:print_suppressions=0"
fi

# sign_verify REF PUB.pem TYPE: sign through the provider, verify with the
# default provider alone.
sign_verify() {
    local ref=$1 pub=$2 type=$3
    if [ "$type" = ed25519 ]; then
        LSAN_OPTIONS=$ED_LSAN ossl pkeyutl -sign -inkey "$ref" -rawin \
            -in "$T/data" -out "$T/sig" || die "$ref: no Ed25519 signature"
        ossl_sw pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$T/data" \
            -sigfile "$T/sig" >/dev/null || die "$ref: signature does not verify"
    else
        ossl dgst -sha256 -sign "$ref" -out "$T/sig" "$T/data" ||
            die "$ref: no signature"
        ossl_sw dgst -sha256 -verify "$pub" -signature "$T/sig" "$T/data" \
            >/dev/null || die "$ref: signature does not verify"
    fi
}

# check_attrs LABEL USAGE: the private key as pkcs11-tool sees it: the
# usage flags hsmkey asks for are set (what it does not ask for is the
# token's default: hsmkey states no FALSE but CKA_EXTRACTABLE).
check_attrs() {
    local label=$1 usage=$2 f=$T/out/p11.$1 flag
    p11_objects privkey "$label" --login >"$f"
    assert_file_match "label: +$label\$" "$f"
    assert_file_match "Access: +sensitive, always sensitive, never extractable" "$f"
    for flag in ${usage//,/ }; do
        assert_file_match "Usage: .*\\b$flag\\b" "$f" "usage $flag of $label"
    done
    p11_objects pubkey "$label" >"$f.pub"
    assert_file_match "label: +$label\$" "$f.pub" "no public key beside $label"
}

declare -A usage=(
    [rsa:2048]="decrypt, sign" [rsa:3072]="decrypt, sign"
    [rsa:4096]="decrypt, sign" [ec:P-256]="sign, derive"
    [ec:P-384]="sign, derive" [ec:P-521]="sign, derive" [ed25519]="sign")

for type in rsa:2048 rsa:3072 rsa:4096 ec:P-256 ec:P-384 ec:P-521 ed25519; do
    # Ed25519 through SoftHSM2 under leak checking, from here to the end
    # (lib.sh); the other types do without its cost.
    [ "$type" != ed25519 ] || full_unwind
    label=g-${type//:/-}
    ref=$T/$label.ref.pem
    hk_ok keygen --token "$TOKEN_LABEL" --label "$label" --type "$type" \
        "${PIN_OPT[@]}" --out "$ref"
    uri=$(cat "$HK_OUT")
    assert_match "^pkcs11:.*token=$TOKEN_LABEL;.*object=$label;type=private\$" "$uri"
    assert_eq "$(wc -l <"$HK_OUT")" 1 "keygen prints only the URI"
    assert_file_match "generated $type key pair '$label'" "$HK_ERR"
    assert_file_match "^-----BEGIN PKCS#11 PROVIDER URI-----" "$ref"
    check_attrs "$label" "${usage[$type]}"
    token_pubkey "$label" "$T/$label.pub.pem"
    id=$(sed -n 's/^ *ID: *//p' "$T/out/p11.$label")
    assert_eq "$id" "$(ski "$T/$label.pub.pem")" "$label: CKA_ID is not the SKI"
    assert_match "id=%${id:0:2}" "${uri,,}" "$label: URI names another id"
    # The provider finds the key by its reference file and by its URI.
    ossl pkey -in "$ref" -pubout -out "$T/$label.prov.pem" ||
        die "$label: the provider cannot load $ref"
    assert_same_file "$T/$label.pub.pem" "$T/$label.prov.pem"
    sign_verify "$ref" "$T/$label.pub.pem" "$type"
    sign_verify "$uri" "$T/$label.pub.pem" "$type"
    say "ok: $type"
done

# --id, --json
hk_ok --json keygen --token "$TOKEN_LABEL" --label g-id --type ec:P-256 \
    --id 0a:0b:0c "${PIN_OPT[@]}"
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'sorted(j)')" \
    '["id", "keyref", "label", "replaced", "type", "uri"]'
assert_eq "$(json_q "$HK_OUT" 'j["id"]')" 0a0b0c
assert_eq "$(json_q "$HK_OUT" 'j["type"]')" ec:P-256
assert_eq "$(json_q "$HK_OUT" 'j["replaced"]')" 0
assert_eq "$(json_q "$HK_OUT" 'j["keyref"]')" null
check_attrs g-id "sign, derive"
assert_file_match "ID: +0a0b0c\$" "$T/out/p11.g-id"

# An existing label or id is refused; --force replaces.
hk_exit 2 "token '$TOKEN_LABEL' already has a private key with label 'g-id'" \
    keygen --token "$TOKEN_LABEL" --label g-id --type rsa:2048 "${PIN_OPT[@]}"
hk_exit 2 "already has a private key with id 01" \
    keygen --token "$TOKEN_LABEL" --label fresh --id 01 --type rsa:2048 \
    "${PIN_OPT[@]}"
assert_file_match "a new label is how a key is rotated\), or --force to destroy that key" "$HK_ERR"
# --force says what it destroys and asks; without a terminal and --yes it
# destroys nothing.
hk_exit 2 "keygen: nothing done: confirm on a terminal, or add --yes" \
    keygen --token "$TOKEN_LABEL" --label g-id --type rsa:2048 --force \
    "${PIN_OPT[@]}"
assert_file_match "^--force destroys these keys of token '$TOKEN_LABEL' once the new pair exists; servers that use them stop working" "$HK_ERR"
assert_file_match "^  private key: token '$TOKEN_LABEL', object 'g-id' \(id 0a0b0c\), ec P-256\$" "$HK_ERR"
assert_file_match "^  public key: token '$TOKEN_LABEL', object 'g-id' \(id 0a0b0c\)" "$HK_ERR"
p11_objects privkey g-id --login >"$T/out/p11.kept"
assert_file_match "Private Key Object; EC" "$T/out/p11.kept"
# On a terminal: "n" keeps the key ...
printf '%s\nn\n' "$TOKEN_PIN" >"$T/secret/answer.no"
python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" "$T/secret/answer.no" "$HSMKEY" \
    --module "$TOKEN_MODULE" keygen --token "$TOKEN_LABEL" --label g-id \
    --type rsa:2048 --force >"$T/out/pty.no" 2>&1 && die "a 'n' answer went ahead"
assert_file_match "Destroy them\? \[y/N\]" "$T/out/pty.no"
assert_file_match "keygen: not confirmed: nothing done" "$T/out/pty.no"
p11_objects privkey g-id --login >"$T/out/p11.kept"
assert_file_match "Private Key Object; EC" "$T/out/p11.kept"
say "ok: --force asks, and a 'n' keeps the key"
# ... --yes (scripts) goes ahead.
hk_ok --json keygen --token "$TOKEN_LABEL" --label g-id --type rsa:2048 \
    --force --yes "${PIN_OPT[@]}"
assert_eq "$(json_q "$HK_OUT" 'j["replaced"]')" 2
p11_objects privkey g-id --login >"$T/out/p11.forced"
assert_eq "$(grep -c 'Private Key Object' "$T/out/p11.forced")" 1
p11_objects pubkey g-id >>"$T/out/p11.forced"
assert_eq "$(grep -c 'Public Key Object' "$T/out/p11.forced")" 1
assert_file_match "Private Key Object; RSA" "$T/out/p11.forced"
assert_file_nomatch "0a0b0c" "$T/out/p11.forced" "the old key is still there"

# Usage errors (2) and token errors (3).
hk_exit 2 "unknown key type 'dsa:1024'" \
    keygen --token "$TOKEN_LABEL" --label x --type dsa:1024 "${PIN_OPT[@]}"
hk_exit 2 "--id 'zz' is not" \
    keygen --token "$TOKEN_LABEL" --label x --type ed25519 --id zz
hk_exit 2 "keygen: --label is required" \
    keygen --token "$TOKEN_LABEL" --type ed25519
hk_exit 2 "keygen: unknown option --size" \
    keygen --token "$TOKEN_LABEL" --label x --type rsa:2048 --size 2048
hk_exit 3 "no token labelled 'no-such-token'" \
    keygen --token no-such-token --label x --type ec:P-256 "${PIN_OPT[@]}"
hk_exit 3 "needs a PIN" \
    keygen --token "$TOKEN_LABEL" --label x --type ec:P-256
printf 'not-the-pin\n' >"$T/secret/wrong.pin"
hk_exit 3 "C_Login: CKR_PIN_INCORRECT" \
    keygen --token "$TOKEN_LABEL" --label x --type ec:P-256 \
    --pin-source "file:$T/secret/wrong.pin"
p11_objects pubkey x >"$T/out/p11.x"
assert_eq "$(cat "$T/out/p11.x")" "" "a refused keygen left a key"

# A token that does not offer the mechanism: refused before anything is
# created, as a token error (SoftHSM's slots.mechanisms hides it).
sed 's/^slots.mechanisms = .*/slots.mechanisms = CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_RSA_PKCS/' \
    "$SOFTHSM2_CONF" >"$T/rsa-only.conf"
grep -q '^slots.mechanisms = CKM_RSA' "$T/rsa-only.conf" ||
    echo "slots.mechanisms = CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_RSA_PKCS" >>"$T/rsa-only.conf"
SOFTHSM2_CONF=$T/rsa-only.conf hk_exit 3 \
    "token '$TOKEN_LABEL' cannot generate ed25519 keys: it does not offer CKM_EC_EDWARDS_KEY_PAIR_GEN" \
    keygen --token "$TOKEN_LABEL" --label no-ed --type ed25519 "${PIN_OPT[@]}"
SOFTHSM2_CONF=$T/rsa-only.conf hk_exit 3 \
    "cannot generate ec:P-256 keys: it does not offer CKM_EC_KEY_PAIR_GEN" \
    keygen --token "$TOKEN_LABEL" --label no-ec --type ec:P-256 "${PIN_OPT[@]}"
p11_objects pubkey no-ed >"$T/out/p11.no-ed"
assert_eq "$(cat "$T/out/p11.no-ed")" "" "a refused keygen left a key"
