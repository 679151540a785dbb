#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_debug.sh -- the debug trace (HSMKEY_DEBUG, `debug = 1` in the
# provider's section): off by default; on, a login + search + sign through
# the openssl CLI traces the configuration, the module, the token, the
# search template and its result, the login, the session, the key copy and
# the signature, one line each, and a key-reference file's decoding; a PIN never appears, neither as text nor in
# hex, also when it comes from the URI or is wrong; HSMKEY_DEBUG=0 silences
# `debug = 1`; the hsmkey CLI traces its own decisions and the provider's.
. "$(dirname "$0")/lib.sh"

echo "a message to sign" >"$T/msg"
token_pub 02 "$T/ec.pub"
KEY=$(uri ec-key)
TRACE_LINE='^hsmkey\[[0-9]+(/[0-9]+)?\]: [a-z]+: '

N=0
# sign CONF [VAR=VALUE...]: openssl dgst -sign with ec-key under CONF and
# the variables given; the signature must verify in software.  Its stderr
# is in $ERR.
sign() {
    local conf=$1
    shift
    N=$((N + 1))
    ERR=$T/out/sign.$N.err
    env OPENSSL_CONF="$conf" "$@" ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        openssl dgst -sha256 -sign "${SIGN_KEY:-$KEY}" -out "$T/out/sig.$N" \
        "$T/msg" 2>"$ERR" || {
        sed 's/^/  | /' "$ERR" >&2
        die "signing failed: $*"
    }
    _status_check 0 "$ERR" "openssl dgst -sign"
    ossl_sw dgst -sha256 -verify "$T/ec.pub" -signature "$T/out/sig.$N" \
        "$T/msg" >"$T/out/verify.$N" 2>&1 ||
        die "the signature made with the trace on does not verify"
}

# no_pin FILE PIN: neither the PIN nor its hex (either case) is in FILE.
no_pin() {
    local hex
    hex=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')
    grep -aqF -- "$2" "$1" && die "the PIN is in the trace"
    grep -aqiF -- "$hex" "$1" && die "the PIN's hex is in the trace"
    grep -aqiF -- "$(printf '%s' "$hex" | sed 's/../&:/g; s/:$//')" "$1" &&
        die "the PIN's hex (with colons) is in the trace"
    return 0
}

say "off by default: nothing traced"
sign "$OPENSSL_CONF"
assert_file_nomatch "$TRACE_LINE" "$ERR" "trace without HSMKEY_DEBUG"

say "HSMKEY_DEBUG=1: the decisions of a login + search + sign"
sign "$OPENSSL_CONF" HSMKEY_DEBUG=1
for re in \
    "config: debug on \(openssl.cnf: unset; HSMKEY_DEBUG, which wins: 1\)" \
    "config: pkcs11-module = $TOKEN_MODULE \(from openssl.cnf\)" \
    "config: pin-source = file:$TOKEN_PIN_FILE \(from openssl.cnf\)" \
    "config: session-copies: not set \(the default\)" \
    "provider: hsmkey [0-9.]+ ready in OpenSSL" \
    "store: pkcs11:token=$TOKEN_LABEL;object=ec-key;type=private: .*looking for private key" \
    "module: loaded $TOKEN_MODULE" \
    "module: C_Initialize: CKR_OK: .*SoftHSM" \
    "token: slot [0-9]+: token '$TOKEN_LABEL' \(model 'SoftHSM v2'.*\) login-required" \
    "find: 1 token\(s\) match the URI" \
    "login: token '$TOKEN_LABEL' needs a login: the user PIN from file:$TOKEN_PIN_FILE" \
    "login: token '$TOKEN_LABEL': C_Login: CKR_OK" \
    "session: token '$TOKEN_LABEL': opened session [0-9]+; the pool now holds [0-9]+ idle and [0-9]+ lent out" \
    "find: token '$TOKEN_LABEL': template CKA_LABEL=\"ec-key\" CKA_TOKEN=true" \
    "find: token '$TOKEN_LABEL': 2 object\(s\) match" \
    "find: found private key: token '$TOKEN_LABEL', object 'ec-key' \(id 02\)" \
    "store: handing over token '$TOKEN_LABEL', object 'ec-key' \(id 02\)" \
    "copy: token '$TOKEN_LABEL', object 'ec-key' \(id 02\): session-object copy of key [0-9]+ made in session [0-9]+" \
    "operation: token '$TOKEN_LABEL', object 'ec-key' \(id 02\): C_Sign\(CKM_ECDSA\): CKR_OK" \
    "provider: teardown"; do
    assert_file_match "^hsmkey\[[0-9]+\]: $re" "$ERR"
done
# One line per decision: every line of stderr is a trace line, the login
# happened once, and nothing is indented or continued.
nontrace=$(grep -acvE "$TRACE_LINE" "$ERR" || true)
assert_eq "$nontrace" 0 "lines of stderr that are not trace lines"
assert_eq "$(grep -acE 'C_Login:' "$ERR")" 1 "C_Login trace lines"
no_pin "$ERR" "$TOKEN_PIN"
TRACE_ON=$ERR

say "the trace lines come in the order of the decisions"
order=$(grep -aoE ': (config|module|token|login|find|copy|operation): ' \
    "$TRACE_ON" | uniq | tr -d ' :' | tr '\n' ' ')
assert_match '^config module token login find copy operation $' \
    "$order" "order of the trace"

say "a key-reference file: the decoder says what it found"
ossl pkey -in "$KEY" -out "$T/ec.ref.pem"
SIGN_KEY=$T/ec.ref.pem sign "$OPENSSL_CONF" HSMKEY_DEBUG=1
assert_file_match "^hsmkey\[[0-9]+\]: decoder: a key-reference file: looking for the key it names" "$ERR"
assert_file_match "^hsmkey\[[0-9]+\]: decoder: handing over token '$TOKEN_LABEL', object 'ec-key' \(id 02\) \(EC\)" "$ERR"
assert_file_match "^hsmkey\[[0-9]+\]: operation: .*C_Sign\(CKM_ECDSA\): CKR_OK" "$ERR"
no_pin "$ERR" "$TOKEN_PIN"

say "a PIN from the URI's pin-value: the trace says so, never shows it"
sed '/^pin-source/d' "$OPENSSL_CONF" >"$T/nopin.cnf"
SIGN_KEY="$KEY?pin-value=$TOKEN_PIN" sign "$T/nopin.cnf" HSMKEY_DEBUG=yes
assert_file_match "login: token '$TOKEN_LABEL' needs a login: the user PIN from the URI's pin-value" "$ERR"
assert_file_match "login: token '$TOKEN_LABEL': C_Login: CKR_OK" "$ERR"
assert_file_match "store: pkcs11:token=$TOKEN_LABEL;object=ec-key;type=private: " "$ERR"
no_pin "$ERR" "$TOKEN_PIN"

say "a wrong PIN: the refusal is traced, the PIN is not"
wrong=51728-not-the-token-pin
secret "$wrong"
(umask 077 && printf '%s\n' "$wrong" >"$T/secret/wrong.pin")
sed "s|^pin-source .*|pin-source = file:$T/secret/wrong.pin|" \
    "$OPENSSL_CONF" >"$T/wrong.cnf"
should_fail 'CKR_PIN_INCORRECT' env OPENSSL_CONF="$T/wrong.cnf" HSMKEY_DEBUG=1 \
    ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
    openssl dgst -sha256 -sign "$KEY" -out "$T/out/nosig" "$T/msg"
assert_file_match "login: token '$TOKEN_LABEL': C_Login: CKR_PIN_INCORRECT" "$LAST_ERR"
no_pin "$LAST_ERR" "$wrong"
no_pin "$LAST_ERR" "$TOKEN_PIN"

say "debug = 1 in the provider's section turns it on; HSMKEY_DEBUG=0 wins"
sed '/^\[hsmkey_sect\]$/a debug = 1' "$OPENSSL_CONF" >"$T/debug.cnf"
grep -q '^debug = 1$' "$T/debug.cnf" || die "no debug key in $T/debug.cnf"
sign "$T/debug.cnf"
assert_file_match "^hsmkey\[[0-9]+\]: config: debug on \(openssl.cnf: 1; HSMKEY_DEBUG, which wins: unset\)" "$ERR"
assert_file_match "^hsmkey\[[0-9]+\]: operation: .*C_Sign\(CKM_ECDSA\): CKR_OK" "$ERR"
sign "$T/debug.cnf" HSMKEY_DEBUG=0
assert_file_nomatch "$TRACE_LINE" "$ERR" "trace with HSMKEY_DEBUG=0"

say "the hsmkey CLI: its own decisions, then the provider's"
hsmkey=$HSMKEY_BUILD/tool/hsmkey
HSMKEY_DEBUG=1 preloaded "$hsmkey" --module "$TOKEN_MODULE" \
    --pin-source "file:$TOKEN_PIN_FILE" csr --key "$KEY" \
    --subject /CN=debug.example --out "$T/out/req.pem" \
    >"$T/out/cli.out" 2>"$T/out/cli.err" || {
    sed 's/^/  | /' "$T/out/cli.err" >&2
    die "hsmkey csr with the trace on failed"
}
for re in \
    "tool: hsmkey [0-9.]+ csr: module $TOKEN_MODULE, pin-source file:$TOKEN_PIN_FILE, text output" \
    "tool: key operations through the provider $HSMKEY_BUILD/provider/hsmkey.so" \
    "config: pkcs11-module = $TOKEN_MODULE \(from HSMKEY_PKCS11_MODULE\)" \
    "login: token '$TOKEN_LABEL': C_Login: CKR_OK" \
    "operation: token '$TOKEN_LABEL', object 'ec-key' \(id 02\): C_Sign\(CKM_ECDSA\): CKR_OK" \
    "tool: exit status 0"; do
    assert_file_match "^hsmkey\[[0-9]+\]: $re" "$T/out/cli.err"
done
ossl_sw req -in "$T/out/req.pem" -verify -noout 2>&1 | grep -q 'verify OK' ||
    die "the CSR made with the trace on does not verify"
no_pin "$T/out/cli.err" "$TOKEN_PIN"
