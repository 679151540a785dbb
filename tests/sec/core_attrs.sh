#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# core_attrs.sh -- the core never reads the value of a private key: a token
# hands the private scalar of a key that is not sensitive to whoever asks,
# and hsmkey would have kept it in memory with the key's other attributes.
# A certificate's CKA_VALUE (its DER) is still read.  (core_attrs.c)
. "$(dirname "$0")/../lib.sh"

say "a non-sensitive EC private key: its CKA_VALUE is not read"
rc=0
preloaded "$HSMKEY_SEC_BIN/core_attrs" "$TOKEN_MODULE" "$TOKEN_LABEL" \
    "$TOKEN_PIN_FILE" >"$T/out/attrs.out" 2>"$T/out/attrs.err" || rc=$?
_status_check "$rc" "$T/out/attrs.err" core_attrs
cat "$T/out/attrs.out" "$T/out/attrs.err"
assert_eq "$rc" 0 "core_attrs"
assert_file_match '^core_attrs: ok:' "$T/out/attrs.out"
