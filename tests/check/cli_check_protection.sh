#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check_protection.sh -- key-protection of `hsmkey check`: a key made
# extractable on the token, and a software key written to the token, are
# flagged; keys made never-extractable pass.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

# pkcs11-tool without hsmkey.so: under the asan setup an instrumented
# provider cannot be loaded into an uninstrumented program.
p11() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" "$@" \
        >>"$T/secret/p11.log" 2>&1 ||
        die "pkcs11-tool $* failed: $(tail -5 "$T/secret/p11.log")"
}

ca_make root

say "a key pair generated extractable on the token: WARN"
p11 --keypairgen --key-type rsa:2048 --id 21 --label exportable \
    --extractable --usage-sign
csr_for exportable "$T/exp.csr"
issue root "$T/exp.csr" "$T/exp.pem"
hk 0 check --cert "$T/exp.pem" --ca "$T/root.pem" --key "$(uri exportable)"
item WARN key-protection "CKA_EXTRACTABLE is true: the private key can be exported"
item PASS key-match
item PASS key-proof

say "a software key written to the token as is: flagged"
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/soft.pem" 2>/dev/null
ossl_sw pkey -in "$T/secret/soft.pem" -outform DER -out "$T/secret/soft.der"
ossl_sw pkey -in "$T/secret/soft.pem" -pubout -outform DER \
    -out "$T/secret/soft.pub.der"
p11 --write-object "$T/secret/soft.der" --type privkey --id 22 \
    --label written --usage-sign
p11 --write-object "$T/secret/soft.pub.der" --type pubkey --id 22 \
    --label written
csr_for written "$T/w.csr"
ISSUE_KU=digitalSignature issue root "$T/w.csr" "$T/w.pem"
hk 0 check --cert "$T/w.pem" --ca "$T/root.pem" --key "$(uri written)"
item PASS key-match
# pkcs11-tool leaves it sensitive and not extractable, but it lived off the
# token before: PASS with that said (a WARN would be as right).
grep -aqE '^(WARN key-protection: CKA_|PASS key-protection: .*imported)' \
    "$HK_OUT" || die "written key not flagged: $(cat "$HK_OUT")"

say "keys made on the token by mktoken: sensitive, never extractable"
csr_for ec384-key "$T/ec384.csr"
ISSUE_KU=digitalSignature issue root "$T/ec384.csr" "$T/ec384.pem"
hk 0 check --cert "$T/ec384.pem" --ca "$T/root.pem" --key "$(uri ec384-key)"
item PASS key-protection "^PASS key-protection: sensitive and not extractable: the private key cannot leave the token$"
item PASS key-match "EC P-384"

say "--json says ok with a WARN"
hk 0 --json check --cert "$T/exp.pem" --ca "$T/root.pem" \
    --key "$(uri exportable)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True and d["items"][-1]["item"] == "key-protection" and d["items"][-1]["status"] == "WARN", d' \
    "$HK_OUT" || die "JSON: $(cat "$HK_OUT")"
