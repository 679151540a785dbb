# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034
# tests/integ/integ.sh -- sourced by the integration tests in tests/integ/.
#
# Builds on tests/lib.sh (private SoftHSM2 token in $T/token, OPENSSL_CONF
# pointing at its openssl.cnf, background processes by pid, asserts) and
# adds what the real-program tests share:
#   need_tool NAME...         a missing program is a failure, never a skip
#   token_keygen ID LABEL TYPE  one more key pair on the test token
#   node_cert CA NAME KEY_URI CN
#                             $T/NAME.pem for the token key: CSR signed by the
#                             token through the provider (verified with the
#                             default provider alone), issued by dev CA $T/CA.pem
#   keyref_encoder NAME URI   $T/NAME.ref.pem written by our encoder
#                             (openssl pkey -in URI -out FILE)
#   keyref_by_hand NAME URI   $T/NAME.ref.pem made from the format's ASN.1
#                             (CONTRIBUTING.md, "The contract")
#                             (openssl asn1parse -genconf, default provider)
#   keyref_pem DER OUT        wrap a DER body in the key-reference PEM armour
# Everything is configured through OPENSSL_CONF only: no -provider flags.

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Under the `asan` test setup hsmkey.so is instrumented, and every program
# that reads OPENSSL_CONF loads it (python3, node, nginx, curl, not only
# openssl): each needs the ASan runtime first, so the tests start them as
# "${PRE[@]}" PROGRAM (empty in the plain setup). Not every program: with
# the runtime preloaded, Debian 12's curl and ps hang at startup in glibc's
# locale lock (a library constructor calls newlocale() while ASan starts;
# nothing of hsmkey's). Their own allocations are not ours to judge, so leak
# checking is off for them (the softhsm suite checks the provider's leaks
# through the openssl CLI), and so is full unwinding on malloc (it serves
# leak suppressions, and starts Node.js 20 times slower); memory errors in
# the provider are still reported, and lib.sh fails the test on any
# sanitizer report in its files.
# Under that setup "${CURL[@]}" is a stand-in that takes the same options
# (curl_standin.py); the plain run uses curl itself.
PRE=()
CURL=(curl)
if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
    PRE=(env "LD_PRELOAD=$HSMKEY_TEST_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}"
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:fast_unwind_on_malloc=1")
    CURL=("${PRE[@]}" python3 "$INTEG_DIR/curl_standin.py")
    say "asan setup: curl replaced by tests/integ/curl_standin.py"
fi

# no_provider CMD...: CMD without OPENSSL_CONF and the ASan runtime (version
# probes of programs that do not need the provider)
no_provider() {
    env -u LD_PRELOAD OPENSSL_CONF=/dev/null timeout 30 "$@"
}
KEYREF_LABEL='PKCS#11 PROVIDER URI'
KEYREF_DESC='PKCS#11 Provider URI v1.0'

need_tool() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null ||
            die "required program '$t' is not installed (see the report of tests/integ)"
    done
}

# Not no_provider: its 30 s bound is for version probes, and an RSA 4096
# key pair can take longer on a loaded machine (meson's timeout still holds).
token_keygen() { # ID LABEL TYPE (pkcs11-tool --key-type syntax)
    env -u LD_PRELOAD OPENSSL_CONF=/dev/null \
        pkcs11-tool --module "$TOKEN_MODULE" --token-label "$TOKEN_LABEL" \
        --login --pin "$TOKEN_PIN" --keypairgen --id "$1" --label "$2" \
        --key-type "$3" >"$T/secret/keygen.$2.log" 2>&1 ||
        die "pkcs11-tool cannot make $3 key $2: $(cat "$T/secret/keygen.$2.log")"
}

node_cert() { # CA NAME KEY_URI CN
    local ca=$1 name=$2 key=$3 cn=$4
    ossl req -new -key "$key" -subj "/O=hsmkey tests/CN=$cn" \
        -out "$T/$name.csr" >"$T/out/$name.req.out" 2>&1 ||
        die "openssl req -key $key failed: $(cat "$T/out/$name.req.out")"
    ossl_sw req -verify -noout -in "$T/$name.csr" >"$T/out/$name.reqv.out" 2>&1 ||
        die "the token's CSR signature for $name does not verify: $(cat "$T/out/$name.reqv.out")"
    cat >"$T/$name.ext" <<EOT
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:$cn,IP:127.0.0.1
EOT
    ossl_sw x509 -req -in "$T/$name.csr" -CA "$T/$ca.pem" \
        -CAkey "$T/secret/$ca.key" -CAcreateserial -days 30 \
        -extfile "$T/$name.ext" -out "$T/$name.pem" 2>"$T/out/$name.x509.err" ||
        die "cannot issue $name: $(cat "$T/out/$name.x509.err")"
}

keyref_encoder() { # NAME URI
    ossl pkey -in "$2" -out "$T/$1.ref.pem" >"$T/out/$1.ref.log" 2>&1 ||
        die "openssl pkey -in $2 -out $1.ref.pem failed: $(cat "$T/out/$1.ref.log")"
    assert_file_match "^-----BEGIN $KEYREF_LABEL-----\$" "$T/$1.ref.pem" \
        "encoder output for $2"
    assert_file_nomatch 'PRIVATE KEY' "$T/$1.ref.pem" "encoder output for $2"
}

keyref_pem() { # DER OUT
    {
        printf -- '-----BEGIN %s-----\n' "$KEYREF_LABEL"
        ossl_sw base64 -in "$1"
        printf -- '-----END %s-----\n' "$KEYREF_LABEL"
    } >"$2"
}

keyref_by_hand() { # NAME URI
    local gen=$T/$1.genconf
    # In an openssl config file '#' starts a comment and '$' a variable.
    case $2 in *'$'* | *'#'*) die "keyref_by_hand: cannot put '$2' in a genconf" ;; esac
    cat >"$gen" <<EOT
asn1 = SEQUENCE:keyref
[keyref]
desc = VISIBLESTRING:PKCS\#11 Provider URI v1.0
uri = UTF8:$2
EOT
    ossl_sw asn1parse -genconf "$gen" -out "$T/$1.ref.der" -noout ||
        die "asn1parse -genconf $gen failed"
    keyref_pem "$T/$1.ref.der" "$T/$1.ref.pem"
    # What we wrote is the format's ASN.1, read back by a plain parser.
    ossl_sw asn1parse -in "$T/$1.ref.pem" >"$T/out/$1.asn1" ||
        die "asn1parse cannot read back $1.ref.pem"
    [ "$(sed -n 's/.*VISIBLESTRING *://p' "$T/out/$1.asn1")" = "$KEYREF_DESC" ] ||
        die "$1.ref.pem: desc is not '$KEYREF_DESC'"
    [ "$(sed -n 's/.*UTF8STRING *://p' "$T/out/$1.asn1")" = "$2" ] ||
        die "$1.ref.pem: uri is not '$2'"
}
