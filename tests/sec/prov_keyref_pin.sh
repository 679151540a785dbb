#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_keyref_pin.sh -- a key-reference file is data: whoever wrote it must
# not make the process that decodes it open a file of their choosing
# (pin-source=file:/etc/shadow, read as root, its first line sent to the
# token) or spend the token's retry counter (a wrong pin-value).  PIN
# attributes inside a key-reference file are ignored unless the provider's
# section says keyref-pin = allow; the CLI refuses such a file.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

printf '99999-wrong-pin\n' >"$T/secret/wrong.pin"
head -c 300 /dev/urandom >"$T/data"
token_pub 02 "$T/ec.pub"

# keyref NAME URI: a key-reference file holding URI as it is
keyref() {
    python3 - "$2" "$T/$1.der" <<'PY'
import sys
uri = sys.argv[1].encode()
def tlv(tag, body):
    n = len(body)
    if n < 128:
        head = bytes([n])
    elif n < 256:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + head + body
desc = b"PKCS#11 Provider URI v1.0"
open(sys.argv[2], "wb").write(tlv(0x30, tlv(0x1a, desc) + tlv(0x0c, uri)))
PY
    {
        echo "-----BEGIN PKCS#11 PROVIDER URI-----"
        base64 -w 64 "$T/$1.der"
        echo "-----END PKCS#11 PROVIDER URI-----"
    } >"$T/$1.pem"
}
signs() { # KEYREF: signs with it; verified by the default provider alone
    rm -f "$T/sig"
    ossl dgst -sha256 -sign "$1" -out "$T/sig" "$T/data"
    ossl_sw dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/data" \
        | grep -q '^Verified OK$' || die "the signature does not verify"
}

keyref src "$(uri ec-key)?pin-source=file:$T/secret/wrong.pin"
keyref val "$(uri ec-key)?pin-value=55555-wrong-value"
keyref missing "$(uri ec-key)?pin-source=file:$T/no-such-dir/pin"

say "a key reference's pin-source and pin-value are not used"
signs "$T/src.pem"
signs "$T/val.pem"
signs "$T/missing.pem"
say "ok: the configured PIN signed; no file named by the reference was read"

say "nor with no PIN configured: they are not a source at all"
grep -v '^pin-source' "$OPENSSL_CONF" >"$T/nopin.cnf"
OPENSSL_CONF=$T/nopin.cnf should_fail \
    'needs a PIN and none is configured.*|keyref-pin = allow' \
    ossl_raw dgst -sha256 -sign "$T/src.pem" -out "$T/sig" "$T/data"
assert_file_match 'keyref-pin = allow' "$LAST_ERR"
assert_file_nomatch 'wrong\.pin|CKR_PIN_INCORRECT' "$LAST_ERR"

say "keyref-pin = allow: the reference's PIN attributes are used"
sed 's|^pin-source.*|&\nkeyref-pin = allow|' "$OPENSSL_CONF" >"$T/allow.cnf"
OPENSSL_CONF=$T/allow.cnf should_fail 'CKR_PIN_INCORRECT' \
    ossl_raw dgst -sha256 -sign "$T/src.pem" -out "$T/sig" "$T/data"
OPENSSL_CONF=$T/allow.cnf should_fail "$T/no-such-dir/pin" \
    ossl_raw dgst -sha256 -sign "$T/missing.pem" -out "$T/sig" "$T/data"
say "any other keyref-pin value (a typo) stops every key load, naming it"
sed 's|^pin-source.*|&\nkeyref-pin = yes|' "$OPENSSL_CONF" >"$T/typo.cnf"
OPENSSL_CONF=$T/typo.cnf should_fail 'keyref-pin = yes: expected ignore or allow' \
    ossl_raw dgst -sha256 -sign "$T/val.pem" -out "$T/sig" "$T/data"

say "a URI given directly keeps its pin-source (the application's word)"
should_fail 'CKR_PIN_INCORRECT' ossl_raw dgst -sha256 -sign \
    "$(uri ec-key)?pin-source=file:$T/secret/wrong.pin" -out "$T/sig" "$T/data"

say "the CLI refuses a key reference that names a PIN source"
hk_exit 2 "src.pem: the key-reference file's URI carries a pin-source" \
    --pin-source "file:$TOKEN_PIN_FILE" csr --key "$T/src.pem" \
    --subject /CN=x --out "$T/x.csr"
hk_exit 2 "carries a pin-value" --pin-source "file:$TOKEN_PIN_FILE" \
    csr --key "$T/val.pem" --subject /CN=x --out "$T/x.csr"
[ ! -e "$T/x.csr" ] || die "a CSR was written"
