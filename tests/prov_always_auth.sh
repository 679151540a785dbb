#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_always_auth.sh -- a key marked CKA_ALWAYS_AUTHENTICATE (PIV and
# YubiKey signature slots): every signature needs the PIN again
# (C_Login CKU_CONTEXT_SPECIFIC after C_SignInit); the provider gives it
# from the pin source the token was logged in with.  Verified by the default
# provider alone.
. "$(dirname "$0")/lib.sh"

say "an EC P-256 key with CKA_ALWAYS_AUTHENTICATE"
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
    --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" --keypairgen \
    --key-type EC:prime256v1 --id 0a --label aa-key --always-auth \
    >"$T/out/keygen.log" 2>&1 || die "pkcs11-tool: $(cat "$T/out/keygen.log")"
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
    --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" --list-objects \
    --type privkey --id 0a 2>/dev/null >"$T/out/attrs"
assert_file_match 'always authenticate' "$T/out/attrs" \
    "the token did not mark the key CKA_ALWAYS_AUTHENTICATE"
token_pub 0a "$T/aa.pub"

head -c 1000 /dev/urandom >"$T/data"
for n in 1 2 3; do # each signature authenticates anew
    ossl dgst -sha256 -sign "$(uri aa-key)" -out "$T/sig.$n" "$T/data"
    ossl_sw dgst -sha256 -verify "$T/aa.pub" -signature "$T/sig.$n" \
        "$T/data" >"$T/out/verify.$n"
    assert_file_match '^Verified OK$' "$T/out/verify.$n" "signature $n"
done
say "ok: 3 signatures, each after a context-specific login"
