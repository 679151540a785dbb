#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey tokens: slots and tokens in text and JSON, global options before
# and after the command, module from the environment, module errors.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

hk_ok tokens
assert_file_match "^SLOT +LABEL +SERIAL +MANUFACTURER +MODEL +FLAGS +FREE +MODULE\$" "$HK_OUT"
assert_file_match " $TOKEN_LABEL +[0-9a-f]+ +SoftHSM project +SoftHSM v2 +initialized,login-required,user-pin-initialized +no " "$HK_OUT"
# SoftHSM always offers one slot with an uninitialized token: a free slot.
assert_file_match " uninitialized[^ ]* +yes " "$HK_OUT"
serial=$(OPENSSL_CONF=$SW_CNF softhsm2-util --show-slots | awk -v l="$TOKEN_LABEL" '
    /Serial number:/ { s = $3 } /Label:/ && $2 == l { print s }')

for order in before after; do
    if [ $order = before ]; then hk_ok --json tokens; else hk_ok tokens --json; fi
    json_ok "$HK_OUT"
    assert_eq "$(json_q "$HK_OUT" 'sorted(j[0])')" \
        '["flags", "free", "label", "manufacturer", "model", "module", "serial", "slot"]'
    assert_eq "$(json_q "$HK_OUT" "[t['serial'] for t in j if t['label'] == '$TOKEN_LABEL']")" \
        "[\"$serial\"]"
    assert_eq "$(json_q "$HK_OUT" "[t['free'] for t in j if t['label'] == '$TOKEN_LABEL']")" '[false]'
    assert_eq "$(json_q "$HK_OUT" 'any(t["free"] and t["label"] is None for t in j)')" true
    assert_eq "$(json_q "$HK_OUT" 'all(isinstance(t["slot"], int) for t in j)')" true
done

# The module from HSMKEY_PKCS11_MODULE (no --module).
HSMKEY_PKCS11_MODULE=$TOKEN_MODULE "$HSMKEY" tokens >"$T/out/env.out" </dev/null
assert_file_match " $TOKEN_LABEL " "$T/out/env.out"
say "ok: module from HSMKEY_PKCS11_MODULE"

# Usage errors.
hk_exit 2 "tokens: unexpected argument 'extra'" tokens extra
hk_exit 2 "tokens: unknown option --all" tokens --all
rc=0
"$HSMKEY" --module "$T/no-such-module.so" tokens >"$T/out/nomod.out" \
    2>"$T/out/nomod.err" </dev/null || rc=$?
assert_eq "$rc" 3 "missing module: exit code"
assert_file_match "^hsmkey: cannot load PKCS#11 module $T/no-such-module.so" "$T/out/nomod.err"
rc=0
"$HSMKEY" --module /etc/passwd tokens >"$T/out/badmod.out" \
    2>"$T/out/badmod.err" </dev/null || rc=$?
assert_eq "$rc" 3 "a file that is no module: exit code"
assert_file_match "^hsmkey: cannot load PKCS#11 module /etc/passwd" "$T/out/badmod.err"
say "ok: module errors exit 3"
