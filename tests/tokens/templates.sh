#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# templates.sh SHIM -- a token that refuses hsmkey's key template (SoftHSM2
# behind the fault-injecting shim, tests/p11shim: it makes
# C_GenerateKeyPair fail with CKR_TEMPLATE_INCONSISTENT, as HSMs that refuse
# an attribute do; SoftHSM2 itself takes every template hsmkey makes).
#
#  1. refused once: hsmkey tries again without an optional attribute (the
#     public key's CKA_PRIVATE=FALSE first) and the key is made, with all
#     its private key flags;
#  2. refused twice: the third attempt lacks CKA_DERIVE, the key is made
#     without it (SoftHSM2's default is false) and keygen says so;
#  3. always refused: keygen fails (exit 3) naming the call, its CKR_* and
#     every attribute it tried without;
#  4. the template never states a FALSE beside CKA_EXTRACTABLE (checked on
#     the key SoftHSM2 made: what hsmkey left out is the token's default).
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# shellcheck source=../cli/cli_lib.sh
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

SHIM=${1:?usage: templates.sh SHIM}
[ -s "$SHIM" ] || die "shim $SHIM not built"
export HSMKEY_SHIM_MODULE=$TOKEN_MODULE
unset HSMKEY_SHIM_CONTROL HSMKEY_SHIM_COUNTS HSMKEY_SHIM_STRICT
# hsmkey through the shim (cli_lib.sh's hk names --module $TOKEN_MODULE);
# pkcs11-tool, the independent check, on SoftHSM2 itself.
SOFTHSM=$TOKEN_MODULE
TOKEN_MODULE=$SHIM
p11() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$SOFTHSM" \
        --token-label "$TOKEN_LABEL" "$@"
}
INCONSISTENT=0xd1 # CKR_TEMPLATE_INCONSISTENT
# The shim counts the calls each hsmkey run makes.
export HSMKEY_SHIM_COUNTS=$T/out/counts.%p
gen_calls() {
    local f n
    f=$(ls -t "$T"/out/counts.* | head -n 1)
    n=$(awk '$1 == "C_GenerateKeyPair" { print $2 }' "$f")
    rm -f "$T"/out/counts.*
    printf '%s' "$n"
}

say "1. refused once: made on the second try"
HSMKEY_SHIM_FAULTS="C_GenerateKeyPair:$INCONSISTENT:count=1" \
    hk_ok "${PIN_OPT[@]}" keygen --token "$TOKEN_LABEL" --label once \
    --type ec:P-256
assert_file_match 'generated ec:P-256 key pair .once.' "$HK_ERR"
assert_file_nomatch 'did not allow' "$HK_ERR" "only the public key's flag was left out"
assert_eq "$(gen_calls)" 2 "C_GenerateKeyPair calls"

say "2. refused twice: made without CKA_DERIVE, and said so"
HSMKEY_SHIM_FAULTS="C_GenerateKeyPair:$INCONSISTENT:count=2" \
    hk_ok "${PIN_OPT[@]}" keygen --token "$TOKEN_LABEL" --label twice \
    --type ec:P-256
assert_file_match 'the token did not allow derivation \(CKA_DERIVE false' \
    "$HK_ERR"
assert_eq "$(gen_calls)" 3 "C_GenerateKeyPair calls"
p11_objects privkey twice --login >"$T/out/twice.txt"
assert_file_match 'Usage: .*sign' "$T/out/twice.txt" "it signs"
assert_file_nomatch 'Usage: .*derive' "$T/out/twice.txt" "it does not derive"

say "3. always refused: the attributes tried are named"
HSMKEY_SHIM_FAULTS="C_GenerateKeyPair:$INCONSISTENT" \
    hk_exit 3 "C_GenerateKeyPair: CKR_TEMPLATE_INCONSISTENT" \
    "${PIN_OPT[@]}" keygen --token "$TOKEN_LABEL" --label never --type rsa:2048
assert_file_match "refused the key template: private key CKA_TOKEN=TRUE CKA_PRIVATE=TRUE CKA_SENSITIVE=TRUE CKA_EXTRACTABLE=FALSE CKA_SIGN=TRUE CKA_DECRYPT=TRUE; public key CKA_TOKEN=TRUE CKA_PRIVATE=FALSE; refused as well without CKA_PRIVATE=FALSE, without CKA_DECRYPT=TRUE and without all of them" \
    "$HK_ERR"
assert_eq "$(gen_calls)" 4 "C_GenerateKeyPair calls (all, without each, without both)"
p11_objects privkey never --login >"$T/out/never.txt"
[ ! -s "$T/out/never.txt" ] || die "a refused key was left on the token"

say "4. no FALSE stated but CKA_EXTRACTABLE: the rest is the token's default"
hk_ok "${PIN_OPT[@]}" keygen --token "$TOKEN_LABEL" --label plain --type rsa:2048
p11_objects privkey plain --login >"$T/out/plain.txt"
assert_file_match 'Usage: +decrypt, sign' "$T/out/plain.txt"
assert_file_match 'Access: +sensitive, always sensitive, never extractable' \
    "$T/out/plain.txt"
