#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_openssl.sh -- openssl s_server / s_client on 127.0.0.1 with keys on
# the token: TLS 1.3 and 1.2, RSA and EC server keys; mutual TLS with both
# keys on the token; and a client certificate from another CA refused.
# Certificates come from a dev CA on disk; their public keys from the token.
. "$(dirname "$0")/lib.sh"

make_ca ca
make_ca other-ca
make_cert ca srv-rsa "$(uri rsa-key)" server.test
make_cert ca srv-ec "$(uri ec-key)" server.test
make_cert ca srv-ec384 "$(uri ec384-key)" server.test
make_cert ca srv-ec521 "$(uri ec521-key)" server.test
make_cert ca cli-ec384 "$(uri ec384-key)" client.test
make_cert ca cli-rsa "$(uri rsa-other)" client.test
make_cert other-ca cli-foreign "$(uri ec521-key)" client.test

. "$(dirname "$0")/tls_lib.sh"

for proto in tls1_3:TLSv1.3 tls1_2:TLSv1.2; do
    IFS=: read -r opt pname <<<"$proto"
    say "$pname, RSA server key on the token"
    handshake "rsa-$opt" srv-rsa "$(uri rsa-key)" -- "-$opt"
    expect_ok "rsa-$opt" "$pname" RSA-PSS
    say "$pname, EC P-256 server key on the token"
    handshake "ec-$opt" srv-ec "$(uri ec-key)" -- "-$opt"
    expect_ok "ec-$opt" "$pname" ECDSA
done

say "TLSv1.3, EC P-384 and P-521 server keys"
handshake ec384 srv-ec384 "$(uri ec384-key)" -- -tls1_3
expect_ok ec384 TLSv1.3 ECDSA
assert_file_match '^Peer signing digest: SHA384$' "$T/ec384.cli.out"
handshake ec521 srv-ec521 "$(uri ec521-key)" -- -tls1_3
expect_ok ec521 TLSv1.3 ECDSA
assert_file_match '^Peer signing digest: SHA512$' "$T/ec521.cli.out"

say "TLSv1.2, RSA PKCS#1 v1.5 signature"
handshake rsa-pkcs1 srv-rsa "$(uri rsa-key)" -- -tls1_2 -sigalgs RSA+SHA256
expect_ok rsa-pkcs1 TLSv1.2 RSA
# Mutual TLS: the server demands a client certificate from the CA.
MTLS=(-Verify 1 -verify_return_error -CAfile "$T/ca.pem")

for proto in tls1_3:TLSv1.3 tls1_2:TLSv1.2; do
    IFS=: read -r opt pname <<<"$proto"
    say "$pname mutual TLS, EC server key and EC client key on the token"
    handshake "mtls-ec-$opt" srv-ec "$(uri ec-key)" "${MTLS[@]}" -- "-$opt" \
        -cert "$T/cli-ec384.pem" -key "$(uri ec384-key)"
    expect_ok "mtls-ec-$opt" "$pname" ECDSA
    expect_client_verified "mtls-ec-$opt" ECDSA
    say "$pname mutual TLS, RSA server key and RSA client key on the token"
    handshake "mtls-rsa-$opt" srv-rsa "$(uri rsa-key)" "${MTLS[@]}" -- \
        "-$opt" -cert "$T/cli-rsa.pem" -key "$(uri rsa-other)"
    expect_ok "mtls-rsa-$opt" "$pname" RSA-PSS
    expect_client_verified "mtls-rsa-$opt" RSA-PSS
done

for proto in tls1_3:TLSv1.3 tls1_2:TLSv1.2; do
    IFS=: read -r opt pname <<<"$proto"
    say "$pname mutual TLS refused: client certificate from another CA"
    handshake "foreign-$opt" srv-ec "$(uri ec-key)" "${MTLS[@]}" -- "-$opt" \
        -cert "$T/cli-foreign.pem" -key "$(uri ec521-key)"
    [ "$CLI_STATUS" -ne 0 ] || die "foreign-$opt: s_client succeeded"
    assert_file_match 'verify error:num=20:unable to get local issuer certificate' \
        "$T/foreign-$opt.srv.err" "foreign-$opt: server verify error"
    assert_file_match 'certificate verify failed' "$T/foreign-$opt.srv.err" \
        "foreign-$opt: server refusal"
    assert_file_match 'alert unknown ca' "$T/foreign-$opt.cli.err" \
        "foreign-$opt: client alert"
    assert_file_nomatch "$EXPECT_REPLY" "$T/foreign-$opt.cli.out" \
        "foreign-$opt: data exchanged"
    say "ok: foreign-$opt refused"
done

say "mutual TLS refused: no client certificate"
handshake nocert srv-ec "$(uri ec-key)" "${MTLS[@]}" -- -tls1_3
[ "$CLI_STATUS" -ne 0 ] || die "nocert: s_client succeeded"
assert_file_match 'peer did not return a certificate|certificate required' \
    "$T/nocert.srv.err" "nocert: server refusal"
assert_file_nomatch "$EXPECT_REPLY" "$T/nocert.cli.out" "nocert: data exchanged"
