#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_pin_prompt.sh -- with no PIN configured, the provider asks the
# application's own passphrase callback, last: `openssl dgst -sign` on a
# token with no configured PIN prompts on the terminal ("Enter pass phrase
# for PKCS#11 token ...:"), once, for a URI (the store) and a key-reference
# file (the decoder) alike, and signs; the signature is verified by the
# default provider alone.  A configured PIN is used without asking.  The
# answer is never kept: a CKA_ALWAYS_AUTHENTICATE key's per-signature
# login does not reuse it.
. "$(dirname "$0")/../lib.sh"

PTY=$HSMKEY_SRC/tests/cli/ptyrun.py
head -c 300 /dev/urandom >"$T/data"
token_pub 02 "$T/ec.pub"
grep -v '^pin-source' "$OPENSSL_CONF" >"$T/nopin.cnf"
printf '%s\n' "$TOKEN_PIN" >"$T/secret/answers"

# on_tty NAME OPENSSL-ARGS...: the openssl CLI on a terminal, answering
# prompts from $T/secret/answers; its terminal output in $T/out/NAME.tty
TTY_RC=0
on_tty() {
    local name=$1
    shift
    TTY_RC=0
    python3 "$PTY" "$T/secret/answers" env \
        ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        OPENSSL_CONF="${CNF:-$T/nopin.cnf}" openssl "$@" \
        >"$T/out/$name.tty" 2>&1 || TTY_RC=$?
    _status_check "$TTY_RC" "$T/out/$name.tty" "openssl $*"
}
prompts() { # NAME: how many times it asked
    grep -c "Enter pass phrase for PKCS#11 token $TOKEN_LABEL:" \
        "$T/out/$1.tty" || true
}
verified() {
    ossl_sw dgst -sha256 -verify "$T/ec.pub" -signature "$T/sig" "$T/data" \
        | grep -q '^Verified OK$' || die "the signature does not verify"
}

say "a URI (store): asked once on the terminal, then signed"
on_tty uri dgst -sha256 -sign "$(uri ec-key)" -out "$T/sig" "$T/data"
assert_eq "$TTY_RC" 0 "openssl dgst -sign with a typed PIN"
assert_eq "$(prompts uri)" 1 "prompts for a URI"
verified

say "a key-reference file (decoder): the same"
ossl pkey -in "$(uri ec-key)" -out "$T/ec.ref"
rm -f "$T/sig"
on_tty ref dgst -sha256 -sign "$T/ec.ref" -out "$T/sig" "$T/data"
assert_eq "$TTY_RC" 0 "openssl dgst -sign of a key reference, typed PIN"
assert_eq "$(prompts ref)" 1 "prompts for a key reference"
verified

say "a wrong answer: CKR_PIN_INCORRECT, not asked again"
printf '99999-wrong-pin\n99999-wrong-pin\n' >"$T/secret/answers"
on_tty wrong dgst -sha256 -sign "$(uri ec-key)" -out "$T/sig2" "$T/data"
[ "$TTY_RC" -ne 0 ] || die "signed with a wrong PIN"
assert_file_match 'CKR_PIN_INCORRECT' "$T/out/wrong.tty"
assert_eq "$(prompts wrong)" 1 "prompts after a wrong PIN"

say "a configured PIN is used without asking"
CNF=$OPENSSL_CONF on_tty conf dgst -sha256 -sign "$(uri ec-key)" \
    -out "$T/sig" "$T/data"
assert_eq "$TTY_RC" 0 "openssl dgst -sign with a configured PIN"
assert_eq "$(prompts conf)" 0 "prompts with a configured PIN"
verified

say "CKA_ALWAYS_AUTHENTICATE: the typed PIN is not reused for the signature"
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
    --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" --keypairgen \
    --key-type rsa:2048 --id 0b --label aa-rsa --always-auth \
    >"$T/out/keygen.log" 2>&1 || die "pkcs11-tool: $(cat "$T/out/keygen.log")"
printf '%s\n%s\n' "$TOKEN_PIN" "$TOKEN_PIN" >"$T/secret/answers"
on_tty aa dgst -sha256 -sign "$(uri aa-rsa)" -out "$T/sig3" "$T/data"
[ "$TTY_RC" -ne 0 ] || die "signed with a PIN it was not given again"
assert_file_match 'needs the PIN for every signature \(CKA_ALWAYS_AUTHENTICATE\)' \
    "$T/out/aa.tty"
assert_eq "$(prompts aa)" 1 "prompts for an always-authenticate key"
