#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check_errors.sh -- exit codes of `hsmkey check`: 2 for bad arguments
# and unreadable or malformed files, 3 when the token key cannot be reached
# (the file-only items still printed); the PIN never in any output.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

ca_make root
csr_for rsa-key "$T/rsa.csr"
issue root "$T/rsa.csr" "$T/good.pem"
KEY=$(uri rsa-key)
printf 'not a certificate\n' >"$T/junk.pem"
GOOD=(--cert "$T/good.pem" --ca "$T/root.pem")

# fails RC RE ARGS...: hsmkey exits RC and says RE on stderr
fails() {
    local rc=$1 re=$2
    shift 2
    hk "$rc" "$@"
    assert_file_match "^hsmkey: .*$re" "$HK_ERR"
}

say "exit 2: unreadable or malformed --cert / --ca"
fails 2 "--cert $T/missing.pem: cannot read it: No such file" \
    check --cert "$T/missing.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL cert "missing.pem: cannot read it"
fails 2 "junk.pem: no certificate in it" \
    check --cert "$T/junk.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL cert "junk.pem: no certificate in it \(PEM or DER\)"
fails 2 "--ca $T/junk.pem: no certificate" \
    check --cert "$T/good.pem" --ca "$T/junk.pem" --key "$KEY"
item PASS cert
item FAIL chain "--ca .*junk.pem: no certificate in it"
no_item key-match
hk 2 --json check --cert "$T/junk.pem" --ca "$T/root.pem" --key "$KEY"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and [i["item"] for i in d["items"]] == ["cert"], d' \
    "$HK_OUT" || die "JSON for a bad cert: $(cat "$HK_OUT")"

say "exit 2: bad --key, bad options"
fails 2 "objekt" check "${GOOD[@]}" \
    --key "pkcs11:token=$TOKEN_LABEL;objekt=rsa-key"
[ ! -s "$HK_OUT" ] || die "a bad URI printed items"
fails 2 "nope.pem" check "${GOOD[@]}" --key "$T/nope.pem"
# Not the real PIN: this script's own log shows the arguments.
fails 2 "pin-value" check "${GOOD[@]}" --key "$KEY?pin-value=8642-uri-pin"
assert_file_nomatch "8642-uri-pin" "$HK_ERR" "the URI's PIN is echoed"
[ ! -s "$HK_OUT" ] || die "a URI with a PIN printed items"
fails 2 "--warn-days 'soon'" check "${GOOD[@]}" --key "$KEY" --warn-days soon
fails 2 "--warn-days '-1'" check "${GOOD[@]}" --key "$KEY" --warn-days=-1
fails 2 "--cert is required" check --ca "$T/root.pem" --key "$KEY"
fails 2 "--bogus" check "${GOOD[@]}" --key "$KEY" --bogus
fails 2 "--host is empty" check "${GOOD[@]}" --key "$KEY" --host ""

say "exit 3: no such key; the file items are still printed"
fails 3 "no private key matches" check "${GOOD[@]}" \
    --key "pkcs11:token=$TOKEN_LABEL;object=nope;type=private"
item PASS cert
item PASS chain
item PASS eku
item PASS validity
item FAIL key-match "the token key cannot be reached: no private key matches"
item FAIL key-proof "cannot be reached"
item FAIL key-protection "cannot be reached"
hk 3 --json check "${GOOD[@]}" --key "pkcs11:token=nosuchtoken;object=x"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and len(d["items"]) == 8, d' \
    "$HK_OUT" || die "JSON without a key: $(cat "$HK_OUT")"

say "exit 3: module missing, PIN wrong"
fails 3 "/nonexistent/libp11.so" --module /nonexistent/libp11.so \
    check "${GOOD[@]}" --key "$KEY"
WRONG=31337-wrong-test-pin
printf '%s\n' "$WRONG" >"$T/secret/wrong.pin"
fails 3 "CKR_PIN_INCORRECT" check "${GOOD[@]}" --key "$KEY" \
    --pin-source "file:$T/secret/wrong.pin"
item FAIL key-proof "cannot be reached"
if grep -rqaF -- "$WRONG" "$T/out"; then
    die "the wrong PIN appears in the output"
fi

say "the right PIN still works after that (nothing locked)"
hk 0 check "${GOOD[@]}" --key "$KEY"
