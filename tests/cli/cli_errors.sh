#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The CLI as a whole: --help and --version, global options before and after
# the command, usage errors (2) and token errors (3) with a message naming
# the culprit, and key loading through the provider (tool_load_key) by URI
# and by key-reference file.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

commands=$("$HSMKEY" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ && on { exit }')
for cmd in tokens keys keygen import keyref config; do
    grep -qx "$cmd" <<<"$commands" || die "hsmkey --help does not list $cmd"
done
for cmd in $commands; do
    hk_ok "$cmd" --help
    assert_file_match "^usage: hsmkey $cmd" "$HK_OUT"
    assert_file_match "^Examples:" "$HK_OUT"
    assert_file_match "^Exit codes: 0 success" "$HK_OUT"
    hk_ok --help "$cmd"
    assert_file_match "^usage: hsmkey $cmd" "$HK_OUT"
done
say "ok: --help of: $(echo $commands)"
hk_ok --version
assert_file_match "^hsmkey [0-9]+\.[0-9]+" "$HK_OUT"

# Usage errors: exit 2, "hsmkey: <message>".
_hk
assert_eq "$HK_RC" 2 "no command"
assert_file_match "^usage: hsmkey" "$HK_ERR"
hk_exit 2 "^hsmkey: unknown command 'frobnicate'" frobnicate
hk_exit 2 "^hsmkey: unknown option '--frobnicate'" --frobnicate tokens
hk_exit 2 "^hsmkey: keys: unknown option --frobnicate" keys --frobnicate
hk_exit 2 "^hsmkey: --pin-source needs a value" keys --token x --pin-source
hk_exit 2 "--pin-source is given twice" --pin-source env:A keys \
    --pin-source env:B
hk_exit 2 "pin-source \"env:\" names no variable" --pin-source env: tokens

# Global options after the command, --json before it.
hk_ok keys --token "$TOKEN_LABEL" "${PIN_OPT[@]}"
assert_eq "$(grep -c ' private ' "$HK_OUT")" 5
hk_ok --json keys "${PIN_OPT[@]}" --token "$TOKEN_LABEL"
json_ok "$HK_OUT"

# Token errors: exit 3.
hk_exit 3 "no token labelled 'absent'" keys --token absent
rc=0
"$HSMKEY" --module "$T/none.so" keys --token "$TOKEN_LABEL" \
    >"$T/out/nomod.out" 2>"$T/out/nomod.err" </dev/null || rc=$?
assert_eq "$rc" 3 "missing module"
assert_file_match "^hsmkey: cannot load PKCS#11 module $T/none.so" "$T/out/nomod.err"

# Key loading through the provider, where the command exists.
if grep -qx csr <<<"$commands"; then
    ok_uri="pkcs11:token=$TOKEN_LABEL;object=ec-key;type=private"
    hk_ok keyref --key "$ok_uri" --out "$T/ec.ref"
    for key in "$ok_uri" "$T/ec.ref"; do
        hk_ok csr --key "$key" --subject /CN=errors.example --out "$T/r.csr" \
            "${PIN_OPT[@]}"
    done
    hk_exit 3 "no private key matches pkcs11:token=$TOKEN_LABEL;object=absent" \
        csr --key "pkcs11:token=$TOKEN_LABEL;object=absent;type=private" \
        --subject /CN=x --out "$T/x.csr" "${PIN_OPT[@]}"
    hk_exit 3 "no token matches pkcs11:token=absent" \
        csr --key "pkcs11:token=absent;object=ec-key;type=private" \
        --subject /CN=x --out "$T/x.csr" "${PIN_OPT[@]}"
    hk_exit 2 "unknown path attribute 'label'" \
        csr --key "pkcs11:token=$TOKEN_LABEL;label=ec-key" --subject /CN=x \
        --out "$T/x.csr" "${PIN_OPT[@]}"
    hk_exit 2 "--key $T/none.ref: No such file" csr --key "$T/none.ref" \
        --subject /CN=x --out "$T/x.csr" "${PIN_OPT[@]}"
    printf 'wrong\n' >"$T/secret/wrong.pin"
    hk_exit 3 "CKR_PIN_INCORRECT" csr --key "$T/ec.ref" --subject /CN=x \
        --out "$T/x.csr" --pin-source "file:$T/secret/wrong.pin"
    hk_exit 3 "needs a PIN" csr --key "$T/ec.ref" --subject /CN=x \
        --out "$T/x.csr"
    [ ! -e "$T/x.csr" ] || die "a failed csr left $T/x.csr"
fi
