#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_check.sh -- `hsmkey check` on node certificates for token keys: a good
# one, one for another key, EKU, dates, --host, --json, and the details a
# person acts on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

ca_make root
ca_make other
csr_for rsa-key "$T/rsa.csr"
csr_for rsa-other "$T/other.csr"
KEY=$(uri rsa-key)

say "a good node certificate: all PASS, exit 0"
issue root "$T/rsa.csr" "$T/good.pem"
hk 0 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY" \
    --host node1.example.com
item PASS cert "subject 'CN=node1.example.com, O=tests'"
item PASS chain "verified to root 'O=hsmkey tests, CN=root' of --ca"
item PASS key-match "RSA 2048 key is the token key's \(modulus and exponent\)"
item PASS key-proof "token signed a fresh 32-byte challenge"
item PASS eku "serverAuth and clientAuth"
item PASS key-usage "digitalSignature, keyEncipherment"
item PASS validity "days left"
item PASS host "matches SAN DNS:node1.example.com"
item PASS key-protection "sensitive and not extractable"
assert_eq "$(wc -l <"$HK_OUT")" 9 "one line per item"
assert_eq "$(cut -d' ' -f2 "$HK_OUT" | tr -d : | tr '\n' ' ')" \
    "cert chain key-match key-proof eku key-usage validity host key-protection " \
    "items in their documented order (CONTRIBUTING.md, \"The contract\")"
[ ! -s "$HK_ERR" ] || die "stderr not empty: $(cat "$HK_ERR")"

say "without --host there is no host item"
hk 0 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY"
no_item host

say "the same with a key-reference file and with EC"
hk 0 keyref --key "$KEY" --out "$T/rsa-ref.pem"
hk 0 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$T/rsa-ref.pem"
item PASS key-match
csr_for ec-key "$T/ec.csr"
ISSUE_KU=digitalSignature issue root "$T/ec.csr" "$T/ec.pem"
hk 0 check --cert "$T/ec.pem" --ca "$T/root.pem" --key "$(uri ec-key)"
item PASS key-match "EC P-256 key is the token key's \(curve and point\)"
item PASS key-proof "ECDSA with SHA-256"
item PASS key-usage "^PASS key-usage: digitalSignature$"

say "an RSA node certificate without keyEncipherment: WARN naming the profile"
ISSUE_KU=digitalSignature issue root "$T/rsa.csr" "$T/rsa-ds.pem"
hk 0 check --cert "$T/rsa-ds.pem" --ca "$T/root.pem" --key "$KEY"
item WARN key-usage "keyEncipherment missing on an RSA key: the cluster's node certificate profile is digitalSignature and keyEncipherment for RSA .*hsmkey csr"

say "a certificate for another key: key-match FAIL, exit 1"
issue root "$T/other.csr" "$T/for-other.pem"
hk 1 check --cert "$T/for-other.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL key-match "the certificate's modulus differs from the token key's: this certificate was issued for another key"
item FAIL key-proof "does not verify with the certificate's key"
item PASS chain
hk 1 check --cert "$T/ec.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL key-match "holds an EC P-256 key but the token key is RSA 2048"

say "EKU: clientAuth or serverAuth missing, or none at all"
issue root "$T/rsa.csr" "$T/server-only.pem" serverAuth
hk 1 check --cert "$T/server-only.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL eku "clientAuth missing: this node can accept but not open cluster connections"
issue root "$T/rsa.csr" "$T/client-only.pem" clientAuth
hk 1 check --cert "$T/client-only.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL eku "serverAuth missing: this node can open but not accept"
issue root "$T/rsa.csr" "$T/no-eku.pem" -
hk 0 check --cert "$T/no-eku.pem" --ca "$T/root.pem" --key "$KEY"
item WARN eku "no Extended Key Usage extension"

say "wrong CA: chain FAIL naming the issuer, the certificates listed"
hk 1 check --cert "$T/good.pem" --ca "$T/other.pem" --key "$KEY"
item FAIL chain "the node certificate's issuer 'O=hsmkey tests, CN=root', AKI [0-9A-F:]{59} is in neither file, and --ca holds only the root 'O=hsmkey tests, CN=other': .* otherwise the certificate is from another CA than --ca"
item PASS key-match
# Under the FAIL, what each file holds, with its key identifiers.
assert_file_match "^  --cert #1: leaf, subject 'CN=node1.example.com, O=tests', issuer 'O=hsmkey tests, CN=root', SKI [0-9A-F:]{59}, AKI [0-9A-F:]{59}\$" "$HK_OUT"
assert_file_match "^  --ca #1: root, subject 'O=hsmkey tests, CN=other', issuer 'O=hsmkey tests, CN=other', SKI " "$HK_OUT"
assert_eq "$(grep -c '^[A-Z]* [a-z-]*: ' "$HK_OUT")" 8 "one line per item"

say "expired: validity FAIL, the chain is not blamed for it"
issue root "$T/rsa.csr" "$T/expired.pem" "" "-60 days" "-2 days"
hk 1 check --cert "$T/expired.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL validity "expired on [0-9]{4}-[0-9]{2}-[0-9]{2} .* \(2 days ago\): renew"
item PASS chain
say "not yet valid"
issue root "$T/rsa.csr" "$T/future.pem" "" "+3 days" "+1 year"
hk 1 check --cert "$T/future.pem" --ca "$T/root.pem" --key "$KEY"
item FAIL validity "not valid before .* \(in [23] days\)"

say "expiring inside --warn-days: WARN, exit 0"
issue root "$T/rsa.csr" "$T/soon.pem" "" "-1 day" "+10 days"
hk 0 check --cert "$T/soon.pem" --ca "$T/root.pem" --key "$KEY"
item WARN validity "in (9|10) days \(inside --warn-days 30\)"
hk 0 check --cert "$T/soon.pem" --ca "$T/root.pem" --key "$KEY" --warn-days 5
item PASS validity
hk 0 check --cert "$T/soon.pem" --ca "$T/root.pem" --key "$KEY" --warn-days=60
item WARN validity "inside --warn-days 60"

say "--host mismatch: FAIL naming the names and the --san to add; IP match"
hk 1 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY" \
    --host node2.example.com
item FAIL host "'node2.example.com' matches none of the certificate's names: SAN DNS:node1.example.com, IP Address:127.0.0.1"
item FAIL host "reissue with --san DNS:node2.example.com or"
hk 1 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY" \
    --host 10.0.0.9
item FAIL host "'10.0.0.9' matches none .* reissue with --san IP:10.0.0.9 or connect by a listed name"
hk 0 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY" \
    --host 127.0.0.1
item PASS host "127.0.0.1 matches an IP address"

say "--json carries the same items in the same order"
hk 1 check --cert "$T/for-other.pem" --ca "$T/root.pem" --key "$KEY" \
    --host node1.example.com
cp "$HK_OUT" "$T/text.out"
hk 1 --json check --cert "$T/for-other.pem" --ca "$T/root.pem" \
    --key "$KEY" --host node1.example.com
python3 - "$HK_OUT" "$T/text.out" <<'EOF' || die "JSON differs from the text"
import json, sys
doc = json.load(open(sys.argv[1]))
assert set(doc) == {"ok", "items"}, doc.keys()
assert doc["ok"] is False
text = [l.rstrip("\n") for l in open(sys.argv[2])]
got = ["%s %s: %s" % (i["status"], i["item"], i["detail"]) for i in doc["items"]]
for i in doc["items"]:
    assert {"item", "status", "detail"} <= set(i), i
# key-proof signs a fresh challenge each time; the lines are otherwise equal
assert got == text, (got, text)
EOF
hk 0 check --cert "$T/good.pem" --ca "$T/root.pem" --key "$KEY" --json \
    --host node1.example.com
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True and len(d["items"]) == 9 and all(i["status"] == "PASS" for i in d["items"]), d' \
    "$HK_OUT" || die "good certificate: JSON not ok"

say "--json: structured fields a monitor reads instead of the text"
# The certificate's own view, by openssl, to compare with.
enddate=$(ossl_sw x509 -in "$T/good.pem" -noout -enddate | sed 's/^notAfter=//')
ossl_sw x509 -in "$T/good.pem" -noout -ext subjectKeyIdentifier |
    sed -n 's/^ *\([0-9A-F:]*\)$/\1/p' >"$T/out/ski"
ossl_sw x509 -in "$T/root.pem" -noout -ext subjectKeyIdentifier |
    sed -n 's/^ *\([0-9A-F:]*\)$/\1/p' >"$T/out/root.ski"
python3 - "$HK_OUT" "$(date -u -d "$enddate" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(cat "$T/out/ski")" "$(cat "$T/out/root.ski")" <<'EOF' ||
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
items = {i["item"]: i for i in doc["items"]}
cert, validity, chain, host = (items[k] for k in ("cert", "validity", "chain", "host"))
assert cert["subject"] == "CN=node1.example.com, O=tests", cert
assert cert["issuer"] == "O=hsmkey tests, CN=root", cert
assert cert["san"] == ["DNS:node1.example.com", "IP:127.0.0.1"], cert["san"]
assert cert["not_after"] == sys.argv[2], (cert["not_after"], sys.argv[2])
assert cert["ski"] == sys.argv[3], cert["ski"]
assert cert["aki"] == sys.argv[4], cert["aki"]
end = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ")
# Whole seconds, as the check counts; a day boundary may fall between the
# check's second and this one (a certificate made this very second).
now = datetime.datetime.utcnow().replace(microsecond=0)
left = (end - now).total_seconds() // 86400
assert isinstance(cert["days_left"], int) and cert["days_left"] in (left, left + 1), (cert["days_left"], left)
assert validity["days_left"] == cert["days_left"] and validity["not_after"] == cert["not_after"]
assert validity["not_before"] < validity["not_after"]
assert [c["subject"] for c in chain["chain"]] == ["CN=node1.example.com, O=tests", "O=hsmkey tests, CN=root"], chain
assert chain["chain"][0]["aki"] == chain["chain"][1]["ski"] == sys.argv[4], chain
assert [(c["file"], c["index"], c["role"]) for c in chain["certificates"]] == [("--cert", 1, "leaf"), ("--ca", 1, "root")], chain
assert host["host"] == "node1.example.com" and host["san"] == cert["san"], host
for k in ("key-match", "key-proof", "eku", "key-usage", "key-protection"):
    assert set(items[k]) == {"item", "status", "detail"}, items[k]
EOF
    die "JSON fields: $(cat "$HK_OUT")"
# An expired certificate: days_left counts down below zero; a chain that
# does not verify is null.
hk 1 --json check --cert "$T/expired.pem" --ca "$T/other.pem" --key "$KEY"
python3 - "$HK_OUT" <<'EOF' || die "JSON of an expired certificate: $(cat "$HK_OUT")"
import json, sys, datetime
d = {i["item"]: i for i in json.load(open(sys.argv[1]))["items"]}
end = datetime.datetime.strptime(d["validity"]["not_after"], "%Y-%m-%dT%H:%M:%SZ")
# Whole days, rounded down: "2 days and a few seconds ago" is -3.
left = (end - datetime.datetime.utcnow()).total_seconds() // 86400
assert d["validity"]["days_left"] == left == -3, (d["validity"], left)
assert d["chain"]["chain"] is None and d["chain"]["status"] == "FAIL", d
EOF

say "--help has examples"
hk 0 check --help
assert_file_match '^Examples:' "$HK_OUT"
assert_file_match 'key-protection' "$HK_OUT"
