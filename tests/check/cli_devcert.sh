#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_devcert.sh -- `hsmkey devcert`: a dev CA made once in --ca-dir (key
# mode 0600), node certificates for token keys that openssl verifies against
# it, with serverAuth+clientAuth and the SAN asked for; `hsmkey check`
# passes them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/check_lib.sh"

CA=$T/devca

say "first run: the CA is created, the certificate verifies"
hk 0 devcert --ca-dir "$CA" --key "$(uri ec-key)" --cn node1.example.com \
    --san DNS:node1.example.com,IP:127.0.0.1 --out "$T/node1.pem"
assert_file_match '^ca_created: yes$' "$HK_OUT"
assert_file_match '^subject: CN=node1.example.com$' "$HK_OUT"
[ -s "$CA/ca.pem" ] && [ -s "$CA/ca.key" ] || die "no CA files in $CA"
assert_eq "$(stat -c %a "$CA/ca.key")" 600 "CA key mode"
assert_eq "$(stat -c %a "$CA")" 700 "CA dir mode"
ossl_sw verify -CAfile "$CA/ca.pem" "$T/node1.pem" >"$T/verify.out" 2>&1 ||
    die "openssl verify: $(cat "$T/verify.out")"
ossl_sw verify -CAfile "$CA/ca.pem" -purpose sslserver "$T/node1.pem" \
    >/dev/null 2>&1 || die "not valid for sslserver"
ossl_sw verify -CAfile "$CA/ca.pem" -purpose sslclient "$T/node1.pem" \
    >/dev/null 2>&1 || die "not valid for sslclient"
ossl_sw x509 -in "$T/node1.pem" -noout -text >"$T/node1.txt"
assert_file_match 'TLS Web Server Authentication, TLS Web Client Authentication' "$T/node1.txt"
assert_file_match 'DNS:node1.example.com, IP Address:127.0.0.1' "$T/node1.txt"
assert_file_match 'CA:FALSE' "$T/node1.txt"
ossl_sw x509 -in "$CA/ca.pem" -noout -text >"$T/ca.txt"
assert_file_match 'CA:TRUE' "$T/ca.txt"
assert_file_match 'NIST CURVE: P-256' "$T/ca.txt"

say "the certificate holds the token's public key"
token_pub 02 "$T/ec.pub.pem"
ossl_sw x509 -in "$T/node1.pem" -noout -pubkey >"$T/node1.pub.pem"
assert_same_file "$T/ec.pub.pem" "$T/node1.pub.pem" "certificate public key"

say "hsmkey check passes it"
hk 0 check --cert "$T/node1.pem" --ca "$CA/ca.pem" --key "$(uri ec-key)" \
    --host node1.example.com
assert_file_nomatch '^(WARN|FAIL) ' "$HK_OUT" "all PASS"

say "second run: the same CA, --days, default SAN, RSA, --json"
cp "$CA/ca.pem" "$T/ca-first.pem"
hk 0 --json devcert --ca-dir "$CA" --key "$(uri rsa-key)" --cn node2.example.com \
    --days 10 --out "$T/node2.pem"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ca_created"] is False and d["san"] == "DNS:node2.example.com" and d["subject"] == "CN=node2.example.com", d' \
    "$HK_OUT" || die "devcert --json: $(cat "$HK_OUT")"
assert_same_file "$T/ca-first.pem" "$CA/ca.pem" "the CA was replaced"
ossl_sw verify -CAfile "$CA/ca.pem" "$T/node2.pem" >/dev/null 2>&1 ||
    die "node2 does not verify"
end=$(ossl_sw x509 -in "$T/node2.pem" -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 9 ] && [ "$days" -le 10 ] || die "--days 10 gave $days days"
hk 0 check --cert "$T/node2.pem" --ca "$CA/ca.pem" --key "$(uri rsa-key)"
item WARN validity "inside --warn-days 30"
item PASS key-usage "digitalSignature, keyEncipherment"
hk 0 devcert --ca-dir "$CA" --key "$(uri rsa-key)" --cn 10.1.2.3 \
    --out "$T/ip.pem"
assert_file_match '^san: IP:10.1.2.3$' "$HK_OUT"

say "exit 2: a CA dir with only one of the files, bad --days, bad --san"
mkdir -m 0700 "$T/half"
cp "$CA/ca.pem" "$T/half/ca.pem"
hk 2 devcert --ca-dir "$T/half" --key "$(uri ec-key)" --cn x --out "$T/x.pem"
assert_file_match "^hsmkey: --ca-dir .*half has ca.pem but not ca.key" "$HK_ERR"
[ ! -e "$T/half/ca.key" ] || die "a key was made beside a foreign ca.pem"
hk 2 devcert --ca-dir "$CA" --key "$(uri ec-key)" --cn x --days 0 \
    --out "$T/x.pem"
assert_file_match "^hsmkey: devcert: --days '0'" "$HK_ERR"
hk 2 devcert --ca-dir "$CA" --key "$(uri ec-key)" --cn x --san DNS: \
    --out "$T/x.pem"
assert_file_match "^hsmkey: --san: 'DNS:' is not a valid DNS name" "$HK_ERR"
[ ! -e "$T/x.pem" ] || die "a certificate was written for bad input"

say "exit 3: no such key, and no CA is made for it"
hk 3 devcert --ca-dir "$T/never" --key "pkcs11:token=$TOKEN_LABEL;object=nope" \
    --cn x --out "$T/x.pem"
[ ! -e "$T/never" ] || die "a CA dir was made although the key was missing"

say "--help has examples"
hk 0 devcert --help
assert_file_match '^Examples:' "$HK_OUT"
