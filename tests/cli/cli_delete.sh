#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey delete: the private key, its public key and the certificates with
# its id go, after they are shown and the deletion confirmed (--yes, or
# "y" on a terminal); a URI that matches several keys, or none, or names no
# object, deletes nothing.  What is left is checked with pkcs11-tool.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# objects_with ID: how many objects pkcs11-tool lists with that CKA_ID.
objects_with() {
    p11_login --list-objects 2>/dev/null | grep -c "ID: *$1\$" || true
}

assert_eq "$(objects_with 01)" 3 "rsa-key, its public key and rsa-cert"
total=$(p11_login --list-objects 2>/dev/null | grep -c "Object;")

say "a URI that matches several private keys is refused, nothing deleted"
# pkcs11-tool, unlike hsmkey keygen, lets two pairs share a label.
for id in d1 d2; do
    p11_login --keypairgen --key-type EC:prime256v1 --label dup --id "$id" \
        >/dev/null 2>&1 || die "pkcs11-tool cannot make key pair $id"
done
hk_exit 3 "matches 2 private keys|2 private keys match" \
    delete --key "pkcs11:token=$TOKEN_LABEL;object=dup;type=private" --yes \
    "${PIN_OPT[@]}"
assert_file_match "add object= or id=" "$HK_ERR"
assert_eq "$(objects_with d1)" 2 "pair d1 after a refused delete"
assert_eq "$(objects_with d2)" 2 "pair d2 after a refused delete"
hk_exit 2 "delete: pkcs11:token=$TOKEN_LABEL names no object: add object=LABEL or id=" \
    delete --key "pkcs11:token=$TOKEN_LABEL" --yes "${PIN_OPT[@]}"
hk_exit 3 "no private key matches" \
    delete --key "pkcs11:token=$TOKEN_LABEL;object=nope;type=private" --yes \
    "${PIN_OPT[@]}"

say "shown first; without a terminal nothing goes unless --yes"
KEY="pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=private"
hk_exit 2 "delete: nothing done: confirm on a terminal, or add --yes" \
    delete --key "$KEY" "${PIN_OPT[@]}"
assert_file_match "^to be deleted from token '$TOKEN_LABEL':\$" "$HK_ERR"
assert_file_match "^  private key: token '$TOKEN_LABEL', object 'rsa-key' \(id 01\), rsa 2048\$" "$HK_ERR"
assert_file_match "^  public key: token '$TOKEN_LABEL', object 'rsa-key' \(id 01\), rsa 2048\$" "$HK_ERR"
assert_file_match "^  certificate: token '$TOKEN_LABEL', object 'rsa-cert' \(id 01\), rsa 2048, subject 'CN=rsa-key.$TOKEN_LABEL', valid until [0-9]{4}-[0-9]{2}-[0-9]{2}\$" "$HK_ERR"
assert_eq "$(objects_with 01)" 3 "objects after an unconfirmed delete"

say "on a terminal: 'n' keeps them, 'y' deletes them"
printf '%s\nn\n' "$TOKEN_PIN" >"$T/secret/answer.no"
python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" "$T/secret/answer.no" "$HSMKEY" \
    --module "$TOKEN_MODULE" delete --key "$KEY" >"$T/out/pty.no" 2>&1 &&
    die "a 'n' answer deleted"
assert_file_match "Delete these 3 objects\? They cannot be recovered\. \[y/N\]" "$T/out/pty.no"
assert_file_match "delete: not confirmed: nothing done" "$T/out/pty.no"
assert_eq "$(objects_with 01)" 3 "objects after 'n'"
printf '%s\ny\n' "$TOKEN_PIN" >"$T/secret/answer.yes"
python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" "$T/secret/answer.yes" "$HSMKEY" \
    --module "$TOKEN_MODULE" delete --key "$KEY" >"$T/out/pty.yes" 2>&1 ||
    die "delete after 'y' failed: $(cat "$T/out/pty.yes")"
assert_file_match "deleted 3 of 3 objects from token '$TOKEN_LABEL'" "$T/out/pty.yes"
assert_eq "$(objects_with 01)" 0 "objects with id 01 after 'y'"
assert_eq "$(p11_login --list-objects 2>/dev/null | grep -c "Object;")" \
    $((total + 4 - 3)) "objects of other keys deleted too"
say "ok: the pair and its certificate gone, nothing else"

say "--yes, a key-reference file, --json"
hk_ok keyref --key "pkcs11:token=$TOKEN_LABEL;id=%d1;type=private" --out "$T/d1.ref"
hk_ok --json delete --key "$T/d1.ref" --yes "${PIN_OPT[@]}"
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'j')" \
    '[{"label": "dup", "class": "private", "id": "d1"}, {"label": "dup", "class": "public", "id": "d1"}]'
assert_eq "$(objects_with d1)" 0 "pair d1 after delete --yes"
assert_eq "$(objects_with d2)" 2 "pair d2 untouched"
# The provider no longer finds it: a server with that reference fails.
should_fail "d1|no private key|not found|matches" ossl pkey -in "$T/d1.ref" -pubout
say "ok: deleted by reference file"
