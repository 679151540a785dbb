#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_errors.sh -- bad input through the provider: each case fails with
# openssl's normal status 1 (never a signal), and stderr carries an error
# raised by the hsmkey provider that names the problem. The token PIN never
# appears in any output (lib.sh scans every file the test wrote).
. "$(dirname "$0")/lib.sh"

echo "message" >"$T/msg"

# fails RE CMD...: should_fail, and the status is openssl's plain 1.
fails() {
    should_fail "$@"
    [ "$LAST_RC" -eq 1 ] ||
        die "status $LAST_RC, not openssl's failure status 1: ${*:2}"
}

# The error must come from the provider (library name ":hsmkey:" in
# openssl's error line), not only from the CLI's own "Could not open" line.
from_provider() {
    grep -aE ':hsmkey:' "$LAST_ERR" | grep -aqE -- "$1" || {
        sed 's/^/  | /' "$LAST_ERR" >&2
        die "no hsmkey error matching /$1/"
    }
}

pkey() { ossl pkey -in "$1" -pubout -out "$T/out/pkey.pub"; }
sign() { ossl dgst -sha256 -sign "$1" -out "$T/out/sig" "$T/msg"; }

say "malformed URI: bad percent-encoding"
fails ':hsmkey:' pkey 'pkcs11:object=%zz'
from_provider '%zz|object|[Mm]alformed|[Ii]nvalid|parse'
fails ':hsmkey:' sign "pkcs11:token=$TOKEN_LABEL;object=%zz;type=private"
from_provider '%zz|object|[Mm]alformed|[Ii]nvalid|parse'

say "malformed URI: bad type, bad id"
fails ':hsmkey:' pkey "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=bogus"
from_provider 'type|bogus'
fails ':hsmkey:' pkey "pkcs11:token=$TOKEN_LABEL;id=%0g;type=private"
from_provider 'id|%0g|[Mm]alformed|[Ii]nvalid'

say "unknown attribute is an error, never a wildcard"
fails ':hsmkey:' pkey 'pkcs11:foo=bar'
from_provider 'foo'
fails ':hsmkey:' pkey "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=private;foo=bar"
from_provider 'foo'

say "no such token"
fails ':hsmkey:' pkey 'pkcs11:token=nope;object=rsa-key;type=private'
from_provider 'nope'
from_provider '[Tt]oken'

say "no such key"
fails ':hsmkey:' pkey "pkcs11:token=$TOKEN_LABEL;object=nope;type=private"
from_provider 'nope'
fails ':hsmkey:' sign "pkcs11:token=$TOKEN_LABEL;id=%7f;type=private"
from_provider '[Nn]o (such |matching )?(private )?(key|object)|not found|[0-9]+ (keys|objects)'

say "several keys match"
fails ':hsmkey:' pkey "pkcs11:token=$TOKEN_LABEL;type=private"
from_provider '[Ss]everal|[Mm]ultiple|[Aa]mbiguous|[2-9] (private )?(keys|objects)|more than one'
fails ':hsmkey:' sign "pkcs11:token=$TOKEN_LABEL"
from_provider '[Ss]everal|[Mm]ultiple|[Aa]mbiguous|[2-9] (private )?(keys|objects)|more than one'
fails ':hsmkey:' sign "pkcs11:"
from_provider '[Ss]everal|[Mm]ultiple|[Aa]mbiguous|[2-9] (private )?(keys|objects)|more than one'

# Configs without pin-source / pkcs11-module, for the environment cases.
grep -v '^pin-source' "$OPENSSL_CONF" >"$T/nopin.cnf"
grep -v '^pkcs11-module' "$OPENSSL_CONF" >"$T/nomod.cnf"
printf '99999-wrong-pin\n' >"$T/secret/wrong.pin"

say "wrong PIN: URI pin-source"
fails 'CKR_PIN_INCORRECT' sign "$(uri rsa-key)?pin-source=file:$T/secret/wrong.pin"
from_provider 'CKR_PIN_INCORRECT'
say "wrong PIN: HSMKEY_PIN_SOURCE (no pin-source in openssl.cnf)"
OPENSSL_CONF=$T/nopin.cnf HSMKEY_PIN_SOURCE=file:$T/secret/wrong.pin \
    fails 'CKR_PIN_INCORRECT' sign "$(uri rsa-key)"
from_provider 'CKR_PIN_INCORRECT'
say "wrong PIN: URI pin-value, not echoed by the provider"
fails 'CKR_PIN_INCORRECT' sign "$(uri rsa-key)?pin-value=55555-wrong-value"
from_provider 'CKR_PIN_INCORRECT'
if grep -a ':hsmkey:' "$LAST_ERR" | grep -aqF 55555-wrong-value; then
    die "the provider's error message contains the pin-value"
fi
say "the right PIN still works after the wrong ones"
sign "$(uri rsa-key)"

say "unreadable pin file: the message names the path"
fails "$T/no-such.pin" sign "$(uri rsa-key)?pin-source=file:$T/no-such.pin"
from_provider "$T/no-such.pin"
OPENSSL_CONF=$T/nopin.cnf HSMKEY_PIN_SOURCE=file:$T/no-such.pin \
    fails "$T/no-such.pin" sign "$(uri rsa-key)"
from_provider "$T/no-such.pin"
mkdir "$T/pin-dir"
fails "$T/pin-dir" sign "$(uri rsa-key)?pin-source=file:$T/pin-dir"
from_provider "$T/pin-dir"

say "pin file other users can read: refused before it is read, even with the right PIN"
cp "$TOKEN_PIN_FILE" "$T/secret/open.pin"
chmod 0644 "$T/secret/open.pin"
fails "$T/secret/open\.pin can be read by any user \(mode 0644\)" \
    sign "$(uri rsa-key)?pin-source=file:$T/secret/open.pin"
from_provider 'chmod o-rwx'
chmod 0640 "$T/secret/open.pin"
sign "$(uri rsa-key)?pin-source=file:$T/secret/open.pin"

say "PIN from env: source"
OPENSSL_CONF=$T/nopin.cnf HSMKEY_TEST_PIN_VAR=99999-wrong-pin \
    HSMKEY_PIN_SOURCE=env:HSMKEY_TEST_PIN_VAR fails 'CKR_PIN_INCORRECT' \
    sign "$(uri rsa-key)"
OPENSSL_CONF=$T/nopin.cnf HSMKEY_PIN_SOURCE=env:HSMKEY_TEST_NO_SUCH_VAR \
    fails 'HSMKEY_TEST_NO_SUCH_VAR' sign "$(uri rsa-key)"
from_provider 'HSMKEY_TEST_NO_SUCH_VAR'

say "PKCS#11 module that does not exist: the message names the path"
OPENSSL_CONF=$T/nomod.cnf HSMKEY_PKCS11_MODULE=/nonexistent.so \
    fails '/nonexistent\.so' pkey "$(uri rsa-key)"
from_provider '/nonexistent\.so'
sed "s|^pkcs11-module.*|pkcs11-module = $T/missing-module.so|" \
    "$OPENSSL_CONF" >"$T/badmod.cnf"
OPENSSL_CONF=$T/badmod.cnf fails "$T/missing-module\\.so" sign "$(uri rsa-key)"
from_provider "$T/missing-module\\.so"
say "PKCS#11 module that is not a PKCS#11 module"
OPENSSL_CONF=$T/nomod.cnf HSMKEY_PKCS11_MODULE=$HSMKEY_SO \
    fails 'C_GetFunctionList|hsmkey\.so|module' pkey "$(uri rsa-key)"
from_provider "$HSMKEY_SO"

say "the provider still works after all that"
sign "$(uri rsa-key)"
ossl pkey -in "$(uri ec-key)" -pubout -out "$T/ec.pub"
