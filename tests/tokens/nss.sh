#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# nss.sh PROV_FORK -- the token matrix (matrix_lib.sh) on NSS softoken
# (libsoftokn3.so) over an NSS database in the temp dir, made by certutil,
# which also makes keys of its own (with and without a certificate).
#
# NSS softoken starts only with its database named in C_Initialize's
# pReserved: the checks pass it with --module-init-args, and the
# provider's openssl.cnf (hsmkey config) as pkcs11-module-init-args.
# shellcheck disable=SC2034 # read by matrix_lib.sh
setup_t0=$(($(date +%s%N) / 1000000))
TEST_TOKEN=none
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# shellcheck source=../tls_lib.sh
. "$HSMKEY_SRC/tests/tls_lib.sh"

MODULE=${HSMKEY_NSS_SOFTOKEN:-/usr/lib/x86_64-linux-gnu/libsoftokn3.so}
command -v certutil >/dev/null ||
    die "certutil is not installed (apt-get install libnss3-tools)"
[ -r "$MODULE" ] || die "$MODULE missing (apt-get install libnss3)"

TOKEN_DIR=$T/nssdb
TOKEN_PIN=73951-nss-db-password
mkdir -m 0700 "$TOKEN_DIR"
(umask 077 && printf '%s\n' "$TOKEN_PIN" >"$TOKEN_DIR/pin")
head -c 256 /dev/urandom >"$TOKEN_DIR/noise"

nsscert() {
    certutil "$@" -d "sql:$TOKEN_DIR" -f "$TOKEN_DIR/pin" \
        >>"$T/out/certutil.log" 2>&1 </dev/null ||
        die "certutil $1: $(tail -n 5 "$T/out/certutil.log")"
}
nsscert -N
# Keys alone (certutil -G) and keys with a self-signed certificate (-S).
nsscert -G -z "$TOKEN_DIR/noise" -k rsa -g 2048
nsscert -G -z "$TOKEN_DIR/noise" -k ec -q nistp256
nsscert -S -z "$TOKEN_DIR/noise" -k ec -q nistp256 -n nss-ec-cert \
    -s CN=nss-ec-cert -x -t ,, -v 1
# The CKA_ID of each key, from certutil's own listing:
#   "< 0> rsa      91e33f...   (orphan)"  or  "... NSS Certificate DB:NICK"
certutil -K -d "sql:$TOKEN_DIR" -f "$TOKEN_DIR/pin" >"$T/out/keys.txt" 2>&1 ||
    die "certutil -K: $(cat "$T/out/keys.txt")"
keyid() { # KIND orphan|NICK
    awk -v kind="$1" -v what="$2" '
        { sub(/^< *[0-9]+> */, "") }
        $1 == kind && ($NF == "(" what ")" || $0 ~ (":" what "$")) {
            print $2
            exit
        }' "$T/out/keys.txt"
}
rsa_alone=$(keyid rsa orphan)
ec_alone=$(keyid ec orphan)
ec_cert=$(keyid ec nss-ec-cert)
[ -n "$rsa_alone" ] && [ -n "$ec_alone" ] && [ -n "$ec_cert" ] ||
    die "cannot read the key ids from certutil -K: $(cat "$T/out/keys.txt")"

MX_COLUMN="NSS softoken"
MX_MODULE=$MODULE
MX_INIT_ARGS="configdir='sql:$TOKEN_DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
MX_LABEL="NSS Certificate DB"
MX_PIN_FILE=$TOKEN_DIR/pin
MX_NO_EC=
MX_NO_IMPORT=
MX_NO_FORK_AFTER=
# certutil gives keys no CKA_LABEL (the nickname is the certificate's).
MX_FOREIGN="certutil rsa $rsa_alone - pub
certutil ec $ec_alone - pub
certutil ec $ec_cert - pub+cert"
MX_SETUP_MS=$(($(date +%s%N) / 1000000 - setup_t0))
# shellcheck source=matrix_lib.sh
. "$HSMKEY_SRC/tests/tokens/matrix_lib.sh"
matrix_run "${1:?usage: nss.sh PROV_FORK}"
