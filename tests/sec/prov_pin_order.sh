#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_pin_order.sh -- where the provider takes a PIN from, first found
# wins: the pin-value / pin-source of a URI the application passed,
# HSMKEY_PIN_SOURCE, the configuration's pin-source, the application's
# passphrase callback (prov_pin_prompt.sh).  The environment overrides the
# configuration as HSMKEY_PKCS11_MODULE does.  A PIN file is named by an
# absolute path and must be closed to others.  Each case uses a wrong PIN
# where the PIN must not come from, so a wrong order fails the test with
# CKR_PIN_INCORRECT; the token forgives them (SoftHSM2 has no lockout).
. "$(dirname "$0")/../lib.sh"

printf '99999-wrong-pin\n' >"$T/secret/wrong.pin"
head -c 300 /dev/urandom >"$T/data"
token_pub 01 "$T/rsa.pub"
signs() { # URI: signs (with the caller's variables); verified in software
    rm -f "$T/sig"
    ossl_raw dgst -sha256 -sign "$1" -out "$T/sig" "$T/data" \
        2>"$T/out/sign.err" </dev/null || {
        cat "$T/out/sign.err" >&2
        die "no signature with $1"
    }
    ossl_sw dgst -sha256 -verify "$T/rsa.pub" -signature "$T/sig" "$T/data" \
        | grep -q '^Verified OK$' || die "the signature does not verify"
}
U=$(uri rsa-key)
sed "s|^pin-source.*|pin-source = file:$T/secret/wrong.pin|" \
    "$OPENSSL_CONF" >"$T/wrong.cnf"

say "HSMKEY_PIN_SOURCE overrides the configuration's pin-source"
OPENSSL_CONF=$T/wrong.cnf HSMKEY_PIN_SOURCE=file:$TOKEN_PIN_FILE signs "$U"
say "an empty HSMKEY_PIN_SOURCE is no source: the configuration's is used"
HSMKEY_PIN_SOURCE= signs "$U"
say "the URI's pin-source wins over HSMKEY_PIN_SOURCE and the configuration"
OPENSSL_CONF=$T/wrong.cnf HSMKEY_PIN_SOURCE=file:$T/secret/wrong.pin \
    signs "$U?pin-source=file:$TOKEN_PIN_FILE"
say "the URI's pin-value wins too (a wrong one, over a right environment)"
HSMKEY_PIN_SOURCE=file:$TOKEN_PIN_FILE should_fail 'CKR_PIN_INCORRECT' \
    ossl_raw dgst -sha256 -sign "$U?pin-value=55555-wrong-value" \
    -out "$T/sig" "$T/data"
say "and a wrong HSMKEY_PIN_SOURCE is used before a right configuration"
HSMKEY_PIN_SOURCE=file:$T/secret/wrong.pin should_fail 'CKR_PIN_INCORRECT' \
    ossl_raw dgst -sha256 -sign "$U" -out "$T/sig" "$T/data"

say "a PIN file is named by an absolute path"
cp "$TOKEN_PIN_FILE" "$T/secret/rel.pin"
cd "$T/secret"
should_fail 'not absolute' ossl_raw dgst -sha256 \
    -sign "$U?pin-source=file:rel.pin" -out "$T/sig" "$T/data"
HSMKEY_PIN_SOURCE=file:rel.pin should_fail 'not absolute' \
    ossl_raw dgst -sha256 -sign "$U" -out "$T/sig" "$T/data"
if grep -q 'rel\.pin' "$LAST_ERR"; then
    die "the relative path was echoed"
fi
cd "$T"

say "a PIN file its group may write is refused, even with the right PIN"
chmod 0660 "$T/secret/rel.pin"
should_fail 'can be changed by its group \(mode 0660\)' ossl_raw dgst \
    -sha256 -sign "$U?pin-source=file:$T/secret/rel.pin" -out "$T/sig" \
    "$T/data"
chmod 0640 "$T/secret/rel.pin"
signs "$U?pin-source=file:$T/secret/rel.pin"
