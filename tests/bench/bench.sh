#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench.sh HSMKEY_BENCH [ARGS...] - run the benchmark on a throwaway
# SoftHSM2 token: signing rates, handshakes, load times, then token calls
# per signature with the provider on the counting shim (tests/p11shim).
set -euo pipefail
bench=$1
shift
build=${HSMKEY_BUILD:?run through meson or set HSMKEY_BUILD}
src=${HSMKEY_SRC:?}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

HSMKEY_SO=$build/provider/hsmkey.so \
    HSMKEY_TOKEN_CACHE=${HSMKEY_TOKEN_CACHE-$build/token-cache} \
    bash "$src/softhsm-conf/mktoken.sh" "$dir" bench >/dev/null
export SOFTHSM2_CONF=$dir/softhsm2.conf OPENSSL_CONF=$dir/openssl.cnf
pin=$(head -n1 "$dir/pin")
softhsm=/usr/lib/softhsm/libsofthsm2.so
pkcs11-tool --module "$softhsm" --token-label bench --login --pin "$pin" \
    --keypairgen --key-type EC:edwards25519 --id 06 --label ed-key >/dev/null

export HSMKEY_BENCH_TOKEN=bench HSMKEY_BENCH_PIN=$pin \
    HSMKEY_BENCH_MODULE=$softhsm
echo "# hsmkey benchmark"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(openssl version), SoftHSM2" \
     "$(softhsm2-util --version)"
echo
"$bench" "$@"

shim=$build/tests/p11shim/hsmkey-p11shim.so
if [ -e "$shim" ]; then
    sed "s|^pkcs11-module *=.*|pkcs11-module = $shim|" "$OPENSSL_CONF" \
        >"$dir/shim.cnf"
    OPENSSL_CONF=$dir/shim.cnf HSMKEY_SHIM_MODULE=$softhsm \
        HSMKEY_BENCH_SHIM=$shim "$bench" --count-calls 1000
else
    echo "bench.sh: $shim not built: token calls per signature not counted" >&2
    exit 1
fi
