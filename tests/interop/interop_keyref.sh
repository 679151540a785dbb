#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Key-reference files as other tools write them:
#  - long-form (BER) lengths load, as pkcs11-provider reads them;
#  - a reference to a public key (type=public) gives the public key;
#  - a file that is a key reference but a bad one fails the decode, so
#    `openssl storeutl` exits non-zero instead of reporting nothing found.
# The files are made here by hand (python), not by hsmkey.
. "$(dirname "$0")/interop.sh"

# keyref FILE URI LENBYTES [DESC [TAIL-HEX]]: a key-reference PEM whose three
# lengths take LENBYTES bytes in long form (0: short form)
keyref() {
    python3 - "$@" <<'PY'
import base64, sys
path, uri, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
desc = (sys.argv[4] if len(sys.argv) > 4 else 'PKCS#11 Provider URI v1.0').encode()
def enc(tag, body):
    if n == 0:
        return bytes([tag, len(body)]) + body
    return bytes([tag, 0x80 | n]) + len(body).to_bytes(n, 'big') + body
der = enc(0x30, enc(0x1a, desc) + enc(0x0c, uri))
if len(sys.argv) > 5:  # a raw replacement of the whole DER
    der = bytes.fromhex(sys.argv[5])
b64 = base64.b64encode(der).decode()
with open(path, 'w') as f:
    f.write('-----BEGIN PKCS#11 PROVIDER URI-----\n')
    for i in range(0, len(b64), 64):
        f.write(b64[i:i + 64] + '\n')
    f.write('-----END PKCS#11 PROVIDER URI-----\n')
PY
}

token_pub 02 "$T/out/token.pub.pem"
printf 'a message\n' >"$T/msg.txt"

# ---------------------------------------------------------------- long form
for n in 1 2 4; do
    keyref "$T/long$n.pem" "$(uri ec-key)" "$n"
    ossl_sw asn1parse -in "$T/long$n.pem" >"$T/out/long$n.asn1"
    assert_file_match "hl=$((n + 2)) l= *[0-9]+ cons: SEQUENCE" \
        "$T/out/long$n.asn1" "long-form length of $n bytes"
    ossl pkey -in "$T/long$n.pem" -pubout -out "$T/out/long$n.pub.pem"
    assert_same_file "$T/out/long$n.pub.pem" "$T/out/token.pub.pem" \
        "the key a $n-byte long-form reference names"
    ossl dgst -sha256 -sign "$T/long$n.pem" -out "$T/out/long$n.sig" \
        "$T/msg.txt"
    ossl_sw dgst -sha256 -verify "$T/out/token.pub.pem" \
        -signature "$T/out/long$n.sig" "$T/msg.txt" >/dev/null
done
say "ok: key references with long-form lengths load and sign"

# ---------------------------------------------------------------- public
keyref "$T/pub.ref.pem" "$(uri ec-key public)" 0
ossl pkey -pubin -in "$T/pub.ref.pem" -pubout -out "$T/out/ref.pub.pem"
assert_same_file "$T/out/ref.pub.pem" "$T/out/token.pub.pem" \
    "the public key a type=public reference names"
ossl storeutl "$T/pub.ref.pem" >"$T/out/pub.storeutl" 2>&1
assert_file_match '^0: Public key' "$T/out/pub.storeutl"
assert_file_match '^Total found: 1' "$T/out/pub.storeutl"
ossl_sw dgst -sha256 -verify "$T/out/ref.pub.pem" \
    -signature "$T/out/long1.sig" "$T/msg.txt" >/dev/null
say "ok: a type=public key reference gives the public key"

# ---------------------------------------------------------------- bad ones
keyref "$T/good.pem" "$(uri ec-key)" 0
ossl storeutl "$T/good.pem" >"$T/out/good.storeutl" 2>&1
assert_file_match '^Total found: 1' "$T/out/good.storeutl"

keyref "$T/missing.pem" "$(uri no-such-key)" 0
should_fail 'hsmkey.*no private key matches' ossl storeutl "$T/missing.pem"
keyref "$T/desc.pem" "$(uri ec-key)" 0 'PKCS#11 Provider URI v2.0'
should_fail 'hsmkey.*description is not' ossl storeutl "$T/desc.pem"
# the same SEQUENCE with an indefinite length and its end-of-contents
good_hex=$(ossl_sw asn1parse -in "$T/good.pem" -out /dev/stdout -noout |
    od -An -tx1 -v | tr -d ' \n')
keyref "$T/indefinite.pem" x 0 x "3080${good_hex:4}0000"
should_fail 'hsmkey.*with definite lengths' ossl storeutl "$T/indefinite.pem"
# a key reference after a certificate, as in a combined file
cat "$TOKEN_DIR/rsa-cert.pem" "$T/missing.pem" >"$T/combined.pem"
should_fail 'hsmkey.*no private key matches' ossl storeutl "$T/combined.pem"
say "ok: storeutl on a bad key reference exits non-zero, naming why"
