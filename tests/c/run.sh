#!/usr/bin/env bash
# run.sh PROGRAM MODE [ARGS...] - run a C test program against a fresh token,
# once with an RSA key and once with an EC key.  Usage: from meson.
set -euo pipefail
prog=$1 mode=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
HSMKEY_SO=$HSMKEY_BUILD/provider/hsmkey.so \
    bash "$HSMKEY_SRC/softhsm-conf/mktoken.sh" "$dir" forktest >/dev/null
export SOFTHSM2_CONF=$dir/softhsm2.conf OPENSSL_CONF=$dir/openssl.cnf
for key in rsa-key ec-key; do
    "$prog" "$mode" \
        "pkcs11:token=forktest;object=$key;type=private" "$@"
    echo "$mode $key: ok"
done
