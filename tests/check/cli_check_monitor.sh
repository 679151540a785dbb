#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check_monitor.sh -- `hsmkey check` as a monitoring agent runs it:
# --no-login checks everything that needs no PIN (key-match against the
# token's public key or certificate object) and never calls C_Login,
# counted by the call-counting shim; --json carries fields a monitor
# reads, and errors come as JSON too, usage errors included.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

SHIM=${HSMKEY_SHIM:-$HSMKEY_BUILD/tests/p11shim/hsmkey-p11shim.so}
[ -s "$SHIM" ] || die "the call-counting shim $SHIM is not built"
export HSMKEY_SHIM_MODULE=$TOKEN_MODULE

ca_make root
csr_for ec-key "$T/ec.csr"
csr_for rsa-other "$T/other.csr"
ISSUE_KU=digitalSignature issue root "$T/ec.csr" "$T/ec.pem"
issue root "$T/other.csr" "$T/other.pem"
GOOD=(--cert "$T/ec.pem" --ca "$T/root.pem")

# counted RC ARGS...: hsmkey through the shim; its calls in $COUNTS.
_RUN=0
counted() {
    local rc=$1
    shift
    _RUN=$((_RUN + 1))
    COUNTS=$T/out/counts.$_RUN
    HSMKEY_PKCS11_MODULE=$SHIM HSMKEY_SHIM_COUNTS=$COUNTS hk "$rc" "$@"
    [ -s "$COUNTS" ] || die "the shim wrote no counts: was the token asked?"
}
# p11_delete ARGS...: pkcs11-tool removes objects (outside hsmkey).
p11_delete() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" \
        --delete-object "$@" >"$T/out/p11.delete" 2>&1 ||
        die "pkcs11-tool --delete-object $*: $(cat "$T/out/p11.delete")"
}
calls() {
    awk -v f="$1" '$1 == f { print $2 }' "$COUNTS"
}

say "the contrast: a full check logs in (the counter works)"
counted 0 check "${GOOD[@]}" --key "$(uri ec-key)"
[ "$(calls C_Login)" -ge 1 ] || die "a full check counted no C_Login"
item PASS key-proof

say "--no-login: key-match against the public key object, no C_Login"
counted 0 check "${GOOD[@]}" --key "$(uri ec-key)" --no-login
assert_eq "$(calls C_Login)" 0 "C_Login calls under --no-login"
[ "$(calls C_FindObjectsInit)" -ge 1 ] || die "the token was never searched"
item PASS cert
item PASS chain
item PASS key-match "the certificate's EC P-256 key is the token key's \(curve and point\) \(compared with the token's public key object, token '$TOKEN_LABEL', object 'ec-key' \(id 02\), without a login\)"
item PASS eku
item PASS validity
no_item key-proof
no_item key-protection

say "--no-login with a wrong PIN source: the PIN is never read nor tried"
printf '31337-not-the-pin\n' >"$T/secret/wrong.pin"
HSMKEY_PIN_SOURCE=file:$T/secret/wrong.pin counted 0 check "${GOOD[@]}" \
    --key "$(uri ec-key)" --no-login
assert_eq "$(calls C_Login)" 0 "C_Login with a wrong PIN source"

say "--no-login finds a certificate for another key"
counted 1 check --cert "$T/other.pem" --ca "$T/root.pem" \
    --key "$(uri ec-key)" --no-login
item FAIL key-match "holds an RSA 2048 key but the token key is EC P-256"
assert_eq "$(calls C_Login)" 0 "C_Login calls"

say "--no-login --json: the items run and the ones skipped"
counted 0 --json check "${GOOD[@]}" --key "$(uri ec-key)" --no-login
python3 - "$HK_OUT" <<'EOF' || die "--no-login JSON: $(cat "$HK_OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True, d
assert [i["item"] for i in d["items"]] == ["cert", "chain", "key-match", "eku", "key-usage", "validity"], d
assert d["skipped"] == ["key-proof", "key-protection"], d
assert isinstance(d["items"][0]["days_left"], int) and d["items"][0]["days_left"] >= 364
EOF

say "--no-login: the certificate object when there is no public key object"
p11_delete --type pubkey --id 01
csr_out=$T/rsa.csr
hk 0 csr --key "$(uri rsa-key)" --subject /CN=node1.example.com --out "$csr_out"
issue root "$csr_out" "$T/rsa.pem"
counted 0 check --cert "$T/rsa.pem" --ca "$T/root.pem" \
    --key "pkcs11:token=$TOKEN_LABEL;id=%01;type=private" --no-login
item PASS key-match "\(compared with the token's certificate object, token '$TOKEN_LABEL', object 'rsa-cert' \(id 01\), without a login\)"
assert_eq "$(calls C_Login)" 0 "C_Login calls"
say "--no-login: neither object: not checked, a WARN (the key is not blamed)"
p11_delete --type pubkey --label rsa-other
counted 0 check --cert "$T/other.pem" --ca "$T/root.pem" \
    --key "$(uri rsa-other)" --no-login
item WARN key-match "not checked: without a login the token shows no public key or certificate object for"
counted 3 check "${GOOD[@]}" --key "pkcs11:token=nosuchtoken;object=x" \
    --no-login
item FAIL key-match "the token key cannot be reached: no token matches"
no_item key-proof

say "errors as JSON under --json, usage errors included"
hk 2 --json check "${GOOD[@]}" --bogus
python3 - "$HK_OUT" <<'EOF' || die "usage error JSON: $(cat "$HK_OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"ok": False, "exit_code": 2, "errors": ["check: unknown option --bogus (see hsmkey check --help)"]}, d
EOF
assert_file_match "^hsmkey: check: unknown option --bogus" "$HK_ERR"
hk 2 --json check --ca "$T/root.pem" --key "$(uri ec-key)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["exit_code"] == 2 and "--cert is required" in d["errors"][0], d' \
    "$HK_OUT" || die "missing option JSON: $(cat "$HK_OUT")"
hk 2 --json nosuchcommand
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["exit_code"] == 2 and "unknown command" in d["errors"][0], d' \
    "$HK_OUT" || die "unknown command JSON: $(cat "$HK_OUT")"
printf 'junk\n' >"$T/junk.pem"
hk 2 --json check --cert "$T/junk.pem" --ca "$T/root.pem" --key "$(uri ec-key)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["items"][0]["status"] == "FAIL" and "no certificate in it" in d["errors"][0], d' \
    "$HK_OUT" || die "bad file JSON: $(cat "$HK_OUT")"
hk 3 --json check "${GOOD[@]}" --key "pkcs11:token=$TOKEN_LABEL;object=nope;type=private"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and "no private key matches" in d["errors"][0] and len(d["items"]) == 8, d' \
    "$HK_OUT" || die "unreachable key JSON: $(cat "$HK_OUT")"
