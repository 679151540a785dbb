#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey keyref: the file's exact format (PEM label, DER SEQUENCE, desc),
# the provider loads it as the key, copying a reference file, --json, and
# refusals (pin-value, no object, malformed URI).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

key="pkcs11:token=$TOKEN_LABEL;object=ec-key;type=private"
hk_ok keyref --key "$key" --out "$T/ec.ref"
assert_file_match "key reference for $key written to $T/ec.ref" "$HK_ERR"
assert_eq "$(head -1 "$T/ec.ref")" "-----BEGIN PKCS#11 PROVIDER URI-----"
assert_eq "$(tail -1 "$T/ec.ref")" "-----END PKCS#11 PROVIDER URI-----"
ossl_sw asn1parse -in "$T/ec.ref" >"$T/out/asn1" 2>&1 ||
    die "the key reference is not DER in PEM"
assert_file_match "VISIBLESTRING +:PKCS#11 Provider URI v1.0\$" "$T/out/asn1"
assert_file_match "UTF8STRING +:$key\$" "$T/out/asn1"

# A program that loads a private key from a PEM path gets the token key.
token_pubkey ec-key "$T/ec.pub.pem"
ossl pkey -in "$T/ec.ref" -pubout -out "$T/ec.prov.pem"
assert_same_file "$T/ec.pub.pem" "$T/ec.prov.pem"
echo data >"$T/data"
ossl dgst -sha256 -sign "$T/ec.ref" -out "$T/sig" "$T/data"
ossl_sw dgst -sha256 -verify "$T/ec.pub.pem" -signature "$T/sig" "$T/data" \
    >/dev/null
say "ok: the provider signs with the key-reference file"

# A reference file as --key: copied; --json.
hk_ok --json keyref --key "$T/ec.ref" --out "$T/copy.ref"
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'sorted(j)')" '["keyref", "uri"]'
assert_eq "$(json_q "$HK_OUT" 'j["uri"]')" "$key"
assert_same_file "$T/ec.ref" "$T/copy.ref"

# An id instead of a label, and a URI the token does not have (keyref does
# not contact the token: the key is looked up when the file is used).
hk_ok keyref --key "pkcs11:token=$TOKEN_LABEL;id=%01;type=private" \
    --out "$T/id.ref"
hk_ok keyref --key "pkcs11:token=$TOKEN_LABEL;object=later" --out "$T/later.ref"

# Refusals.
hk_exit 2 "keyref: pkcs11:token=$TOKEN_LABEL names no object" \
    keyref --key "pkcs11:token=$TOKEN_LABEL" --out "$T/x.ref"
hk_exit 2 "unknown path attribute 'objet'" \
    keyref --key "pkcs11:token=$TOKEN_LABEL;objet=ec-key" --out "$T/x.ref"
hk_exit 2 "type='secret' is not one of" \
    keyref --key "pkcs11:object=ec-key;type=secret" --out "$T/x.ref"
hk_exit 2 "malformed pkcs11: URI" \
    keyref --key "pkcs11:object=%zz" --out "$T/x.ref"
_hk keyref --key "pkcs11:object=ec-key;type=private?pin-value=$TOKEN_PIN" \
    --out "$T/x.ref"
assert_eq "$HK_RC" 2 "a URI with a pin-value: exit code"
assert_file_match "the URI carries a pin-value; a PIN is never taken" "$HK_ERR"
say "ok: a URI with a pin-value is refused, the PIN not shown"
hk_exit 2 "--key $T/nothing.pem: No such file or directory" \
    keyref --key "$T/nothing.pem" --out "$T/x.ref"
hk_exit 2 "rsa-cert.pem is a certificate, not a key" \
    keyref --key "$TOKEN_DIR/rsa-cert.pem" --out "$T/x.ref"
hk_exit 2 "keyref: --out is required" keyref --key "$key"
hk_exit 2 "cannot write $T/no/such/dir.ref" \
    keyref --key "$key" --out "$T/no/such/dir.ref"
[ ! -e "$T/x.ref" ] || die "a refused keyref wrote $T/x.ref"

# The file names the token by its label alone: serial, model and
# manufacturer of a URI as keys/keygen print it are left out, and said so.
hk_ok --json keys --token "$TOKEN_LABEL" "${PIN_OPT[@]}"
full=$(json_q "$HK_OUT" \
    '[o["uri"] for o in j if o["label"] == "ec-key" and o["class"] == "private"][0]')
assert_match "serial=" "$full" "keys prints the token's serial"
hk_ok keyref --key "$full" --out "$T/portable.ref"
assert_file_match "names the token by its label alone \(serial, model, manufacturer left out, so it survives a token replacement; --exact keeps them\)" "$HK_ERR"
hk_ok keyref --show "$T/portable.ref"
assert_eq "$(cat "$HK_OUT")" \
    "pkcs11:token=$TOKEN_LABEL;id=%02;object=ec-key;type=private"
ossl pkey -in "$T/portable.ref" -pubout -out "$T/portable.pub.pem"
assert_same_file "$T/ec.pub.pem" "$T/portable.pub.pem"
say "ok: a portable key reference loads the key"
# --exact keeps the URI as given; --show --json says it is not portable.
hk_ok keyref --exact --key "$full" --out "$T/exact.ref"
assert_file_nomatch "left out" "$HK_ERR"
hk_ok keyref --show "$T/exact.ref"
assert_eq "$(cat "$HK_OUT")" "$full"
hk_ok --json keyref --show "$T/exact.ref"
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" '[j["token"], j["object"], j["id"], j["type"], j["portable"]]')" \
    "[\"$TOKEN_LABEL\", \"ec-key\", \"02\", \"private\", false]"
hk_ok --json keyref --show "$T/portable.ref"
assert_eq "$(json_q "$HK_OUT" 'sorted(j)')" \
    '["id", "keyref", "object", "portable", "token", "type", "uri"]'
assert_eq "$(json_q "$HK_OUT" 'j["portable"]')" true
# A URI without a token label keeps its serial: leaving it out would widen
# it to every token.
hk_ok keyref --key "pkcs11:serial=0123;object=k" --out "$T/serial.ref"
hk_ok keyref --show "$T/serial.ref"
assert_eq "$(cat "$HK_OUT")" "pkcs11:serial=0123;object=k"
# --show writes nothing and refuses what would write.
hk_exit 2 "keyref: --show reads a file and writes nothing" \
    keyref --show "$T/portable.ref" --out "$T/x.ref"
hk_exit 2 "ec.pub.pem" keyref --show "$T/ec.pub.pem"
hk_exit 2 "rsa-cert.pem is a certificate" keyref --show "$TOKEN_DIR/rsa-cert.pem"
[ ! -e "$T/x.ref" ] || die "keyref --show wrote a file"

# Replacing a reference: renamed over the old one, whose mode stays; no
# temp file left behind.
chmod 0640 "$T/portable.ref"
ino=$(stat -c %i "$T/portable.ref")
hk_ok keyref --key "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=private" \
    --out "$T/portable.ref"
assert_eq "$(stat -c %a "$T/portable.ref")" 640 "mode of the replaced file"
[ "$(stat -c %i "$T/portable.ref")" != "$ino" ] ||
    die "the reference was rewritten in place, not renamed over"
hk_ok keyref --show "$T/portable.ref"
assert_match "object=rsa-key" "$(cat "$HK_OUT")"
assert_eq "$(find "$T" -maxdepth 1 -name '*.tmp' | wc -l)" 0 "temp files left"
say "ok: replaced atomically, mode kept"

# keygen --out writes the portable form too.
hk_ok keygen --token "$TOKEN_LABEL" --label kr-new --type ec:P-256 \
    --out "$T/kr-new.ref" "${PIN_OPT[@]}"
assert_match "serial=" "$(cat "$HK_OUT")" "keygen prints the full URI"
hk_ok keyref --show "$T/kr-new.ref"
assert_match "^pkcs11:token=$TOKEN_LABEL;id=%[0-9A-Fa-f%]+;object=kr-new;type=private\$" "$(cat "$HK_OUT")"

# The file's mode: 0640 under an operator's umask, never writable by group
# or others, whatever it was before; owner and group of a replaced file stay.
mode_of() { stat -c %a "$1"; }
(umask 022 && "$HSMKEY" --module "$TOKEN_MODULE" keyref --key "$key" --out "$T/m1.ref") \
    >/dev/null 2>&1 </dev/null || die "keyref under umask 022 failed"
assert_eq "$(mode_of "$T/m1.ref")" 640 "keyref mode under umask 022"
(umask 077 && "$HSMKEY" --module "$TOKEN_MODULE" keyref --key "$key" --out "$T/m2.ref") \
    >/dev/null 2>&1 </dev/null || die "keyref under umask 077 failed"
assert_eq "$(mode_of "$T/m2.ref")" 600 "keyref mode under umask 077"
printf 'old\n' >"$T/m3.ref"
chmod 0666 "$T/m3.ref"
chgrp nogroup "$T/m3.ref"
hk_ok keyref --key "$key" --out "$T/m3.ref"
assert_eq "$(mode_of "$T/m3.ref")" 640 "a replaced 0666 key-reference file"
assert_eq "$(stat -c %G "$T/m3.ref")" nogroup "group of a replaced key-reference file"
grep -q 'BEGIN PKCS#11 PROVIDER URI' "$T/m3.ref" || die "m3.ref was not replaced"
chmod 0600 "$T/m3.ref"
hk_ok keyref --key "$key" --out "$T/m3.ref"
assert_eq "$(mode_of "$T/m3.ref")" 600 "a replaced 0600 key-reference file"
say "ok: key-reference files are 0640 at most, replaced ones lose group/other write"
