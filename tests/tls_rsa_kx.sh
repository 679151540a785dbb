#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_rsa_kx.sh -- TLS 1.2 with RSA key exchange (cipher AES128-GCM-SHA256,
# in OpenSSL's default list): the server's token key decrypts the
# premaster secret, which libssl asks for with the TLS padding mode
# (RSA_PKCS1_WITH_TLS_PADDING) of the RSA asymmetric cipher.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"

make_ca ca
make_cert ca srv-rsa "$(uri rsa-key)" server.test

say "TLSv1.2, RSA key exchange, server key on the token"
handshake rsa-kx srv-rsa "$(uri rsa-key)" -- -tls1_2 -cipher AES128-GCM-SHA256
expect_ok rsa-kx TLSv1.2 none
assert_file_match '^New, TLSv1.2, Cipher is AES128-GCM-SHA256$' \
    "$T/rsa-kx.cli.out"

say "TLSv1.2, RSA key exchange, mutual TLS with the client key on the token"
make_cert ca cli-ec "$(uri ec-key)" client.test
handshake rsa-kx-mtls srv-rsa "$(uri rsa-key)" -Verify 1 -verify_return_error \
    -CAfile "$T/ca.pem" -- -tls1_2 -cipher AES256-GCM-SHA384 \
    -cert "$T/cli-ec.pem" -key "$(uri ec-key)"
expect_ok rsa-kx-mtls TLSv1.2 none
expect_client_verified rsa-kx-mtls ECDSA
