#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check_chain.sh -- `hsmkey check` with a chain through an intermediate
# CA: the intermediate in --ca or in the certificate file, missing, or only
# the intermediate trusted; a re-made CA of the same name.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

ca_make root
ca_make inter root
csr_for ec-key "$T/ec.csr"
KEY=$(uri ec-key)
ISSUE_KU=digitalSignature issue inter "$T/ec.csr" "$T/leaf.pem"
ossl_sw verify -CAfile "$T/root.pem" -untrusted "$T/inter.pem" \
    "$T/leaf.pem" >/dev/null || die "fixture chain does not verify"

say "intermediate in --ca"
cat "$T/root.pem" "$T/inter.pem" >"$T/bundle.pem"
hk 0 check --cert "$T/leaf.pem" --ca "$T/bundle.pem" --key "$KEY"
item PASS chain "verified to root 'O=hsmkey tests, CN=root' of --ca through 'CN=inter, O=hsmkey tests'"
cat "$T/inter.pem" "$T/root.pem" >"$T/bundle2.pem"
hk 0 check --cert "$T/leaf.pem" --ca "$T/bundle2.pem" --key "$KEY"
item PASS chain "through 'CN=inter, O=hsmkey tests'"

say "intermediate in the certificate file"
cat "$T/leaf.pem" "$T/inter.pem" >"$T/fullchain.pem"
hk 0 check --cert "$T/fullchain.pem" --ca "$T/root.pem" --key "$KEY"
item PASS cert "issuer 'CN=inter, O=hsmkey tests'; 1 more certificate in the file"
item PASS chain "through 'CN=inter, O=hsmkey tests'"
item PASS key-match

say "intermediate nowhere: FAIL naming the missing issuer"
hk 1 check --cert "$T/leaf.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL chain "unable to get local issuer certificate at 'CN=node1.example.com, O=tests' \(issuer 'CN=inter, O=hsmkey tests'\) — is the intermediate CA missing from --ca"
item PASS key-match

say "only the intermediate in --ca: no root to verify to"
hk 1 check --cert "$T/leaf.pem" --ca "$T/inter.pem" --key "$KEY"
item FAIL chain "--ca holds no root \(self-signed\) certificate"

say "a re-made CA with the same name but another key"
mv "$T/root.pem" "$T/root-orig.pem"
mv "$T/secret/root.key" "$T/secret/root-orig.key"
make_ca root
hk 1 check --cert "$T/fullchain.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL chain "wrong CA"

say "a DER certificate file"
ossl_sw x509 -in "$T/leaf.pem" -outform DER -out "$T/leaf.der"
hk 0 check --cert "$T/leaf.der" --ca "$T/bundle.pem" --key "$KEY"
item PASS cert "subject 'CN=node1.example.com, O=tests'"
