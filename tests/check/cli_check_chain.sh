#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check_chain.sh -- `hsmkey check` with a chain through an intermediate
# CA, and each way a chain goes wrong named in one FAIL line with its fix:
# the intermediate missing (a root-only CA file), an intermediate of the
# same name with another key, a second certificate in --cert that issued
# nothing, a certificate from a second issuing CA, --cert and --ca swapped,
# the chain file in reverse order, a re-made CA of the same name.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

ca_make root
ca_make inter root
ca_make inter2 root
csr_for ec-key "$T/ec.csr"
KEY=$(uri ec-key)
ISSUE_KU=digitalSignature issue inter "$T/ec.csr" "$T/leaf.pem"
ISSUE_KU=digitalSignature issue root "$T/ec.csr" "$T/direct.pem"
ISSUE_KU=digitalSignature issue inter2 "$T/ec.csr" "$T/leaf2.pem"
ossl_sw verify -CAfile "$T/root.pem" -untrusted "$T/inter.pem" \
    "$T/leaf.pem" >/dev/null || die "fixture chain does not verify"

# An intermediate named exactly like inter, under the same root, with
# another key: what a CA re-made by hand (or another team's) looks like.
ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/secret/twin.key" -subj "/O=hsmkey tests/CN=inter" \
    -out "$T/twin.csr" 2>/dev/null
_ca_sign root "$T/twin.csr" "$T/twin.pem" v3_ca "$T/ca.root/ca.cnf" -days 365
[ "$(ossl_sw x509 -in "$T/twin.pem" -noout -subject)" = \
  "$(ossl_sw x509 -in "$T/inter.pem" -noout -subject)" ] ||
    die "the twin intermediate's name differs"

keyid() { # CERT EXT: the key identifier openssl shows
    ossl_sw x509 -in "$1" -noout -ext "$2" |
        sed -n 's/^ *\(keyid:\)\{0,1\}\([0-9A-F:]\{59\}\)$/\2/p'
}

# one_fail: exactly one FAIL line, the chain's (no cascade).
one_fail() {
    assert_eq "$(grep -c '^FAIL ' "$HK_OUT")" 1 "FAIL lines"
    item FAIL chain
}

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

say "root-only CA file, intermediate nowhere: the missing issuer named"
hk 1 check --cert "$T/leaf.pem" --ca "$T/root.pem" --key "$KEY"
one_fail
item FAIL chain "the node certificate's issuer 'CN=inter, O=hsmkey tests', AKI $(keyid "$T/leaf.pem" authorityKeyIdentifier) is in neither file, and --ca holds only the root 'O=hsmkey tests, CN=root': if 'CN=inter, O=hsmkey tests' is an intermediate CA under it, append its certificate to --cert after the node certificate"
assert_file_match "^  --cert #1: leaf, subject 'CN=node1.example.com, O=tests'" "$HK_OUT"
assert_file_match "^  --ca #1: root, subject 'O=hsmkey tests, CN=root'" "$HK_OUT"

say "an intermediate with the right name but another key: AKI against SKI"
cat "$T/leaf.pem" "$T/twin.pem" >"$T/twinchain.pem"
hk 1 check --cert "$T/twinchain.pem" --ca "$T/root.pem" --key "$KEY"
one_fail
item FAIL chain "the intermediate 'CN=inter, O=hsmkey tests' \(--cert #2\) has the name of the issuer of 'CN=node1.example.com, O=tests' but another key \(that certificate's AKI is $(keyid "$T/leaf.pem" authorityKeyIdentifier), this one's SKI is $(keyid "$T/twin.pem" subjectKeyIdentifier)\): it is another CA with the same name"
assert_file_match "^  --cert #2: intermediate, subject 'CN=inter, O=hsmkey tests', issuer 'O=hsmkey tests, CN=root', SKI $(keyid "$T/twin.pem" subjectKeyIdentifier)" "$HK_OUT"
cat "$T/root.pem" "$T/twin.pem" >"$T/twinbundle.pem"
hk 1 check --cert "$T/leaf.pem" --ca "$T/twinbundle.pem" --key "$KEY"
item FAIL chain "the intermediate 'CN=inter, O=hsmkey tests' \(--ca #2\) has the name of the issuer"

say "a second certificate in --cert that is not the leaf's issuer"
cat "$T/leaf.pem" "$T/inter2.pem" >"$T/wrong2nd.pem"
hk 1 check --cert "$T/wrong2nd.pem" --ca "$T/root.pem" --key "$KEY"
one_fail
item FAIL chain "--cert #2 \('CN=inter2, O=hsmkey tests'\) is not the issuer of the node certificate, which was issued by 'CN=inter, O=hsmkey tests', AKI [0-9A-F:]{59}: put that CA certificate after the node certificate instead"
say "... and where the chain verifies anyway, a WARN: it is sent for nothing"
cat "$T/leaf.pem" "$T/inter.pem" "$T/inter2.pem" >"$T/extra.pem"
hk 0 check --cert "$T/extra.pem" --ca "$T/root.pem" --key "$KEY"
item WARN chain "verified to root .*; but --cert #3 \('CN=inter2, O=hsmkey tests'\) is not part of the node's chain: servers send it to every peer; remove it"

say "a certificate from a second issuing CA"
hk 1 check --cert "$T/leaf2.pem" --ca "$T/bundle.pem" --key "$KEY"
one_fail
item FAIL chain "the node certificate was issued by 'CN=inter2, O=hsmkey tests', AKI $(keyid "$T/leaf2.pem" authorityKeyIdentifier), which is in neither file; --ca holds 'O=hsmkey tests, CN=root', 'CN=inter, O=hsmkey tests': a certificate from another issuing CA\?"

say "--cert and --ca swapped: one FAIL, the other items on the real leaf"
hk 1 check --cert "$T/root.pem" --ca "$T/direct.pem" --key "$KEY"
one_fail
item FAIL chain "--cert and --ca are swapped: --cert holds the CA certificate 'O=hsmkey tests, CN=root' \(root\) and --ca the node certificate 'CN=node1.example.com, O=tests': give the node's certificate file as --cert and the CA file as --ca; then the chain verified to root 'O=hsmkey tests, CN=root'"
item PASS cert "subject 'CN=node1.example.com, O=tests', issuer 'O=hsmkey tests, CN=root' \(the node certificate is #1 of --ca: see chain\)"
item PASS key-match
item PASS eku
item PASS key-usage
hk 1 check --cert "$T/bundle.pem" --ca "$T/fullchain.pem" --key "$KEY"
one_fail
item FAIL chain "swapped: .*; then the chain verified to root 'O=hsmkey tests, CN=root' of --ca through 'CN=inter, O=hsmkey tests'"
hk 1 --json check --cert "$T/root.pem" --ca "$T/direct.pem" --key "$KEY"
python3 - "$HK_OUT" <<'EOF' || die "JSON of swapped files: $(cat "$HK_OUT")"
import json, sys
d = {i["item"]: i for i in json.load(open(sys.argv[1]))["items"]}
assert [(c["file"], c["role"]) for c in d["chain"]["certificates"]] == [("--cert", "root"), ("--ca", "leaf")], d["chain"]
assert d["cert"]["subject"] == "CN=node1.example.com, O=tests", d["cert"]
assert [s for s, i in ((i["status"], k) for k, i in d.items()) if s == "FAIL"] == ["FAIL"]
EOF

say "the chain file in reverse order"
cat "$T/inter.pem" "$T/leaf.pem" >"$T/reversed.pem"
hk 1 check --cert "$T/reversed.pem" --ca "$T/root.pem" --key "$KEY"
one_fail
item FAIL chain "the node certificate 'CN=node1.example.com, O=tests' is #2 of 2 in --cert, after the CA certificate 'CN=inter, O=hsmkey tests': the file is in reverse order, .* put the node certificate first, then each issuer after the certificate it issued; then the chain verified"
item PASS key-match
item PASS cert "\(the node certificate is #2 of --cert: see chain\)"

say "only the intermediate in --ca: no root to verify to"
hk 1 check --cert "$T/leaf.pem" --ca "$T/inter.pem" --key "$KEY"
item FAIL chain "--ca holds no root \(self-signed\) certificate"

say "a re-made CA with the same name but another key"
mv "$T/root.pem" "$T/root-orig.pem"
mv "$T/secret/root.key" "$T/secret/root-orig.key"
make_ca root
hk 1 check --cert "$T/fullchain.pem" --ca "$T/root.pem" --key "$KEY"
one_fail
item FAIL chain "the root 'O=hsmkey tests, CN=root' \(--ca #1\) has the name of the issuer of 'CN=inter, O=hsmkey tests' but another key"

say "a DER certificate file"
ossl_sw x509 -in "$T/leaf.pem" -outform DER -out "$T/leaf.der"
hk 0 check --cert "$T/leaf.der" --ca "$T/bundle.pem" --key "$KEY"
item PASS cert "subject 'CN=node1.example.com, O=tests'"
