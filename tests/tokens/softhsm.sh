#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# softhsm.sh PROV_FORK -- the token matrix (matrix_lib.sh) on SoftHSM2: the
# token tests/lib.sh makes, whose keys pkcs11-tool (OpenSC) generated.
# shellcheck disable=SC2034 # read by matrix_lib.sh
setup_t0=$(($(date +%s%N) / 1000000))
TEST_TOKEN_LABEL=matrix-softhsm
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# shellcheck source=../tls_lib.sh
. "$HSMKEY_SRC/tests/tls_lib.sh"
# shellcheck source=matrix_lib.sh
. "$HSMKEY_SRC/tests/tokens/matrix_lib.sh"

p11() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" "$@" \
        >>"$T/out/p11.log" 2>&1 || die "pkcs11-tool $*: $(tail -n 5 "$T/out/p11.log")"
}
# Keys with nothing beside them: the public key objects deleted.  And an
# EC key with only a certificate beside it (its public key object gone).
p11 --keypairgen --key-type rsa:2048 --id 0a --label p11tool-rsa-bare
p11 --keypairgen --key-type EC:prime256v1 --id 0b --label p11tool-ec-bare
p11 --keypairgen --key-type EC:prime256v1 --id 0c --label p11tool-ec-cert
token_pub 0c "$T/ec-cert.pub"
make_ca setupca
ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/secret/ec-cert.throwaway" -subj /CN=p11tool-ec-cert \
    -out "$T/ec-cert.csr" 2>/dev/null
ossl_sw x509 -req -in "$T/ec-cert.csr" -CA "$T/setupca.pem" \
    -CAkey "$T/secret/setupca.key" -set_serial 7 -days 30 \
    -force_pubkey "$T/ec-cert.pub" -outform DER -out "$T/ec-cert.der" \
    2>/dev/null
p11 --write-object "$T/ec-cert.der" --type cert --id 0c \
    --label p11tool-ec-cert
for id in 0a 0b 0c; do
    p11 --delete-object --type pubkey --id "$id"
done

MX_COLUMN=SoftHSM2
MX_MODULE=$TOKEN_MODULE
MX_INIT_ARGS=
MX_LABEL=$TOKEN_LABEL
MX_PIN_FILE=$TOKEN_PIN_FILE
MX_NO_EC=
MX_NO_IMPORT=
MX_NO_FORK_AFTER=
MX_FOREIGN="pkcs11-tool rsa 01 rsa-key pub+cert
pkcs11-tool ec 02 ec-key pub
pkcs11-tool rsa 0a p11tool-rsa-bare none
pkcs11-tool ec 0b p11tool-ec-bare none
pkcs11-tool ec 0c p11tool-ec-cert cert"
MX_SETUP_MS=$(($(date +%s%N) / 1000000 - setup_t0))
matrix_run "${1:?usage: softhsm.sh PROV_FORK}"
